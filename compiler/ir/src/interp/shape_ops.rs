//! Shape queries and reshaping data movement: Shape, Size, Reshape, Flatten,
//! Transpose, Squeeze, Unsqueeze, Concat, Split, Expand and Tile.

use super::strided::{broadcast_shapes, broadcast_strides, gather_strided};
use super::util::{any_dtype, count, dim, slice, strides, tensor, Args, Outputs};
use super::InterpError;
use crate::{with_data, Op, Tensor};

pub(super) fn eval(args: &Args, num_outputs: usize) -> Outputs {
    let x = args.req(0)?;
    let out = match args.op {
        Op::Shape { start, end } => shape(x, *start, *end)?,
        Op::Size {} => Tensor::scalar(x.len() as i64),
        Op::Reshape { allowzero } => reshape(args, x, *allowzero)?,
        Op::Flatten { axis } => {
            let r = x.rank() as i64;
            if *axis < -r || *axis > r {
                return Err(args.err(format!("axis {axis} is out of range for rank {r}")));
            }
            let a = if *axis < 0 { axis + r } else { *axis } as usize;
            let outer = x.shape()[..a].iter().product();
            let inner = x.shape()[a..].iter().product();
            x.clone().reshaped(vec![outer, inner])?
        }
        Op::Transpose { perm } => transpose(args, x, perm.as_deref())?,
        Op::Squeeze {} => squeeze(args, x)?,
        Op::Unsqueeze {} => unsqueeze(args, x)?,
        Op::Concat { axis } => concat(args, *axis)?,
        Op::Split {
            axis,
            num_outputs: n,
        } => return split(args, x, *axis, *n, num_outputs),
        Op::Expand {} => expand(args, x)?,
        Op::Tile {} => tile(args, x)?,
        _ => return Err(args.err("not a shape op")),
    };
    Ok(vec![out])
}

fn shape(x: &Tensor, start: i64, end: Option<i64>) -> Result<Tensor, InterpError> {
    let r = x.rank() as i64;
    let clamp = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
    let (s, e) = (clamp(start), clamp(end.unwrap_or(r)));
    let dims: Vec<i64> = if s < e {
        x.shape()[s..e].iter().map(|&d| d as i64).collect()
    } else {
        Vec::new()
    };
    tensor(vec![dims.len()], dims)
}

fn reshape(args: &Args, x: &Tensor, allowzero: bool) -> Result<Tensor, InterpError> {
    if args.len() != 2 {
        return Err(args.err(format!("expects 2 inputs, got {}", args.len())));
    }
    let spec = args.ints("shape", args.req(1)?)?;
    if args.req(1)?.rank() != 1 {
        return Err(args.err("shape must be 1-D"));
    }
    let mut out = Vec::with_capacity(spec.len());
    let mut infer = None;
    for (i, &s) in spec.iter().enumerate() {
        match s {
            -1 if infer.is_none() => {
                infer = Some(i);
                out.push(1);
            }
            -1 => return Err(args.err("shape has more than one -1")),
            0 if !allowzero => {
                let d = x.shape().get(i).ok_or_else(|| {
                    args.err(format!("shape[{i}] = 0 copies a dim the input lacks"))
                })?;
                out.push(*d);
            }
            s => out.push(dim(args, "shape", s)?),
        }
    }
    let known: usize = out
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| args.err(format!("shape {spec:?} is too large")))?;
    if let Some(i) = infer {
        if known == 0 || !x.len().is_multiple_of(known) {
            return Err(args.err(format!(
                "cannot infer -1 in shape {spec:?} for {} elements",
                x.len()
            )));
        }
        out[i] = x.len() / known;
    } else if known != x.len() {
        return Err(args.err(format!(
            "shape {spec:?} holds {known} elements, input {:?} has {}",
            x.shape(),
            x.len()
        )));
    }
    Ok(x.clone().reshaped(out)?)
}

/// Reorders the axes of `x` by `perm` (input axis for each output axis).
pub(super) fn permute(x: &Tensor, perm: &[usize]) -> Result<Tensor, InterpError> {
    let st = strides(x.shape());
    let shape: Vec<usize> = perm.iter().map(|&p| x.shape()[p]).collect();
    let ps: Vec<isize> = perm.iter().map(|&p| st[p] as isize).collect();
    let n = x.len();
    with_data!(x.data(), v => tensor(shape.clone(), gather_strided(v, &shape, &ps, 0, n)))
}

