//! `share`: weight sharing. The weight of each Conv, ConvTranspose, Gemm and
//! MatMul is clustered by k-means (per tensor, per output channel or per group of
//! rows) and stored as a palette: a codebook per group and a packed index per
//! element (see [`pare_ir::palette`]), so the bytes really drop.
//!
//! It clusters the values as stored: float weights in float, quantized weights as
//! their integer codes (the codebook then holds int8 codes and the scales stay in
//! the type: a palettized int8 layer), so it runs after quantization. Errors are
//! weighed in real units (a code's error times its channel's scale), optionally
//! times each input channel's mean square on calibration data (`weighted`), which
//! approximates the output error. An exact zero (pruned weights) stays a
//! centroid. A layer is stored as a palette only where that is smaller than how
//! it is stored now (dense or sparse).

mod bias;
mod feedback;
pub mod gptq;
mod gram;
pub mod kmeans;
mod sensitivity;

use crate::registry::{OptionSpec, OptionType, Options};
use crate::{Changed, Pass, PassCx, PassError};
use faer::Mat;
use feedback::Feedback;
use gram::RowView;
use kmeans::Points;
use pare_ir::{DType, Graph, NodeId, Op, PaletteSpec, ValueDef, Weight, WeightBytes, WeightId};
use std::collections::{BTreeMap, HashMap};

const PASS: &str = "share";

pub const OPTIONS: &[OptionSpec] = &[
    OptionSpec {
        name: "k",
        ty: OptionType::Int,
        default: Some("16"),
        help: "clusters per codebook, 2 to 256 (indices take ceil(log2 k) bits)",
    },
    OptionSpec {
        name: "per",
        ty: OptionType::Choice(&["tensor", "channel", "group"]),
        default: Some("tensor"),
        help: "one codebook per weight tensor, per row of axis 0 (the output channel of Conv and trans_b Gemm weights), or per `rows` rows",
    },
    OptionSpec {
        name: "rows",
        ty: OptionType::Int,
        default: Some("8"),
        help: "rows of axis 0 per codebook when per=group (must divide the rows)",
    },
    OptionSpec {
        name: "weighted",
        ty: OptionType::Bool,
        default: Some("false"),
        help: "weigh each element's error by the mean square of its input channel on calib (sensitivity)",
    },
    OptionSpec {
        name: "gptq",
        ty: OptionType::Bool,
        default: Some("false"),
        help: "assign indices by error feedback on each layer's input Gram matrix from calib (GPTQ on the palette) and refit the codebooks to the output error, keeping it only where the output error drops",
    },
    OptionSpec {
        name: "bias-correct",
        ty: OptionType::Bool,
        default: Some("true"),
        help: "with calib: take each layer's mean output shift (ΔW · E[x]) back out of its float bias",
    },
    OptionSpec {
        name: "keep",
        ty: OptionType::Names,
        default: None,
        help: "layers left unshared, separated by `;`",
    },
    OptionSpec {
        name: "layer-k",
        ty: OptionType::Names,
        default: None,
        help: "per-layer cluster counts overriding k: NAME=K, separated by `;`",
    },
    crate::ptq::calib::CALIB,
    crate::ptq::calib::BATCH,
    OptionSpec {
        name: "samples",
        ty: OptionType::Int,
        default: Some("256"),
        help: "calibration samples read for the input channels' means and mean squares",
    },
];

/// Which rows share a codebook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Tensor,
    Channel,
    Rows(usize),
}

impl Scope {
    /// Codebooks for a weight of `rows` rows, or None when `Rows(r)` does not divide them.
    fn groups(self, rows: usize) -> Option<usize> {
        match self {
            Scope::Tensor => Some(1),
            Scope::Channel => Some(rows.max(1)),
            Scope::Rows(r) if r > 0 && rows.is_multiple_of(r) => Some((rows / r).max(1)),
            Scope::Rows(_) => None,
        }
    }

    pub fn describe(self) -> String {
        match self {
            Scope::Tensor => "per tensor".into(),
            Scope::Channel => "per channel".into(),
            Scope::Rows(r) => format!("per {r} rows"),
        }
    }
}

