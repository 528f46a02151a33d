//! `fuse-layer-norm`: a LayerNorm written out in elementary ops becomes one
//! `layer_normalization` over the same last axes, with the graph's own
//! epsilon.
//!
//! Exporters spell it many ways: the mean as `ReduceMean` or `ReduceSum` and
//! a division (or multiplication) by the count; the variance as the mean of
//! `(x−mean)²` (`Mul(d, d)`, `Pow(d, 2)`, TF's squared difference) or as
//! `E[x²] − E[x]²` (Keras' moments, perhaps clamped by `Max(·, 0)`); epsilon
//! added or taken as a floor with `Max`; `1/√` as `Sqrt` then `Div`, `Sqrt`
//! then `Reciprocal`, `Div(1, Sqrt)` or `Pow(·, −0.5)`; the scale and shift
//! anywhere they compute the same (PyTorch: `(x−m)/σ·γ + β`; TF/Keras:
//! `x·(γ/σ) + (β − m·γ/σ)`). So the output is read as a sum of products
//! ([`super::poly`]) and compared with `x·r·γ − m·r·γ + β`, where `m` is a
//! mean of `x`, `r` a reciprocal square root of a variance of `x` plus
//! epsilon, and `γ`, `β` constants — not matched op by op.
//!
//! `Max(var, eps)` is not `var + eps`: `1/√` of the two differ by at most
//! eps/(2·var) relative where var ≥ eps, and by up to √2 where var is eps or
//! less. So the `Max` form fuses only with eps ≤ 1e-5 ([`MAX_FLOOR_EPS`]),
//! where that takes rows all of whose values agree to within about 3e-3 —
//! constant rows, whose output is the shift either way.
//!
//! A constant scale and shift written after a `layer_normalization` (a
//! LayerNorm without affine parameters, then `Mul` and `Add`) are folded into
//! its scale and bias the same way.
//!
//! Nothing fuses unless every reduction is over the same last axes of `x`
//! (kept dims, static sizes), the output has `x`'s shape, the constants vary
//! only along the normalized axes, and no inner value is read outside the
//! pattern.

use super::common::{close, downstream, fuse_all, is_arithmetic, is_plain_f32, is_private};
use super::common::{FusedInput, Fusion, CONST_TOL};
use super::poly::{scalar_constant, Flattener, Poly};
use crate::{Changed, Pass, PassCx, PassError};
use pare_ir::{DType, Graph, NodeId, Op, Tensor, ValueId};
use std::collections::{BTreeMap, BTreeSet};

/// Largest eps of a `Max(var, eps)` floor that fuses (see the module docs).
const MAX_FLOOR_EPS: f64 = 1e-5;

/// Most elements a normalized row may have for the fusion to build its scale
/// and bias.
const MAX_ROW: usize = 1 << 24;

#[derive(Debug, Default)]
pub struct FuseLayerNorm;

impl Pass for FuseLayerNorm {
    fn name(&self) -> &'static str {
        "fuse-layer-norm"
    }

    fn run(&mut self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        fuse_all(g, cx, self.name(), &|g| find(g).or_else(|| find_affine(g)))
            .map(Changed::from_bool)
    }
}

/// A `ReduceMean` or `ReduceSum` with kept dims over constant axes.
struct Reduce {
    node: NodeId,
    input: ValueId,
    /// Sorted, non-negative.
    axes: Vec<usize>,
    /// The reduction is `scale` times the mean (1, or the count for a sum).
    scale: f64,
}

fn reduce_of(g: &Graph, v: ValueId) -> Option<Reduce> {
    let node = g.producer(v)?;
    let n = g.node(node);
    let is_sum = match n.op {
        Op::ReduceMean { keepdims: true, .. } => false,
        Op::ReduceSum { keepdims: true, .. } => true,
        _ => return None,
    };
    let input = n.input(0)?;
    let rank = g.ty(input).rank() as i64;
    let raw = g.weight_of(n.input(1)?)?.tensor().ok()?.to_i64_vec();
    let mut axes = Vec::new();
    for a in raw {
        let a = if a < 0 { a + rank } else { a };
        if !(0..rank).contains(&a) {
            return None;
        }
        axes.push(a as usize);
    }
    axes.sort_unstable();
    axes.dedup();
    if axes.is_empty() {
        return None;
    }
    let mut count = 1.0;
    for &a in &axes {
        count *= g.ty(input).shape[a].fixed()? as f64;
    }
    Some(Reduce {
        node,
        input,
        axes,
        scale: if is_sum { count } else { 1.0 },
    })
}

