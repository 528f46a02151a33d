//! The error-reducing techniques around integer quantization and their guard:
//! cross-layer equalization of the float graph before calibration
//! (`--equalize`) and empirical bias correction after quantization
//! (`--bias-correction`). In `auto` mode a technique is tried and kept only if
//! it raises the SQNR against the float model, measured (integer interpreter)
//! on the first [`fidelity::SAMPLES`] calibration samples; `on` keeps it
//! unmeasured against the alternative, `off` never tries it. Every variant
//! tried is listed in the report with its figures.
//!
//! The guard's cost: each equalization variant is calibrated and quantized
//! once more, each bias-corrected variant costs its correction plus one more
//! fidelity measurement. Both are measured on calibration samples, which the
//! correction also saw (its first [`bias_plan`] samples): the guard compares
//! variants on the data the user gave, it is no held-out accuracy claim.

use super::calib::{self, Calibrated};
use super::fidelity::{self, Fidelity};
use super::CompileArgs;
use anyhow::{Context, Result};
use pare_ir::analysis::macs_of_node;
use pare_ir::{Graph, Op};
use pare_passes::quantize::bias_correction::{BiasCorrection, Estimator};
use pare_passes::quantize::equalize::{equalize, Equalization, EqualizeOptions};
use pare_passes::quantize::mixed::LayerSensitivity;
use pare_passes::quantize::LayerRecord;
use std::time::Instant;

/// Work bias correction may spend, in multiply-accumulates per compile.
const BIAS_WORK_MACS: u64 = 20_000_000_000;
/// Fewest and most samples bias correction measures each layer on (fewer when
/// `--calib-samples` is smaller). Per-channel means of conv outputs average
/// over every spatial position, so the floor suffices for them; dense layers
/// see one value per sample and gain from more.
const BIAS_SAMPLES: (usize, usize) = (16, 256);

/// How bias correction runs on `float`: the sequential estimator while it
/// fits [`BIAS_WORK_MACS`] with at least the floor of [`BIAS_SAMPLES`] (each
/// sample passes through everything before each corrected layer, and through
/// the float model once), else the single-pass weight-error estimator (each
/// sample costs about two float passes); samples as many as the work allows,
/// within [`BIAS_SAMPLES`]. A function of the graph alone, so artifacts stay
/// deterministic: the digits models get sequential on 256 samples,
/// MobileNetV2 weight-error on 33.
pub fn bias_plan(float: &Graph) -> (Estimator, usize) {
    let Ok(g) = pare_ir::analysis::with_symbols_bound(float, 1) else {
        return (Estimator::WeightError, BIAS_SAMPLES.0);
    };
    let (mut before, mut prefixes) = (0u64, 0u64);
    for (_, n) in g.nodes() {
        if matches!(n.op, Op::Conv { .. } | Op::Gemm { .. }) && n.input(2).is_some() {
            prefixes = prefixes.saturating_add(before);
        }
        before = before.saturating_add(macs_of_node(&g, n).unwrap_or(0));
    }
    let samples = |per_sample: u64| {
        let n = BIAS_WORK_MACS / per_sample.max(1);
        usize::try_from(n).unwrap_or(usize::MAX)
    };
    let sequential = samples(prefixes.saturating_add(before));
    if sequential >= BIAS_SAMPLES.0 {
        return (Estimator::Sequential, sequential.min(BIAS_SAMPLES.1));
    }
    let n = samples(before.saturating_mul(2));
    (
        Estimator::WeightError,
        n.clamp(BIAS_SAMPLES.0, BIAS_SAMPLES.1),
    )
}

/// When a technique is applied.
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Never.
    Off,
    /// Always (where the model has something for it to do).
    On,
    /// Tried, and kept only if the measured SQNR vs float improves.
    Auto,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Off => "off",
            Mode::On => "on",
            Mode::Auto => "auto",
        }
    }
}

/// A quantized graph produced from one float variant.
pub struct Quantized {
    pub graph: Graph,
    pub records: Vec<LayerRecord>,
    /// Encoded artifact bytes, when already encoded (mixed precision checks
    /// its budget on them).
    pub bytes: Option<Vec<u8>>,
    /// Per-layer sensitivity, when mixed precision measured it.
    pub sensitivity: Vec<LayerSensitivity>,
    /// Mixed precision: layers the target can only store in 8 bits, with why.
    pub int8_only: Vec<(String, String)>,
}

/// One variant tried, with its measured fidelity.
#[derive(Clone, Debug)]
pub struct Trial {
    pub equalized: bool,
    pub bias_corrected: bool,
    pub fidelity: Fidelity,
}

/// What the techniques did, for the report: the equalization of the float
/// graph (whether or not the equalized variant was kept) and the correction
/// of the chosen variant's base (whether or not the corrected one was kept).
#[derive(Debug)]
pub struct Summary {
    pub equalize: Mode,
    pub bias_correction: Mode,
    pub equalization: Option<Equalization>,
    pub correction: Option<BiasCorrection>,
    /// Every variant measured, in the order tried; `chosen` indexes it.
    pub trials: Vec<Trial>,
    pub chosen: usize,
    /// Wall time of the techniques and of the guard's extra measurements.
    pub seconds: f64,
}

impl Summary {
    pub fn chosen(&self) -> Option<&Trial> {
        self.trials.get(self.chosen)
    }
}

