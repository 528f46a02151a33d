//! Where passes read data from (calibration, bias correction, sensitivity,
//! fidelity): a dataset file (`FILE.npz[:KEY]`, `FILE.npy`, `DIR/`, streamed
//! by pare-npy in batches) or a seeded random source of the graph's own input
//! shapes (`random:N:SEED[:uniform|normal]`) for filetests and tests.
//!
//! Both are re-openable [`CalibData`]: every pass over the data yields the same
//! batches, and only one batch is in memory at a time.

use super::calibrate::{Batches, BoxError, CalibData};
use pare_ir::{DType, Dim, Graph, Tensor};
use pare_npy::{DataSpec, Dataset, NpyError, OpenOptions};

/// A data source as a pass option names it.
#[derive(Clone, Debug, PartialEq)]
pub enum DataSource {
    /// A dataset spec pare-npy reads (`FILE.npz:KEY`, `FILE.npy`, `DIR/`).
    File(String),
    /// `samples` random samples from `seed`, each of the graph inputs' shapes.
    Random {
        samples: usize,
        seed: u64,
        dist: Distribution,
    },
}

/// The distribution of random samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Distribution {
    /// Uniform on `[0, 1)` (pixel-like inputs).
    Uniform,
    /// Standard normal (normalized inputs).
    Normal,
}

/// A data source that cannot be parsed or opened, or data that does not fit.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("`{spec}`: {msg}")]
    Spec { spec: String, msg: String },
    #[error("{spec}: {source}")]
    Read {
        spec: String,
        #[source]
        source: Box<NpyError>,
    },
    #[error("{spec}: {msg}")]
    Fit { spec: String, msg: String },
}

impl DataSource {
    /// Parses `random:N:SEED[:uniform|normal]` or a dataset spec.
    pub fn parse(s: &str) -> Result<DataSource, DataError> {
        let bad = |msg: &str| DataError::Spec {
            spec: s.to_string(),
            msg: msg.to_string(),
        };
        if let Some(rest) = s.strip_prefix("random:") {
            let parts: Vec<&str> = rest.split(':').collect();
            let (n, seed, dist) = match parts.as_slice() {
                [n, seed] => (n, seed, Distribution::Uniform),
                [n, seed, "uniform"] => (n, seed, Distribution::Uniform),
                [n, seed, "normal"] => (n, seed, Distribution::Normal),
                _ => return Err(bad("expected random:SAMPLES:SEED[:uniform|normal]")),
            };
            let samples: usize = n
                .parse()
                .map_err(|_| bad("the sample count is not a number"))?;
            if samples == 0 {
                return Err(bad("random data needs at least one sample"));
            }
            let seed = seed.parse().map_err(|_| bad("the seed is not a number"))?;
            return Ok(DataSource::Random {
                samples,
                seed,
                dist,
            });
        }
        DataSpec::parse(s).map_err(|e| DataError::Read {
            spec: s.to_string(),
            source: Box::new(e),
        })?;
        Ok(DataSource::File(s.to_string()))
    }

    /// Opens the source for `g`'s inputs, in batches of `batch` samples (the
    /// model's own batch size when it is fixed), at most `limit` samples.
    pub fn open(
        &self,
        g: &Graph,
        batch: usize,
        limit: Option<usize>,
    ) -> Result<OpenedData, DataError> {
        let batch = batch_size(g, batch);
        match self {
            DataSource::File(spec) => open_file(g, spec, batch, limit),
            DataSource::Random {
                samples,
                seed,
                dist,
            } => open_random(g, *samples, *seed, *dist, batch, limit),
        }
    }
}

impl std::fmt::Display for DataSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DataSource::File(s) => f.write_str(s),
            DataSource::Random {
                samples,
                seed,
                dist,
            } => {
                let d = match dist {
                    Distribution::Uniform => "uniform",
                    Distribution::Normal => "normal",
                };
                write!(f, "random:{samples}:{seed}:{d}")
            }
        }
    }
}

/// An opened source: batches of graph inputs, re-readable.
#[derive(Debug)]
pub struct OpenedData {
    spec: String,
    inner: Inner,
    batch: usize,
    limit: Option<usize>,
}

#[derive(Debug)]
enum Inner {
    File {
        ds: Dataset,
        dtype: DType,
    },
    Random {
        /// Per graph input: one sample's shape (without the batch dim).
        inputs: Vec<Vec<usize>>,
        samples: usize,
        seed: u64,
        dist: Distribution,
    },
}

