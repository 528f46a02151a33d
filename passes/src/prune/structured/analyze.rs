//! Channel dependency analysis: which output channels of which layers must be
//! removed together, found by moving channel tags through the graph.
//!
//! The analysis runs at batch 1. An axis whose size is symbolic (a batch
//! merged with heads by a `-1` reshape) may still be cut: the reshapes that
//! made it say `-1`, and its new size is inferred again.
//!
//! Every prunable layer (a Conv, ConvTranspose, Gemm or MatMul with a constant
//! weight) gives each of its output channels a fresh id; every element of its
//! output carries the id of its channel. The ids then travel with the data:
//! data-movement ops (reshape, flatten, transpose, concat, split, slice,
//! gather, ...) are run by the interpreter on the id tensors themselves, so an
//! id lands wherever its channel's values land. Where two tagged elements meet
//! (a residual `Add`, a squeeze-excite `Mul`, the two sides of an attention
//! `MatMul` contraction, a depthwise conv's input and output channel) their ids
//! are merged (union-find): those channels can only go together. A class of
//! merged ids is one "channel" of a dependency group; removing it removes a
//! slice of every tensor it touches. A class is blocked, with the reason, when
//! removing it cannot be expressed safely: it reaches a graph output, meets
//! untagged data, is read by an op pare cannot slice, or would leave a ragged
//! tensor.

use super::tags::{broadcast_map, strides, Tags, NONE};
use pare_ir::{Graph, NodeId, Op, Tensor, ValueDef, ValueId};
use petgraph::unionfind::UnionFind;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One output channel of a prunable layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Source {
    pub node: NodeId,
    pub channel: usize,
}

/// A constant weight sliced along some axes by class: `axes[k] = (axis, id of
/// each index along it)`.
#[derive(Clone, Debug)]
pub struct Cut {
    pub node: NodeId,
    pub slot: usize,
    pub axes: Vec<(usize, Vec<u32>)>,
    /// When one of `axes` indexes the node's input channels: (that weight
    /// axis, the channel axis of the node's input 0). Data-driven importance
    /// weighs those slices by the input's energy.
    pub input: Option<(usize, usize)>,
}

/// What the analysis found.
#[derive(Debug)]
pub struct Analysis {
    uf: UnionFind<u32>,
    /// `sources[id]`; index 0 is [`NONE`].
    pub sources: Vec<Option<Source>>,
    /// Why ids cannot be removed (first reason per id).
    reasons: BTreeMap<u32, String>,
    /// Channel tags of every activation that carries any.
    pub tags: HashMap<ValueId, Tags>,
    /// Weights sliced by class.
    pub cuts: Vec<Cut>,
    /// Depthwise convs whose `group` follows their channel count.
    pub regroup: BTreeSet<NodeId>,
}

/// Why the analysis could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error("value `{0}` has no fixed shape at batch 1 ({1}); structured pruning needs every shape known (give the input shapes)")]
    Shape(String, String),
    #[error("node `{node}` ({op}): {msg}")]
    Node {
        node: String,
        op: &'static str,
        msg: String,
    },
}

fn shape_of(a: &Graph, v: ValueId) -> Result<Vec<usize>, AnalysisError> {
    let ty = a.ty(v);
    ty.fixed_shape()
        .map(|s| s.into_iter().map(|d| d as usize).collect())
        .ok_or_else(|| AnalysisError::Shape(a.value(v).name.clone(), ty.to_string()))
}

fn is_const(a: &Graph, v: ValueId) -> bool {
    matches!(a.value(v).def, ValueDef::Weight(_))
}

/// A node's name for reports: its own, else its first output's, else `op #i`.
pub fn label(a: &Graph, n: NodeId) -> String {
    let node = a.node(n);
    if !node.name.is_empty() {
        return node.name.clone();
    }
    match node.outputs.first().map(|&o| &a.value(o).name) {
        Some(name) if !name.is_empty() => name.clone(),
        _ => format!("{} #{}", node.op.name(), n.index()),
    }
}

/// Checks that every name in `keep` is the [`label`] of a node of `g`: a typo
/// would otherwise leave the layer it meant unprotected without a word.
pub fn check_keep(g: &Graph, keep: &[String], pass: &'static str) -> Result<(), crate::PassError> {
    match keep
        .iter()
        .find(|k| !g.order().iter().any(|&n| label(g, n) == **k))
    {
        Some(k) => Err(crate::PassError::Config {
            pass,
            msg: format!("keep names node `{k}`, which the graph does not have"),
        }),
        None => Ok(()),
    }
}

