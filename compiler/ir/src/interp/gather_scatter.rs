//! Indexed reads and writes: Gather, GatherElements, GatherNd, ScatterElements and
//! ScatterNd (with add/mul/max/min reductions). Negative indices count from the
//! end; out-of-range indices are errors.

use super::num::Num;
use super::strided::for_each_row;
use super::util::{any_dtype, count, num_dtype, slice, strides, tensor, Args, Outputs};
use super::InterpError;
use crate::ops::ScatterReduction;
use crate::{Op, Tensor};

pub(super) fn eval(args: &Args) -> Outputs {
    let data = args.req(0)?;
    let indices = args.req(1)?;
    let idx = args.ints("indices", indices)?;
    let out = match *args.op {
        Op::Gather { axis } => gather(args, data, indices, &idx, axis)?,
        Op::GatherElements { axis } => gather_elements(args, data, indices, &idx, axis)?,
        Op::GatherNd { batch_dims } => gather_nd(args, data, indices, &idx, batch_dims)?,
        Op::ScatterElements { axis, reduction } => {
            scatter_elements(args, data, indices, &idx, axis, reduction)?
        }
        Op::ScatterNd { reduction } => scatter_nd(args, data, indices, &idx, reduction)?,
        _ => return Err(args.err("not a gather/scatter op")),
    };
    Ok(vec![out])
}

/// `i` resolved against a dim of size `d` (negative counts from the end).
fn resolve(args: &Args, i: i64, d: usize) -> Result<usize, InterpError> {
    let j = if i < 0 { i + d as i64 } else { i };
    if (0..d as i64).contains(&j) {
        Ok(j as usize)
    } else {
        Err(args.err(format!("index {i} is out of range for a dim of size {d}")))
    }
}

fn gather(
    args: &Args,
    data: &Tensor,
    indices: &Tensor,
    idx: &[i64],
    axis: i64,
) -> Result<Tensor, InterpError> {
    let axis = args.axis(axis, data.rank())?;
    let ds = data.shape();
    let d = ds[axis];
    let resolved = idx
        .iter()
        .map(|&i| resolve(args, i, d))
        .collect::<Result<Vec<_>, _>>()?;
    let mut shape = ds[..axis].to_vec();
    shape.extend_from_slice(indices.shape());
    shape.extend_from_slice(&ds[axis + 1..]);
    let n = count(args, &shape)?;
    let outer: usize = ds[..axis].iter().product();
    let inner: usize = ds[axis + 1..].iter().product();
    any_dtype!(data.dtype(), T => {
        let v = slice::<T>(data)?;
        let mut out = Vec::with_capacity(n);
        for o in 0..outer {
            for &k in &resolved {
                let s = (o * d + k) * inner;
                out.extend_from_slice(&v[s..s + inner]);
            }
        }
        tensor(shape, out)
    })
}

