//! A constant scale and shift written after a `layer_normalization` fold into
//! its scale and bias; and the broadcasting of constants over the normalized
//! axes both LayerNorm fusions build their scale and bias with.

use super::MAX_ROW;
use crate::fuse::common::{downstream, is_arithmetic, is_plain_f32, is_private};
use crate::fuse::common::{FusedInput, Fusion};
use crate::fuse::poly::Flattener;
use pare_ir::{Graph, Op, Tensor, ValueId};
use std::collections::BTreeMap;

/// Multiplies `acc` (laid out over the normalized dims `norm`, the sizes of
/// axes `axes` of a rank-`rank` tensor, in that order) by each constant raised
/// to its exponent, broadcast from its own shape; `None` when a constant varies
/// along an axis that is not normalized.
pub(super) fn multiply_consts(
    g: &Graph,
    consts: &BTreeMap<ValueId, i32>,
    rank: usize,
    axes: &[usize],
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
        // Strides of the constant, per normalized axis (0 where broadcast).
        let mut strides = vec![0usize; norm.len()];
        let mut stride = 1;
        for (i, &d) in shape.iter().enumerate().rev() {
            let axis = rank - shape.len() + i;
            match axes.iter().position(|&a| a == axis) {
                Some(k) if d == norm[k] => strides[k] = stride,
                _ if d != 1 => return None,
                _ => {}
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

/// `layer_normalization(x, s, b)` followed by constant products and sums
/// (`y·γ + β` in any order): one `layer_normalization` whose scale is `s·γ`
/// and bias `b·γ + β`.
pub(super) fn find_affine(g: &Graph) -> Option<Fusion> {
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
        let axes: Vec<usize> = (first..rank as usize).collect();
        let read = |slot: usize| -> Option<Option<Vec<f64>>> {
            match node.input(slot) {
                None => Some(None),
                Some(v) => {
                    let mut acc = vec![1.0; size];
                    multiply_consts(
                        g,
                        &BTreeMap::from([(v, 1)]),
                        rank as usize,
                        &axes,
                        &norm,
                        &mut acc,
                    )?;
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
                    && multiply_consts(g, &consts, rank as usize, &axes, &norm, &mut acc).is_some();
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
                perm: None,
            });
        }
    }
    None
}