impl Analysis {
    /// The class (root id) of `id`; [`NONE`] stays [`NONE`].
    pub fn class(&self, id: u32) -> u32 {
        if id == NONE {
            NONE
        } else {
            self.uf.find(id)
        }
    }

    /// Why class `root` cannot be removed, if it cannot.
    pub fn blocked(&self) -> BTreeMap<u32, String> {
        let mut out = BTreeMap::new();
        for (&id, why) in &self.reasons {
            out.entry(self.class(id)).or_insert_with(|| why.clone());
        }
        out
    }

    /// Every class with at least one source channel, ascending.
    pub fn classes(&self) -> BTreeSet<u32> {
        (1..self.sources.len() as u32)
            .map(|id| self.class(id))
            .collect()
    }

    /// The source channels of each class.
    pub fn members(&self) -> BTreeMap<u32, Vec<Source>> {
        let mut out: BTreeMap<u32, Vec<Source>> = BTreeMap::new();
        for (id, s) in self.sources.iter().enumerate() {
            if let Some(s) = s {
                out.entry(self.class(id as u32)).or_default().push(*s);
            }
        }
        out
    }

    /// `t` with every id replaced by its class.
    pub fn resolved(&self, t: &Tags) -> Tags {
        Tags {
            shape: t.shape.clone(),
            ids: t.ids.iter().map(|&i| self.class(i)).collect(),
        }
    }

    /// Blocks every channel of layer `name` (`--prune-keep`).
    pub fn protect_layer(&mut self, a: &Graph, name: &str) {
        let ids: Vec<u32> = (0..self.sources.len() as u32)
            .filter(|&i| self.sources[i as usize].is_some_and(|s| label(a, s.node) == name))
            .collect();
        for id in ids {
            self.block(id, || format!("layer `{name}` is protected"));
        }
    }

    fn fresh(&mut self, node: NodeId, n: usize) -> Vec<u32> {
        (0..n)
            .map(|channel| {
                let id = self.sources.len() as u32;
                self.sources.push(Some(Source { node, channel }));
                self.uf.new_set();
                id
            })
            .collect()
    }

    fn union(&mut self, x: u32, y: u32) -> u32 {
        if x == NONE {
            return y;
        }
        if y == NONE {
            return x;
        }
        self.uf.union(x, y);
        self.uf.find(x)
    }

    fn block(&mut self, id: u32, why: impl FnOnce() -> String) {
        if id != NONE && !self.reasons.contains_key(&id) {
            self.reasons.insert(id, why());
        }
    }

    fn block_all(&mut self, t: &Tags, why: &str) {
        let ids: BTreeSet<u32> = t.ids.iter().copied().filter(|&i| i != NONE).collect();
        for id in ids {
            self.block(id, || why.to_string());
        }
    }

    /// The one class of each slice of `t` along `axis` (merging what each
    /// holds); tagged elements beside untagged ones in a slice are blocked.
    fn slice_classes(&mut self, t: &Tags, axis: usize, what: &str) -> Vec<u32> {
        let st = strides(&t.shape);
        let d = t.shape[axis];
        let mut meets: Vec<Meet> = (0..d).map(|_| Meet::default()).collect();
        for (e, &id) in t.ids.iter().enumerate() {
            meets[(e / st[axis]) % d].add(self, id);
        }
        meets
            .into_iter()
            .map(|m| {
                m.finish(self, || {
                    format!("{what}: its channel also holds values from no prunable layer")
                })
            })
            .collect()
    }
}

/// The ids met in one place (a channel slice, a pooling window, a contracted
/// line), merged into one class; tagged ids beside untagged values are blocked.
#[derive(Default)]
struct Meet {
    class: u32,
    untagged: bool,
}

impl Meet {
    fn add(&mut self, an: &mut Analysis, id: u32) {
        if id == NONE {
            self.untagged = true;
        } else if id != self.class {
            self.class = an.union(self.class, id);
        }
    }

    /// The merged class; blocked with `why` when untagged values were met too.
    fn finish(self, an: &mut Analysis, why: impl FnOnce() -> String) -> u32 {
        if self.untagged && self.class != NONE {
            an.block(self.class, why);
        }
        self.class
    }
}