impl OpenedData {
    /// The source as given, for messages and reports.
    pub fn spec(&self) -> &str {
        &self.spec
    }

    /// Samples one pass yields.
    pub fn len(&self) -> usize {
        let n = match &self.inner {
            Inner::File { ds, .. } => ds.len(),
            Inner::Random { samples, .. } => *samples,
        };
        self.limit.map_or(n, |l| l.min(n))
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The same source cut to its first `n` samples.
    pub fn limited(mut self, n: usize) -> OpenedData {
        self.limit = Some(self.limit.map_or(n, |l| l.min(n)));
        self
    }

    /// The first `n` samples, batched, held in memory (sensitivity and
    /// fidelity measurements run them more than once).
    pub fn take(&mut self, n: usize) -> Result<Vec<Vec<Tensor>>, BoxError> {
        let before = self.limit;
        self.limit = Some(self.limit.map_or(n, |l| l.min(n)));
        let out = self.open().and_then(|it| it.collect::<Result<Vec<_>, _>>());
        self.limit = before;
        out
    }
}

impl CalibData for OpenedData {
    type Error = BoxError;

    fn len_hint(&self) -> Option<usize> {
        Some(self.len())
    }

    fn open(&mut self) -> Result<Batches<'_, BoxError>, BoxError> {
        let (batch, limit) = (self.batch, self.limit);
        match &self.inner {
            Inner::File { ds, dtype } => {
                let dtype = *dtype;
                Ok(Box::new(ds.batches(batch, limit).map(move |b| {
                    b.map(|t| vec![t.cast(dtype)]).map_err(BoxError::from)
                })))
            }
            Inner::Random {
                inputs,
                samples,
                seed,
                dist,
            } => {
                let total = limit.map_or(*samples, |l| l.min(*samples));
                let mut rng = fastrand::Rng::with_seed(*seed);
                let dist = *dist;
                let inputs = inputs.clone();
                let mut done = 0;
                Ok(Box::new(std::iter::from_fn(move || {
                    if done >= total {
                        return None;
                    }
                    let b = batch.min(total - done);
                    done += b;
                    Some(random_batch(&mut rng, &inputs, b, dist))
                })))
            }
        }
    }
}

fn random_batch(
    rng: &mut fastrand::Rng,
    inputs: &[Vec<usize>],
    b: usize,
    dist: Distribution,
) -> Result<Vec<Tensor>, BoxError> {
    inputs
        .iter()
        .map(|sample| {
            let mut shape = vec![b];
            shape.extend_from_slice(sample);
            let n: usize = shape.iter().product();
            let v: Vec<f32> = (0..n)
                .map(|_| match dist {
                    Distribution::Uniform => rng.f32(),
                    Distribution::Normal => normal(rng),
                })
                .collect();
            Tensor::from_vec(shape, v).map_err(BoxError::from)
        })
        .collect()
}

/// A standard normal draw (Box–Muller; `1 - u` keeps the log finite).
fn normal(rng: &mut fastrand::Rng) -> f32 {
    let u1 = 1.0 - rng.f64();
    let u2 = rng.f64();
    ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
}

/// Batches of `want` samples, or the model's fixed batch size.
fn batch_size(g: &Graph, want: usize) -> usize {
    match g.inputs.first().and_then(|&v| g.ty(v).shape.first()) {
        Some(Dim::Fixed(n)) => *n as usize,
        _ => want.max(1),
    }
}

