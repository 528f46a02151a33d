//! `fuse-layer-norm`: a LayerNorm written out in elementary ops becomes one
//! `layer_normalization` over the same axes, with the graph's own epsilon.
//! `layer_normalization` normalizes the last axes; a LayerNorm over others
//! (JAX's over the sequence axis of [N, 512, 256]) fuses between a transpose
//! that moves the normalized axes last, in their order, and one that moves
//! them back, with the scale and bias laid out in that order.
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
//! Nothing fuses unless every reduction is over the same axes of `x` (kept
//! dims, static sizes), the output has `x`'s shape, the constants vary only
//! along the normalized axes, and no inner value is read outside the pattern.
//! (A reduction without kept dims, reshaped back, is first given them by
//! `keep-reduced-dims`.)

mod affine;
mod stats;

use super::common::{close, downstream, fuse_all, is_arithmetic, is_plain_f32, is_private};
use super::common::{FusedInput, Fusion};
use crate::{Changed, Pass, PassCx, PassError};
use affine::{find_affine, multiply_consts};
use pare_ir::{DType, Dim, Graph, NodeId, Op, Tensor, ValueId};
use stats::{reduce_of, rstd_epsilon, Seen};
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
    if !is_plain_f32(g, x) || !is_plain_f32(g, y) || !same_shape(&g.ty(x).shape, &g.ty(y).shape) {
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
    // `layer_normalization` normalizes the last k axes: other axes are
    // moved behind the rest (in order) and back.
    let axes = seen.axes.clone()?;
    let rank = g.ty(x).rank();
    let first = rank.checked_sub(axes.len())?;
    let perm = (axes != (first..rank).collect::<Vec<_>>()).then(|| {
        let mut p: Vec<usize> = (0..rank).filter(|a| !axes.contains(a)).collect();
        p.extend(&axes);
        p
    });
    let norm: Vec<usize> = axes
        .iter()
        .map(|&a| g.ty(x).shape[a].fixed().map(|n| n as usize))
        .collect::<Option<_>>()?;
    // The scale and bias are materialized over the normalized dims: refuse
    // sizes no real row has (a declared type is not data).
    let size = pare_ir::checked_product(&norm).filter(|&n| n <= MAX_ROW)?;
    let mut scale = vec![tx.coef; size];
    multiply_consts(g, &tx.consts, rank, &axes, &norm, &mut scale)?;
    let mut bias = vec![0.0; size];
    for c in &constants {
        let mut term = vec![c.coef; size];
        multiply_consts(g, &c.consts, rank, &axes, &norm, &mut term)?;
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
        perm,
    })
}

/// Whether `y` has `x`'s shape, where two different symbols count as the same
/// dim: a match's leaves are `x`, reductions of `x` with kept dims and
/// constants (fixed sizes), so its output can only differ from `x` in a fixed
/// size or the rank, which are compared. Different symbols there are stale
/// unknowns (an exporter's declared `[unk__215,1]` broadcast against an
/// inferred `_u0` gives a fresh `_u1`).
fn same_shape(x: &[Dim], y: &[Dim]) -> bool {
    x.len() == y.len()
        && x.iter().zip(y).all(|(a, b)| match (a, b) {
            (Dim::Sym(_), Dim::Sym(_)) => true,
            _ => a == b,
        })
}