fn transpose(args: &Args, x: &Tensor, perm: Option<&[i64]>) -> Result<Tensor, InterpError> {
    let r = x.rank();
    let perm: Vec<usize> = match perm {
        None => (0..r).rev().collect(),
        Some(p) => {
            if p.len() != r {
                return Err(args.err(format!("perm {p:?} has length {}, rank is {r}", p.len())));
            }
            let mut seen = vec![false; r];
            let mut out = Vec::with_capacity(r);
            for &a in p {
                let a = args.axis(a, r)?;
                if seen[a] {
                    return Err(args.err(format!("perm {p:?} is not a permutation")));
                }
                seen[a] = true;
                out.push(a);
            }
            out
        }
    };
    permute(x, &perm)
}

fn squeeze(args: &Args, x: &Tensor) -> Result<Tensor, InterpError> {
    let r = x.rank();
    let mut drop = vec![false; r];
    match args.opt(1) {
        None => {
            for (d, &s) in x.shape().iter().enumerate() {
                drop[d] = s == 1;
            }
        }
        Some(t) => {
            for a in args.ints("axes", t)? {
                let a = args.axis(a, r)?;
                if x.shape()[a] != 1 {
                    return Err(
                        args.err(format!("cannot squeeze axis {a} of size {}", x.shape()[a]))
                    );
                }
                drop[a] = true;
            }
        }
    }
    let shape = (0..r).filter(|&d| !drop[d]).map(|d| x.shape()[d]).collect();
    Ok(x.clone().reshaped(shape)?)
}

fn unsqueeze(args: &Args, x: &Tensor) -> Result<Tensor, InterpError> {
    let axes = args.ints("axes", args.req(1)?)?;
    let r = x.rank() + axes.len();
    let mut ins = vec![false; r];
    for a in axes {
        let a = args.axis(a, r)?;
        if ins[a] {
            return Err(args.err(format!("axis {a} is listed twice")));
        }
        ins[a] = true;
    }
    let mut src = x.shape().iter();
    let shape = ins
        .iter()
        .map(|&new| {
            if new {
                1
            } else {
                src.next().copied().unwrap_or(1)
            }
        })
        .collect();
    Ok(x.clone().reshaped(shape)?)
}

fn concat(args: &Args, axis: i64) -> Result<Tensor, InterpError> {
    let parts: Vec<&Tensor> = args.present().collect();
    let first = parts[0];
    if parts.len() != args.len() {
        return Err(args.err("inputs may not be absent"));
    }
    let r = first.rank();
    let axis = args.axis(axis, r)?;
    let mut shape = first.shape().to_vec();
    shape[axis] = 0;
    for (i, p) in parts.iter().enumerate() {
        args.same_dtype(&format!("input {i}"), p, first.dtype())?;
        let ok = p.rank() == r && (0..r).all(|d| d == axis || p.shape()[d] == first.shape()[d]);
        if !ok {
            return Err(args.err(format!(
                "input {i} has shape {:?}, incompatible with {:?} along axis {axis}",
                p.shape(),
                first.shape()
            )));
        }
        shape[axis] += p.shape()[axis];
    }
    let n = count(args, &shape)?;
    let outer: usize = shape[..axis].iter().product();
    any_dtype!(first.dtype(), T => {
        let slices = parts
            .iter()
            .map(|p| slice::<T>(p))
            .collect::<Result<Vec<_>, _>>()?;
        let mut out = Vec::with_capacity(n);
        for o in 0..outer {
            for s in &slices {
                let chunk = s.len() / outer;
                out.extend_from_slice(&s[o * chunk..(o + 1) * chunk]);
            }
        }
        tensor(shape, out)
    })
}

