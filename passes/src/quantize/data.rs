//! Where passes read data from (calibration, bias correction, sensitivity,
//! fidelity): a dataset file bound to the graph's inputs (`FILE.npz` by
//! name, `FILE.npz:KEY`, `FILE.npz:IN=KEY;...`, `FILE.npy`, `DIR/`, streamed
//! by pare-npy in batches; see [`super::bindings`] and [`super::feeds`]) or a
//! seeded random source of the graph's own input shapes
//! (`random:N:SEED[:uniform|normal]`) for filetests and tests; either with
//! some inputs held at fixed values.
//!
//! Both are re-openable [`CalibData`]: every pass over the data yields the same
//! batches, and only one batch is in memory at a time.

use super::bindings::{FileBinding, FixedInputs};
use super::calibrate::{Batches, BoxError, CalibData};
use super::feeds::{inputs_of, is_whole, open_streams, Feed, InputDecl};
use super::fixed_inputs::{bind_symbols, split_fixed};
use pare_ir::{DType, Dim, Graph, Tensor};
use pare_npy::{Dataset, NpyError};

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
    /// Parses `random:N:SEED[:uniform|normal]` or a data file spec with its
    /// bindings (see [`super::bindings`]).
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
        FileBinding::parse(s).map_err(|e| bad(&e.msg))?;
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
        self.open_with(g, &FixedInputs::default(), &[], batch, limit)
    }

    /// [`DataSource::open`] with inputs held at `fixed` values; arrays named in
    /// `ignore` (targets next to the samples) are not taken for inputs.
    pub fn open_with(
        &self,
        g: &Graph,
        fixed: &FixedInputs,
        ignore: &[&str],
        batch: usize,
        limit: Option<usize>,
    ) -> Result<OpenedData, DataError> {
        let decls = inputs_of(g);
        let spec = if fixed.is_empty() {
            self.to_string()
        } else {
            format!("{self} (fixed: {fixed})")
        };
        let (fixed_of, need) = split_fixed(&decls, fixed, &spec)?;
        let mut batch = batch_size(&need, batch);
        let (feeds_of_need, kind) = match self {
            DataSource::File(s) => {
                let file = FileBinding::parse(s).map_err(|e| DataError::Spec {
                    spec: s.clone(),
                    msg: e.msg,
                })?;
                let ds = open_streams(&file, &need, &fixed_of, &decls, ignore, &spec)?;
                let len = ds.first().map_or(0, Dataset::len);
                let feeds: Vec<Feed> = ds
                    .into_iter()
                    .zip(&need)
                    .map(|(data, d)| Feed::Stream {
                        whole: is_whole(d, &data),
                        data: Box::new(data),
                    })
                    .collect();
                // Whole inputs have no batch axis to stack samples on: one per run.
                if feeds
                    .iter()
                    .any(|f| matches!(f, Feed::Stream { whole: true, .. }))
                {
                    batch = 1;
                }
                (feeds, Kind::Files { len })
            }
            DataSource::Random {
                samples,
                seed,
                dist,
            } => {
                let feeds = need
                    .iter()
                    .map(|d| random_sample_shape(d, &spec).map(Feed::Random))
                    .collect::<Result<Vec<_>, _>>()?;
                (
                    feeds,
                    Kind::Random {
                        samples: *samples,
                        seed: *seed,
                        dist: *dist,
                    },
                )
            }
        };
        let mut needed = feeds_of_need.into_iter();
        let feeds = decls
            .iter()
            .map(|d| match fixed_of.get(&d.name) {
                Some(f) => Some(Feed::Fixed(Box::new(f.clone()))),
                None => needed.next(),
            })
            .collect::<Option<Vec<Feed>>>()
            .ok_or_else(|| DataError::Fit {
                spec: spec.clone(),
                msg: "inputs and their data do not pair up".into(),
            })?;
        Ok(OpenedData {
            spec,
            decls,
            feeds,
            kind,
            batch,
            limit,
        })
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
    decls: Vec<InputDecl>,
    /// Per graph input, in order.
    feeds: Vec<Feed>,
    kind: Kind,
    batch: usize,
    limit: Option<usize>,
}