/// The pass. See the module docs.
#[derive(Debug)]
pub struct Share {
    pub k: usize,
    pub scope: Scope,
    /// Weigh each element's error by its input channel's mean square (needs `data`).
    pub weighted: bool,
    /// Error-feedback assignment on each layer's input Gram (needs `data`).
    pub gptq: bool,
    /// Correct float biases for the mean output shift (needs `data`).
    pub bias_correct: bool,
    pub keep: Vec<String>,
    /// Cluster counts for named layers, overriding `k`.
    pub layer_k: Vec<(String, usize)>,
    /// Calibration data for `weighted` and `bias_correct`.
    pub data: Option<crate::ptq::calib::DataOptions>,
}

/// `k` when it is a cluster count `share` takes (2 to 256).
fn check_k(option: &str, k: usize, value: &str) -> Result<usize, PassError> {
    if (2..=256).contains(&k) {
        Ok(k)
    } else {
        Err(PassError::BadOption {
            pass: PASS.into(),
            option: option.into(),
            value: value.into(),
            expected: "a cluster count from 2 to 256".into(),
        })
    }
}

/// `NAME=K` entries of `layer-k`.
pub fn parse_layer_k(entries: &[String]) -> Result<Vec<(String, usize)>, PassError> {
    entries
        .iter()
        .filter(|e| !e.is_empty())
        .map(|e| {
            let bad = || PassError::BadOption {
                pass: PASS.into(),
                option: "layer-k".into(),
                value: e.clone(),
                expected: "NAME=K with K a cluster count from 2 to 256".into(),
            };
            let (name, k) = e.rsplit_once('=').ok_or_else(bad)?;
            let k = k.trim().parse::<usize>().map_err(|_| bad())?;
            Ok((name.trim().to_string(), check_k("layer-k", k, e)?))
        })
        .collect()
}

impl Share {
    pub fn from_options(o: &Options) -> Result<Share, PassError> {
        let k = o.count("k")?;
        let k = check_k("k", k, &k.to_string())?;
        let scope = match o.word("per")? {
            "channel" => Scope::Channel,
            "group" => Scope::Rows(o.count("rows")?.max(1)),
            _ => Scope::Tensor,
        };
        let mut data = crate::ptq::calib::DataOptions::from_options(o)?;
        if let Some(d) = &mut data {
            d.samples = Some(o.count("samples")?);
        }
        let weighted = o.bool("weighted")?;
        if weighted && data.is_none() {
            return Err(PassError::Config {
                pass: PASS,
                msg: "weighted=true measures sensitivity on calibration data: add calib=FILE.npz[:KEY]".into(),
            });
        }
        let gptq = o.bool("gptq")?;
        if gptq && data.is_none() {
            return Err(PassError::Config {
                pass: PASS,
                msg: "gptq=true measures each layer's input on calibration data: add calib=FILE.npz[:KEY]".into(),
            });
        }
        Ok(Share {
            k,
            scope,
            weighted,
            gptq,
            bias_correct: o.bool("bias-correct")?,
            keep: o.names("keep"),
            layer_k: parse_layer_k(&o.names("layer-k"))?,
            data,
        })
    }
}

/// A weight to share: the first node reading it (for names and layouts).
struct Target {
    weight: WeightId,
    node: NodeId,
}

fn targets(g: &Graph, keep: &[String]) -> Vec<Target> {
    let mut seen: BTreeMap<WeightId, NodeId> = BTreeMap::new();
    for &n in g.order() {
        let node = g.node(n);
        if !matches!(
            node.op,
            Op::Conv { .. } | Op::ConvTranspose { .. } | Op::Gemm { .. } | Op::MatMul {}
        ) || keep.contains(&crate::prune::structured::analyze::label(g, n))
        {
            continue;
        }
        let Some(wv) = node.input(1) else { continue };
        // Weight-only quantized graphs read the codes through a DequantizeLinear,
        // fp16 graphs the f16 weight through a widening Cast.
        let wv = match g.value(wv).def {
            ValueDef::Node { node: dq, .. }
                if matches!(g.node(dq).op, Op::DequantizeLinear { .. } | Op::Cast { .. }) =>
            {
                match g.node(dq).input(0) {
                    Some(q) => q,
                    None => continue,
                }
            }
            _ => wv,
        };
        if let ValueDef::Weight(w) = g.value(wv).def {
            seen.entry(w).or_insert(n);
        }
    }
    seen.into_iter()
        .map(|(weight, node)| Target { weight, node })
        .collect()
}