fn find(g: &Graph) -> Option<Fusion> {
    let uses = g.uses();
    let follow = |op: &Op| {
        is_arithmetic(op)
            || matches!(
                op,
                Op::Sqrt {} | Op::Max {} | Op::ReduceMean { .. } | Op::ReduceSum { .. }
            )
    };
    for &r in g.order() {
        let Some(&mean) = g.node(r).outputs.first() else {
            continue;
        };
        let Some(red) = reduce_of(g, mean) else {
            continue;
        };
        for root in downstream(g, &uses, mean, &follow, 48) {
            if !is_arithmetic(&g.node(root).op) {
                continue;
            }
            if let Some(f) = match_at(g, &uses, red.input, root) {
                return Some(f);
            }
        }
    }
    None
}

/// What the match has seen so far: its nodes and the axes every reduction
/// must share.
struct Seen {
    matched: BTreeSet<NodeId>,
    axes: Option<Vec<usize>>,
}

impl Seen {
    /// `v` as a mean of `x` (times its scale), checking its axes.
    fn mean_of_x(&mut self, g: &Graph, x: ValueId, v: ValueId) -> Option<Option<f64>> {
        let Some(r) = reduce_of(g, v) else {
            return Some(None);
        };
        if r.input != x {
            return Some(None);
        }
        self.same_axes(&r.axes)?;
        self.matched.insert(r.node);
        Some(Some(r.scale))
    }

    fn same_axes(&mut self, axes: &[usize]) -> Option<()> {
        match &self.axes {
            Some(a) if a != axes => None,
            Some(_) => Some(()),
            None => {
                self.axes = Some(axes.to_vec());
                Some(())
            }
        }
    }

    fn flatten(&mut self, g: &Graph, x: ValueId, v: ValueId) -> Option<Poly> {
        let mut f = Flattener::new(g, &[x]);
        let p = f.flatten(v)?;
        self.matched.extend(f.nodes);
        Some(p)
    }
}

/// One product of the output's sum, sorted by what it holds.
struct Part {
    coef: f64,
    /// The product's constant tensors with their exponents.
    consts: BTreeMap<ValueId, i32>,
    /// Its other leaves (the reciprocal square root) with their exponents.
    others: Vec<(ValueId, i32)>,
}