fn split(args: &Args, x: &Tensor, axis: i64, num_attr: Option<i64>, num_outputs: usize) -> Outputs {
    let axis = args.axis(axis, x.rank())?;
    let len = x.shape()[axis];
    let sizes: Vec<usize> = match args.opt(1) {
        Some(t) => args
            .ints("split", t)?
            .into_iter()
            .map(|s| dim(args, "split", s))
            .collect::<Result<_, _>>()?,
        None => {
            let n = match num_attr {
                Some(n) => usize::try_from(n)
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| args.err(format!("num_outputs = {n} must be positive")))?,
                None => num_outputs,
            };
            if n == 0 {
                return Err(args.err("needs at least one output"));
            }
            // Equal pieces of ceil(len/n); the last may be smaller.
            let piece = len.div_ceil(n);
            (0..n)
                .map(|i| piece.min(len.saturating_sub(i * piece)))
                .collect()
        }
    };
    if sizes.len() != num_outputs {
        return Err(args.err(format!(
            "split into {} pieces but {num_outputs} outputs requested",
            sizes.len()
        )));
    }
    if sizes.iter().sum::<usize>() != len {
        return Err(args.err(format!(
            "split sizes {sizes:?} do not add up to dim {len} of axis {axis}"
        )));
    }
    let st = strides(x.shape());
    let ss: Vec<isize> = st.iter().map(|&s| s as isize).collect();
    let mut out = Vec::with_capacity(sizes.len());
    let mut at = 0;
    for s in sizes {
        let mut shape = x.shape().to_vec();
        shape[axis] = s;
        let n = shape.iter().product();
        let start = (at * st[axis]) as isize;
        out.push(with_data!(x.data(), v => tensor(shape.clone(), gather_strided(v, &shape, &ss, start, n)))?);
        at += s;
    }
    Ok(out)
}

fn expand(args: &Args, x: &Tensor) -> Result<Tensor, InterpError> {
    let spec = args.ints("shape", args.req(1)?)?;
    let want: Vec<usize> = spec
        .iter()
        .map(|&s| dim(args, "shape", s))
        .collect::<Result<_, _>>()?;
    let shape = broadcast_shapes(x.shape(), &want)
        .ok_or_else(|| args.err(format!("cannot expand shape {:?} to {want:?}", x.shape())))?;
    let n = count(args, &shape)?;
    let st = broadcast_strides(x.shape(), &shape);
    with_data!(x.data(), v => tensor(shape.clone(), gather_strided(v, &shape, &st, 0, n)))
}

fn tile(args: &Args, x: &Tensor) -> Result<Tensor, InterpError> {
    let reps = args.ints("repeats", args.req(1)?)?;
    if reps.len() != x.rank() {
        return Err(args.err(format!(
            "repeats has {} entries, input rank is {}",
            reps.len(),
            x.rank()
        )));
    }
    let mut shape = Vec::with_capacity(reps.len());
    for (d, &r) in reps.iter().enumerate() {
        let r = dim(args, "repeats", r)?;
        shape.push(
            x.shape()[d]
                .checked_mul(r)
                .ok_or_else(|| args.err("output shape is too large"))?,
        );
    }
    count(args, &shape)?;
    let maps: Vec<Vec<Option<usize>>> = shape
        .iter()
        .zip(x.shape())
        .map(|(&o, &i)| (0..o).map(|k| Some(k % i)).collect())
        .collect();
    with_data!(x.data(), v => tensor(shape, gather_axes(v, x.shape(), &maps, v.first().copied().unwrap_or_default())))
}

/// Builds a tensor whose dim `d` reads input index `maps[d][o]` at output index `o`
/// (`None`: the element is `fill`). Used by Tile and Pad.
pub(super) fn gather_axes<T: Copy>(
    data: &[T],
    in_shape: &[usize],
    maps: &[Vec<Option<usize>>],
    fill: T,
) -> Vec<T> {
    let st = strides(in_shape);
    let offs: Vec<Vec<Option<usize>>> = maps
        .iter()
        .zip(&st)
        .map(|(m, &s)| m.iter().map(|o| o.map(|i| i * s)).collect())
        .collect();
    let out_shape: Vec<usize> = maps.iter().map(Vec::len).collect();
    let n: usize = out_shape.iter().product();
    let mut out = Vec::with_capacity(n);
    if n == 0 {
        return out;
    }
    let r = out_shape.len();
    if r == 0 {
        out.push(data[0]);
        return out;
    }
    let mut idx = vec![0usize; r - 1];
    loop {
        let base = (0..r - 1).try_fold(0usize, |a, d| offs[d][idx[d]].map(|o| a + o));
        match base {
            Some(b) => out.extend(offs[r - 1].iter().map(|o| match o {
                Some(o) => data[b + o],
                None => fill,
            })),
            None => out.extend(std::iter::repeat_n(fill, out_shape[r - 1])),
        }
        let mut d = r - 1;
        loop {
            if d == 0 {
                return out;
            }
            d -= 1;
            idx[d] += 1;
            if idx[d] < out_shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
}