/// Runs the analysis on `a`, a copy of `orig` with every shape fixed (batch 1).
pub fn analyze(a: &Graph) -> Result<Analysis, AnalysisError> {
    let mut an = Analysis {
        uf: UnionFind::new(1),
        sources: vec![None],
        reasons: BTreeMap::new(),
        tags: HashMap::new(),
        cuts: Vec::new(),
        regroup: BTreeSet::new(),
    };
    for &n in a.order() {
        step(a, &mut an, n)?;
    }
    for &v in &a.outputs {
        if let Some(t) = an.tags.get(&v).cloned() {
            let why = format!("reaches graph output `{}`", a.value(v).name);
            an.block_all(&t, &why);
        }
    }
    check_rectangular(a, &mut an)?;
    Ok(an)
}

/// Blocks every class whose removal alone would leave some tensor ragged: each
/// of its elements must lie in a whole slice (along some axis) of that class.
fn check_rectangular(a: &Graph, an: &mut Analysis) -> Result<(), AnalysisError> {
    const MIXED: u32 = u32::MAX;
    let mut values: Vec<ValueId> = an.tags.keys().copied().collect();
    values.sort_by_key(|v| v.index());
    for v in values {
        let t = an.resolved(&an.tags[&v]);
        let st = strides(&t.shape);
        // The class of each whole slice (MIXED where a slice holds several).
        let uniform: Vec<Vec<u32>> = (0..t.shape.len())
            .map(|ax| {
                let mut u = vec![NONE; t.shape[ax]];
                let mut seen = vec![false; t.shape[ax]];
                for (e, &c) in t.ids.iter().enumerate() {
                    let i = (e / st[ax]) % t.shape[ax];
                    if !seen[i] {
                        seen[i] = true;
                        u[i] = c;
                    } else if u[i] != c {
                        u[i] = MIXED;
                    }
                }
                u
            })
            .collect();
        let mut ragged = BTreeSet::new();
        for (e, &c) in t.ids.iter().enumerate() {
            if c == NONE || ragged.contains(&c) {
                continue;
            }
            let covered = (0..t.shape.len()).any(|ax| uniform[ax][(e / st[ax]) % t.shape[ax]] == c);
            if !covered {
                ragged.insert(c);
            }
        }
        let name = a.value(v).name.clone();
        for c in ragged {
            an.block(c, || {
                format!("removing it would leave value `{name}` ragged (not whole slices)")
            });
        }
    }
    Ok(())
}

fn tags_of(a: &Graph, an: &Analysis, v: ValueId) -> Result<Tags, AnalysisError> {
    match an.tags.get(&v) {
        Some(t) => Ok(t.clone()),
        None => Ok(Tags::none(&shape_of(a, v)?)),
    }
}

fn set_tags(an: &mut Analysis, v: ValueId, t: Tags) {
    if t.any() {
        an.tags.insert(v, t);
    }
}

/// Blocks the tags of every activation input of `n` (an op pare cannot slice).
fn opaque(a: &Graph, an: &mut Analysis, n: NodeId, why: &str) {
    let node = a.node(n);
    let why = format!("read by {} `{}`, {why}", node.op.name(), label(a, n));
    for v in node.present_inputs() {
        if let Some(t) = an.tags.get(&v).cloned() {
            an.block_all(&t, &why);
        }
    }
}

