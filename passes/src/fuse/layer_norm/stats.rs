//! What the LayerNorm fusion recognizes inside the pattern: means of `x`
//! (`ReduceMean`, or `ReduceSum` with its count), the variance of `x` in its
//! spellings, and the epsilon of `1/√(var + eps)`.

use crate::fuse::common::{close, is_plain_f32, CONST_TOL};
use crate::fuse::poly::{scalar_constant, Flattener, Poly};
use pare_ir::{Graph, NodeId, Op, ValueId};
use std::collections::BTreeSet;

use super::MAX_FLOOR_EPS;

/// A `ReduceMean` or `ReduceSum` with kept dims over constant axes.
pub(super) struct Reduce {
    pub node: NodeId,
    pub input: ValueId,
    /// Sorted, non-negative.
    pub axes: Vec<usize>,
    /// The reduction is `scale` times the mean (1, or the count for a sum).
    pub scale: f64,
}

pub(super) fn reduce_of(g: &Graph, v: ValueId) -> Option<Reduce> {
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

/// What the match has seen so far: its nodes and the axes every reduction
/// must share.
pub(super) struct Seen {
    pub matched: BTreeSet<NodeId>,
    pub axes: Option<Vec<usize>>,
}

impl Seen {
    /// `v` as a mean of `x` (times its scale), checking its axes.
    pub fn mean_of_x(&mut self, g: &Graph, x: ValueId, v: ValueId) -> Option<Option<f64>> {
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

    pub fn flatten(&mut self, g: &Graph, x: ValueId, v: ValueId) -> Option<Poly> {
        let mut f = Flattener::new(g, &[x]);
        let p = f.flatten(v)?;
        self.matched.extend(f.nodes);
        Some(p)
    }
}

/// The epsilon of `rstd^exp = 1/√(var(x) + eps)` (or `1/√max(var, eps)`),
/// checking that the variance is one of `x`'s.
pub(super) fn rstd_epsilon(
    g: &Graph,
    x: ValueId,
    rstd: ValueId,
    exp: i32,
    seen: &mut Seen,
) -> Option<f64> {
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