fn open_file(
    g: &Graph,
    spec: &str,
    batch: usize,
    limit: Option<usize>,
) -> Result<OpenedData, DataError> {
    let fit = |msg: String| DataError::Fit {
        spec: spec.to_string(),
        msg,
    };
    if g.inputs.len() != 1 {
        return Err(fit(format!(
            "a data file feeds one input; the model has {} ({})",
            g.inputs.len(),
            g.inputs
                .iter()
                .map(|&v| g.value(v).name.clone())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let input = g.ty(g.inputs[0]);
    let read = |e: NpyError| DataError::Read {
        spec: spec.to_string(),
        source: Box::new(e),
    };
    let opts = OpenOptions {
        sample_rank: Some(input.rank().saturating_sub(1)),
    };
    let ds = Dataset::open_with(&DataSpec::parse(spec).map_err(read)?, &opts).map_err(read)?;
    let want = input.shape.get(1..).unwrap_or(&[]);
    let fits = ds.sample_shape().len() == want.len()
        && want
            .iter()
            .zip(ds.sample_shape())
            .all(|(d, &n)| d.fixed().is_none_or(|f| f == n as u64));
    if !fits {
        return Err(fit(format!(
            "samples of shape {:?} do not fit input `{}` of type {input}",
            ds.sample_shape(),
            g.value(g.inputs[0]).name
        )));
    }
    if ds.is_empty() {
        return Err(fit("the dataset has no samples".into()));
    }
    Ok(OpenedData {
        spec: spec.to_string(),
        inner: Inner::File {
            ds,
            dtype: input.dtype,
        },
        batch,
        limit,
    })
}

fn open_random(
    g: &Graph,
    samples: usize,
    seed: u64,
    dist: Distribution,
    batch: usize,
    limit: Option<usize>,
) -> Result<OpenedData, DataError> {
    let spec = DataSource::Random {
        samples,
        seed,
        dist,
    }
    .to_string();
    let mut inputs = Vec::new();
    for &v in &g.inputs {
        let ty = g.ty(v);
        let name = &g.value(v).name;
        let fit = |msg: String| DataError::Fit {
            spec: spec.clone(),
            msg: format!("input `{name}` of type {ty}: {msg}"),
        };
        if ty.dtype != DType::F32 {
            return Err(fit("random data is generated for f32 inputs only".into()));
        }
        if ty.shape.is_empty() {
            return Err(fit("a scalar input has no batch dimension".into()));
        }
        let sample: Option<Vec<usize>> = ty.shape[1..]
            .iter()
            .map(|d| d.fixed().map(|n| n as usize))
            .collect();
        let sample = sample.ok_or_else(|| {
            fit("random data needs fixed dims besides the batch (give a shape)".into())
        })?;
        // One sample's element count must be addressable (a hostile .pir
        // could declare dims whose product overflows).
        pare_ir::checked_count(&sample).map_err(|e| fit(e.to_string()))?;
        inputs.push(sample);
    }
    Ok(OpenedData {
        spec: spec.clone(),
        inner: Inner::Random {
            inputs,
            samples,
            seed,
            dist,
        },
        batch,
        limit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph() -> Graph {
        pare_ir::text::parse(
            "graph @g(%x \"x\": f32[N,3]) -> (f32[N,3]) {\n  %y \"y\": f32[N,3] = relu(%x)\n  return %y\n}\n",
        )
        .unwrap()
    }

    #[test]
    fn random_sources_parse_and_repeat_their_batches() {
        let src = DataSource::parse("random:5:7").unwrap();
        assert_eq!(
            src,
            DataSource::Random {
                samples: 5,
                seed: 7,
                dist: Distribution::Uniform
            }
        );
        let mut d = src.open(&graph(), 2, None).unwrap();
        assert_eq!(d.len(), 5);
        let a: Vec<_> = d.open().unwrap().collect::<Result<_, _>>().unwrap();
        let b: Vec<_> = d.open().unwrap().collect::<Result<_, _>>().unwrap();
        let shapes: Vec<_> = a.iter().map(|x| x[0].shape().to_vec()).collect();
        assert_eq!(shapes, vec![vec![2, 3], vec![2, 3], vec![1, 3]]);
        assert_eq!(a, b);
        let vals = a[0][0].to_f32_vec();
        assert!(vals.iter().all(|v| (0.0..1.0).contains(v)));
        assert_eq!(d.take(3).unwrap().len(), 2);
    }

    #[test]
    fn bad_sources_say_what_is_expected() {
        for s in ["random:x:1", "random:0:1", "random:4", "random:4:1:cauchy"] {
            let e = DataSource::parse(s).unwrap_err().to_string();
            assert!(e.contains(s), "{e}");
        }
        let e = DataSource::parse("random:4:1")
            .unwrap()
            .open(
                &pare_ir::text::parse(
                    "graph @g(%x \"x\": f32[N,H]) -> (f32[N,H]) {\n  %y \"y\": f32[N,H] = relu(%x)\n  return %y\n}\n",
                )
                .unwrap(),
                1,
                None,
            )
            .unwrap_err()
            .to_string();
        assert!(e.contains("fixed dims"), "{e}");
    }
}
