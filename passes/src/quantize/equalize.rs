//! Cross-layer equalization (CLE) of the float graph before calibration, after
//! Nagel, van Baalen, Blankevoort and Welling, "Data-Free Quantization Through
//! Weight Equalization and Bias Correction" (ICCV 2019), §4.1.
//!
//! Two layers `y = f(W1·x + b1)`, `z = W2·y + b2`, where output channel `c` of
//! the first feeds exactly input channel `c` of the second (conv → conv,
//! conv → depthwise, depthwise → pointwise, Gemm → Gemm), compute the same `z`
//! when output channel `c` of `W1` and `b1` is divided by `s_c > 0` and input
//! channel `c` of `W2` multiplied by it, provided `f` is positively homogeneous:
//! `f(x/s) = f(x)/s`. That holds for no activation, `Relu`, `LeakyRelu`,
//! `MaxPool`, and a `Clip` whose lower bound is 0 (or absent) and which has no
//! upper bound.
//! With `r1_c = max|W1[c, …]|` and `r2_c = max|W2[…, c, …]|`, the choice
//! `s_c = √(r1_c / r2_c)` makes both ranges `√(r1_c·r2_c)`, so no channel's
//! weights are tiny next to its neighbours' (the paper's per-channel
//! precision); the activation between the layers is rescaled by `1/s_c` per
//! channel. In a chain A → B → C, equalizing (B, C) changes B's output
//! channels, which unbalances (A, B) again, so pairs are swept in order until
//! no scale moves by more than [`EqualizeOptions::tolerance`] (the paper's
//! iteration to convergence).
//!
//! A `Clip` with an upper bound (ReLU6) is not positively homogeneous:
//! `clip(x/s, 0, 6) ≠ clip(x, 0, 6)/s` wherever `x/s` or `x` exceeds 6, so the
//! rescaled model would clip each channel at `6·s_c` instead of 6. The paper
//! replaces ReLU6 by ReLU for this, which changes the model's function; pare
//! keeps the function exact and skips such pairs, saying why in the record.

use crate::PassError;
use pare_ir::{DType, Graph, NodeId, Op, Tensor, ValueId, Weight};
use std::collections::BTreeMap;

const PASS: &str = "equalize";

/// Options of [`equalize`].
#[derive(Clone, Copy, Debug)]
pub struct EqualizeOptions {
    /// Stop after this many sweeps over the pairs even if not converged.
    pub max_sweeps: usize,
    /// Converged when every scale of a sweep is within `1 ± tolerance`.
    pub tolerance: f32,
}

impl Default for EqualizeOptions {
    fn default() -> Self {
        EqualizeOptions {
            max_sweeps: 100,
            tolerance: 1e-4,
        }
    }
}

/// One equalized pair, for the report.
#[derive(Clone, Debug, PartialEq)]
pub struct EqualizedPair {
    /// Node names of the first and second layer.
    pub first: String,
    pub second: String,
    /// The op between them (`relu`, `clip`, …), if any.
    pub activation: Option<&'static str>,
    pub channels: usize,
    /// Smallest and largest total scale `s_c` (first layer's output channel
    /// divided by it, second layer's input channel multiplied by it).
    pub scale_range: (f32, f32),
    /// Mean over channels of `r_c / max r` (the paper's per-channel precision)
    /// of the first layer's output channels, before and after.
    pub first_precision: (f32, f32),
    /// The same over the second layer's input channels, before and after.
    pub second_precision: (f32, f32),
}

/// A conv → conv pair that was found but left alone, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct SkippedPair {
    pub first: String,
    pub second: String,
    pub reason: String,
}

/// What [`equalize`] did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Equalization {
    pub pairs: Vec<EqualizedPair>,
    pub skipped: Vec<SkippedPair>,
    /// Sweeps over the pairs until convergence.
    pub sweeps: usize,
    pub converged: bool,
}