/// A weight's elements as numbers to cluster (floats, or integer codes) and the
/// real-unit factor of each (its channel's scale); None when the weight does
/// not decode or its quantization parameters do not fit its shape.
fn values_and_scales(w: &Weight) -> Option<(Vec<f64>, Vec<f64>)> {
    let t = w.tensor().ok()?;
    let vals = t.to_f64_vec();
    let scales = match &w.ty.quant {
        None => vec![1.0; vals.len()],
        Some(q) => {
            let (channels, inner) = pare_ir::quant::channel_layout(t.shape(), q).ok()?;
            (0..vals.len())
                .map(|e| f64::from(q.scale[(e / inner.max(1)) % channels]))
                .collect()
        }
    };
    Some((vals, scales))
}

/// Stored bytes of `values` (already representable) in `w`'s dtype.
fn store(w: &Weight, values: &[f64]) -> Vec<u8> {
    match w.ty.dtype {
        DType::F32 => values
            .iter()
            .flat_map(|&v| (v as f32).to_le_bytes())
            .collect(),
        DType::F16 => values
            .iter()
            .flat_map(|&v| half::f16::from_f64(v).to_le_bytes())
            .collect(),
        DType::I8 => values.iter().map(|&v| v as i8 as u8).collect(),
        _ => values.iter().map(|&v| v as u8).collect(),
    }
}

/// A centroid as the weight's dtype can hold it.
fn representable(dtype: DType, c: f64, lo: f64, hi: f64) -> f64 {
    match dtype {
        DType::F32 => f64::from(c as f32),
        DType::F16 => half::f16::from_f64(c).to_f64(),
        _ => c.round().clamp(lo, hi),
    }
}

/// What sharing one weight did.
struct Outcome {
    weight: Weight,
    /// New minus old value of each element, in real units.
    delta: Vec<f64>,
    k: usize,
    groups: usize,
    /// Σ importance·(w−w')² / Σ importance·w², in real units.
    rel_error: f64,
    /// What error-feedback assignment did (output errors), when it ran.
    feedback_note: Option<String>,
}

/// Ascending, without repeats.
fn sorted_unique(mut c: Vec<f64>) -> Vec<f64> {
    c.sort_by(f64::total_cmp);
    c.dedup();
    c
}

