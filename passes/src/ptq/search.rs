//! The guard around the error-reducing techniques of integer quantization:
//! cross-layer equalization of the float graph before calibration and
//! empirical bias correction after quantization. Each variant is a pipeline
//! of registered passes — `[equalize,] quantize|mixed-precision
//! [,bias-correct]` — run by the caller's pass manager (verifier after each
//! pass, its print hook). In `auto` mode a technique is tried and kept only if
//! it raises the SQNR against the float model, measured (integer interpreter)
//! on the first [`FIDELITY_SAMPLES`] samples of the data; `on` keeps it
//! unmeasured against the alternative, `off` never tries it. Every variant
//! tried is listed with its figures.
//!
//! The guard's cost: each equalization variant is calibrated and quantized
//! once more, each bias-corrected variant costs its correction plus one more
//! fidelity measurement. Both are measured on calibration samples, which the
//! correction also saw (its first [`bias_plan`] samples): the guard compares
//! variants on the data the user gave, it is no held-out accuracy claim.
//!
//! The chosen variant must then hold the fidelity floor ([`FidelityFloor`]);
//! below it, [`super::raise`] keeps the most sensitive values float until it
//! holds, and the outcome says whether it does.

use super::floor::FidelityFloor;
use super::raise::{self, Base, FloorReport, Hooks, RaiseBudget, RaiseOptions};
use super::{BiasCorrect, DataOptions, Equalize};
use crate::metrics::{fidelity_on, Fidelity, FIDELITY_SAMPLES};
use crate::quantize::bias_correction::BiasCorrection;
use crate::quantize::bias_plan::bias_plan;
use crate::quantize::calibrate::BoxError;
use crate::quantize::equalize::Equalization;
use crate::quantize::{IntOptions, LayerStatus, QuantState};
use crate::{Pass, PassCx, PassError, PassManager, Pipeline, Step};
use pare_ir::quant::Rounding;
use pare_ir::Graph;
use std::time::Instant;

const PASS: &str = "variant-search";

/// When a technique is applied.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
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

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Mode, String> {
        match s {
            "off" => Ok(Mode::Off),
            "on" => Ok(Mode::On),
            "auto" => Ok(Mode::Auto),
            _ => Err(format!("`{s}` is not off, on or auto")),
        }
    }
}

/// What the search tries and how it measures.
#[derive(Clone, Debug)]
pub struct SearchOptions {
    pub equalize: Mode,
    pub bias_correction: Mode,
    /// The data bias correction and the fidelity measurement read (their
    /// first samples).
    pub data: DataOptions,
    /// Rounding of the integer kernels the variants are measured with.
    pub rounding: Rounding,
    /// A bias-corrected variant whose artifact (by `encode`) exceeds this is
    /// not kept (nor a float island raised for the floor).
    pub size_budget: Option<u64>,
    /// The fidelity the chosen variant must hold ([`FidelityFloor::NONE`]:
    /// none).
    pub floor: FidelityFloor,
    /// Why the target cannot run float islands (integer kernels only);
    /// `None` when it can.
    pub no_islands: Option<String>,
}

/// One variant tried, with its measured fidelity.
#[derive(Clone, Debug)]
pub struct Trial {
    pub equalized: bool,
    pub bias_corrected: bool,
    pub fidelity: Fidelity,
}

/// What the techniques did, for reports: the equalization of the float graph
/// (whether or not the equalized variant was kept) and the correction of the
/// chosen variant's base (whether or not the corrected one was kept).
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
#[derive(Debug)]
pub struct Outcome {
    pub graph: Graph,
    /// What the chosen variant's quantization left: records, its calibration
    /// and calibration time, sensitivities, the artifact if already encoded.
    pub quant: QuantState,
    pub fidelity: Fidelity,
    pub summary: Summary,
    /// What the fidelity floor found and raised (`None`: no floor).
    pub floor: Option<FloorReport>,
}

/// Runs `pass` alone through the manager on `g`.
fn run_pass(
    m: &mut PassManager,
    pass: Box<dyn Pass>,
    g: &mut Graph,
    cx: &mut PassCx,
) -> Result<(), PassError> {
    let mut p = Pipeline::new(pass.name(), vec![Step::Once(pass)]);
    m.run(&mut p, g, cx).map(|_| ())
}

fn analysis(source: BoxError) -> PassError {
    PassError::Analysis { pass: PASS, source }
}

