//! `fuse-activations`: SiLU, HardSwish and HardSigmoid written out in
//! elementary ops become one `silu`, `hard_swish` or `hard_sigmoid`.
//!
//! * SiLU (Swish): `x·sigmoid(x)`, either operand order.
//! * HardSigmoid: `k·clamp(α·x + β, lo, hi)` (`Clip`, `Min`/`Max` in either
//!   nesting, or `Min(Relu(·), hi)`; `k` a `Mul` or `Div` by a constant,
//!   possibly none) whose range is exactly [0, 1]: `clip(x+3, 0, 6)/6` and
//!   `Clip(α·x+β, 0, 1)`. A bare `Clip(x, 0, 1)` stays as it is.
//! * HardSwish: `x` times such a hard sigmoid of the same `x` with α = 1/6,
//!   β = 1/2, in any order (`x·relu6(x+3)/6`, `x·(relu6(x+3)/6)`), or `x`
//!   times an ONNX `HardSigmoid(x)` with those parameters.
//!
//! The products are read as sums of products ([`super::poly`]), so factor
//! order does not matter; constants must match to within
//! [`super::common::CONST_TOL`].

use super::common::{close, downstream, fuse_all, is_arithmetic, is_plain_f32, is_private};
use super::common::{FusedInput, Fusion};
use super::poly::{scalar_constant, Flattener, Poly};
use crate::{Changed, Pass, PassCx, PassError};
use pare_ir::{Graph, NodeId, Op, ValueId};
use std::collections::BTreeSet;

#[derive(Debug, Default)]
pub struct FuseActivations;

impl Pass for FuseActivations {
    fn name(&self) -> &'static str {
        "fuse-activations"
    }

    fn run(&mut self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        fuse_all(g, cx, self.name(), &|g| {
            find_silu(g).or_else(|| find_hard(g))
        })
        .map(Changed::from_bool)
    }
}

fn find_silu(g: &Graph) -> Option<Fusion> {
    let uses = g.uses();
    for &s in g.order() {
        if !matches!(g.node(s).op, Op::Sigmoid {}) {
            continue;
        }
        let (Some(x), sig) = (g.node(s).input(0), g.node(s).outputs[0]) else {
            continue;
        };
        for root in downstream(g, &uses, sig, &is_arithmetic, 4) {
            let y = g.node(root).outputs[0];
            if !is_plain_f32(g, x) || g.ty(y).shape != g.ty(x).shape {
                continue;
            }
            let mut f = Flattener::new(g, &[x]);
            let Some(p) = f.flatten(y) else {
                continue;
            };
            let is_silu = matches!(&p.terms[..], [t] if t.coef == 1.0
                && t.factors.len() == 2 && t.exponent(x) == 1 && t.exponent(sig) == 1);
            let mut matched = f.nodes;
            matched.extend([s, root]);
            if is_silu && is_private(g, &uses, &matched, root) {
                return Some(Fusion {
                    root,
                    matched,
                    op: Op::Silu {},
                    inputs: vec![FusedInput::Value(x)],
                    perm: None,
                });
            }
        }
    }
    None
}

/// `clamp(α·x + β, lo, hi)` and the nodes computing it.
struct Clamp {
    out: ValueId,
    x: ValueId,
    alpha: f64,
    beta: f64,
    lo: f64,
    hi: f64,
    nodes: BTreeSet<NodeId>,
}

/// The clamp node `c` computes, if it is one: `Clip` with constant bounds,
/// `Min(Max(a, lo), hi)`, `Max(Min(a, hi), lo)`, `Min(Relu(a), hi)`, or an
/// ONNX `HardSigmoid` (`clamp(α·x + β, 0, 1)`).
fn clamp_at(g: &Graph, uses: &[Vec<(NodeId, usize)>], c: NodeId) -> Option<Clamp> {
    let n = g.node(c);
    let out = n.outputs[0];
    let mut nodes = BTreeSet::from([c]);
    let (a, lo, hi) = match &n.op {
        Op::HardSigmoid { alpha, beta } => {
            let x = n.input(0)?;
            return Some(Clamp {
                out,
                x,
                alpha: f64::from(*alpha),
                beta: f64::from(*beta),
                lo: 0.0,
                hi: 1.0,
                nodes,
            });
        }
        Op::Clip {} => (
            n.input(0)?,
            scalar_constant(g, n.input(1)?)?,
            scalar_constant(g, n.input(2)?)?,
        ),
        Op::Min {} | Op::Max {} => {
            let (inner, bound) = two_with_constant(g, c)?;
            let p = g.producer(inner)?;
            let pn = g.node(p);
            let (a, other) = match (&n.op, &pn.op) {
                (Op::Min {}, Op::Relu {}) => (pn.input(0)?, 0.0),
                (Op::Min {}, Op::Max {}) | (Op::Max {}, Op::Min {}) => {
                    let (a, b) = two_with_constant(g, p)?;
                    (a, b)
                }
                _ => return None,
            };
            nodes.insert(p);
            match n.op {
                Op::Min {} => (a, other, bound),
                _ => (a, bound, other),
            }
        }
        _ => return None,
    };
    if lo.partial_cmp(&hi) != Some(std::cmp::Ordering::Less) || !is_plain_f32(g, a) {
        return None;
    }
    let (x, alpha, beta) = affine(g, uses, a, &mut nodes, 4);
    Some(Clamp {
        out,
        x,
        alpha,
        beta,
        lo,
        hi,
        nodes,
    })
}