/// Equalizes every eligible pair of `g` (see the module docs); the graph's
/// function is unchanged up to float rounding. Re-infers and verifies when
/// anything changed.
pub fn equalize(g: &mut Graph, opts: &EqualizeOptions) -> Result<Equalization, PassError> {
    let (found, skipped) = find_pairs(g);
    let mut layers: BTreeMap<NodeId, Layer> = BTreeMap::new();
    for c in &found {
        for id in [c.first, c.second] {
            if let std::collections::btree_map::Entry::Vacant(e) = layers.entry(id) {
                e.insert(Layer::load(g, id)?);
            }
        }
    }
    let precision = |layers: &BTreeMap<NodeId, Layer>, c: &Candidate| {
        let (r1, r2) = ranges(&layers[&c.first], &layers[&c.second], c.channels);
        (mean_precision(&r1), mean_precision(&r2))
    };
    let before: Vec<(f32, f32)> = found.iter().map(|c| precision(&layers, c)).collect();
    let mut total: Vec<Vec<f32>> = found.iter().map(|c| vec![1.0; c.channels]).collect();
    let mut sweeps = 0;
    let mut converged = found.is_empty();
    while !converged && sweeps < opts.max_sweeps {
        sweeps += 1;
        let mut worst = 0f32;
        for (k, c) in found.iter().enumerate() {
            let (r1, r2) = ranges(&layers[&c.first], &layers[&c.second], c.channels);
            // A dead channel (all-zero or all-denormal weights, or weights below
            // the f32 rounding of the layer's largest) has nothing to balance:
            // scaling it up to its partner's range would multiply its bias, and
            // with it the activation's range, by as much.
            let (top1, top2) = (
                r1.iter().fold(0f32, |m, &x| m.max(x)),
                r2.iter().fold(0f32, |m, &x| m.max(x)),
            );
            let live = |r: f32, top: f32| r >= f32::MIN_POSITIVE && r > f32::EPSILON * top;
            let s: Vec<f32> = r1
                .iter()
                .zip(&r2)
                .map(|(&a, &b)| {
                    let s = (a / b).sqrt();
                    if live(a, top1) && live(b, top2) && s.is_finite() && s > 0.0 {
                        s
                    } else {
                        1.0
                    }
                })
                .collect();
            for (ch, &sc) in s.iter().enumerate() {
                worst = worst.max((sc - 1.0).abs());
                total[k][ch] *= sc;
            }
            if let Some(l) = layers.get_mut(&c.first) {
                l.scale_out(&s);
            }
            if let Some(l) = layers.get_mut(&c.second) {
                l.scale_in(&s);
            }
        }
        converged = worst <= opts.tolerance;
    }
    let pairs = found
        .iter()
        .zip(&before)
        .zip(&total)
        .map(|((c, &(p1, p2)), t)| {
            let (q1, q2) = precision(&layers, c);
            EqualizedPair {
                first: g.node(c.first).name.clone(),
                second: g.node(c.second).name.clone(),
                activation: c.activation.map(|a| g.node(a).op.name()),
                channels: c.channels,
                scale_range: (
                    t.iter().copied().fold(f32::INFINITY, f32::min),
                    t.iter().copied().fold(0f32, f32::max),
                ),
                first_precision: (p1, q1),
                second_precision: (p2, q2),
            }
        })
        .collect();
    if !found.is_empty() {
        let uses = g.uses();
        for l in layers.values() {
            l.store(g, &uses)?;
        }
        g.compact();
        crate::util::reinfer(g, PASS)?;
        crate::util::verify(g, PASS)?;
    }
    Ok(Equalization {
        pairs,
        skipped,
        sweeps,
        converged,
    })
}

/// An eligible pair: `first`'s output channel c feeds `second`'s input channel c
/// through `activation` (or directly).
#[derive(Clone, Copy, Debug)]
struct Candidate {
    first: NodeId,
    second: NodeId,
    activation: Option<NodeId>,
    channels: usize,
}

/// Every pair of linear layers joined through at most one element-wise
/// activation, split into the eligible and the skipped (with reasons). A node
/// whose output is read by anything else cannot be rescaled, so such places
/// are not pairs at all.
fn find_pairs(g: &Graph) -> (Vec<Candidate>, Vec<SkippedPair>) {
    let uses = g.uses();
    let only_reader = |v: ValueId| -> Option<(NodeId, usize)> {
        match uses[v.index()][..] {
            [one] if !g.outputs.contains(&v) => Some(one),
            _ => None,
        }
    };
    let mut found = Vec::new();
    let mut skipped = Vec::new();
    for &first in g.order() {
        let n1 = g.node(first);
        if !matches!(n1.op, Op::Conv { .. } | Op::Gemm { .. }) || n1.outputs.len() != 1 {
            continue;
        }
        let Some((mut next, mut slot)) = only_reader(n1.outputs[0]) else {
            continue;
        };
        let mut activation = None;
        if !matches!(g.node(next).op, Op::Conv { .. } | Op::Gemm { .. }) {
            let act = g.node(next);
            if slot != 0 || act.outputs.len() != 1 || !is_activation(&act.op) {
                continue;
            }
            let Some(reader) = only_reader(act.outputs[0]) else {
                continue;
            };
            if !matches!(g.node(reader.0).op, Op::Conv { .. } | Op::Gemm { .. }) {
                continue;
            }
            activation = Some(next);
            (next, slot) = reader;
        }
        if slot != 0 {
            continue;
        }
        let skip = |reason: String| SkippedPair {
            first: n1.name.clone(),
            second: g.node(next).name.clone(),
            reason,
        };
        let checked = activation
            .map_or(Ok(()), |a| homogeneous(g, a))
            .and_then(|()| channels_match(g, first, next));
        match checked {
            Ok(channels) => found.push(Candidate {
                first,
                second: next,
                activation,
                channels,
            }),
            Err(reason) => skipped.push(skip(reason)),
        }
    }
    (found, skipped)
}