fn match_at(g: &Graph, uses: &[Vec<(NodeId, usize)>], x: ValueId, root: NodeId) -> Option<Fusion> {
    let y = g.node(root).outputs[0];
    if !is_plain_f32(g, x) || !is_plain_f32(g, y) || g.ty(y).shape != g.ty(x).shape {
        return None;
    }
    let mut seen = Seen {
        matched: BTreeSet::new(),
        axes: None,
    };
    let p = seen.flatten(g, x, y)?;
    // x·r·Γ, m·r·Γ and constant products, nothing else.
    let (mut with_x, mut with_mean, mut constants) = (None, None, Vec::new());
    for t in &p.terms {
        let (mut x_exp, mut mean_exp, mut coef) = (0, 0, t.coef);
        let mut part = Part {
            coef: 0.0,
            consts: BTreeMap::new(),
            others: Vec::new(),
        };
        for (&v, &e) in &t.factors {
            if v == x {
                x_exp += e;
            } else if g.weight_of(v).is_some() {
                part.consts.insert(v, e);
            } else if let Some(scale) = seen.mean_of_x(g, x, v)? {
                mean_exp += e;
                coef *= scale.powi(e);
            } else {
                part.others.push((v, e));
            }
        }
        part.coef = coef;
        let slot = match (x_exp, mean_exp, part.others.len()) {
            (0, 0, 0) => {
                constants.push(part);
                continue;
            }
            (1, 0, 1) => &mut with_x,
            (0, 1, 1) => &mut with_mean,
            _ => return None,
        };
        if slot.replace(part).is_some() {
            return None;
        }
    }
    let (tx, tm) = (with_x?, with_mean?);
    if tx.others != tm.others || tx.consts != tm.consts || !close(-tm.coef, tx.coef) {
        return None;
    }
    let (rstd, exp) = tx.others[0];
    let eps = rstd_epsilon(g, x, rstd, exp, &mut seen)?;
    seen.matched.insert(root);
    if !is_private(g, uses, &seen.matched, root) {
        return None;
    }
    // The reductions must cover exactly the last k axes.
    let axes = seen.axes.clone()?;
    let rank = g.ty(x).rank();
    let first = rank.checked_sub(axes.len())?;
    if axes != (first..rank).collect::<Vec<_>>() {
        return None;
    }
    let norm: Vec<usize> = g.ty(x).shape[first..]
        .iter()
        .map(|d| d.fixed().map(|n| n as usize))
        .collect::<Option<_>>()?;
    // The scale and bias are materialized over the normalized dims: refuse
    // sizes no real row has (a declared type is not data).
    let size = pare_ir::checked_product(&norm).filter(|&n| n <= MAX_ROW)?;
    let mut scale = vec![tx.coef; size];
    multiply_consts(g, &tx.consts, rank, &norm, &mut scale)?;
    let mut bias = vec![0.0; size];
    for c in &constants {
        let mut term = vec![c.coef; size];
        multiply_consts(g, &c.consts, rank, &norm, &mut term)?;
        bias.iter_mut().zip(term).for_each(|(b, t)| *b += t);
    }
    let to_tensor = |v: Vec<f64>| -> Option<Tensor> {
        let f: Vec<f32> = v.into_iter().map(|a| a as f32).collect();
        if f.iter().any(|a| !a.is_finite()) {
            return None;
        }
        Tensor::from_vec(norm.clone(), f).ok()
    };
    let mut inputs = vec![
        FusedInput::Value(x),
        FusedInput::Const {
            suffix: "_scale",
            tensor: to_tensor(scale)?,
        },
    ];
    if !constants.is_empty() {
        inputs.push(FusedInput::Const {
            suffix: "_bias",
            tensor: to_tensor(bias)?,
        });
    }
    Some(Fusion {
        root,
        matched: seen.matched,
        op: Op::LayerNormalization {
            axis: first as i64,
            epsilon: eps as f32,
            stash_type: DType::F32,
        },
        inputs,
    })
}

/// Multiplies `acc` (laid out over the normalized dims `norm`) by each
/// constant raised to its exponent, broadcast from its own shape; `None` when
/// a constant varies along an axis that is not normalized.
fn multiply_consts(
    g: &Graph,
    consts: &BTreeMap<ValueId, i32>,
    rank: usize,
    norm: &[usize],
    acc: &mut [f64],
) -> Option<()> {
    for (&v, &e) in consts {
        let t = g.weight_of(v)?.tensor().ok()?;
        let vals = t.to_f64_vec();
        let shape = t.shape();
        if shape.len() > rank {
            return None;
        }
        let lead = rank - norm.len();
        // Strides of the constant, per normalized axis (0 where broadcast).
        let mut strides = vec![0usize; norm.len()];
        let mut stride = 1;
        for (i, &d) in shape.iter().enumerate().rev() {
            let axis = rank - shape.len() + i;
            if axis < lead {
                if d != 1 {
                    return None;
                }
            } else if d == norm[axis - lead] {
                strides[axis - lead] = stride;
            } else if d != 1 {
                return None;
            }
            stride *= d;
        }
        for (flat, a) in acc.iter_mut().enumerate() {
            let (mut rem, mut at) = (flat, 0);
            for (k, &d) in norm.iter().enumerate().rev() {
                at += (rem % d) * strides[k];
                rem /= d;
            }
            *a *= vals[at].powi(e);
        }
    }
    Some(())
}

