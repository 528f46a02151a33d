//! Shape-value propagation: the known contents of small integer tensors.
//!
//! Like ONNX's data propagation and tract's symbolic shapes, this follows the
//! integer side computations exporters emit around `Reshape` (`Shape → Gather →
//! Unsqueeze → Concat`) so that shape inference and folding passes see their
//! results. Sources are small integer weights, `Shape` and `Size`; the table flows
//! through `Gather`, `Slice`, `Concat`, `Unsqueeze`, `Squeeze`, `Cast` (to an integer
//! type), `Identity`, `Reshape`/`Flatten` to rank ≤ 1, `ConstantOfShape` and the
//! element-wise `Add`, `Sub`, `Mul`, `Div`.
//!
//! Arithmetic on a symbol folds the neutral cases (`N*1`, `N+0`, `0*N`) and
//! otherwise yields an unknown named `?v<value>_<element>`: deterministic, and never
//! equal to anything but itself.

use crate::{Dim, Graph, NodeId, Op, TensorType, ValueDef, ValueId};
use std::collections::BTreeMap;

/// Largest tensor (in elements) whose contents are tracked.
pub const MAX_LEN: usize = 1024;

/// One element of a tracked integer tensor.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum SymInt {
    Int(i64),
    Sym(String),
}

impl SymInt {
    /// As a dim: non-negative integers and symbols; `None` for negatives.
    pub fn to_dim(&self) -> Option<Dim> {
        match self {
            SymInt::Int(n) => u64::try_from(*n).ok().map(Dim::Fixed),
            SymInt::Sym(s) => Some(Dim::Sym(s.clone())),
        }
    }

    pub fn from_dim(d: &Dim) -> SymInt {
        match d {
            Dim::Fixed(n) => SymInt::Int(i64::try_from(*n).unwrap_or(i64::MAX)),
            Dim::Sym(s) => SymInt::Sym(s.clone()),
        }
    }

    pub fn int(&self) -> Option<i64> {
        match self {
            SymInt::Int(n) => Some(*n),
            SymInt::Sym(_) => None,
        }
    }

    /// All elements as integers, if every one is known.
    pub fn all_ints(v: &[SymInt]) -> Option<Vec<i64>> {
        v.iter().map(SymInt::int).collect()
    }
}

/// Side table: value → its elements (row-major) for small 0-D/1-D integer tensors
/// whose contents are known up to symbols.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ShapeValues {
    map: BTreeMap<ValueId, Vec<SymInt>>,
}

impl ShapeValues {
    pub fn get(&self, v: ValueId) -> Option<&[SymInt]> {
        self.map.get(&v).map(Vec::as_slice)
    }

    /// The elements as dims when all are non-negative integers or symbols.
    pub fn dims(&self, v: ValueId) -> Option<Vec<Dim>> {
        self.get(v)?.iter().map(SymInt::to_dim).collect()
    }

    /// The elements when all are known integers.
    pub fn ints(&self, v: ValueId) -> Option<Vec<i64>> {
        SymInt::all_ints(self.get(v)?)
    }

    pub fn insert(&mut self, v: ValueId, elems: Vec<SymInt>) {
        self.map.insert(v, elems);
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Tracked values in id order.
    pub fn iter(&self) -> impl Iterator<Item = (ValueId, &[SymInt])> + '_ {
        self.map.iter().map(|(k, v)| (*k, v.as_slice()))
    }

    /// From the table, or decoded from `v`'s weight when it is a small integer one.
    pub(crate) fn get_or_weight(&self, g: &Graph, v: ValueId) -> Option<Vec<SymInt>> {
        if let Some(e) = self.map.get(&v) {
            return Some(e.clone());
        }
        weight_ints(g, v)
    }
}

fn trackable(t: &TensorType) -> bool {
    t.dtype.is_int() && t.rank() <= 1 && t.num_elements().is_some_and(|n| n <= MAX_LEN as u64)
}

/// Contents of a small integer weight.
fn weight_ints(g: &Graph, v: ValueId) -> Option<Vec<SymInt>> {
    if v.index() >= g.value_count() {
        return None;
    }
    let ValueDef::Weight(w) = g.value(v).def else {
        return None;
    };
    if w.index() >= g.weight_count() {
        return None;
    }
    let w = g.weight(w);
    if !trackable(&w.ty) {
        return None;
    }
    let t = w.tensor().ok()?;
    Some(t.to_i64_vec().into_iter().map(SymInt::Int).collect())
}

/// Adds every small integer weight to the table.
pub(crate) fn seed_weights(g: &Graph, sv: &mut ShapeValues) {
    for (v, _) in g.values() {
        if let Some(e) = weight_ints(g, v) {
            sv.insert(v, e);
        }
    }
}