/// Element-wise activations and max-pooling: what may sit between two layers
/// of a pair (whether it commutes with rescaling is [`homogeneous`]'s question).
fn is_activation(op: &Op) -> bool {
    matches!(op, Op::MaxPool { .. }) || pare_ir::quant::is_lut_op(op)
}

/// Whether activation node `a` commutes with a positive per-channel scale.
fn homogeneous(g: &Graph, a: NodeId) -> Result<(), String> {
    let n = g.node(a);
    match n.op {
        // max(x/s) = max(x)/s per channel; padding is -inf, which scaling keeps.
        Op::Relu {} | Op::LeakyRelu { .. } | Op::MaxPool { .. } => Ok(()),
        Op::Clip {} => {
            let bound = |i: usize| -> Result<Option<f32>, String> {
                let Some(v) = n.input(i) else { return Ok(None) };
                let w = g
                    .weight_of(v)
                    .ok_or("the Clip has a bound that is not a constant")?;
                let t = w.tensor().map_err(|e| e.to_string())?;
                match t.to_f32_vec()[..] {
                    [b] => Ok(Some(b)),
                    _ => Err("the Clip bound is not a scalar".into()),
                }
            };
            let lo = bound(1)?;
            let hi = bound(2)?;
            if let Some(h) = hi.filter(|h| h.is_finite()) {
                return Err(format!(
                    "Clip has an upper bound {h} (ReLU6-like), which does not commute with \
                     per-channel rescaling: channel c would clip at {h}·s_c"
                ));
            }
            match lo {
                Some(l) if l == 0.0 || l == f32::NEG_INFINITY => Ok(()),
                None => Ok(()),
                Some(l) => Err(format!(
                    "Clip has a lower bound {l} ≠ 0, which does not commute with rescaling"
                )),
            }
        }
        ref other => Err(format!(
            "`{}` between the layers does not commute with per-channel rescaling",
            other.name()
        )),
    }
}

/// The number of channels joining `first` to `second`, or why the pair cannot
/// be equalized (non-constant or non-f32 weights, a broadcast bias, shapes that
/// do not line up).
fn channels_match(g: &Graph, first: NodeId, second: NodeId) -> Result<usize, String> {
    let out = Shape::of(g, first)?;
    let inp = Shape::of(g, second)?;
    let n1 = g.node(first);
    if let Some(b) = n1.input(2) {
        let w = g
            .weight_of(b)
            .ok_or("the first layer's bias is not a constant")?;
        if w.ty.dtype != DType::F32 {
            return Err(format!("the first layer's bias is {}, not f32", w.ty.dtype));
        }
        let n = w.ty.num_elements().unwrap_or(0);
        let dims = w.ty.fixed_shape().unwrap_or_default();
        let per_channel = n == out.out_channels() as u64
            && dims.iter().rev().skip(1).all(|&d| d == 1)
            && dims.last() == Some(&n);
        if !per_channel {
            return Err("the first layer's bias is not one value per output channel".into());
        }
    }
    match (&n1.op, &g.node(second).op) {
        (Op::Conv { .. }, Op::Gemm { .. }) | (Op::Gemm { .. }, Op::Conv { .. }) => {
            return Err("a conv and a Gemm do not share a channel axis".into())
        }
        _ => {}
    }
    if out.out_channels() != inp.in_channels() {
        return Err(format!(
            "{} output channels feed {} input channels",
            out.out_channels(),
            inp.in_channels()
        ));
    }
    Ok(out.out_channels())
}

