//! Calibration data for `pare compile`: a `DATA[:KEY]` dataset streamed in
//! batches through pare's calibrator, with a progress bar on stderr.

use super::CompileArgs;
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use pare_ir::{Dim, Graph, Tensor};
use pare_npy::{DataSpec, Dataset, NpyError, OpenOptions};
use pare_passes::quantize::bias_correction::{
    self, BiasCorrection, BiasCorrectionOptions, Estimator,
};
use pare_passes::quantize::calibrate::{
    calibrate, Batches, CalibData, CalibMethod, CalibOptions, Calibration, Phase,
};

/// A finished calibration and what it measured.
#[derive(Debug)]
pub struct Calibrated {
    pub calibration: Calibration,
    pub data: String,
    pub samples: usize,
    pub method: CalibMethod,
    /// Bytes of observer state (histograms), which does not grow with samples.
    pub state_bytes: usize,
}

/// Calibrates float graph `g` on the dataset `spec` as `a` asks.
pub fn run(g: &Graph, spec: &str, a: &CompileArgs) -> Result<Calibrated> {
    let method: CalibMethod = a
        .calib_method
        .parse()
        .map_err(|e| anyhow::anyhow!("--calib-method: {e}"))?;
    let ds = open(g, spec)?;
    let batch = batch_size(g, a.batch);
    let opts = CalibOptions {
        method,
        max_samples: a.calib_samples,
        ..CalibOptions::default()
    };
    let mut data = DatasetBatches {
        ds: &ds,
        batch,
        limit: a.calib_samples,
        dtype: g.ty(g.inputs[0]).dtype,
    };
    let bar = progress_bar("{msg} [{bar:30}] {pos}/{len} samples ({elapsed})");
    let mut on_progress = |p: pare_passes::quantize::calibrate::Progress| {
        if let Some(t) = p.total {
            bar.set_length(t as u64);
        }
        bar.set_position(p.done as u64);
        bar.set_message(match p.phase {
            Phase::Range => "calibrating: ranges",
            Phase::Histogram => "calibrating: histograms",
            Phase::Select => "calibrating: choosing ranges",
        });
    };
    let calibration = calibrate(g, &mut data, &opts, &mut on_progress)
        .with_context(|| format!("calibrating on {spec}"))?;
    bar.finish_and_clear();
    Ok(Calibrated {
        samples: calibration.samples(),
        state_bytes: calibration.state_bytes(),
        data: spec.to_string(),
        method,
        calibration,
    })
}

/// Corrects the int32 biases of `q` (quantized from `float`) on the first `n`
/// samples of `spec` with `estimator`, streamed, with a progress bar on stderr.
pub fn correct_biases(
    float: &Graph,
    q: &mut Graph,
    spec: &str,
    a: &CompileArgs,
    n: usize,
    estimator: Estimator,
) -> Result<BiasCorrection> {
    let ds = open(float, spec)?;
    let mut data = DatasetBatches {
        ds: &ds,
        batch: batch_size(float, a.batch),
        limit: a.calib_samples,
        dtype: float.ty(float.inputs[0]).dtype,
    };
    let opts = BiasCorrectionOptions {
        max_samples: a.calib_samples.map_or(n, |c| c.min(n)),
        rounding: a.rounding,
        estimator,
    };
    let bar = progress_bar("{msg} [{bar:30}] {pos}/{len} ({elapsed})");
    bar.set_message("bias correction");
    let mut on_progress = |done: usize, total: usize| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    };
    let rec = bias_correction::correct_biases(float, q, &mut data, &opts, &mut on_progress)
        .with_context(|| format!("bias correction on {spec}"))?;
    bar.finish_and_clear();
    Ok(rec)
}

/// The first `n` samples of `spec`, as batches ready for the graph (for
/// sensitivity and fidelity measurements, which hold them).
pub fn samples(spec: &str, g: &Graph, a: &CompileArgs, n: usize) -> Result<Vec<Vec<Tensor>>> {
    let ds = open(g, spec)?;
    let limit = a.calib_samples.map_or(n, |c| c.min(n));
    let dtype = g.ty(g.inputs[0]).dtype;
    ds.batches(batch_size(g, a.batch), Some(limit))
        .map(|b| Ok(vec![b?.cast(dtype)]))
        .collect::<Result<_, NpyError>>()
        .with_context(|| format!("reading {spec}"))
}

/// Calls `f` on each batch of the first `n` samples of `spec`, one batch in
/// memory at a time.
pub fn for_each_batch(
    spec: &str,
    g: &Graph,
    a: &CompileArgs,
    n: usize,
    f: &mut dyn FnMut(&[Tensor]) -> Result<()>,
) -> Result<()> {
    let ds = open(g, spec)?;
    let limit = a.calib_samples.map_or(n, |c| c.min(n));
    let dtype = g.ty(g.inputs[0]).dtype;
    for b in ds.batches(batch_size(g, a.batch), Some(limit)) {
        let b = b.with_context(|| format!("reading {spec}"))?;
        f(&[b.cast(dtype)])?;
    }
    Ok(())
}

/// Opens `spec` and checks its samples fit the graph's single input.
fn open(g: &Graph, spec: &str) -> Result<Dataset> {
    if g.inputs.len() != 1 {
        bail!(
            "calibration data feeds one input; the model has {} ({})",
            g.inputs.len(),
            g.inputs
                .iter()
                .map(|&v| g.value(v).name.clone())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let input = g.ty(g.inputs[0]);
    let opts = OpenOptions {
        sample_rank: Some(input.rank().saturating_sub(1)),
    };
    let ds = Dataset::open_with(&DataSpec::parse(spec)?, &opts)?;
    let want = &input.shape[1..];
    let fits = ds.sample_shape().len() == want.len()
        && want
            .iter()
            .zip(ds.sample_shape())
            .all(|(d, &n)| d.fixed().is_none_or(|f| f == n as u64));
    if !fits {
        bail!(
            "{spec}: samples of shape {:?} do not fit input `{}` of type {input}",
            ds.sample_shape(),
            g.value(g.inputs[0]).name
        );
    }
    if ds.is_empty() {
        bail!("{spec}: the dataset has no samples");
    }
    Ok(ds)
}

/// Batches of `want` samples, or the model's fixed batch size.
fn batch_size(g: &Graph, want: usize) -> usize {
    match g.ty(g.inputs[0]).shape.first() {
        Some(Dim::Fixed(n)) => *n as usize,
        _ => want.max(1),
    }
}

/// A dataset as the calibrator's re-openable source.
struct DatasetBatches<'a> {
    ds: &'a Dataset,
    batch: usize,
    limit: Option<usize>,
    dtype: pare_ir::DType,
}

impl CalibData for DatasetBatches<'_> {
    type Error = NpyError;

    fn len_hint(&self) -> Option<usize> {
        Some(self.limit.map_or(self.ds.len(), |l| l.min(self.ds.len())))
    }

    fn open(&mut self) -> Result<Batches<'_, NpyError>, NpyError> {
        let dtype = self.dtype;
        Ok(Box::new(
            self.ds
                .batches(self.batch, self.limit)
                .map(move |b| b.map(|t| vec![t.cast(dtype)])),
        ))
    }
}

fn progress_bar(template: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar
}
