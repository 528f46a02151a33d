//! Raising precision until the fidelity floor holds: float islands chosen by
//! measured sensitivity, greedily.
//!
//! The unit raised is one quantized activation value: its island is the
//! node that produces it and every node that reads it, all kept float, so
//! the value is never rounded to int8. (A node alone is not enough: a
//! float producer's output is quantized again at the entry of an integer
//! reader with the same calibrated range, and a float reader only sees
//! the codes. An outlier channel that swamps a tensor's range is lost the
//! same way in both cases.)
//!
//! Each round measures, for every value still quantized, the fidelity of the
//! model re-quantized with that value's island kept float (integer
//! interpreter against the float model on the first samples, as many as
//! [`RaiseBudget`] allows the model's cost); the value whose island gives the highest SQNR (then agreement),
//! if it beats the model as it stands by [`MIN_GAIN_DB`] (or in agreement), is raised, the model is re-quantized from the same calibration, finished
//! as the chosen variant was (bias correction), and measured again on the
//! fidelity samples. Rounds go on until the floor holds or no island is
//! left that fits (a size budget) and improves the measured fidelity. A target that runs integer kernels only gets no island: the
//! round's measurements are then the per-layer table of the failure.
//!
//! Cost: a round quantizes and runs the model once per candidate on the
//! budget's samples; past the budget's candidates only that many are
//! measured, those where [`super::raise_rank`] sees the quantization noise
//! jump most; the chosen candidate's measurement is the next round's
//! baseline; and at most [`FidelityFloor::raises`] islands are raised (then
//! the floor is unmet). A model that holds the floor pays nothing.

use super::floor::FidelityFloor;
pub use super::raise_budget::RaiseBudget;
use super::raise_islands::{display_name, islands, Island};
use super::raise_rank::jump_scores;
use crate::metrics::{Fidelity, FidelityMeter};
use crate::quantize::calibrate::{take_samples, BoxError, Calibration};
use crate::quantize::{quantize_int, IntOptions, LayerRecord, LayerStatus};
use crate::PassError;
use pare_ir::interp::{run, run_with, QuantExec, RunOptions};
use pare_ir::quant::Rounding;
use pare_ir::{Graph, NodeId, Tensor};
use std::collections::BTreeMap;

const PASS: &str = "fidelity-floor";

/// Samples the ranking runs on (every activation of them is held at once).
const RANK_SAMPLES: usize = 4;

/// What the floor may change and how it measures.
#[derive(Debug)]
pub struct RaiseOptions<'a> {
    pub floor: FidelityFloor,
    /// Why no float island may be raised (a target running integer kernels
    /// only); `None` when islands are allowed.
    pub no_islands: Option<String>,
    pub rounding: Rounding,
    /// The first samples of the data, batch by batch (as many as
    /// `budget.samples`): candidates are measured on these.
    pub samples: &'a [Vec<Tensor>],
    pub budget: RaiseBudget,
}

/// What quantization started from, to re-quantize with islands.
#[derive(Debug)]
pub struct Base<'a> {
    /// The float model fidelity is measured against.
    pub float: &'a Graph,
    /// The float graph the chosen variant was quantized from (equalized or not).
    pub graph: &'a Graph,
    pub calibration: &'a Calibration,
    /// The chosen variant's options (weight widths per node).
    pub opts: IntOptions,
}

/// One value the floor may keep float, with what keeping it float measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// The value's name.
    pub value: String,
    /// The node that produces it (`None`: a graph input).
    pub producer: Option<String>,
    /// The producer's op.
    pub op: String,
    /// The producer's precision now: `int8`, `int4 weights`, or `float`.
    pub precision: String,
    /// Every node of its island (the producer and the readers), in order.
    pub nodes: Vec<String>,
    /// Fidelity of the model with this island kept float, on the candidate
    /// samples, or why it was not measured (over a size budget, or ranked
    /// out by [`super::raise_rank`]).
    pub kept_float: Result<Fidelity, String>,
}

/// One raise: the island kept float and the fidelity (on the fidelity
/// samples) before and after.
#[derive(Clone, Debug, PartialEq)]
pub struct Raised {
    pub value: String,
    pub nodes: Vec<String>,
    pub before: Fidelity,
    pub after: Fidelity,
}

/// What the floor did.
#[derive(Clone, Debug, PartialEq)]
pub struct FloorReport {
    pub floor: FidelityFloor,
    /// Fidelity of the variant chosen before any raise.
    pub initial: Fidelity,
    pub raised: Vec<Raised>,
    /// Whether the final graph holds the floor.
    pub met: bool,
    /// Why the floor could not be met.
    pub unmet: Option<String>,
    /// The last round's measurements (empty when the floor held at once).
    pub candidates: Vec<Candidate>,
    /// Samples each candidate was measured on.
    pub candidate_samples: usize,
}

