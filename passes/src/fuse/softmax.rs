//! `fuse-softmax`: `Exp(z − ReduceMax(z)) / ReduceSum(Exp(…))` over one axis
//! (or the same without the max subtraction, which only guards against
//! overflow) becomes one `softmax` on that axis.
//!
//! The division may be written as `Div`, or `Mul` by a `Reciprocal`; the
//! reductions must keep their dims, reduce the same single axis, and the
//! exponentials must be read by nothing else.

use super::common::{downstream, fuse_all, is_arithmetic, is_plain_f32, is_private};
use super::common::{FusedInput, Fusion};
use super::poly::Flattener;
use crate::{Changed, Pass, PassCx, PassError};
use pare_ir::{Graph, NodeId, Op, ValueId};
use std::collections::BTreeSet;

#[derive(Debug, Default)]
pub struct FuseSoftmax;

impl Pass for FuseSoftmax {
    fn name(&self) -> &'static str {
        "fuse-softmax"
    }

    fn run(&mut self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        fuse_all(g, cx, self.name(), &find).map(Changed::from_bool)
    }
}

/// The one non-negative axis a kept-dims reduction `node` of kind `want`
/// reduces.
fn single_axis(g: &Graph, node: NodeId, want: fn(&Op) -> bool) -> Option<(ValueId, usize)> {
    let n = g.node(node);
    if !want(&n.op) {
        return None;
    }
    let x = n.input(0)?;
    let axes = g.weight_of(n.input(1)?)?.tensor().ok()?.to_i64_vec();
    let rank = g.ty(x).rank() as i64;
    let [a] = axes[..] else {
        return None;
    };
    let a = if a < 0 { a + rank } else { a };
    (0..rank).contains(&a).then_some((x, a as usize))
}

fn find(g: &Graph) -> Option<Fusion> {
    let uses = g.uses();
    for &e in g.order() {
        if !matches!(g.node(e).op, Op::Exp {}) {
            continue;
        }
        let (Some(a), t) = (g.node(e).input(0), g.node(e).outputs[0]) else {
            continue;
        };
        let mut matched = BTreeSet::from([e]);
        // Exp(z − max(z)) or Exp(z).
        let (z, max_axis) = match subtracted_max(g, a) {
            Some((z, axis, sub, max)) => {
                matched.extend([sub, max]);
                (z, Some(axis))
            }
            None => (a, None),
        };
        if !is_plain_f32(g, z) {
            continue;
        }
        let sums: Vec<(NodeId, usize)> = uses[t.index()]
            .iter()
            .filter_map(|&(u, _)| {
                single_axis(g, u, |op| {
                    matches!(op, Op::ReduceSum { keepdims: true, .. })
                })
                .map(|(_, axis)| (u, axis))
            })
            .collect();
        let [(sum, axis)] = sums[..] else {
            continue;
        };
        if max_axis.is_some_and(|m| m != axis) {
            continue;
        }
        let s = g.node(sum).outputs[0];
        matched.insert(sum);
        for root in downstream(g, &uses, t, &is_arithmetic, 4) {
            let y = g.node(root).outputs[0];
            if !is_plain_f32(g, y) || g.ty(y).shape != g.ty(z).shape {
                continue;
            }
            let mut f = Flattener::new(g, &[]);
            let Some(p) = f.flatten(y) else {
                continue;
            };
            let [term] = &p.terms[..] else {
                continue;
            };
            let quotient = term.coef == 1.0
                && term.factors.len() == 2
                && term.exponent(t) == 1
                && term.exponent(s) == -1;
            let mut all = matched.clone();
            all.extend(f.nodes);
            all.insert(root);
            if quotient && is_private(g, &uses, &all, root) {
                return Some(Fusion {
                    root,
                    matched: all,
                    op: Op::Softmax {
                        axis: axis as i64,
                        coerce_2d: false,
                    },
                    inputs: vec![FusedInput::Value(z)],
                    perm: None,
                });
            }
        }
    }
    None
}

/// `a = Sub(z, ReduceMax(z))` over one axis: `(z, axis, sub, max)`.
fn subtracted_max(g: &Graph, a: ValueId) -> Option<(ValueId, usize, NodeId, NodeId)> {
    let sub = g.producer(a)?;
    let n = g.node(sub);
    let (Op::Sub {}, [Some(z), Some(m)]) = (&n.op, &n.inputs[..]) else {
        return None;
    };
    let max = g.producer(*m)?;
    let (of, axis) = single_axis(g, max, |op| {
        matches!(op, Op::ReduceMax { keepdims: true, .. })
    })?;
    (of == *z).then_some((*z, axis, sub, max))
}