/// Data offsets for every element of `indices` (same rank as data), with the
/// index replacing the coordinate along `axis`.
fn element_offsets(
    args: &Args,
    data: &Tensor,
    indices: &Tensor,
    idx: &[i64],
    axis: i64,
) -> Result<Vec<usize>, InterpError> {
    let r = data.rank();
    if indices.rank() != r {
        return Err(args.err(format!(
            "indices rank {} differs from data rank {r}",
            indices.rank()
        )));
    }
    let axis = args.axis(axis, r)?;
    for d in 0..r {
        if d != axis && indices.shape()[d] > data.shape()[d] {
            return Err(args.err(format!(
                "indices shape {:?} exceeds data shape {:?} on axis {d}",
                indices.shape(),
                data.shape()
            )));
        }
    }
    let st = strides(data.shape());
    let ws: Vec<isize> = (0..r)
        .map(|d| if d == axis { 0 } else { st[d] as isize })
        .collect();
    let mut out = Vec::with_capacity(idx.len());
    let mut i = 0;
    let mut err = None;
    for_each_row(indices.shape(), [&ws], [0], |[b], [s], len| {
        for j in 0..len {
            match resolve(args, idx[i], data.shape()[axis]) {
                Ok(k) => out.push((b + j as isize * s) as usize + k * st[axis]),
                Err(e) => {
                    err.get_or_insert(e);
                    out.push(0);
                }
            }
            i += 1;
        }
    });
    match err {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

fn gather_elements(
    args: &Args,
    data: &Tensor,
    indices: &Tensor,
    idx: &[i64],
    axis: i64,
) -> Result<Tensor, InterpError> {
    let offs = element_offsets(args, data, indices, idx, axis)?;
    any_dtype!(data.dtype(), T => {
        let v = slice::<T>(data)?;
        tensor(indices.shape().to_vec(), offs.iter().map(|&o| v[o]).collect())
    })
}

/// Combines an existing element with an update according to `reduction`.
fn scatter_into<T: Copy>(
    out: &mut [T],
    offs: impl Iterator<Item = (usize, usize)>,
    upd: &[T],
    f: impl Fn(T, T) -> T,
) {
    for (dst, src) in offs {
        out[dst] = f(out[dst], upd[src]);
    }
}

/// Runs a scatter with the element combination `reduction` selects.
fn scatter<F>(
    args: &Args,
    data: &Tensor,
    updates: &Tensor,
    reduction: ScatterReduction,
    pairs: F,
) -> Result<Tensor, InterpError>
where
    F: Fn() -> Vec<(usize, usize)>,
{
    args.same_dtype("updates", updates, data.dtype())?;
    let p = pairs();
    match reduction {
        ScatterReduction::None => any_dtype!(data.dtype(), T => {
            let mut out = slice::<T>(data)?.to_vec();
            scatter_into(&mut out, p.into_iter(), slice::<T>(updates)?, |_, u| u);
            tensor(data.shape().to_vec(), out)
        }),
        r => num_dtype!(data.dtype(), T => {
            let mut out = slice::<T>(data)?.to_vec();
            let u = slice::<T>(updates)?;
            let it = p.into_iter();
            match r {
                ScatterReduction::Add => scatter_into(&mut out, it, u, T::add),
                ScatterReduction::Mul => scatter_into(&mut out, it, u, T::mul),
                ScatterReduction::Max => scatter_into(&mut out, it, u, T::max_nan),
                _ => scatter_into(&mut out, it, u, T::min_nan),
            }
            tensor(data.shape().to_vec(), out)
        }, d => Err(args.bad_dtype("data", d))),
    }
}

fn scatter_elements(
    args: &Args,
    data: &Tensor,
    indices: &Tensor,
    idx: &[i64],
    axis: i64,
    reduction: ScatterReduction,
) -> Result<Tensor, InterpError> {
    let updates = args.req(2)?;
    if updates.shape() != indices.shape() {
        return Err(args.err(format!(
            "updates shape {:?} differs from indices shape {:?}",
            updates.shape(),
            indices.shape()
        )));
    }
    let offs = element_offsets(args, data, indices, idx, axis)?;
    scatter(args, data, updates, reduction, || {
        offs.iter().copied().zip(0..).collect()
    })
}

/// For GatherNd/ScatterNd: the number of index tuples, the size of the slice each
/// addresses, and each tuple's data offset.
struct NdPlan {
    tuples: usize,
    chunk: usize,
    offsets: Vec<usize>,
}

fn nd_plan(
    args: &Args,
    data: &Tensor,
    indices: &Tensor,
    idx: &[i64],
    batch_dims: usize,
) -> Result<NdPlan, InterpError> {
    let (ds, is) = (data.shape(), indices.shape());
    let q = is.len();
    if q == 0 {
        return Err(args.err("indices must have rank >= 1"));
    }
    let m = is[q - 1];
    if batch_dims >= q || batch_dims + m > ds.len() {
        return Err(args.err(format!(
            "index tuples of length {m} with {batch_dims} batch dims do not fit data of rank {}",
            ds.len()
        )));
    }
    if ds[..batch_dims] != is[..batch_dims] {
        return Err(args.err(format!(
            "batch dims of data {:?} and indices {:?} differ",
            ds, is
        )));
    }
    let st = strides(ds);
    let batch: usize = ds[..batch_dims].iter().product();
    let batch_size: usize = ds[batch_dims..].iter().product();
    let chunk: usize = ds[batch_dims + m..].iter().product();
    let tuples_total: usize = is[..q - 1].iter().product();
    let per_batch = tuples_total / batch.max(1);
    let mut offsets = Vec::with_capacity(tuples_total);
    for t in 0..tuples_total {
        let b = t / per_batch.max(1);
        let mut off = b * batch_size;
        for k in 0..m {
            let d = batch_dims + k;
            off += resolve(args, idx[t * m + k], ds[d])? * st[d];
        }
        offsets.push(off);
    }
    Ok(NdPlan {
        tuples: tuples_total,
        chunk,
        offsets,
    })
}

fn gather_nd(
    args: &Args,
    data: &Tensor,
    indices: &Tensor,
    idx: &[i64],
    batch_dims: i64,
) -> Result<Tensor, InterpError> {
    let b = usize::try_from(batch_dims)
        .map_err(|_| args.err(format!("batch_dims {batch_dims} must be >= 0")))?;
    let plan = nd_plan(args, data, indices, idx, b)?;
    let q = indices.rank();
    let m = indices.shape()[q - 1];
    let mut shape = indices.shape()[..q - 1].to_vec();
    shape.extend_from_slice(&data.shape()[b + m..]);
    let n = count(args, &shape)?;
    any_dtype!(data.dtype(), T => {
        let v = slice::<T>(data)?;
        let mut out = Vec::with_capacity(n);
        for &o in &plan.offsets {
            out.extend_from_slice(&v[o..o + plan.chunk]);
        }
        tensor(shape, out)
    })
}

fn scatter_nd(
    args: &Args,
    data: &Tensor,
    indices: &Tensor,
    idx: &[i64],
    reduction: ScatterReduction,
) -> Result<Tensor, InterpError> {
    let updates = args.req(2)?;
    let plan = nd_plan(args, data, indices, idx, 0)?;
    let q = indices.rank();
    let m = indices.shape()[q - 1];
    let mut want = indices.shape()[..q - 1].to_vec();
    want.extend_from_slice(&data.shape()[m..]);
    if updates.shape() != want.as_slice() {
        return Err(args.err(format!(
            "updates shape {:?} should be {want:?}",
            updates.shape()
        )));
    }
    scatter(args, data, updates, reduction, || {
        let mut p = Vec::with_capacity(plan.tuples * plan.chunk);
        for (t, &o) in plan.offsets.iter().enumerate() {
            for c in 0..plan.chunk {
                p.push((o + c, t * plan.chunk + c));
            }
        }
        p
    })
}