/// The raised model: its graph, records and fidelity, and the report.
#[derive(Debug)]
pub struct RaiseResult {
    pub graph: Graph,
    pub records: Vec<LayerRecord>,
    pub fidelity: Fidelity,
    pub report: FloorReport,
}

/// Callbacks into the variant search: finishing a re-quantized graph as the
/// chosen variant was, measuring on the fidelity samples, and whether a
/// graph fits the size budget.
pub struct Hooks<'a> {
    pub finish: &'a mut dyn FnMut(&mut Graph) -> Result<(), PassError>,
    pub measure: &'a dyn Fn(&Graph) -> Result<Fidelity, PassError>,
    pub fits: &'a dyn Fn(&Graph) -> Result<bool, PassError>,
}

impl std::fmt::Debug for Hooks<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooks").finish_non_exhaustive()
    }
}

/// Raises precision of `graph` (quantized from `base`, with `records` and
/// `fidelity`) until `opts.floor` holds; see the module docs.
pub fn raise_to_floor(
    base: &Base,
    graph: Graph,
    records: Vec<LayerRecord>,
    fidelity: Fidelity,
    opts: &RaiseOptions,
    hooks: &mut Hooks,
) -> Result<RaiseResult, PassError> {
    let mut report = FloorReport {
        floor: opts.floor,
        initial: fidelity.clone(),
        raised: Vec::new(),
        met: opts.floor.holds(&fidelity),
        unmet: None,
        candidates: Vec::new(),
        candidate_samples: opts.samples.iter().map(|b| batch_len(b)).sum(),
    };
    let (mut graph, mut records, mut fidelity) = (graph, records, fidelity);
    if report.met {
        return Ok(RaiseResult {
            graph,
            records,
            fidelity,
            report,
        });
    }
    let reference: Vec<Vec<Tensor>> = opts
        .samples
        .iter()
        .map(|x| run(base.float, x).map_err(analysis))
        .collect::<Result<_, _>>()?;
    let mut keep: BTreeMap<NodeId, String> = base.opts.keep_float.clone();
    // The chosen candidate's graph is the next round's model as it stands,
    // measured on the same samples: its figure is reused.
    let mut measured_now: Option<Fidelity> = None;
    while !report.met {
        if report.raised.len() >= opts.floor.raises() {
            report.unmet = Some(format!(
                "the floor still fails after raising {} float island(s), the most `raises=` allows (default {})",
                report.raised.len(),
                super::floor::DEFAULT_MAX_RAISES
            ));
            break;
        }
        let islands = islands(base, &keep);
        let mut candidates = Vec::with_capacity(islands.len());
        // An island must beat the model as it stands (measured the same way:
        // re-quantized, not finished) to be raised.
        let current = quantized(base, &keep)?.0;
        let now = match measured_now.take() {
            Some(f) => f,
            None => measure_on(&current, opts, &reference)?,
        };
        // Many candidates: measure only those where the noise jumps most
        // (every one when no island may be raised: the table is the answer).
        let shortlist = if opts.no_islands.is_none() && islands.len() > opts.budget.candidates {
            Some(shortlist(base, &current, &islands, opts)?)
        } else {
            None
        };
        let mut best: Option<(usize, Fidelity)> = None;
        let mut fitted = 0;
        for (k, island) in islands.iter().enumerate() {
            if shortlist.as_ref().is_some_and(|s| !s.contains(&k)) {
                candidates.push(island.describe(
                    base.graph,
                    &records,
                    Err(format!(
                        "not measured: outside the {} values where the noise jumps most",
                        opts.budget.candidates
                    )),
                ));
                continue;
            }
            let mut trial_keep = keep.clone();
            for &n in &island.nodes {
                trial_keep.insert(n, String::new());
            }
            let g = quantized(base, &trial_keep)?.0;
            let kept_float = if (hooks.fits)(&g)? {
                let f = measure_on(&g, opts, &reference)?;
                fitted += 1;
                if better(&f, best.as_ref().map_or(&now, |(_, b)| b)) {
                    best = Some((k, f.clone()));
                }
                Ok(f)
            } else {
                Err("not measured: over the size budget".to_string())
            };
            candidates.push(island.describe(base.graph, &records, kept_float));
        }
        report.candidates = candidates;
        if let Some(why) = &opts.no_islands {
            report.unmet = Some(why.clone());
            break;
        }
        let Some((k, chosen)) = best.filter(|(_, f)| worth_raising(f, &now)) else {
            report.unmet = Some(if islands.is_empty() {
                "no quantized value is left to keep float".into()
            } else if fitted == 0 {
                "no float island fits the size budget".into()
            } else {
                format!(
                    "none of the {fitted} float islands measured (of {}) raises the SQNR by {MIN_GAIN_DB} dB or the agreement",
                    islands.len()
                )
            });
            break;
        };
        measured_now = Some(chosen);
        let island = &islands[k];
        for &n in &island.nodes {
            keep.insert(n, String::new());
        }
        let (mut g, recs) = quantized(base, &keep)?;
        (hooks.finish)(&mut g)?;
        let after = (hooks.measure)(&g)?;
        if !improves(&after, &fidelity) {
            // Chosen on the candidate samples before bias correction, the
            // island measures no better finished on the fidelity samples:
            // it is not kept.
            for &n in &island.nodes {
                keep.remove(&n);
            }
            report.unmet = Some(format!(
                "keeping `{}` float measured no better once finished ({} → {})",
                island.name,
                summary(&fidelity),
                summary(&after)
            ));
            break;
        }
        let why = reason(&fidelity, &after);
        for &n in &island.nodes {
            keep.insert(n, why.clone());
        }
        report.raised.push(Raised {
            value: island.name.clone(),
            nodes: island.node_names(base.graph),
            before: fidelity.clone(),
            after: after.clone(),
        });
        (graph, records, fidelity) = (g, recs, after);
        report.met = opts.floor.holds(&fidelity);
    }
    if !report.met && opts.no_islands.is_none() && report.raised.len() < opts.floor.raises() {
        // No island held it: int8 error spread through the whole model (a
        // recognizer losing a little in every block). The last resorts, in
        // order: float activations everywhere with int8 weights, then fp16
        // weights (f32 arithmetic). Each is measured; the first that holds
        // the floor is kept and reported as one island of every value.
        let all: BTreeMap<NodeId, String> = base
            .graph
            .order()
            .iter()
            .map(|&n| (n, WHOLE_MODEL.to_string()))
            .collect();
        let mut missed = Vec::new();
        for weights in ["int8 weights", "fp16 weights"] {
            let (g, recs, kept) = if weights == "int8 weights" {
                let (g, recs) = quantized(base, &all)?;
                (g, recs, all.clone())
            } else {
                let mut g = base.graph.clone();
                let recs = crate::quantize::quantize_fp16(&mut g)?;
                (g, recs, BTreeMap::new())
            };
            if !(hooks.fits)(&g)? {
                missed.push(format!("{weights}: over the size budget"));
                continue;
            }
            let after = (hooks.measure)(&g)?;
            if !opts.floor.holds(&after) {
                missed.push(format!(
                    "{weights}: {}",
                    opts.floor.misses(&after).join(", ")
                ));
                continue;
            }
            report.raised.push(Raised {
                value: format!("every value ({weights})"),
                nodes: base
                    .graph
                    .order()
                    .iter()
                    .map(|&n| display_name(base.graph, n))
                    .collect(),
                before: fidelity.clone(),
                after: after.clone(),
            });
            (graph, records, fidelity, keep) = (g, recs, after, kept);
            report.met = true;
            report.unmet = None;
            break;
        }
        if let (false, Some(why)) = (report.met, &mut report.unmet) {
            why.push_str(&format!(
                "; float activations everywhere miss it too ({})",
                missed.join("; ")
            ));
        }
    }
    // The records (one per node of the base graph, in its order) say why
    // each raised node is float.
    for (r, id) in records.iter_mut().zip(base.graph.order()) {
        if let Some(why) = keep.get(id).filter(|w| !w.is_empty()) {
            let weights = if r.weight_bits.is_some() {
                crate::quantize::ISLAND_WEIGHTS
            } else {
                ""
            };
            r.status = LayerStatus::Float(format!("{why}{weights}"));
        }
    }
    Ok(RaiseResult {
        graph,
        records,
        fidelity,
        report,
    })
}