impl Share {
    /// Clusters `w` (read by node `n`) with `sens` per input channel, if any.
    fn share_one(
        &self,
        g: &Graph,
        n: NodeId,
        w: &Weight,
        k: usize,
        sens: Option<&Vec<f64>>,
        feedback: Option<(RowView, &Mat<f64>)>,
    ) -> Result<Outcome, String> {
        if !pare_ir::palette::supports(&w.ty) {
            return Err(format!(
                "its {} weights cannot be a palette (f32, f16 or 8-bit codes only{})",
                w.ty,
                if pare_ir::is_nibble_packed(&w.ty) {
                    "; 4-bit codes already take 4 bits"
                } else {
                    ""
                }
            ));
        }
        let (vals, scales) = values_and_scales(w).ok_or(
            "its weight does not decode, or its quantization parameters do not fit its shape",
        )?;
        let sens = sens.filter(|_| self.weighted);
        let shape: Vec<usize> =
            w.ty.fixed_shape()
                .unwrap_or_default()
                .iter()
                .map(|&d| d as usize)
                .collect();
        let rows = shape.first().copied().unwrap_or(1).max(1);
        let groups = self
            .scope
            .groups(rows)
            .ok_or_else(|| format!("{} does not divide its {rows} rows", self.scope.describe()))?;
        let per_group = vals.len() / groups;
        let op = &g.node(n).op;
        let importance: Vec<f64> = (0..vals.len())
            .map(|e| {
                let s = scales[e] * scales[e];
                match sens.and_then(|m| m.get(sensitivity::weight_input_channel(op, &shape, e)?)) {
                    // A channel never active still counts a little, so its weights stay sane.
                    Some(&ms) => s * (ms + 1e-12),
                    None => s,
                }
            })
            .collect();
        let zero = match &w.ty.quant {
            None => Some(0.0),
            Some(q) if q.zero_point.iter().all(|&z| z == q.zero_point[0]) => {
                Some(f64::from(q.zero_point[0]))
            }
            Some(_) => None,
        };
        let (lo, hi) = vals
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        let mut books = Vec::with_capacity(groups);
        let mut fixed = Vec::with_capacity(groups);
        for gi in 0..groups {
            let range = gi * per_group..(gi + 1) * per_group;
            let pairs: Vec<(f64, f64)> = range.clone().map(|e| (vals[e], importance[e])).collect();
            let fix = zero.filter(|z| pairs.iter().any(|p| p.0 == *z));
            let fit = kmeans::fit(&Points::new(pairs), k, fix, 0x5eed_0000 + gi as u64);
            let c = fit
                .centroids
                .iter()
                .map(|&c| representable(w.ty.dtype, c, lo, hi))
                .collect();
            books.push(sorted_unique(c));
            fixed.push(fix);
        }
        let mut out: Vec<f64> = (0..vals.len())
            .map(|e| kmeans::nearest(&books[e / per_group], vals[e]))
            .collect();
        let mut feedback_note = None;
        if let (Some((view, h)), Some(zp)) = (feedback, zero) {
            let fb = Feedback {
                view,
                h,
                zp,
                per_group,
                dtype: w.ty.dtype,
                lo,
                hi,
            };
            if let Some((assigned, note)) = fb.run(&vals, &scales, &books, &fixed, &out) {
                out = assigned.0;
                books = assigned.1;
                feedback_note = Some(note);
            }
        }
        let k_used = books.iter().map(Vec::len).max().unwrap_or(2).max(2);
        let (mut num, mut den) = (0.0, 0.0);
        let zp = if w.ty.quant.is_some() {
            zero.unwrap_or(0.0)
        } else {
            0.0
        };
        for e in 0..vals.len() {
            let imp = importance[e];
            num += imp * (vals[e] - out[e]) * (vals[e] - out[e]);
            den += imp * (vals[e] - zp).powi(2);
        }
        let spec = PaletteSpec { k: k_used, groups };
        let dense = Weight::new(w.ty.clone(), WeightBytes::Owned(store(w, &out).into()))
            .map_err(|e| e.to_string())?;
        let weight = dense.to_palette(spec).map_err(|e| e.to_string())?;
        Ok(Outcome {
            weight,
            delta: out
                .iter()
                .zip(&vals)
                .zip(&scales)
                .map(|((n, o), s)| (n - o) * s)
                .collect(),
            k: k_used,
            groups,
            rel_error: if den > 0.0 { num / den } else { 0.0 },
            feedback_note,
        })
    }
}