/// The chosen variant and everything measured on the way.
pub struct Outcome {
    pub quantized: Quantized,
    pub calibrated: Calibrated,
    pub calib_seconds: f64,
    pub fidelity: Fidelity,
    pub summary: Summary,
}

/// Calibrates and quantizes `float` (and its equalized variant), corrects
/// biases, measures each variant as the modes ask, and returns the best.
/// `quantize` turns a float variant and its calibration into a quantized
/// graph; `encode` writes an artifact (under `--size-budget`, a corrected
/// variant whose artifact no longer fits is not kept).
pub fn run(
    float: &Graph,
    spec: &str,
    a: &CompileArgs,
    quantize: &dyn Fn(&Graph, &Calibrated) -> Result<Quantized>,
    encode: &dyn Fn(&Graph) -> Result<Vec<u8>>,
) -> Result<Outcome> {
    let t0 = Instant::now();
    // Float variants: (equalized, graph), the plain one first.
    let mut bases: Vec<(bool, Graph)> = Vec::new();
    let mut equalization = None;
    if a.equalize != Mode::Off {
        let mut g = float.clone();
        let rec = equalize(&mut g, &EqualizeOptions::default())
            .with_context(|| format!("{}: cross-layer equalization", a.model.display()))?;
        if !rec.pairs.is_empty() {
            bases.push((true, g));
        }
        equalization = Some(rec);
    }
    if a.equalize != Mode::On || bases.is_empty() {
        bases.insert(0, (false, float.clone()));
    }
    let mut technique_secs = t0.elapsed().as_secs_f64();
    let mut cals: Vec<Option<(Calibrated, f64)>> = Vec::new();
    let mut corrections: Vec<Option<BiasCorrection>> = Vec::new();
    // (base index, trial, quantized graph)
    let mut variants: Vec<(usize, Trial, Quantized)> = Vec::new();
    for (b, (equalized, base)) in bases.iter().enumerate() {
        let t = Instant::now();
        let cal = calib::run(base, spec, a)?;
        let cal_secs = t.elapsed().as_secs_f64();
        let q =
            quantize(base, &cal).with_context(|| format!("{}: quantizing", a.model.display()))?;
        cals.push(Some((cal, cal_secs)));
        let mut tried: Vec<(bool, Quantized)> = Vec::new();
        let mut correction = None;
        if a.bias_correction != Mode::Off {
            let t = Instant::now();
            let mut g = q.graph.clone();
            let (estimator, samples) = bias_plan(base);
            let rec = calib::correct_biases(base, &mut g, spec, a, samples, estimator)?;
            technique_secs += t.elapsed().as_secs_f64();
            // Corrected biases may print longer in a textual artifact (for
            // --target rp2040 `encode` is empty: int32 bias arrays keep their size).
            let bytes = match a.size_budget {
                Some(_) => Some(encode(&g)?),
                None => None,
            };
            let fits = match (&bytes, a.size_budget) {
                (Some(b), Some(budget)) => b.len() as u64 <= budget,
                _ => true,
            };
            if !rec.layers.is_empty() && fits {
                let corrected = Quantized {
                    graph: g,
                    records: q.records.clone(),
                    bytes,
                    sensitivity: q.sensitivity.clone(),
                    int8_only: q.int8_only.clone(),
                };
                tried.push((true, corrected));
            }
            correction = Some(rec);
        }
        corrections.push(correction);
        if a.bias_correction != Mode::On || tried.is_empty() {
            tried.insert(0, (false, q));
        }
        let alone = bases.len() == 1 && tried.len() == 1;
        for (bias_corrected, q) in tried {
            let t = Instant::now();
            let fidelity = measure(float, &q.graph, spec, a)?;
            if !alone {
                technique_secs += t.elapsed().as_secs_f64();
            }
            let trial = Trial {
                equalized: *equalized,
                bias_corrected,
                fidelity,
            };
            variants.push((b, trial, q));
        }
    }
    // The first variant has the fewest techniques; another must beat it
    // strictly to be kept.
    let mut chosen = 0;
    for (k, v) in variants.iter().enumerate() {
        if v.1.fidelity.sqnr_db > variants[chosen].1.fidelity.sqnr_db {
            chosen = k;
        }
    }
    let trials: Vec<Trial> = variants.iter().map(|v| v.1.clone()).collect();
    let (b, trial, quantized) = variants.swap_remove(chosen);
    let (calibrated, calib_seconds) = cals
        .get_mut(b)
        .and_then(Option::take)
        .context("the chosen variant has no calibration")?;
    Ok(Outcome {
        quantized,
        calibrated,
        calib_seconds,
        fidelity: trial.fidelity,
        summary: Summary {
            equalize: a.equalize,
            bias_correction: a.bias_correction,
            equalization,
            correction: corrections.get_mut(b).and_then(Option::take),
            trials,
            chosen,
            seconds: technique_secs,
        },
    })
}

/// Fidelity of `q` against the float model on the first calibration samples.
fn measure(float: &Graph, q: &Graph, spec: &str, a: &CompileArgs) -> Result<Fidelity> {
    let mut meter = fidelity::Meter::default();
    calib::for_each_batch(spec, float, a, fidelity::SAMPLES, &mut |x| {
        meter.add(float, q, x, a.rounding)
    })?;
    Ok(meter.finish())
}