/// Indices of the budget's number of islands whose value scores highest
/// in [`super::raise_rank::jump_scores`] on the first [`RANK_SAMPLES`]
/// samples of `current` (ties by graph order).
fn shortlist(
    base: &Base,
    current: &Graph,
    islands: &[Island],
    opts: &RaiseOptions,
) -> Result<Vec<usize>, PassError> {
    let mut samples = Vec::new();
    if let Some(first) = opts.samples.first() {
        let n = batch_len(first);
        let keep = n.min(RANK_SAMPLES);
        samples.push(take_samples(first.clone(), n, keep).map_err(analysis)?);
    }
    let scores = jump_scores(base.graph, current, &samples, opts.rounding).map_err(analysis)?;
    let mut order: Vec<usize> = (0..islands.len()).collect();
    let score = |k: &usize| scores.get(&islands[*k].value).copied().unwrap_or(0.0);
    order.sort_by(|a, b| score(b).total_cmp(&score(a)).then(a.cmp(b)));
    order.truncate(opts.budget.candidates);
    Ok(order)
}

/// "kept float: raised for fidelity (agreement a → b, SQNR x → y dB)".
fn reason(before: &Fidelity, after: &Fidelity) -> String {
    let agree = match (before.agreement, after.agreement) {
        (Some(a), Some(b)) => format!("agreement {a:.4} → {b:.4}, "),
        _ => String::new(),
    };
    format!(
        "kept float: raised for fidelity ({agree}SQNR {:.2} → {:.2} dB)",
        before.sqnr_db, after.sqnr_db
    )
}