/// The epsilon of `rstd^exp = 1/√(var(x) + eps)` (or `1/√max(var, eps)`),
/// checking that the variance is one of `x`'s.
fn rstd_epsilon(g: &Graph, x: ValueId, rstd: ValueId, exp: i32, seen: &mut Seen) -> Option<f64> {
    let node = g.producer(rstd)?;
    let n = g.node(node);
    let u = match (&n.op, exp) {
        (Op::Sqrt {}, -1) => n.input(0)?,
        (Op::Pow {}, -1) if close(scalar_constant(g, n.input(1)?)?, 0.5) => n.input(0)?,
        (Op::Pow {}, 1) if close(scalar_constant(g, n.input(1)?)?, -0.5) => n.input(0)?,
        _ => return None,
    };
    if !is_plain_f32(g, u) {
        return None;
    }
    seen.matched.insert(node);
    // eps as a floor: Max(var, eps), either operand order.
    if let Some((max, var, eps)) = max_with_constant(g, u) {
        if !(eps > 0.0 && eps <= MAX_FLOOR_EPS) {
            return None;
        }
        seen.matched.insert(max);
        let var = clamped_at_zero(g, var, seen);
        let p = seen.flatten(g, x, var)?;
        return is_variance(g, x, &p, seen).then_some(eps);
    }
    let p = seen.flatten(g, x, u)?;
    let (consts, var): (Vec<_>, Vec<_>) = p.terms.into_iter().partition(|t| t.factors.is_empty());
    let eps: f64 = consts.iter().map(|t| t.coef).sum();
    if !(eps >= 0.0 && eps.is_finite()) {
        return None;
    }
    // Max(var, 0) + eps: the clamp is a leaf of the sum; read through it.
    let var = match &var[..] {
        [t] if t.coef == 1.0 && t.factors.len() == 1 => {
            let (&v, &e) = t.factors.iter().next()?;
            let inner = clamped_at_zero(g, v, seen);
            if e == 1 && inner != v {
                seen.flatten(g, x, inner)?
            } else {
                Poly { terms: var }
            }
        }
        _ => Poly { terms: var },
    };
    is_variance(g, x, &var, seen).then_some(eps)
}

/// `Max(v, c)` or `Max(c, v)` with `c` one number: `(node, v, c)`.
fn max_with_constant(g: &Graph, v: ValueId) -> Option<(NodeId, ValueId, f64)> {
    let node = g.producer(v)?;
    let n = g.node(node);
    let (Op::Max {}, [Some(a), Some(b)]) = (&n.op, &n.inputs[..]) else {
        return None;
    };
    match (scalar_constant(g, *a), scalar_constant(g, *b)) {
        (None, Some(c)) => Some((node, *a, c)),
        (Some(c), None) => Some((node, *b, c)),
        _ => None,
    }
}

/// `v`, or what `Max(v, 0)` clamps (E[x²]−E[x]² can round below zero, so
/// exporters of that form clamp it).
fn clamped_at_zero(g: &Graph, v: ValueId, seen: &mut Seen) -> ValueId {
    match max_with_constant(g, v) {
        Some((node, inner, 0.0)) => {
            seen.matched.insert(node);
            inner
        }
        _ => v,
    }
}

/// Whether `p` is the variance of `x` over the shared axes: reading every
/// mean `E[q]` through `q`'s own sum of products and `E[x·m] = m²` (m is
/// constant along the axes), it must come to `1·E[x²] − 1·m²`.
fn is_variance(g: &Graph, x: ValueId, p: &Poly, seen: &mut Seen) -> bool {
    let mut sq = 0.0; // coefficient of E[x²]
    let mut msq = 0.0; // coefficient of m²
    for t in &p.terms {
        // Either w·E[q] with q ≠ x, or c·m².
        let (mut inner, mut mean_exp, mut coef) = (None, 0, t.coef);
        for (&v, &e) in &t.factors {
            match seen.mean_of_x(g, x, v) {
                None => return false,
                Some(Some(scale)) => {
                    mean_exp += e;
                    coef *= scale.powi(e);
                }
                Some(None) => match reduce_of(g, v) {
                    Some(r) if e == 1 && inner.is_none() => {
                        if seen.same_axes(&r.axes).is_none() {
                            return false;
                        }
                        seen.matched.insert(r.node);
                        coef *= r.scale;
                        inner = Some(r.input);
                    }
                    _ => return false,
                },
            }
        }
        match (inner, mean_exp) {
            (None, 2) => msq += coef,
            (Some(q), 0) => {
                let Some(qp) = seen.flatten(g, x, q) else {
                    return false;
                };
                for qt in &qp.terms {
                    let (mut x_exp, mut m_exp, mut c) = (0, 0, coef * qt.coef);
                    for (&v, &e) in &qt.factors {
                        if v == x {
                            x_exp += e;
                        } else if let Some(Some(scale)) = seen.mean_of_x(g, x, v) {
                            m_exp += e;
                            c *= scale.powi(e);
                        } else {
                            return false;
                        }
                    }
                    match (x_exp, m_exp) {
                        (2, 0) => sq += c,
                        (1, 1) | (0, 2) => msq += c,
                        _ => return false,
                    }
                }
            }
            _ => return false,
        }
    }
    close(sq, 1.0) && (msq + 1.0).abs() <= CONST_TOL
}