fn step(a: &Graph, an: &mut Analysis, n: NodeId) -> Result<(), AnalysisError> {
    use pare_ir::ops::Category as C;
    let node = a.node(n);
    let any_tagged = node.present_inputs().any(|v| an.tags.contains_key(&v));
    match &node.op {
        Op::Conv { group, .. } => conv(a, an, n, *group as usize),
        Op::ConvTranspose { group, .. } => conv_transpose(a, an, n, *group as usize),
        Op::Gemm {
            trans_a, trans_b, ..
        } => gemm(a, an, n, *trans_a, *trans_b),
        Op::MatMul {} => matmul(a, an, n),
        Op::BatchNormalization { .. } | Op::InstanceNormalization { .. } => {
            let x = node.input(0).expect("checked arity");
            let t = tags_of(a, an, x)?;
            for &o in node.outputs.iter().take(1) {
                set_tags(an, o, t.clone());
            }
            Ok(())
        }
        Op::GroupNormalization { .. } if any_tagged => {
            opaque(a, an, n, "whose groups would change");
            Ok(())
        }
        Op::ArgMax { .. }
        | Op::ArgMin { .. }
        | Op::TopK { .. }
        | Op::Shape { .. }
        | Op::Size {}
            if any_tagged =>
        {
            opaque(a, an, n, "which reads channel positions or counts");
            Ok(())
        }
        op if op.reduce_attrs().is_some() => reduce(a, an, n),
        Op::MaxPool { .. }
        | Op::AveragePool { .. }
        | Op::LpPool { .. }
        | Op::GlobalAveragePool {}
        | Op::GlobalMaxPool {}
        | Op::GlobalLpPool { .. } => pool(a, an, n),
        Op::LayerNormalization { .. }
        | Op::LpNormalization { .. }
        | Op::Lrn { .. }
        | Op::MeanVarianceNormalization { .. }
        | Op::Softmax { .. }
        | Op::LogSoftmax { .. }
        | Op::Hardmax { .. } => {
            let x = node.input(0).expect("checked arity");
            let t = tags_of(a, an, x)?;
            set_tags(an, node.outputs[0], t);
            Ok(())
        }
        op => match op.info().category {
            C::Unary(_) | C::UnaryTest(_) | C::Broadcast(_) | C::Compare(_) | C::Elementwise => {
                broadcast(a, an, n)
            }
            C::DataMovement if any_tagged => movement(a, an, n),
            _ if any_tagged => {
                opaque(a, an, n, "which structured pruning cannot slice");
                Ok(())
            }
            _ => Ok(()),
        },
    }
}

/// Tags of the output of an element-wise op: the broadcast union of its
/// activation inputs (constants follow the output's axes at surgery).
fn broadcast(a: &Graph, an: &mut Analysis, n: NodeId) -> Result<(), AnalysisError> {
    let node = a.node(n);
    let out = node.outputs[0];
    let shape = shape_of(a, out)?;
    let mut acc = vec![NONE; shape.iter().product()];
    let mut untagged = vec![false; acc.len()];
    for v in node.present_inputs() {
        if is_const(a, v) {
            continue;
        }
        let vs = shape_of(a, v)?;
        if vs.len() > shape.len() {
            continue;
        }
        let map = broadcast_map(&vs, &shape);
        let t = an.tags.get(&v).cloned();
        for (e, &src) in map.iter().enumerate() {
            let id = t.as_ref().map_or(NONE, |t| t.ids[src]);
            if id == NONE {
                untagged[e] = true;
            } else {
                acc[e] = an.union(acc[e], id);
            }
        }
    }
    let what = format!("{} `{}`", node.op.name(), label(a, n));
    for e in 0..acc.len() {
        if untagged[e] && acc[e] != NONE {
            let id = acc[e];
            an.block(id, || {
                format!("{what} combines it with values from no prunable layer")
            });
        }
    }
    let t = Tags { shape, ids: acc };
    for &o in &node.outputs {
        if shape_of(a, o)? == t.shape {
            set_tags(an, o, t.clone());
        }
    }
    Ok(())
}

/// Pooling: each output plane carries its input plane's class.
fn pool(a: &Graph, an: &mut Analysis, n: NodeId) -> Result<(), AnalysisError> {
    let node = a.node(n);
    let x = node.input(0).expect("checked arity");
    let Some(t) = an.tags.get(&x).cloned() else {
        return Ok(());
    };
    let out = node.outputs[0];
    let os = shape_of(a, out)?;
    if t.shape.len() < 2 || os.len() < 2 || os[..2] != t.shape[..2] {
        opaque(a, an, n, "whose layout is not [N, C, ...]");
        return Ok(());
    }
    let plane: usize = t.shape[2..].iter().product();
    let oplane: usize = os[2..].iter().product();
    let what = format!("{} `{}`", node.op.name(), label(a, n));
    let mut ids = Vec::with_capacity(os.iter().product());
    for p in 0..t.shape[0] * t.shape[1] {
        let mut meet = Meet::default();
        for &id in &t.ids[p * plane..(p + 1) * plane] {
            meet.add(an, id);
        }
        let class = meet.finish(an, || format!("{what} pools it with untagged values"));
        ids.extend(std::iter::repeat_n(class, oplane));
    }
    set_tags(an, out, Tags { shape: os, ids });
    Ok(())
}