/// The layout of a layer's weight.
#[derive(Clone, Debug)]
enum Shape {
    /// `[O, I/group, k…]`, `inner` = the product of the kernel dims.
    Conv {
        o: usize,
        ig: usize,
        group: usize,
        inner: usize,
    },
    /// Gemm B: `[M, K]` when `trans_b`, else `[K, M]`.
    Gemm { m: usize, k: usize, trans_b: bool },
}

impl Shape {
    fn of(g: &Graph, id: NodeId) -> Result<Shape, String> {
        let n = g.node(id);
        let w = n
            .input(1)
            .and_then(|v| g.weight_of(v))
            .ok_or_else(|| format!("`{}` has no constant weight", n.name))?;
        if w.ty.dtype != DType::F32 {
            return Err(format!("`{}` has {} weights, not f32", n.name, w.ty.dtype));
        }
        let dims: Vec<usize> =
            w.ty.fixed_shape()
                .unwrap_or_default()
                .iter()
                .map(|&d| d as usize)
                .collect();
        match &n.op {
            Op::Conv { group, .. } if dims.len() >= 3 && *group >= 1 => {
                let group = *group as usize;
                if !dims[0].is_multiple_of(group) {
                    return Err(format!(
                        "`{}`: {} filters in {group} groups",
                        n.name, dims[0]
                    ));
                }
                Ok(Shape::Conv {
                    o: dims[0],
                    ig: dims[1],
                    group,
                    inner: dims[2..].iter().product(),
                })
            }
            Op::Gemm {
                trans_a: false,
                trans_b,
                ..
            } if dims.len() == 2 => {
                let (m, k) = if *trans_b {
                    (dims[0], dims[1])
                } else {
                    (dims[1], dims[0])
                };
                Ok(Shape::Gemm {
                    m,
                    k,
                    trans_b: *trans_b,
                })
            }
            _ => Err(format!("`{}` is not a plain conv or Gemm", n.name)),
        }
    }

    fn out_channels(&self) -> usize {
        match *self {
            Shape::Conv { o, .. } => o,
            Shape::Gemm { m, .. } => m,
        }
    }

    fn in_channels(&self) -> usize {
        match *self {
            Shape::Conv { ig, group, .. } => ig * group,
            Shape::Gemm { k, .. } => k,
        }
    }

    /// Calls `f` with the flat index of every weight of output channel `c`.
    fn for_out(&self, c: usize, mut f: impl FnMut(usize)) {
        match *self {
            Shape::Conv { ig, inner, .. } => (c * ig * inner..(c + 1) * ig * inner).for_each(f),
            Shape::Gemm { m, k, trans_b } => {
                if trans_b {
                    (c * k..(c + 1) * k).for_each(f);
                } else {
                    (0..k).for_each(|r| f(r * m + c));
                }
            }
        }
    }

    /// Calls `f` with the flat index of every weight that reads input channel `c`.
    fn for_in(&self, c: usize, mut f: impl FnMut(usize)) {
        match *self {
            Shape::Conv {
                o,
                ig,
                group,
                inner,
            } => {
                let per_group = o / group;
                let (grp, ci) = (c / ig, c % ig);
                for out in grp * per_group..(grp + 1) * per_group {
                    let base = (out * ig + ci) * inner;
                    (base..base + inner).for_each(&mut f);
                }
            }
            Shape::Gemm { m, k, trans_b } => {
                if trans_b {
                    (0..m).for_each(|r| f(r * k + c));
                } else {
                    (c * m..(c + 1) * m).for_each(f);
                }
            }
        }
    }
}

/// A layer's weight (and bias) as working copies while sweeping.
struct Layer {
    node: NodeId,
    shape: Shape,
    dims: Vec<usize>,
    w: Vec<f32>,
    bias: Option<Vec<f32>>,
    bias_dims: Vec<usize>,
    changed: bool,
}