#[derive(Debug)]
enum Kind {
    Files {
        len: usize,
    },
    Random {
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
        let n = match &self.kind {
            Kind::Files { len } => *len,
            Kind::Random { samples, .. } => *samples,
        };
        self.limit.map_or(n, |l| l.min(n))
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Samples per batch (the model's own batch size when it is fixed).
    pub fn batch(&self) -> usize {
        self.batch
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
        let total = self.len();
        let batch = self.batch;
        let decls = &self.decls;
        let mut streams: Vec<Option<pare_npy::Batches<'_>>> = self
            .feeds
            .iter()
            .map(|f| match f {
                Feed::Stream { data, .. } => Some(data.batches(batch, Some(total))),
                _ => None,
            })
            .collect();
        let feeds = &self.feeds;
        let (mut rng, dist) = match &self.kind {
            Kind::Random { seed, dist, .. } => (fastrand::Rng::with_seed(*seed), *dist),
            Kind::Files { .. } => (fastrand::Rng::with_seed(0), Distribution::Uniform),
        };
        let mut done = 0;
        let mut failed = false;
        Ok(Box::new(std::iter::from_fn(move || {
            if done >= total || failed {
                return None;
            }
            let b = batch.min(total - done);
            done += b;
            let r = next_batch(decls, feeds, &mut streams, &mut rng, dist, b);
            failed = r.is_err();
            Some(r)
        })))
    }
}

/// One batch of `b` samples of every input.
fn next_batch(
    decls: &[InputDecl],
    feeds: &[Feed],
    streams: &mut [Option<pare_npy::Batches<'_>>],
    rng: &mut fastrand::Rng,
    dist: Distribution,
    b: usize,
) -> Result<Vec<Tensor>, BoxError> {
    let mut got: Vec<Option<Tensor>> = Vec::with_capacity(feeds.len());
    for ((feed, stream), d) in feeds.iter().zip(streams.iter_mut()).zip(decls) {
        got.push(match (feed, stream) {
            (Feed::Stream { data: ds, whole }, Some(it)) => {
                let mut t = it.next().ok_or_else(|| {
                    format!("`{}` ended before the other inputs' data", ds.name())
                })??;
                if *whole {
                    // A batch of one whole input: drop the sample axis.
                    let shape = t.shape()[1..].to_vec();
                    t = t.reshaped(shape).map_err(BoxError::from)?;
                }
                Some(if t.dtype() == d.ty.dtype {
                    t
                } else {
                    t.cast(d.ty.dtype)
                })
            }
            (Feed::Random(sample), _) => Some(random_tensor(rng, sample, b, dist)?),
            _ => None,
        });
    }
    let syms = bind_symbols(decls, &got.iter().map(Option::as_ref).collect::<Vec<_>>());
    feeds
        .iter()
        .zip(got)
        .map(|(f, t)| match (f, t) {
            (_, Some(t)) => Ok(t),
            (Feed::Fixed(fx), None) => fx.batch(&syms).map_err(BoxError::from),
            _ => Err(BoxError::from("an input has no data")),
        })
        .collect()
}

fn random_tensor(
    rng: &mut fastrand::Rng,
    sample: &[usize],
    b: usize,
    dist: Distribution,
) -> Result<Tensor, BoxError> {
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
}

/// A standard normal draw (Box–Muller; `1 - u` keeps the log finite).
fn normal(rng: &mut fastrand::Rng) -> f32 {
    let u1 = 1.0 - rng.f64();
    let u2 = rng.f64();
    ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
}

/// Batches of `want` samples, or the model's fixed batch size (axis 0 of the
/// first input that reads data).
fn batch_size(need: &[&InputDecl], want: usize) -> usize {
    match need.first().and_then(|d| d.ty.shape.first()) {
        Some(Dim::Fixed(n)) => *n as usize,
        _ => want.max(1),
    }
}

/// One random sample's shape for input `d` (its dims besides the batch).
fn random_sample_shape(d: &InputDecl, spec: &str) -> Result<Vec<usize>, DataError> {
    let ty = &d.ty;
    let fit = |msg: String| DataError::Fit {
        spec: spec.to_string(),
        msg: format!("input `{}` of type {ty}: {msg}", d.name),
    };
    if ty.dtype != DType::F32 {
        return Err(fit(
            "random data is generated for f32 inputs only (fix it with calib-fixed / --calib-fixed)"
                .into(),
        ));
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
    Ok(sample)
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
