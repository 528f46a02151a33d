//! Calibration data for `pare compile`: `--calib DATA[:BINDINGS]` and
//! `--calib-fixed` with `--calib-samples` and `--batch` as the data options of the quantization
//! passes, a progress bar on stderr for them, and the calibration figures the
//! last quantization pass left for the report.

use super::CompileArgs;
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use pare_ir::{Graph, Tensor};
use pare_passes::ptq::DataOptions;
use pare_passes::quantize::bindings::FixedInputs;
use pare_passes::quantize::calibrate::CalibMethod;
use pare_passes::quantize::data::DataSource;
use pare_passes::quantize::QuantState;
use pare_passes::ProgressHook;
use std::sync::Arc;

/// A finished calibration and what it measured.
#[derive(Debug)]
pub struct Calibrated {
    pub data: String,
    pub samples: usize,
    pub method: CalibMethod,
    /// Bytes of observer state (histograms), which does not grow with samples.
    pub state_bytes: usize,
    /// One line per value whose range was degenerate (constant, infinite).
    pub range_notes: Vec<String>,
}

impl Calibrated {
    /// The calibration a quantization pass left in `q`.
    pub fn take(q: &mut QuantState) -> Option<Calibrated> {
        let (data, calibration) = q.calibration.take()?;
        Some(Calibrated {
            // The float graph the pass kept is the one calibration observed.
            range_notes: q
                .float
                .as_ref()
                .map_or_else(Vec::new, |g| calibration.range_notes(g)),
            samples: calibration.samples(),
            state_bytes: calibration.state_bytes(),
            method: calibration.method(),
            data,
        })
    }
}

/// `--calib-method`.
pub fn method(a: &CompileArgs) -> Result<CalibMethod> {
    a.calib_method
        .parse()
        .map_err(|e| anyhow::anyhow!("--calib-method: {e}"))
}

/// The data options of `--calib spec`, `--calib-samples`, `--batch`; `limit`
/// cuts the samples further (bias correction and fidelity read the first few).
pub fn data(spec: &str, a: &CompileArgs, limit: Option<usize>) -> Result<DataOptions> {
    let source = DataSource::parse(spec).with_context(|| "--calib".to_string())?;
    let fixed = match &a.calib_fixed {
        Some(f) => FixedInputs::parse(f).with_context(|| "--calib-fixed".to_string())?,
        None => FixedInputs::default(),
    };
    let calib_samples = a.calib_samples()?;
    let samples = match (calib_samples, limit) {
        (Some(c), Some(l)) => Some(c.min(l)),
        (c, l) => c.or(l),
    };
    Ok(DataOptions {
        source,
        fixed,
        samples,
        batch: usize::try_from(a.batch)?.max(1),
    })
}

/// The first `n` samples of `spec`, as batches ready for `g` (for
/// sensitivity measurements, which hold them).
pub fn samples(spec: &str, g: &Graph, a: &CompileArgs, n: usize) -> Result<Vec<Vec<Tensor>>> {
    let d = data(spec, a, Some(n))?;
    d.source
        .open_with(g, &d.fixed, &[], d.batch, d.samples)
        .with_context(|| format!("reading {spec}"))?
        .take(n)
        .map_err(|e| anyhow::anyhow!("reading {spec}: {e}"))
}

/// A progress bar on stderr fed by the passes' progress reports.
pub fn progress() -> (ProgressHook, ProgressBar) {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let b = bar.clone();
    let hook: ProgressHook = Arc::new(move |what: &str, done: usize, total: Option<usize>| {
        if let Some(t) = total {
            b.set_length(t as u64);
        }
        b.set_position(done as u64);
        b.set_message(what.to_string());
    });
    (hook, bar)
}