impl Layer {
    fn load(g: &Graph, id: NodeId) -> Result<Layer, PassError> {
        let n = g.node(id);
        let shape = Shape::of(g, id).map_err(|m| node_msg(g, id, m))?;
        let tensor = |v: ValueId| -> Result<Tensor, PassError> {
            let w = g
                .weight_of(v)
                .ok_or_else(|| node_msg(g, id, "weight is not a constant".into()))?;
            w.tensor().map_err(|e| PassError::Node {
                pass: PASS,
                node: n.name.clone(),
                source: Box::new(e),
            })
        };
        let w = tensor(
            n.input(1)
                .ok_or_else(|| node_msg(g, id, "no weight".into()))?,
        )?;
        let bias = n.input(2).map(tensor).transpose()?;
        // Equalizing scales by ratios of ranges: one NaN or infinity would spread
        // to every weight it touches.
        for (slot, t) in [(1, Some(&w)), (2, bias.as_ref())] {
            let vals = t.map(Tensor::to_f32_vec).unwrap_or_default();
            if let Some((i, x)) = super::params::first_non_finite(&vals) {
                let name = n.input(slot).map_or("", |v| g.value(v).name.as_str());
                return Err(node_msg(
                    g,
                    id,
                    format!("constant `{name}` holds {x} at element {i}: weights must be finite to be equalized"),
                ));
            }
        }
        Ok(Layer {
            node: id,
            shape,
            dims: w.shape().to_vec(),
            w: w.to_f32_vec(),
            bias_dims: bias.as_ref().map_or(Vec::new(), |b| b.shape().to_vec()),
            bias: bias.map(|b| b.to_f32_vec()),
            changed: false,
        })
    }

    fn out_range(&self, c: usize) -> f32 {
        let mut r = 0f32;
        self.shape.for_out(c, |i| r = r.max(self.w[i].abs()));
        r
    }

    fn in_range(&self, c: usize) -> f32 {
        let mut r = 0f32;
        self.shape.for_in(c, |i| r = r.max(self.w[i].abs()));
        r
    }

    /// Divides output channel c (weights and bias) by `s[c]`.
    fn scale_out(&mut self, s: &[f32]) {
        for (c, &sc) in s.iter().enumerate() {
            let w = &mut self.w;
            self.shape.for_out(c, |i| w[i] /= sc);
            if let Some(b) = self.bias.as_mut() {
                b[c] /= sc;
            }
        }
        self.changed = true;
    }

    /// Multiplies the weights reading input channel c by `s[c]`.
    fn scale_in(&mut self, s: &[f32]) {
        for (c, &sc) in s.iter().enumerate() {
            let w = &mut self.w;
            self.shape.for_in(c, |i| w[i] *= sc);
        }
        self.changed = true;
    }

    /// Puts the working copies back as new weights of the node (a weight read
    /// elsewhere too keeps its old value there).
    fn store(&self, g: &mut Graph, uses: &[Vec<(NodeId, usize)>]) -> Result<(), PassError> {
        if !self.changed {
            return Ok(());
        }
        let mut put = |slot: usize, dims: &[usize], vals: &[f32]| -> Result<(), PassError> {
            let Some(old) = g.node(self.node).input(slot) else {
                return Ok(());
            };
            let t = Tensor::from_vec(dims.to_vec(), vals.to_vec())
                .map_err(|e| node_err(g, self.node, e))?;
            let sole = uses[old.index()].len() == 1 && !g.outputs.contains(&old);
            let name = if sole {
                std::mem::take(&mut g.value_mut(old).name)
            } else {
                format!("{}_equalized", g.value(old).name)
            };
            let nv = g
                .add_weight(name, Weight::from_tensor(&t))
                .map_err(|e| node_err(g, self.node, e))?;
            g.node_mut(self.node).inputs[slot] = Some(nv);
            Ok(())
        };
        put(1, &self.dims, &self.w)?;
        if let Some(b) = &self.bias {
            put(2, &self.bias_dims, b)?;
        }
        Ok(())
    }
}

/// Per-channel ranges of the first layer's outputs and the second's inputs.
fn ranges(first: &Layer, second: &Layer, channels: usize) -> (Vec<f32>, Vec<f32>) {
    (
        (0..channels).map(|c| first.out_range(c)).collect(),
        (0..channels).map(|c| second.in_range(c)).collect(),
    )
}

/// Mean of `r_c / max r` (1 when every channel uses the whole range).
fn mean_precision(r: &[f32]) -> f32 {
    let max = r.iter().copied().fold(0f32, f32::max);
    if max == 0.0 || r.is_empty() {
        return 1.0;
    }
    r.iter().map(|&x| x / max).sum::<f32>() / r.len() as f32
}

fn node_msg(g: &Graph, id: NodeId, msg: String) -> PassError {
    PassError::NodeMsg {
        pass: PASS,
        node: g.node(id).name.clone(),
        msg,
    }
}

fn node_err(g: &Graph, id: NodeId, e: impl std::error::Error + Send + Sync + 'static) -> PassError {
    PassError::Node {
        pass: PASS,
        node: g.node(id).name.clone(),
        source: Box::new(e),
    }
}