/// Reductions: an output element keeps the class of what it reduces when that
/// is one class; over several (a reduction across channels) the channels are
/// consumed there and the output carries none.
fn reduce(a: &Graph, an: &mut Analysis, n: NodeId) -> Result<(), AnalysisError> {
    let node = a.node(n);
    let x = node.input(0).expect("checked arity");
    let Some(t) = an.tags.get(&x).cloned() else {
        return Ok(());
    };
    let out = node.outputs[0];
    let os = shape_of(a, out)?;
    let rank = t.shape.len();
    let (keepdims, noop) = node.op.reduce_attrs().expect("a reduction");
    let axes: Vec<usize> = match node.input(1) {
        Some(v) => match a.weight_of(v).and_then(|w| w.tensor().ok()) {
            Some(w) => w
                .to_i64_vec()
                .into_iter()
                .map(|x| if x < 0 { x + rank as i64 } else { x } as usize)
                .collect(),
            None => {
                opaque(a, an, n, "whose axes are not constant");
                return Ok(());
            }
        },
        None if noop => {
            set_tags(an, out, t);
            return Ok(());
        }
        None => (0..rank).collect(),
    };
    let ost = strides(&os);
    let ist = strides(&t.shape);
    let mut first = vec![NONE; os.iter().product()];
    let mut mixed = vec![false; first.len()];
    for (e, &raw) in t.ids.iter().enumerate() {
        let id = an.class(raw);
        let mut o = 0;
        let mut k = 0;
        for (ax, (&st, &d)) in ist.iter().zip(&t.shape).enumerate() {
            let i = (e / st) % d;
            if axes.contains(&ax) {
                if keepdims {
                    k += 1;
                }
                continue;
            }
            o += i * ost[k];
            k += 1;
        }
        if first[o] == NONE && !mixed[o] {
            first[o] = id;
            if id == NONE {
                mixed[o] = true;
            }
        } else if first[o] != id {
            mixed[o] = true;
        }
    }
    let ids = first
        .iter()
        .zip(&mixed)
        .map(|(&f, &m)| if m { NONE } else { f })
        .collect();
    set_tags(an, out, Tags { shape: os, ids });
    Ok(())
}

/// Data movement: the interpreter moves the ids as it would move the data.
fn movement(a: &Graph, an: &mut Analysis, n: NodeId) -> Result<(), AnalysisError> {
    let node = a.node(n);
    let data_slots: &[usize] = match &node.op {
        Op::Concat { .. } => &[],
        Op::Reshape { .. }
        | Op::Flatten { .. }
        | Op::Transpose { .. }
        | Op::Squeeze {}
        | Op::Unsqueeze {}
        | Op::Split { .. }
        | Op::Slice {}
        | Op::Gather { .. }
        | Op::Expand {}
        | Op::Tile {}
        | Op::DepthToSpace { .. }
        | Op::SpaceToDepth { .. }
        | Op::Identity {} => &[0],
        Op::Pad { mode } => {
            // Constant padding fills with 0, which is NONE; the pad value itself
            // (a float) is not passed.
            let _ = mode;
            &[0]
        }
        _ => {
            opaque(a, an, n, "which structured pruning cannot slice");
            return Ok(());
        }
    };
    let is_data = |i: usize| matches!(node.op, Op::Concat { .. }) || data_slots.contains(&i);
    let mut owned: Vec<Option<Tensor>> = Vec::with_capacity(node.inputs.len());
    for (i, inp) in node.inputs.iter().enumerate() {
        let Some(v) = *inp else {
            owned.push(None);
            continue;
        };
        if is_data(i) {
            owned.push(Some(tags_of(a, an, v)?.to_tensor()));
        } else if matches!(node.op, Op::Pad { .. }) && i == 2 {
            owned.push(None);
        } else {
            match a.weight_of(v).and_then(|w| w.tensor().ok()) {
                Some(t) => owned.push(Some(t)),
                None => {
                    opaque(a, an, n, "whose shape or index operand is not constant");
                    return Ok(());
                }
            }
        }
    }
    let refs: Vec<Option<&Tensor>> = owned.iter().map(Option::as_ref).collect();
    let outs = pare_ir::interp::eval_op(&node.op, &refs, node.outputs.len()).map_err(|e| {
        AnalysisError::Node {
            node: label(a, n),
            op: node.op.name(),
            msg: format!("moving channel tags: {e}"),
        }
    })?;
    for (&o, t) in node.outputs.iter().zip(outs) {
        if let Some(t) = Tags::from_tensor(&t) {
            set_tags(an, o, t);
        }
    }
    Ok(())
}

