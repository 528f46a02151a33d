//! Indexing ops: `Gather`, `GatherElements`, `GatherNd`, `ScatterElements`,
//! `ScatterNd`, plus `Trilu`, `Compress` and `ReverseSequence`.

use super::{dims, dt, Cx, R};
use crate::{Dim, Op, TensorType};

pub(super) fn infer(cx: &Cx) -> R<Vec<TensorType>> {
    let x = cx.input(0)?;
    let r = x.rank();
    let out = |shape: Vec<Dim>| Ok(vec![TensorType::new(x.dtype, shape)]);
    match cx.op() {
        Op::Gather { axis } => {
            let idx = indices(cx, 1)?;
            if r == 0 {
                return Err(cx.in_err(0, "is a scalar; gather needs rank >= 1"));
            }
            let a = cx.axis(*axis, r, "attribute `axis`")?;
            if let (Some(vals), Some(n)) = (cx.ints(1)?, dims::as_i64(&x.shape[a])) {
                if let Some(bad) = vals.iter().find(|&&i| i < -n || i >= n) {
                    return Err(cx.in_err(
                        1,
                        format!("holds index {bad}, out of range for dim {a} of size {n}"),
                    ));
                }
            }
            let mut shape = x.shape[..a].to_vec();
            shape.extend(idx.shape.iter().cloned());
            shape.extend(x.shape[a + 1..].iter().cloned());
            out(shape)
        }
        Op::GatherElements { axis } => {
            let idx = indices(cx, 1)?;
            cx.axis(*axis, r, "attribute `axis`")?;
            cx.want_rank(1, idx, r)?;
            out(idx.shape.clone())
        }
        Op::GatherNd { batch_dims } => {
            let idx = indices(cx, 1)?;
            let q = idx.rank();
            if q == 0 {
                return Err(cx.in_err(1, "is a scalar; gather_nd needs rank >= 1"));
            }
            let b = usize::try_from(*batch_dims)
                .ok()
                .filter(|&b| b < q.min(r))
                .ok_or_else(|| {
                    cx.err(format!(
                        "attribute `batch_dims` {batch_dims} is out of range"
                    ))
                })?;
            let Some(last) = idx.shape[q - 1].fixed() else {
                return Err(cx.in_err(1, "has a symbolic last dim; the output rank depends on it"));
            };
            let last = last as usize;
            if b + last > r {
                return Err(cx.in_err(
                    1,
                    format!(
                        "indexes {last} dims after {b} batch dims, but input 0 (data) has rank {r}"
                    ),
                ));
            }
            let mut shape = idx.shape[..q - 1].to_vec();
            shape.extend(x.shape[b + last..].iter().cloned());
            out(shape)
        }
        Op::ScatterElements { axis, .. } => {
            let idx = indices(cx, 1)?;
            let upd = cx.input(2)?;
            cx.axis(*axis, r, "attribute `axis`")?;
            cx.want_rank(1, idx, r)?;
            cx.same_dtype(0, x, 2, upd)?;
            cx.want_rank(2, upd, r)?;
            out(x.shape.clone())
        }
        Op::ScatterNd { .. } => {
            indices(cx, 1)?;
            let upd = cx.input(2)?;
            cx.same_dtype(0, x, 2, upd)?;
            out(x.shape.clone())
        }
        Op::Trilu { .. } => {
            if r < 2 {
                return Err(cx.in_err(0, format!("has rank {r}, expected at least 2")));
            }
            if let Some(k) = cx.opt_input(1)? {
                cx.want_dtype(1, k, dt::index, "i64")?;
            }
            out(x.shape.clone())
        }
        Op::Compress { axis } => {
            let c = cx.input(1)?;
            cx.want_dtype(1, c, dt::boolean, "bool")?;
            cx.want_rank(1, c, 1)?;
            match axis {
                // Flattened, then selected: a data-dependent length.
                None => out(vec![cx.fresh()]),
                Some(a) => {
                    let a = cx.axis(*a, r, "attribute `axis`")?;
                    let mut shape = x.shape.clone();
                    shape[a] = cx.fresh();
                    out(shape)
                }
            }
        }
        Op::ReverseSequence {
            batch_axis,
            time_axis,
        } => {
            if r < 2 {
                return Err(cx.in_err(0, format!("has rank {r}, expected at least 2")));
            }
            let (b, t) = (
                cx.axis(*batch_axis, r, "attribute `batch_axis`")?,
                cx.axis(*time_axis, r, "attribute `time_axis`")?,
            );
            if b == t || b > 1 || t > 1 {
                return Err(cx.err("`batch_axis` and `time_axis` must be 0 and 1 in some order"));
            }
            let l = cx.input(1)?;
            cx.want_dtype(1, l, dt::index, "i64")?;
            cx.want_rank(1, l, 1)?;
            if dims::unify(&l.shape[0], &x.shape[b]).is_none() {
                return Err(cx.in_err(
                    1,
                    format!(
                        "has {} entries, expected the batch size {}",
                        l.shape[0], x.shape[b]
                    ),
                ));
            }
            out(x.shape.clone())
        }
        other => Err(cx.err(format!("no indexing rule for `{}`", other.name()))),
    }
}

/// Input `i` must hold i32 or i64 indices.
fn indices<'a>(cx: &Cx<'a>, i: usize) -> R<&'a TensorType> {
    let t = cx.input(i)?;
    cx.want_dtype(i, t, dt::index, "i32 or i64")?;
    Ok(t)
}