/// Calibrates and quantizes `float` (and its equalized variant) with the pass
/// `quantize` builds, corrects biases, measures each variant as `opts` asks,
/// and returns the best. `encode` writes an artifact (only called under a
/// size budget).
pub fn search(
    float: &Graph,
    opts: &SearchOptions,
    m: &mut PassManager,
    cx0: &PassCx,
    quantize: &dyn Fn() -> Result<Box<dyn Pass>, BoxError>,
    encode: &dyn Fn(&Graph) -> Result<Vec<u8>, BoxError>,
) -> Result<Outcome, PassError> {
    let t0 = Instant::now();
    // Float variants: (equalized, graph), the plain one first.
    let mut bases: Vec<(bool, Graph)> = Vec::new();
    let mut equalization = None;
    if opts.equalize != Mode::Off {
        let mut g = float.clone();
        let mut cx = cx0.clone();
        run_pass(m, Box::new(Equalize::default()), &mut g, &mut cx)?;
        let rec = cx.quant.equalization.take().unwrap_or_default();
        if !rec.pairs.is_empty() {
            bases.push((true, g));
        }
        equalization = Some(rec);
    }
    if opts.equalize != Mode::On || bases.is_empty() {
        bases.insert(0, (false, float.clone()));
    }
    let mut technique_secs = t0.elapsed().as_secs_f64();
    let mut states: Vec<QuantState> = Vec::new();
    let mut corrections: Vec<Option<BiasCorrection>> = Vec::new();
    // (base index, trial, quantized graph)
    let mut variants: Vec<(usize, Trial, Graph)> = Vec::new();
    for (b, (equalized, base)) in bases.iter().enumerate() {
        let mut q = base.clone();
        let mut cx = cx0.clone();
        run_pass(m, quantize().map_err(analysis)?, &mut q, &mut cx)?;
        let mut tried: Vec<(bool, Graph)> = Vec::new();
        let mut correction = None;
        if opts.bias_correction != Mode::Off {
            let t = Instant::now();
            let mut g = q.clone();
            let (estimator, samples) = bias_plan(base);
            let pass = BiasCorrect {
                data: Some(limited(&opts.data, samples)),
                estimator: Some(estimator),
                rounding: opts.rounding,
            };
            let mut bcx = cx.clone();
            run_pass(m, Box::new(pass), &mut g, &mut bcx)?;
            let rec = bcx
                .quant
                .correction
                .take()
                .ok_or_else(|| PassError::Config {
                    pass: PASS,
                    msg: "bias correction reported nothing".into(),
                })?;
            technique_secs += t.elapsed().as_secs_f64();
            // Corrected biases may print longer in a textual artifact.
            let fits = match opts.size_budget {
                Some(budget) => {
                    let bytes = encode(&g).map_err(analysis)?;
                    let fits = bytes.len() as u64 <= budget;
                    cx.quant.artifact_corrected = Some(bytes);
                    fits
                }
                None => true,
            };
            if !rec.layers.is_empty() && fits {
                tried.push((true, g));
            }
            correction = Some(rec);
        }
        corrections.push(correction);
        if opts.bias_correction != Mode::On || tried.is_empty() {
            tried.insert(0, (false, q));
        }
        let alone = bases.len() == 1 && tried.len() == 1;
        for (bias_corrected, g) in tried {
            let t = Instant::now();
            let fidelity = measure(float, &g, opts)?;
            if !alone {
                technique_secs += t.elapsed().as_secs_f64();
            }
            let trial = Trial {
                equalized: *equalized,
                bias_corrected,
                fidelity,
            };
            variants.push((b, trial, g));
        }
        states.push(cx.quant);
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
    let (b, trial, graph) = variants.swap_remove(chosen);
    let mut quant = std::mem::take(&mut states[b]);
    if trial.bias_corrected {
        // The uncorrected variant's artifact is not this graph's.
        quant.artifact = quant.artifact_corrected.take();
    }
    quant.artifact_corrected = None;
    let (graph, fidelity, floor) = if opts.floor.is_none() {
        (graph, trial.fidelity.clone(), None)
    } else {
        let r = hold_floor(float, graph, &trial, &mut quant, opts, m, cx0, encode)?;
        (r.0, r.1, Some(r.2))
    };
    Ok(Outcome {
        graph,
        quant,
        fidelity,
        floor,
        summary: Summary {
            equalize: opts.equalize,
            bias_correction: opts.bias_correction,
            equalization,
            correction: corrections.get_mut(b).and_then(Option::take),
            trials,
            chosen,
            seconds: technique_secs,
        },
    })
}

/// Holds the chosen variant `graph` (of `trial`, its quantization in
/// `quant`) to the floor: raises float islands as [`raise`] says, finishing
/// each re-quantized graph as the variant was (bias correction). Returns the
/// graph, its fidelity and the floor's report; `quant`'s records follow.
#[allow(clippy::too_many_arguments)]
fn hold_floor(
    float: &Graph,
    graph: Graph,
    trial: &Trial,
    quant: &mut QuantState,
    opts: &SearchOptions,
    m: &mut PassManager,
    cx0: &PassCx,
    encode: &dyn Fn(&Graph) -> Result<Vec<u8>, BoxError>,
) -> Result<(Graph, Fidelity, FloorReport), PassError> {
    let config = |msg: &str| PassError::Config {
        pass: PASS,
        msg: msg.into(),
    };
    let base_graph = quant
        .float
        .clone()
        .ok_or_else(|| config("the quantization left no float graph to raise precision in"))?;
    let (_, calibration) = quant
        .calibration
        .as_ref()
        .ok_or_else(|| config("the quantization left no calibration to re-quantize with"))?;
    // The chosen widths, per node (mixed precision chose them per layer);
    // records are one per node of the graph quantized, in its order.
    if quant.records.len() != base_graph.order().len() {
        return Err(config(
            "the quantization's records do not match its graph's nodes",
        ));
    }
    let mut base_opts = IntOptions::default();
    for (r, &id) in quant.records.iter().zip(base_graph.order()) {
        if let (LayerStatus::Int8, Some(bits)) = (&r.status, r.weight_bits) {
            base_opts.node_bits.insert(id, bits);
        }
    }
    let budget = RaiseBudget::for_macs(pare_ir::analysis::total_macs(float));
    let samples = limited(&opts.data, budget.samples)
        .open(float, PASS)?
        .take(budget.samples)
        .map_err(analysis)?;
    let base = Base {
        float,
        graph: &base_graph,
        calibration,
        opts: base_opts,
    };
    let ropts = RaiseOptions {
        floor: opts.floor,
        no_islands: opts.no_islands.clone(),
        rounding: opts.rounding,
        samples: &samples,
        budget,
    };
    let corrected = trial.bias_corrected;
    let mut finish = |g: &mut Graph| -> Result<(), PassError> {
        if !corrected {
            return Ok(());
        }
        let (estimator, n) = bias_plan(&base_graph);
        let pass = BiasCorrect {
            data: Some(limited(&opts.data, n)),
            estimator: Some(estimator),
            rounding: opts.rounding,
        };
        let mut bcx = cx0.clone();
        bcx.quant.float = Some(base_graph.clone());
        run_pass(m, Box::new(pass), g, &mut bcx)
    };
    let measure_full = |g: &Graph| measure(float, g, opts);
    let fits = |g: &Graph| -> Result<bool, PassError> {
        Ok(match opts.size_budget {
            Some(budget) => encode(g).map_err(analysis)?.len() as u64 <= budget,
            None => true,
        })
    };
    let records = std::mem::take(&mut quant.records);
    let r = raise::raise_to_floor(
        &base,
        graph,
        records,
        trial.fidelity.clone(),
        &ropts,
        &mut Hooks {
            finish: &mut finish,
            measure: &measure_full,
            fits: &fits,
        },
    )?;
    quant.records = r.records;
    if !r.report.raised.is_empty() {
        // The artifact encoded while choosing is not the raised graph's.
        quant.artifact = None;
    }
    Ok((r.graph, r.fidelity, r.report))
}

/// `data` cut to its first `n` samples.
fn limited(data: &DataOptions, n: usize) -> DataOptions {
    DataOptions {
        samples: Some(data.samples.map_or(n, |c| c.min(n))),
        ..data.clone()
    }
}

/// Fidelity of `q` against the float model on the first samples of the data.
fn measure(float: &Graph, q: &Graph, opts: &SearchOptions) -> Result<Fidelity, PassError> {
    let mut data = limited(&opts.data, FIDELITY_SAMPLES).open(float, PASS)?;
    fidelity_on(float, q, &mut data, opts.rounding).map_err(analysis)
}