/// Output tags of shape `shape` carrying `ids[c]` along `axis`.
fn along(shape: &[usize], axis: usize, ids: &[u32]) -> Tags {
    let st = strides(shape);
    let n: usize = shape.iter().product();
    Tags {
        shape: shape.to_vec(),
        ids: (0..n).map(|e| ids[(e / st[axis]) % shape[axis]]).collect(),
    }
}

fn weight_input(a: &Graph, n: NodeId, slot: usize) -> Option<ValueId> {
    a.node(n).input(slot).filter(|&v| is_const(a, v))
}

fn conv(a: &Graph, an: &mut Analysis, n: NodeId, group: usize) -> Result<(), AnalysisError> {
    let node = a.node(n);
    let x = node.input(0).expect("checked arity");
    let out = node.outputs[0];
    if weight_input(a, n, 1).is_none()
        || node.input(2).is_some_and(|b| !is_const(a, b))
        || !a.ty(out).dtype.is_float()
    {
        opaque(a, an, n, "whose weight is not a constant float");
        return Ok(());
    }
    let xt = tags_of(a, an, x)?;
    let os = shape_of(a, out)?;
    let (c, o) = (xt.shape[1], os[1]);
    let what = format!("conv `{}`", label(a, n));
    let inc = an.slice_classes(&xt, 1, &what);
    if group == 1 {
        let fresh = an.fresh(n, o);
        an.cuts.push(Cut {
            node: n,
            slot: 1,
            axes: vec![(0, fresh.clone()), (1, inc)],
            input: Some((1, 1)),
        });
        if node.input(2).is_some() {
            an.cuts.push(Cut {
                node: n,
                slot: 2,
                axes: vec![(0, fresh.clone())],
                input: None,
            });
        }
        set_tags(an, out, along(&os, 1, &fresh));
    } else if group == c {
        // Depthwise (with a channel multiplier m): output channel k*m+r is made
        // from input channel k alone, so the two go together and the group
        // count follows the channel count.
        let m = o / c;
        let ids: Vec<u32> = (0..o).map(|k| inc[k / m]).collect();
        an.cuts.push(Cut {
            node: n,
            slot: 1,
            axes: vec![(0, ids.clone())],
            input: None,
        });
        if node.input(2).is_some() {
            an.cuts.push(Cut {
                node: n,
                slot: 2,
                axes: vec![(0, ids.clone())],
                input: None,
            });
        }
        an.regroup.insert(n);
        set_tags(an, out, along(&os, 1, &ids));
    } else {
        // Grouped: every group must keep the same counts, so the j-th input
        // (and output) channel of every group go together.
        let (ci, co) = (c / group, o / group);
        let mut lin = vec![NONE; ci];
        for (i, &id) in inc.iter().enumerate() {
            lin[i % ci] = an.union(lin[i % ci], id);
        }
        for (i, &id) in inc.iter().enumerate() {
            if id == NONE && lin[i % ci] != NONE {
                let l = lin[i % ci];
                an.block(l, || {
                    format!("{what}: grouped, and another group's channel is not prunable")
                });
            }
        }
        let mut fresh = an.fresh(n, o);
        for k in 1..group {
            for j in 0..co {
                let u = an.union(fresh[j], fresh[k * co + j]);
                fresh[k * co + j] = u;
            }
        }
        an.cuts.push(Cut {
            node: n,
            slot: 1,
            axes: vec![(0, fresh.clone()), (1, lin)],
            input: None,
        });
        if node.input(2).is_some() {
            an.cuts.push(Cut {
                node: n,
                slot: 2,
                axes: vec![(0, fresh.clone())],
                input: None,
            });
        }
        set_tags(an, out, along(&os, 1, &fresh));
    }
    Ok(())
}

fn conv_transpose(
    a: &Graph,
    an: &mut Analysis,
    n: NodeId,
    group: usize,
) -> Result<(), AnalysisError> {
    let node = a.node(n);
    let x = node.input(0).expect("checked arity");
    let out = node.outputs[0];
    let xt = tags_of(a, an, x)?;
    let os = shape_of(a, out)?;
    if weight_input(a, n, 1).is_none() || node.input(2).is_some_and(|b| !is_const(a, b)) {
        opaque(a, an, n, "whose weight is not a constant");
        return Ok(());
    }
    let what = format!("conv_transpose `{}`", label(a, n));
    let inc = an.slice_classes(&xt, 1, &what);
    if group == 1 {
        // Weight [C_in, C_out, k...].
        let fresh = an.fresh(n, os[1]);
        an.cuts.push(Cut {
            node: n,
            slot: 1,
            axes: vec![(0, inc), (1, fresh.clone())],
            input: Some((0, 1)),
        });
        if node.input(2).is_some() {
            an.cuts.push(Cut {
                node: n,
                slot: 2,
                axes: vec![(0, fresh.clone())],
                input: None,
            });
        }
        set_tags(an, out, along(&os, 1, &fresh));
    } else {
        opaque(a, an, n, "a grouped transposed convolution");
    }
    Ok(())
}