/// `layer_normalization(x, s, b)` followed by constant products and sums
/// (`y·γ + β` in any order): one `layer_normalization` whose scale is `s·γ`
/// and bias `b·γ + β`.
fn find_affine(g: &Graph) -> Option<Fusion> {
    let uses = g.uses();
    for &n in g.order() {
        let node = g.node(n);
        let Op::LayerNormalization { axis, .. } = node.op else {
            continue;
        };
        let (Some(x), Some(&y)) = (node.input(0), node.outputs.first()) else {
            continue;
        };
        // Only the normalized output may be read (mean and 1/σ outputs change
        // nothing here, but a reader of them would lose its value).
        if node.outputs[1..]
            .iter()
            .any(|&o| !uses[o.index()].is_empty() || g.outputs.contains(&o))
        {
            continue;
        }
        let rank = g.ty(x).rank() as i64;
        let first = if axis < 0 { axis + rank } else { axis };
        let Some(first) = usize::try_from(first).ok().filter(|&f| f < rank as usize) else {
            continue;
        };
        let Some(norm) = g.ty(x).shape[first..]
            .iter()
            .map(|d| d.fixed().map(|n| n as usize))
            .collect::<Option<Vec<usize>>>()
        else {
            continue;
        };
        let Some(size) = pare_ir::checked_product(&norm).filter(|&n| n <= MAX_ROW) else {
            continue;
        };
        let read = |slot: usize| -> Option<Option<Vec<f64>>> {
            match node.input(slot) {
                None => Some(None),
                Some(v) => {
                    let mut acc = vec![1.0; size];
                    multiply_consts(g, &BTreeMap::from([(v, 1)]), rank as usize, &norm, &mut acc)?;
                    Some(Some(acc))
                }
            }
        };
        let (Some(Some(scale)), Some(bias)) = (read(1), read(2)) else {
            continue;
        };
        for root in downstream(g, &uses, y, &is_arithmetic, 4) {
            let out = g.node(root).outputs[0];
            if !is_plain_f32(g, out) || g.ty(out).shape != g.ty(y).shape {
                continue;
            }
            let mut f = Flattener::new(g, &[y]);
            let Some(p) = f.flatten(out) else {
                continue;
            };
            let mut times: Option<Vec<f64>> = None;
            let mut plus = vec![0.0; size];
            let mut ok = true;
            for t in &p.terms {
                let consts: BTreeMap<ValueId, i32> = t
                    .factors
                    .iter()
                    .filter(|(v, _)| **v != y)
                    .map(|(&v, &e)| (v, e))
                    .collect();
                let all_const = consts.keys().all(|&v| g.weight_of(v).is_some());
                let mut acc = vec![t.coef; size];
                ok &= all_const
                    && multiply_consts(g, &consts, rank as usize, &norm, &mut acc).is_some();
                match t.exponent(y) {
                    0 => plus.iter_mut().zip(&acc).for_each(|(p, a)| *p += a),
                    1 if times.is_none() => times = Some(acc),
                    _ => ok = false,
                }
            }
            let Some(times) = times.filter(|_| ok) else {
                continue;
            };
            let new_scale: Vec<f64> = scale.iter().zip(&times).map(|(s, t)| s * t).collect();
            let new_bias: Vec<f64> = match &bias {
                Some(b) => b
                    .iter()
                    .zip(&times)
                    .zip(&plus)
                    .map(|((b, t), p)| b * t + p)
                    .collect(),
                None => plus,
            };
            let mut matched = f.nodes;
            matched.extend([n, root]);
            if !is_private(g, &uses, &matched, root) {
                continue;
            }
            let tensor = |v: Vec<f64>| -> Option<Tensor> {
                let f: Vec<f32> = v.into_iter().map(|a| a as f32).collect();
                f.iter().all(|a| a.is_finite()).then_some(())?;
                Tensor::from_vec(norm.clone(), f).ok()
            };
            let (Some(scale), Some(bias)) = (tensor(new_scale), tensor(new_bias)) else {
                continue;
            };
            return Some(Fusion {
                root,
                matched,
                op: node.op.clone(),
                inputs: vec![
                    FusedInput::Value(x),
                    FusedInput::Const {
                        suffix: "_scale",
                        tensor: scale,
                    },
                    FusedInput::Const {
                        suffix: "_bias",
                        tensor: bias,
                    },
                ],
            });
        }
    }
    None
}