/// The shape-value table of the whole graph from its current types.
pub fn shape_values(g: &Graph) -> Result<ShapeValues, super::InferError> {
    let mut sv = ShapeValues::default();
    seed_weights(g, &mut sv);
    for &id in g.order() {
        if id.index() >= g.node_slots() {
            return Err(super::InferError::Graph(format!(
                "node id {} out of range",
                id.0
            )));
        }
        update_node(g, id, &mut sv);
    }
    Ok(sv)
}

/// Records the contents of `id`'s first output when they can be computed.
pub(crate) fn update_node(g: &Graph, id: NodeId, sv: &mut ShapeValues) {
    let n = g.node(id);
    let Some(&out) = n.outputs.first() else {
        return;
    };
    let in_range = |v: &ValueId| v.index() < g.value_count();
    if !in_range(&out) || !n.inputs.iter().flatten().all(in_range) {
        return;
    }
    if !trackable(&g.value(out).ty) {
        return;
    }
    if let Some(e) = compute(g, id, sv, out).or_else(|| evaluate(g, id, sv)) {
        let want = g.value(out).ty.num_elements();
        if want == Some(e.len() as u64) {
            sv.insert(out, e);
        }
    }
}

/// Any other op whose inputs are all small, fully known integer tensors is evaluated
/// by [`super::const_eval`] (exporters compute slice bounds with `Mod`, `Max`,
/// `Range`, ... on constants; the symbolic rules above do not list them all).
fn evaluate(g: &Graph, id: NodeId, sv: &ShapeValues) -> Option<Vec<SymInt>> {
    let n = g.node(id);
    // Every op the evaluator covers has exactly one output.
    if n.outputs.len() != 1 {
        return None;
    }
    let mut inputs = Vec::with_capacity(n.inputs.len());
    for i in &n.inputs {
        let Some(v) = *i else {
            inputs.push(None);
            continue;
        };
        let ty = &g.value(v).ty;
        if !trackable(ty) {
            return None;
        }
        let ints = SymInt::all_ints(&sv.get_or_weight(g, v)?)?;
        let shape: Vec<usize> = ty.fixed_shape()?.iter().map(|&d| d as usize).collect();
        let t = crate::Tensor::from_vec(shape, ints).ok()?.cast(ty.dtype);
        inputs.push(Some(t));
    }
    let refs: Vec<Option<&crate::Tensor>> = inputs.iter().map(Option::as_ref).collect();
    let first = super::const_eval::eval(&n.op, &refs)?;
    if !first.dtype().is_int() || first.len() > MAX_LEN {
        return None;
    }
    Some(first.to_i64_vec().into_iter().map(SymInt::Int).collect())
}

fn compute(g: &Graph, id: NodeId, sv: &ShapeValues, out: ValueId) -> Option<Vec<SymInt>> {
    let n = g.node(id);
    let val = |i: usize| n.input(i).and_then(|v| sv.get_or_weight(g, v));
    let ty = |i: usize| n.input(i).map(|v| &g.value(v).ty);
    let ints = |i: usize| val(i).and_then(|v| SymInt::all_ints(&v));
    match &n.op {
        Op::Shape { start, end } => {
            let shape = &ty(0)?.shape;
            let (s, e) = shape_range(shape.len(), *start, *end);
            Some(shape[s..e].iter().map(SymInt::from_dim).collect())
        }
        Op::Size {} => {
            let shape = &ty(0)?.shape;
            let mut acc = SymInt::Int(1);
            for (k, d) in shape.iter().enumerate() {
                acc = arith(ArOp::Mul, &acc, &SymInt::from_dim(d), out, k)?;
            }
            Some(vec![acc])
        }
        Op::Identity {} | Op::Unsqueeze {} | Op::Squeeze {} | Op::Reshape { .. } => val(0),
        Op::Flatten { .. } => val(0),
        Op::Cast { to } if to.is_int() => val(0),
        Op::Gather { axis } => {
            let data = val(0)?;
            let idx = ints(1)?;
            let r = ty(0)?.rank();
            if r != 1 || !matches!(*axis, 0 | -1) {
                return None;
            }
            let len = data.len() as i64;
            idx.iter()
                .map(|&i| {
                    let j = if i < 0 { i.checked_add(len)? } else { i };
                    data.get(usize::try_from(j).ok()?).cloned()
                })
                .collect()
        }
        Op::Slice {} => {
            let data = val(0)?;
            let (starts, ends) = (ints(1)?, ints(2)?);
            if n.input(3).is_some() {
                let axes = ints(3)?;
                if axes != [0] && axes != [-1] {
                    return None;
                }
            }
            let step = match n.input(4) {
                Some(_) => *ints(4)?.first()?,
                None => 1,
            };
            if starts.len() != 1 || ends.len() != 1 || step == 0 {
                return None;
            }
            let idx = slice_indices(data.len() as i64, starts[0], ends[0], step);
            Some(idx.into_iter().map(|i| data[i].clone()).collect())
        }
        Op::Concat { .. } => {
            let mut all = Vec::new();
            for i in 0..n.inputs.len() {
                all.extend(val(i)?);
            }
            Some(all)
        }
        Op::ConstantOfShape { dtype, value } if dtype.is_int() => {
            let count = ints(0)?.iter().try_fold(1i64, |a, &d| a.checked_mul(d))?;
            let count = usize::try_from(count).ok().filter(|&c| c <= MAX_LEN)?;
            Some(vec![SymInt::Int(*value as i64); count])
        }
        Op::Add {} | Op::Sub {} | Op::Mul {} | Op::Div {} => {
            let op = match n.op {
                Op::Add {} => ArOp::Add,
                Op::Sub {} => ArOp::Sub,
                Op::Mul {} => ArOp::Mul,
                _ => ArOp::Div,
            };
            let (a, b) = (val(0)?, val(1)?);
            let len = a.len().max(b.len());
            if !(a.len() == len || a.len() == 1) || !(b.len() == len || b.len() == 1) {
                return None;
            }
            (0..len)
                .map(|k| {
                    let x = &a[if a.len() == 1 { 0 } else { k }];
                    let y = &b[if b.len() == 1 { 0 } else { k }];
                    arith(op, x, y, out, k)
                })
                .collect()
        }
        _ => None,
    }
}

