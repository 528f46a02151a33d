//! Reductions (`Reduce*` with axes input, keepdims, noop_with_empty_axes),
//! `ArgMax`/`ArgMin`, `CumSum` and `TopK`.

use super::{dims, dt, Cx, R};
use crate::{DType, Dim, Op, TensorType};

pub(super) fn infer(cx: &Cx) -> R<Vec<TensorType>> {
    let x = cx.input(0)?;
    // Max and min of bools are "any" and "all" (allowed since opset 20).
    if !matches!(cx.op(), Op::ReduceMax { .. } | Op::ReduceMin { .. }) {
        cx.want_dtype(0, x, dt::numeric, "a numeric type")?;
    }
    let r = x.rank();
    if let Some((keepdims, noop_with_empty_axes)) = cx.op().reduce_attrs() {
        return reduction(cx, x, keepdims, noop_with_empty_axes);
    }
    match cx.op() {
        Op::ArgMax { axis, keepdims, .. } | Op::ArgMin { axis, keepdims, .. } => {
            let a = cx.axis(*axis, r, "attribute `axis`")?;
            Ok(vec![TensorType::new(
                DType::I64,
                reduce_shape(&x.shape, &[a], *keepdims),
            )])
        }
        Op::CumSum { .. } => {
            let ax = cx.input(1)?;
            cx.want_dtype(1, ax, dt::index, "i32 or i64")?;
            if ax.num_elements() != Some(1) {
                return Err(cx.in_err(1, format!("must be a scalar, got {ax}")));
            }
            if let Some(v) = cx.ints(1)? {
                cx.axis(v[0], r, "axis")?;
            }
            Ok(vec![TensorType::new(x.dtype, x.shape.clone())])
        }
        Op::TopK { axis, .. } => {
            let a = cx.axis(*axis, r, "attribute `axis`")?;
            let kt = cx.input(1)?;
            cx.want_dtype(1, kt, dt::index, "i64")?;
            if kt.num_elements() != Some(1) || kt.rank() > 1 {
                return Err(cx.in_err(1, format!("must hold one element, got {kt}")));
            }
            let k = match cx.values(1)?.as_deref() {
                Some([k]) => match k.to_dim() {
                    Some(d) => d,
                    None => return Err(cx.in_err(1, format!("is negative ({k:?})"))),
                },
                _ => cx.fresh(),
            };
            if let (Some(kv), Some(n)) = (k.fixed(), x.shape[a].fixed()) {
                if kv > n {
                    return Err(cx.in_err(1, format!("k = {kv} exceeds the axis size {n}")));
                }
            }
            let mut shape = x.shape.clone();
            shape[a] = k;
            Ok(vec![
                TensorType::new(x.dtype, shape.clone()),
                TensorType::new(DType::I64, shape),
            ])
        }
        other => Err(cx.err(format!("no reduction rule for `{}`", other.name()))),
    }
}

/// A `Reduce*` op: the axes input (or all axes), keepdims, noop_with_empty_axes.
fn reduction(
    cx: &Cx,
    x: &TensorType,
    keepdims: bool,
    noop_with_empty_axes: bool,
) -> R<Vec<TensorType>> {
    let r = x.rank();
    let axes = match cx.opt_input(1)? {
        None => Vec::new(),
        Some(t) => {
            cx.want_dtype(1, t, dt::index, "i64")?;
            match cx.ints(1)? {
                Some(v) => v,
                None => match runtime_axes_len(cx, 1, r)? {
                    // An empty axes tensor is known even when its source is not.
                    0 => Vec::new(),
                    k => return Ok(vec![runtime_reduction(cx, x, k, keepdims)]),
                },
            }
        }
    };
    if axes.is_empty() {
        let shape = if noop_with_empty_axes {
            x.shape.clone()
        } else {
            reduce_shape(&x.shape, &(0..r).collect::<Vec<_>>(), keepdims)
        };
        return Ok(vec![TensorType::new(x.dtype, shape)]);
    }
    let norm = norm_axes(cx, 1, &axes, r)?;
    Ok(vec![TensorType::new(
        x.dtype,
        reduce_shape(&x.shape, &norm, keepdims),
    )])
}

/// The output of a reduction over `k >= 1` axes known only at run time: each
/// dim is either kept or reduced, so only the rank (and input dims of size 1
/// under keepdims) are certain. ONNX requires distinct axes, so `k` of them
/// remove `k` dims without keepdims.
fn runtime_reduction(cx: &Cx, x: &TensorType, k: usize, keepdims: bool) -> TensorType {
    let shape = if keepdims {
        x.shape
            .iter()
            .map(|d| match d {
                Dim::Fixed(1) => Dim::Fixed(1),
                _ => cx.fresh(),
            })
            .collect()
    } else {
        (k..x.rank()).map(|_| cx.fresh()).collect()
    };
    TensorType::new(x.dtype, shape)
}

/// Length of a 1-D axes input `i` whose contents are unknown: its static length
/// still fixes the output rank. Refuses other ranks, a symbolic length, and more
/// axes than the `limit` a distinct list can hold.
pub(super) fn runtime_axes_len(cx: &Cx, i: usize, limit: usize) -> R<usize> {
    let t = cx.input(i)?;
    cx.want_rank(i, t, 1)?;
    let Some(k) = t.shape[0].fixed() else {
        return Err(cx.in_err(
            i,
            format!(
                "is not a constant and has a symbolic length ({t}); the output rank depends on it"
            ),
        ));
    };
    match usize::try_from(k).ok().filter(|&k| k <= limit) {
        Some(k) => Ok(k),
        None => Err(cx.in_err(
            i,
            format!("holds {k} axes, more than the {limit} possible here"),
        )),
    }
}

/// `shape` with `axes` set to 1 (keepdims) or removed.
fn reduce_shape(shape: &[Dim], axes: &[usize], keepdims: bool) -> Vec<Dim> {
    shape
        .iter()
        .enumerate()
        .filter_map(|(k, d)| match (axes.contains(&k), keepdims) {
            (false, _) => Some(d.clone()),
            (true, true) => Some(Dim::Fixed(1)),
            (true, false) => None,
        })
        .collect()
}

/// Normalizes axes given by input `i` against `rank`, refusing duplicates.
pub(super) fn norm_axes(cx: &Cx, i: usize, axes: &[i64], rank: usize) -> R<Vec<usize>> {
    let mut out = Vec::with_capacity(axes.len());
    for &a in axes {
        let n = dims::norm_axis(a, rank)
            .ok_or_else(|| cx.in_err(i, format!("holds axis {a}, out of range for rank {rank}")))?;
        if out.contains(&n) {
            return Err(cx.in_err(i, format!("repeats axis {a}")));
        }
        out.push(n);
    }
    Ok(out)
}