/// `Min`/`Max` node `n` of a value and one constant: `(value, constant)`.
fn two_with_constant(g: &Graph, n: NodeId) -> Option<(ValueId, f64)> {
    let [Some(a), Some(b)] = g.node(n).inputs[..] else {
        return None;
    };
    match (scalar_constant(g, a), scalar_constant(g, b)) {
        (None, Some(c)) => Some((a, c)),
        (Some(c), None) => Some((b, c)),
        _ => None,
    }
}

/// `a` as `α·x + β` through `Add`/`Sub`/`Mul`/`Div` by constants, peeling
/// only values read once (a value read twice is the pattern's `x`).
fn affine(
    g: &Graph,
    uses: &[Vec<(NodeId, usize)>],
    a: ValueId,
    nodes: &mut BTreeSet<NodeId>,
    depth: usize,
) -> (ValueId, f64, f64) {
    let Some(p) = g
        .producer(a)
        .filter(|_| depth > 0 && uses[a.index()].len() == 1)
    else {
        return (a, 1.0, 0.0);
    };
    let n = g.node(p);
    let [Some(l), Some(r)] = n.inputs[..] else {
        return (a, 1.0, 0.0);
    };
    let (lc, rc) = (scalar_constant(g, l), scalar_constant(g, r));
    let step = match (&n.op, lc, rc) {
        (Op::Add {}, None, Some(c)) => Some((l, 1.0, c)),
        (Op::Add {}, Some(c), None) => Some((r, 1.0, c)),
        (Op::Sub {}, None, Some(c)) => Some((l, 1.0, -c)),
        (Op::Mul {}, None, Some(c)) => Some((l, c, 0.0)),
        (Op::Mul {}, Some(c), None) => Some((r, c, 0.0)),
        (Op::Div {}, None, Some(c)) if c != 0.0 => Some((l, 1.0 / c, 0.0)),
        _ => None,
    };
    match step {
        Some((inner, k, c)) if is_plain_f32(g, inner) => {
            nodes.insert(p);
            let (x, alpha, beta) = affine(g, uses, inner, nodes, depth - 1);
            (x, k * alpha, k * beta + c)
        }
        _ => (a, 1.0, 0.0),
    }
}

fn find_hard(g: &Graph) -> Option<Fusion> {
    let uses = g.uses();
    for &c in g.order() {
        let Some(cl) = clamp_at(g, &uses, c) else {
            continue;
        };
        if !is_plain_f32(g, cl.x) || !is_plain_f32(g, cl.out) {
            continue;
        }
        let mut roots = downstream(g, &uses, cl.out, &is_arithmetic, 4);
        roots.push(c);
        for root in roots {
            if let Some(f) = hard_at(g, &uses, &cl, root) {
                return Some(f);
            }
        }
    }
    None
}

/// HardSwish or HardSigmoid ending at `root` over clamp `cl`.
fn hard_at(g: &Graph, uses: &[Vec<(NodeId, usize)>], cl: &Clamp, root: NodeId) -> Option<Fusion> {
    let y = g.node(root).outputs[0];
    if !is_plain_f32(g, y) || g.ty(y).shape != g.ty(cl.x).shape {
        return None;
    }
    let mut f = Flattener::new(g, &[cl.x, cl.out]);
    let p: Poly = f.flatten(y)?;
    let mut matched = f.nodes;
    matched.extend(cl.nodes.iter().copied());
    matched.insert(root);
    // k·C + c0 (HardSigmoid) or k·x·C (HardSwish).
    let (mut k, mut c0, mut times_x) = (None, 0.0, false);
    for t in &p.terms {
        match (t.exponent(cl.out), t.exponent(cl.x), t.factors.len()) {
            (0, 0, 0) => c0 += t.coef,
            (1, 0, 1) if k.is_none() => k = Some(t.coef),
            (1, 1, 2) if k.is_none() => {
                k = Some(t.coef);
                times_x = true;
            }
            _ => return None,
        }
    }
    let k = k.filter(|&k| k > 0.0)?;
    // k·clamp(αx+β, lo, hi) + c0 = clamp(kαx + kβ + c0, k·lo + c0, k·hi + c0).
    let (lo, hi) = (k * cl.lo + c0, k * cl.hi + c0);
    let (alpha, beta) = (k * cl.alpha, k * cl.beta + c0);
    if lo.abs() > super::common::CONST_TOL || !close(hi, 1.0) {
        return None;
    }
    let op = if times_x {
        if c0 != 0.0 || !close(alpha, 1.0 / 6.0) || !close(beta, 0.5) {
            return None;
        }
        Op::HardSwish {}
    } else {
        // A plain Clip(x, 0, 1) or an ONNX HardSigmoid alone: nothing to fuse.
        if matched.len() == 1 || (alpha == 1.0 && beta == 0.0) {
            return None;
        }
        Op::HardSigmoid {
            alpha: alpha as f32,
            beta: beta as f32,
        }
    };
    is_private(g, uses, &matched, root).then(|| Fusion {
        root,
        matched,
        op,
        inputs: vec![FusedInput::Value(cl.x)],
        perm: None,
    })
}