fn gemm(
    a: &Graph,
    an: &mut Analysis,
    n: NodeId,
    trans_a: bool,
    trans_b: bool,
) -> Result<(), AnalysisError> {
    let node = a.node(n);
    let x = node.input(0).expect("checked arity");
    let out = node.outputs[0];
    if weight_input(a, n, 1).is_none() || is_const(a, x) {
        opaque(a, an, n, "whose second operand is not a constant weight");
        return Ok(());
    }
    let xt = tags_of(a, an, x)?;
    let os = shape_of(a, out)?;
    let what = format!("gemm `{}`", label(a, n));
    let inc = an.slice_classes(&xt, usize::from(!trans_a), &what);
    let fresh = an.fresh(n, os[1]);
    let (k_axis, n_axis) = if trans_b { (1, 0) } else { (0, 1) };
    an.cuts.push(Cut {
        node: n,
        slot: 1,
        axes: vec![(k_axis, inc), (n_axis, fresh.clone())],
        input: Some((k_axis, usize::from(!trans_a))),
    });
    if let Some(cv) = node.input(2) {
        if !is_const(a, cv) {
            opaque(a, an, n, "whose bias is not constant");
        }
    }
    set_tags(an, out, along(&os, 1, &fresh));
    Ok(())
}

fn matmul(a: &Graph, an: &mut Analysis, n: NodeId) -> Result<(), AnalysisError> {
    let node = a.node(n);
    let (x, w) = (node.input(0).expect("arity"), node.input(1).expect("arity"));
    let out = node.outputs[0];
    let os = shape_of(a, out)?;
    let (xs, ws) = (shape_of(a, x)?, shape_of(a, w)?);
    let what = format!("matmul `{}`", label(a, n));
    if is_const(a, w) && !is_const(a, x) && ws.len() == 2 && xs.len() >= 2 {
        let xt = tags_of(a, an, x)?;
        let inc = an.slice_classes(&xt, xs.len() - 1, &what);
        let fresh = an.fresh(n, ws[1]);
        an.cuts.push(Cut {
            node: n,
            slot: 1,
            axes: vec![(0, inc), (1, fresh.clone())],
            input: Some((0, xs.len() - 1)),
        });
        set_tags(an, out, along(&os, os.len() - 1, &fresh));
        return Ok(());
    }
    if is_const(a, x) || is_const(a, w) || xs.len() < 2 || ws.len() < 2 {
        opaque(
            a,
            an,
            n,
            "a matmul with a constant left operand or a vector",
        );
        return Ok(());
    }
    // Two activations (attention): the contracted channels of both sides go
    // together, and with the output element they make.
    let (xt, wt) = (tags_of(a, an, x)?, tags_of(a, an, w)?);
    if !xt.any() && !wt.any() {
        return Ok(());
    }
    let r = os.len();
    let (m, k, nn) = (xs[xs.len() - 2], xs[xs.len() - 1], ws[ws.len() - 1]);
    let batch: Vec<usize> = os[..r - 2].to_vec();
    let bx = broadcast_map(&xs[..xs.len() - 2], &batch);
    let bw = broadcast_map(&ws[..ws.len() - 2], &batch);
    let mut ids = Vec::with_capacity(os.iter().product());
    for b in 0..bx.len() {
        let (xo, wo) = (bx[b] * m * k, bw[b] * k * nn);
        for i in 0..m {
            for j in 0..nn {
                let mut meet = Meet::default();
                for kk in 0..k {
                    meet.add(an, xt.ids[xo + i * k + kk]);
                    meet.add(an, wt.ids[wo + kk * nn + j]);
                }
                let class = meet.finish(an, || {
                    format!("{what} contracts it with values from no prunable layer")
                });
                ids.push(class);
            }
        }
    }
    set_tags(an, out, Tags { shape: os, ids });
    Ok(())
}