/// Why every node is float when no island held the floor.
const WHOLE_MODEL: &str =
    "kept float: no float island held the fidelity floor, so the whole model keeps float activations";

/// Least SQNR gain (dB) an island must bring to be raised, unless it raises
/// the agreement: smaller gains spend a float island on what is mostly the
/// candidate samples' noise, and on a model whose int8 error is spread
/// thin (a detector head at 11 dB in every tool) would raise island after
/// island for tenths of a dB.
pub const MIN_GAIN_DB: f64 = 0.5;

/// Whether candidate fidelity `a` is worth a float island over `now`.
fn worth_raising(a: &Fidelity, now: &Fidelity) -> bool {
    let agrees_more = matches!((a.agreement, now.agreement), (Some(x), Some(y)) if x > y);
    sqnr(a) >= sqnr(now) + MIN_GAIN_DB || (agrees_more && sqnr(a) >= sqnr(now))
}

/// Whether `after` is any better than `before`: more agreement, or more SQNR.
fn improves(after: &Fidelity, before: &Fidelity) -> bool {
    let agrees_more = matches!((after.agreement, before.agreement), (Some(x), Some(y)) if x > y);
    agrees_more || sqnr(after) > sqnr(before)
}

/// "agreement a, SQNR x dB" (agreement where it is measured).
fn summary(f: &Fidelity) -> String {
    match f.agreement {
        Some(a) => format!("agreement {a:.4}, SQNR {:.2} dB", f.sqnr_db),
        None => format!("SQNR {:.2} dB", f.sqnr_db),
    }
}

/// Whether fidelity `a` beats `b`: higher SQNR, then higher agreement (a
/// NaN SQNR never beats a number).
fn better(a: &Fidelity, b: &Fidelity) -> bool {
    let key = |f: &Fidelity| (sqnr(f), f.agreement.unwrap_or(0.0));
    let (ka, kb) = (key(a), key(b));
    ka.0 > kb.0 || (ka.0 == kb.0 && ka.1 > kb.1)
}

/// The SQNR, with NaN (NaN outputs) below every number.
fn sqnr(f: &Fidelity) -> f64 {
    if f.sqnr_db.is_nan() {
        f64::NEG_INFINITY
    } else {
        f.sqnr_db
    }
}

/// `base.graph` quantized with the nodes of `keep` float.
fn quantized(
    base: &Base,
    keep: &BTreeMap<NodeId, String>,
) -> Result<(Graph, Vec<LayerRecord>), PassError> {
    let mut g = base.graph.clone();
    let opts = IntOptions {
        keep_float: keep.clone(),
        ..base.opts.clone()
    };
    let records = quantize_int(&mut g, base.calibration, &opts)?;
    Ok((g, records))
}

/// Fidelity of `q` on the candidate samples against the float outputs
/// `reference` computed once for all candidates.
fn measure_on(
    q: &Graph,
    opts: &RaiseOptions,
    reference: &[Vec<Tensor>],
) -> Result<Fidelity, PassError> {
    let ropts = RunOptions {
        quant: QuantExec::Integer(opts.rounding),
    };
    let mut meter = FidelityMeter::default();
    for (x, want) in opts.samples.iter().zip(reference) {
        let got = run_with(q, x, &ropts, &mut |_, _| {}).map_err(analysis)?;
        meter.add_outputs(&got, want, batch_len(x));
    }
    Ok(meter.finish())
}

fn batch_len(x: &[Tensor]) -> usize {
    crate::quantize::calibrate::batch_samples(x)
}

fn analysis(e: impl Into<BoxError>) -> PassError {
    PassError::Analysis {
        pass: PASS,
        source: e.into(),
    }
}
