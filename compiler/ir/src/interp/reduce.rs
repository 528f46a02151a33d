//! Reductions (ReduceSum ... ReduceLogSumExp with an optional axes input, keepdims,
//! noop_with_empty_axes and empty-set identities), ArgMax/ArgMin, CumSum and TopK.

use super::num::Num;
use super::strided::for_each_row;
use super::util::{around_axis, num_dtype, slice, strides, tensor, Args, Outputs};
use super::InterpError;
use crate::{DType, Element, Op, Tensor};

#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    Sum,
    Mean,
    Max,
    Min,
    Prod,
    L1,
    L2,
    LogSum,
    LogSumExp,
    SumSquare,
}

/// Evaluates a `Reduce*` op.
pub(super) fn reduce(args: &Args) -> Outputs {
    let Some((keepdims, noop)) = args.op.reduce_attrs() else {
        return Err(args.err("not a reduction"));
    };
    let kind = match args.op {
        Op::ReduceSum { .. } => Kind::Sum,
        Op::ReduceMean { .. } => Kind::Mean,
        Op::ReduceMax { .. } => Kind::Max,
        Op::ReduceMin { .. } => Kind::Min,
        Op::ReduceProd { .. } => Kind::Prod,
        Op::ReduceL1 { .. } => Kind::L1,
        Op::ReduceL2 { .. } => Kind::L2,
        Op::ReduceLogSum { .. } => Kind::LogSum,
        Op::ReduceLogSumExp { .. } => Kind::LogSumExp,
        Op::ReduceSumSquare { .. } => Kind::SumSquare,
        _ => return Err(args.err("not a reduction")),
    };
    let x = args.req(0)?;
    let axes = match args.opt(1) {
        Some(t) => args.ints("axes", t)?,
        None => Vec::new(),
    };
    if axes.is_empty() && noop {
        return Ok(vec![x.clone()]);
    }
    let rank = x.rank();
    let mut reduced = vec![axes.is_empty(); rank];
    for &a in &axes {
        let a = args.axis(a, rank)?;
        if reduced[a] {
            return Err(args.err(format!("axis {a} is listed twice")));
        }
        reduced[a] = true;
    }
    let out_shape: Vec<usize> = (0..rank)
        .filter_map(|d| match (reduced[d], keepdims) {
            (false, _) => Some(x.shape()[d]),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect();
    let native = matches!(
        kind,
        Kind::Sum | Kind::Prod | Kind::Max | Kind::Min | Kind::L1 | Kind::SumSquare
    );
    let out = if x.dtype() == DType::Bool && matches!(kind, Kind::Max | Kind::Min) {
        // Max of bools is "any", min is "all" (identities false and true).
        let v = slice::<bool>(x)?;
        let mut acc = vec![kind == Kind::Min; out_shape.iter().product()];
        fold(v, x.shape(), &reduced, |o, e| {
            acc[o] = if kind == Kind::Max {
                acc[o] | e
            } else {
                acc[o] & e
            };
        });
        tensor(out_shape, acc)?
    } else if x.dtype().is_int() && native {
        num_dtype!(x.dtype(), T => reduce_native::<T>(x, &reduced, kind, out_shape),
            d => Err(args.bad_dtype("input", d)))?
    } else {
        num_dtype!(x.dtype(), T => reduce_f64::<T>(x, &reduced, kind, out_shape),
            d => Err(args.bad_dtype("input", d)))?
    };
    Ok(vec![out])
}

/// Calls `f(out_index, element)` for every element of `data`, where `out_index`
/// is the element's position in the reduced output. Returns the output count and
/// the number of elements folded into each output.
pub(super) fn fold<T: Copy>(
    data: &[T],
    shape: &[usize],
    reduced: &[bool],
    mut f: impl FnMut(usize, T),
) -> (usize, usize) {
    let kept: Vec<usize> = (0..shape.len())
        .map(|d| if reduced[d] { 1 } else { shape[d] })
        .collect();
    let ks = strides(&kept);
    let os: Vec<isize> = (0..shape.len())
        .map(|d| if reduced[d] { 0 } else { ks[d] as isize })
        .collect();
    let mut i = 0;
    for_each_row(shape, [&os], [0], |[b], [s], len| {
        for j in 0..len {
            f((b + j as isize * s) as usize, data[i]);
            i += 1;
        }
    });
    let n_out = kept.iter().product();
    let group = (0..shape.len())
        .filter(|&d| reduced[d])
        .map(|d| shape[d])
        .product();
    (n_out, group)
}

/// Integer Sum/Prod/Max/Min/L1/SumSquare in the element type (wrapping).
fn reduce_native<T: Num>(
    x: &Tensor,
    reduced: &[bool],
    kind: Kind,
    out_shape: Vec<usize>,
) -> Result<Tensor, InterpError> {
    let v = slice::<T>(x)?;
    let n_out = out_shape.iter().product();
    let init = match kind {
        Kind::Prod => T::one(),
        Kind::Max => T::lowest(),
        Kind::Min => T::highest(),
        _ => T::zero(),
    };
    let mut acc = vec![init; n_out];
    fold(v, x.shape(), reduced, |o, e| {
        let a = &mut acc[o];
        *a = match kind {
            Kind::Prod => a.mul(e),
            Kind::Max => a.max_nan(e),
            Kind::Min => a.min_nan(e),
            Kind::L1 => a.add(e.abs()),
            Kind::SumSquare => a.add(e.mul(e)),
            _ => a.add(e),
        };
    });
    tensor(out_shape, acc)
}

/// Any reduction accumulated in f64 and rounded once to the element type.
fn reduce_f64<T: Element>(
    x: &Tensor,
    reduced: &[bool],
    kind: Kind,
    out_shape: Vec<usize>,
) -> Result<Tensor, InterpError> {
    let v = slice::<T>(x)?;
    let n_out: usize = out_shape.iter().product();
    let init = match kind {
        Kind::Prod => 1.0,
        Kind::Max => f64::NEG_INFINITY,
        Kind::Min => f64::INFINITY,
        _ => 0.0,
    };
    let mut acc = vec![init; n_out];
    // LogSumExp shifts by the per-output maximum first, for stability.
    let mut shift = vec![0.0f64; n_out];
    if kind == Kind::LogSumExp {
        let mut m = vec![f64::NEG_INFINITY; n_out];
        fold(v, x.shape(), reduced, |o, e| m[o] = m[o].max(e.to_f64()));
        for (s, m) in shift.iter_mut().zip(m) {
            *s = if m.is_finite() { m } else { 0.0 };
        }
    }
    let (_, group) = fold(v, x.shape(), reduced, |o, e| {
        let e = e.to_f64();
        let a = &mut acc[o];
        *a = match kind {
            Kind::Prod => *a * e,
            Kind::Max => {
                if e.is_nan() || e > *a {
                    e
                } else {
                    *a
                }
            }
            Kind::Min => {
                if e.is_nan() || e < *a {
                    e
                } else {
                    *a
                }
            }
            Kind::L1 => *a + e.abs(),
            Kind::L2 | Kind::SumSquare => *a + e * e,
            Kind::LogSumExp => *a + (e - shift[o]).exp(),
            Kind::Sum | Kind::Mean | Kind::LogSum => *a + e,
        };
    });
    let out = acc
        .iter()
        .zip(&shift)
        .map(|(&a, &s)| {
            T::from_f64(match kind {
                Kind::Mean => a / group as f64,
                Kind::L2 => a.sqrt(),
                Kind::LogSum => a.ln(),
                Kind::LogSumExp => s + a.ln(),
                _ => a,
            })
        })
        .collect();
    tensor(out_shape, out)
}

/// ArgMax / ArgMin along one axis; ties pick the first (or last) index.
pub(super) fn arg_extreme(args: &Args) -> Outputs {
    let (axis, keepdims, last, max) = match *args.op {
        Op::ArgMax {
            axis,
            keepdims,
            select_last_index,
        } => (axis, keepdims, select_last_index, true),
        Op::ArgMin {
            axis,
            keepdims,
            select_last_index,
        } => (axis, keepdims, select_last_index, false),
        _ => return Err(args.err("not ArgMax/ArgMin")),
    };
    let x = args.req(0)?;
    let axis = args.axis(axis, x.rank())?;
    let mut out_shape = x.shape().to_vec();
    if keepdims {
        out_shape[axis] = 1;
    } else {
        out_shape.remove(axis);
    }
    let (outer, len, inner) = around_axis(x.shape(), axis);
    if len == 0 && outer * inner > 0 {
        return Err(args.err(format!("axis {axis} has size 0")));
    }
    let out = num_dtype!(x.dtype(), T => {
        let v = slice::<T>(x)?;
        let mut out = Vec::with_capacity(outer * inner);
        for o in 0..outer {
            for i in 0..inner {
                let at = |k: usize| v[o * len * inner + k * inner + i];
                let mut best = 0;
                for k in 1..len {
                    let (e, b) = (at(k), at(best));
                    let better = if max { e > b } else { e < b };
                    if better || (last && e == b) {
                        best = k;
                    }
                }
                out.push(best as i64);
            }
        }
        tensor(out_shape, out)
    }, d => Err(args.bad_dtype("input", d)))?;
    Ok(vec![out])
}

/// CumSum(x, axis) with `exclusive` and `reverse`.
pub(super) fn cumsum(args: &Args) -> Outputs {
    let Op::CumSum { exclusive, reverse } = *args.op else {
        return Err(args.err("not CumSum"));
    };
    let x = args.req(0)?;
    let axis = args.int_scalar("axis", args.req(1)?)?;
    let axis = args.axis(axis, x.rank())?;
    let (outer, len, inner) = around_axis(x.shape(), axis);
    let out = num_dtype!(x.dtype(), T => {
        let v = slice::<T>(x)?;
        let mut out = vec![T::zero(); v.len()];
        for o in 0..outer {
            for i in 0..inner {
                let mut acc = T::zero();
                for step in 0..len {
                    let k = if reverse { len - 1 - step } else { step };
                    let at = o * len * inner + k * inner + i;
                    if exclusive {
                        out[at] = acc;
                        acc = acc.add(v[at]);
                    } else {
                        acc = acc.add(v[at]);
                        out[at] = acc;
                    }
                }
            }
        }
        tensor(x.shape().to_vec(), out)
    }, d => Err(args.bad_dtype("input", d)))?;
    Ok(vec![out])
}

/// TopK(x, k): the k largest (or smallest) along `axis`, sorted, ties broken by
/// the smaller index.
pub(super) fn topk(args: &Args) -> Outputs {
    let Op::TopK { axis, largest, .. } = *args.op else {
        return Err(args.err("not TopK"));
    };
    let x = args.req(0)?;
    let k = args.int_scalar("k", args.req(1)?)?;
    if args.req(1)?.dtype() != DType::I64 {
        return Err(args.err("k must be int64"));
    }
    let axis = args.axis(axis, x.rank())?;
    let (outer, len, inner) = around_axis(x.shape(), axis);
    let k = usize::try_from(k)
        .ok()
        .filter(|&k| k <= len)
        .ok_or_else(|| args.err(format!("k = {k} is outside 0..={len} (axis {axis})")))?;
    let mut out_shape = x.shape().to_vec();
    out_shape[axis] = k;
    num_dtype!(x.dtype(), T => {
        let v = slice::<T>(x)?;
        let n = outer * k * inner;
        let mut vals = vec![T::zero(); n];
        let mut idxs = vec![0i64; n];
        let mut order: Vec<usize> = Vec::with_capacity(len);
        for o in 0..outer {
            for i in 0..inner {
                let at = |j: usize| v[o * len * inner + j * inner + i];
                order.clear();
                order.extend(0..len);
                // Stable sort: equal values keep ascending index order.
                if largest {
                    order.sort_by(|&a, &b| at(b).total_cmp(&at(a)));
                } else {
                    order.sort_by(|&a, &b| at(a).total_cmp(&at(b)));
                }
                for (r, &j) in order[..k].iter().enumerate() {
                    let dst = o * k * inner + r * inner + i;
                    vals[dst] = at(j);
                    idxs[dst] = j as i64;
                }
            }
        }
        Ok(vec![tensor(out_shape.clone(), vals)?, tensor(out_shape, idxs)?])
    }, d => Err(args.bad_dtype("input", d)))
}
