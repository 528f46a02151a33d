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
pub mod kmeans;
mod sensitivity;

use crate::registry::{OptionSpec, OptionType, Options};
use crate::{Changed, Pass, PassCx, PassError};
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
    /// Correct float biases for the mean output shift (needs `data`).
    pub bias_correct: bool,
    pub keep: Vec<String>,
    /// Calibration data for `weighted` and `bias_correct`.
    pub data: Option<crate::ptq::calib::DataOptions>,
}

impl Share {
    pub fn from_options(o: &Options) -> Result<Share, PassError> {
        let k = o.count("k")?;
        if !(2..=256).contains(&k) {
            return Err(PassError::BadOption {
                pass: PASS.into(),
                option: "k".into(),
                value: k.to_string(),
                expected: "a cluster count from 2 to 256".into(),
            });
        }
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
        Ok(Share {
            k,
            scope,
            weighted,
            bias_correct: o.bool("bias-correct")?,
            keep: o.names("keep"),
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
}

impl Share {
    /// Clusters `w` (read by node `n`) with `sens` per input channel, if any.
    fn share_one(
        &self,
        g: &Graph,
        n: NodeId,
        w: &Weight,
        sens: Option<&Vec<f64>>,
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
        let mut out = vec![0.0; vals.len()];
        let (mut num, mut den) = (0.0, 0.0);
        let mut k_used = 2;
        for gi in 0..groups {
            let range = gi * per_group..(gi + 1) * per_group;
            let pairs: Vec<(f64, f64)> = range.clone().map(|e| (vals[e], importance[e])).collect();
            let fixed = zero.filter(|z| pairs.iter().any(|p| p.0 == *z));
            let fit = kmeans::fit(&Points::new(pairs), self.k, fixed, 0x5eed_0000 + gi as u64);
            let mut c: Vec<f64> = fit
                .centroids
                .iter()
                .map(|&c| representable(w.ty.dtype, c, lo, hi))
                .collect();
            c.sort_by(f64::total_cmp);
            c.dedup();
            k_used = k_used.max(c.len());
            for e in range {
                let v = kmeans::nearest(&c, vals[e]);
                out[e] = v;
                let imp = importance[e];
                let zp = zero.unwrap_or(0.0);
                num += imp * (vals[e] - v) * (vals[e] - v);
                den += imp * (vals[e] - if w.ty.quant.is_some() { zp } else { 0.0 }).powi(2);
            }
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
        })
    }
}

impl Pass for Share {
    fn name(&self) -> &'static str {
        PASS
    }

    fn run(&mut self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        crate::prune::structured::analyze::check_keep(g, &self.keep, PASS)?;
        let targets = targets(g, &self.keep);
        let moments: HashMap<NodeId, sensitivity::Moments> = match &self.data {
            Some(d) if self.weighted || self.bias_correct => {
                let batches = d
                    .open(g, PASS)?
                    .take(d.samples.unwrap_or(2048))
                    .map_err(|e| PassError::Analysis {
                        pass: PASS,
                        source: e,
                    })?;
                let nodes: Vec<NodeId> = targets.iter().map(|t| t.node).collect();
                sensitivity::input_moments(g, &nodes, &batches, PASS)?
            }
            _ => HashMap::new(),
        };
        // Sharing swaps weights only, so who reads each value stays as it is.
        let readers: Vec<usize> = g.uses().iter().map(Vec::len).collect();
        let (mut before, mut after, mut shared) = (0usize, 0usize, 0usize);
        for t in &targets {
            let label = crate::prune::structured::analyze::label(g, t.node);
            let w = g.weight(t.weight).clone();
            let m = moments.get(&t.node);
            let outcome = match self.share_one(g, t.node, &w, m.map(|m| &m.mean_sq)) {
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