impl Pass for Share {
    fn name(&self) -> &'static str {
        PASS
    }

    fn run(&mut self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        crate::prune::structured::analyze::check_keep(g, &self.keep, PASS)?;
        let label = crate::prune::structured::analyze::label;
        if let Some((missing, _)) = self
            .layer_k
            .iter()
            .find(|(name, _)| !g.order().iter().any(|&n| label(g, n) == *name))
        {
            return Err(PassError::Config {
                pass: PASS,
                msg: format!("layer-k names node `{missing}`, which the graph does not have"),
            });
        }
        let targets = targets(g, &self.keep);
        let batches = match &self.data {
            Some(d) if self.weighted || self.bias_correct || self.gptq => d
                .open(g, PASS)?
                .take(d.samples.unwrap_or(2048))
                .map_err(|e| PassError::Analysis {
                    pass: PASS,
                    source: e,
                })?,
            _ => Vec::new(),
        };
        let nodes: Vec<NodeId> = targets.iter().map(|t| t.node).collect();
        let moments: HashMap<NodeId, sensitivity::Moments> =
            if !batches.is_empty() && (self.weighted || self.bias_correct) {
                sensitivity::input_moments(g, &nodes, &batches, PASS)?
            } else {
                HashMap::new()
            };
        let views: HashMap<NodeId, RowView> = targets
            .iter()
            .filter_map(|t| {
                let shape: Vec<usize> = g
                    .weight(t.weight)
                    .ty
                    .fixed_shape()?
                    .iter()
                    .map(|&d| d as usize)
                    .collect();
                Some((t.node, RowView::of(&g.node(t.node).op, &shape)?))
            })
            .collect();
        let grams: HashMap<NodeId, gram::Gram> = if self.gptq && !batches.is_empty() {
            let wanted: Vec<gram::Wanted> = views
                .iter()
                .map(|(&node, &view)| gram::Wanted { node, view })
                .collect();
            gram::grams(g, &wanted, &batches, PASS)?
        } else {
            HashMap::new()
        };
        // Sharing swaps weights only, so who reads each value stays as it is.
        let readers: Vec<usize> = g.uses().iter().map(Vec::len).collect();
        let (mut before, mut after, mut shared) = (0usize, 0usize, 0usize);
        for t in &targets {
            let label = label(g, t.node);
            let w = g.weight(t.weight).clone();
            let m = moments.get(&t.node);
            let view = views.get(&t.node).copied();
            let gm = grams.get(&t.node);
            let feedback = match (view, gm) {
                // Fewer input rows than twice the inputs leave H poorly estimated
                // (rank-deficient below 1x): feedback would fit the calibration
                // samples' own subspace (measured: digits CNN fc1, 256 rows for
                // 512 inputs, accuracy 0.988 -> 0.976), so such layers keep
                // nearest assignment.
                (Some(v), Some(gm)) if gm.rows >= gram::MIN_ROWS_PER_INPUT * v.cols() => {
                    Some((v, &gm.h))
                }
                (Some(v), Some(gm)) => {
                    cx.note(PASS, format!("{label}: nearest-centroid assignment; error feedback skipped, only {} input rows on calib for {} inputs (it needs {}x as many)", gm.rows, v.cols(), gram::MIN_ROWS_PER_INPUT));
                    None
                }
                _ => {
                    if self.gptq {
                        cx.note(PASS, format!("{label}: nearest-centroid assignment, no input Gram (grouped conv, weight wider than {} inputs, or a layout error feedback does not cover)", gram::MAX_COLS));
                    }
                    None
                }
            };
            let k = self
                .layer_k
                .iter()
                .find(|(n, _)| *n == label)
                .map_or(self.k, |&(_, k)| k);
            let outcome = match self.share_one(g, t.node, &w, k, m.map(|m| &m.mean_sq), feedback) {
                Ok(o) => o,
                Err(why) => {
                    cx.note(PASS, format!("{label}: skipped, {why}"));
                    continue;
                }
            };
            let (was, now) = (w.stored_len(), outcome.weight.stored_len());
            if now >= was {
                cx.note(
                    PASS,
                    format!("{label}: skipped, a palette of {} would take {now} bytes, not fewer than its {was} stored bytes", outcome.k),
                );
                continue;
            }
            let spec = outcome.weight.palette_spec().expect("a palette");
            cx.note(
                PASS,
                format!(
                    "{label}: {} weights, k={} {} ({} codebooks, {}-bit indices), bytes {was} -> {now} ({:.2}x smaller), relative {}error {:.3e}",
                    w.ty.num_elements().unwrap_or(0),
                    outcome.k,
                    self.scope.describe(),
                    outcome.groups,
                    spec.bits(),
                    was as f64 / now.max(1) as f64,
                    if self.weighted && m.is_some() { "sensitivity-weighted " } else { "" },
                    outcome.rel_error
                ),
            );
            if let Some(fb) = &outcome.feedback_note {
                cx.note(PASS, format!("{label}: {fb}"));
            }
            before += was;
            after += now;
            shared += 1;
            *g.weight_mut(t.weight) = outcome.weight;
            if let (Some(m), true) = (m, self.bias_correct) {
                if let Some(worst) = bias::correct(g, t.node, &outcome.delta, &m.mean, &readers) {
                    cx.note(PASS, format!("{label}: bias corrected for the mean output shift (largest {worst:.3e})"));
                }
            }
        }
        cx.note(
            PASS,
            format!("{shared} weights shared; their bytes {before} -> {after}"),
        );
        Ok(Changed::from_bool(shared > 0))
    }
}