/// `[start, end)` of `Shape`'s output after ONNX clamping.
pub(crate) fn shape_range(rank: usize, start: i64, end: Option<i64>) -> (usize, usize) {
    let r = rank as i64;
    let clamp = |x: i64| {
        let x = if x < 0 { x.saturating_add(r) } else { x };
        x.clamp(0, r) as usize
    };
    let s = clamp(start);
    let e = clamp(end.unwrap_or(r));
    (s, e.max(s))
}

/// Indices a 1-D ONNX `Slice` selects from a length-`len` axis (clamped like ONNX).
pub(crate) fn slice_indices(len: i64, start: i64, end: i64, step: i64) -> Vec<usize> {
    let (s, e) = slice_bounds(len, start, end, step);
    let mut out = Vec::new();
    let mut i = s;
    while (step > 0 && i < e) || (step < 0 && i > e) {
        out.push(i as usize);
        match i.checked_add(step) {
            Some(n) => i = n,
            None => break,
        }
    }
    out
}

/// Clamped `(start, end)` of an ONNX slice along a length-`len` axis.
pub(crate) fn slice_bounds(len: i64, start: i64, end: i64, step: i64) -> (i64, i64) {
    let adj = |x: i64| if x < 0 { x.saturating_add(len) } else { x };
    if len <= 0 {
        (0, 0)
    } else if step > 0 {
        (adj(start).clamp(0, len), adj(end).clamp(0, len))
    } else {
        (adj(start).clamp(0, len - 1), adj(end).clamp(-1, len - 1))
    }
}

/// Number of elements an ONNX slice selects (`step != 0`).
pub(crate) fn slice_len(len: i64, start: i64, end: i64, step: i64) -> i64 {
    let (s, e) = slice_bounds(len, start, end, step);
    let span = if step > 0 { e - s } else { s - e };
    if span <= 0 {
        0
    } else {
        // `span` is at most `len + 1`; divide in u64 so `|i64::MIN|` fits.
        ((span as u64 - 1) / step.unsigned_abs() + 1) as i64
    }
}

#[derive(Clone, Copy)]
enum ArOp {
    Add,
    Sub,
    Mul,
    Div,
}

/// Integer arithmetic on tracked elements; unknown results get `?v<out>_<k>`.
fn arith(op: ArOp, a: &SymInt, b: &SymInt, out: ValueId, k: usize) -> Option<SymInt> {
    use SymInt::*;
    let unknown = || Some(Sym(format!("?v{}_{k}", out.0)));
    match (op, a, b) {
        (ArOp::Add, Int(x), Int(y)) => x.checked_add(*y).map(Int),
        (ArOp::Sub, Int(x), Int(y)) => x.checked_sub(*y).map(Int),
        (ArOp::Mul, Int(x), Int(y)) => x.checked_mul(*y).map(Int),
        // Only non-negative operands: there truncating and flooring division agree.
        (ArOp::Div, Int(x), Int(y)) if *x >= 0 && *y > 0 => Some(Int(x / y)),
        (ArOp::Div, Int(_), Int(_)) => None,
        (ArOp::Add | ArOp::Sub, s, Int(0)) | (ArOp::Add, Int(0), s) => Some(s.clone()),
        (ArOp::Mul | ArOp::Div, s, Int(1)) | (ArOp::Mul, Int(1), s) => Some(s.clone()),
        (ArOp::Mul, _, Int(0)) | (ArOp::Mul, Int(0), _) => Some(Int(0)),
        (ArOp::Sub, Sym(x), Sym(y)) if x == y => Some(Int(0)),
        (ArOp::Div, Sym(x), Sym(y)) if x == y => Some(Int(1)),
        _ => unknown(),
    }
}
