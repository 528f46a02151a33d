//! Data movement that selects or rearranges elements: Slice, Pad, DepthToSpace,
//! SpaceToDepth, Trilu, Compress and ReverseSequence.

use super::shape_ops::{gather_axes, permute};
use super::strided::gather_strided;
use super::util::{any_dtype, around_axis, count, slice, strides, tensor, Args, Outputs};
use super::InterpError;
use crate::ops::{DepthToSpaceMode, PadMode};
use crate::{with_data, DType, Op, Tensor};

pub(super) fn eval(args: &Args) -> Outputs {
    let x = args.req(0)?;
    let out = match args.op {
        Op::Slice {} => slice_op(args, x)?,
        Op::Pad { mode } => pad(args, x, *mode)?,
        Op::DepthToSpace { blocksize, mode } => depth_to_space(args, x, *blocksize, *mode)?,
        Op::SpaceToDepth { blocksize } => space_to_depth(args, x, *blocksize)?,
        Op::Trilu { upper } => trilu(args, x, *upper)?,
        Op::Compress { axis } => compress(args, x, *axis)?,
        Op::ReverseSequence {
            batch_axis,
            time_axis,
        } => reverse_sequence(args, x, *batch_axis, *time_axis)?,
        _ => return Err(args.err("not a data movement op")),
    };
    Ok(vec![out])
}

/// Slice(data, starts, ends, axes?, steps?) with ONNX clamping rules.
fn slice_op(args: &Args, x: &Tensor) -> Result<Tensor, InterpError> {
    let starts = args.ints("starts", args.req(1)?)?;
    let ends = args.ints("ends", args.req(2)?)?;
    let r = x.rank();
    let axes: Vec<i64> = match args.opt(3) {
        Some(t) => args.ints("axes", t)?,
        None => (0..starts.len() as i64).collect(),
    };
    let steps: Vec<i64> = match args.opt(4) {
        Some(t) => args.ints("steps", t)?,
        None => vec![1; starts.len()],
    };
    if ends.len() != starts.len() || axes.len() != starts.len() || steps.len() != starts.len() {
        return Err(args.err(format!(
            "starts, ends, axes and steps differ in length ({}, {}, {}, {})",
            starts.len(),
            ends.len(),
            axes.len(),
            steps.len()
        )));
    }
    let st = strides(x.shape());
    let mut shape = x.shape().to_vec();
    let mut sstrides: Vec<isize> = st.iter().map(|&s| s as isize).collect();
    let mut start_off: isize = 0;
    let mut seen = vec![false; r];
    for i in 0..starts.len() {
        let a = args.axis(axes[i], r)?;
        if seen[a] {
            return Err(args.err(format!("axis {a} is sliced twice")));
        }
        seen[a] = true;
        let step = steps[i];
        if step == 0 {
            return Err(args.err("step 0 is not allowed"));
        }
        let d = x.shape()[a] as i64;
        let fix = |v: i64| if v < 0 { v.saturating_add(d) } else { v };
        let (s, e) = (fix(starts[i]), fix(ends[i]));
        let (s, e) = if step > 0 {
            (s.clamp(0, d), e.clamp(0, d))
        } else {
            (s.clamp(0, (d - 1).max(0)), e.clamp(-1, d - 1))
        };
        let n = if d == 0 {
            0
        } else if step > 0 {
            if e > s {
                (e - s - 1) / step + 1
            } else {
                0
            }
        } else if s > e {
            (s - e - 1) / (-step) + 1
        } else {
            0
        };
        shape[a] = n as usize;
        if n > 0 {
            start_off += s as isize * st[a] as isize;
        }
        sstrides[a] = st[a] as isize * step as isize;
    }
    let n = shape.iter().product();
    with_data!(x.data(), v => tensor(shape.clone(), gather_strided(v, &shape, &sstrides, start_off, n)))
}

/// Input index for output index `o` (before padding `begin`) along a dim of size
/// `d`, or `None` for the constant.
fn pad_index(o: i64, begin: i64, d: i64, mode: PadMode) -> Option<usize> {
    let i = o - begin;
    if (0..d).contains(&i) {
        return Some(i as usize);
    }
    let j = match mode {
        PadMode::Constant => return None,
        PadMode::Edge => i.clamp(0, d - 1),
        PadMode::Wrap => i.rem_euclid(d),
        PadMode::Reflect => {
            if d == 1 {
                0
            } else {
                let p = 2 * (d - 1);
                let m = i.rem_euclid(p);
                if m >= d {
                    p - m
                } else {
                    m
                }
            }
        }
    };
    Some(j as usize)
}

/// Pad(data, pads, constant_value?, axes?); negative pads crop.
fn pad(args: &Args, x: &Tensor, mode: PadMode) -> Result<Tensor, InterpError> {
    let pads = args.ints("pads", args.req(1)?)?;
    let r = x.rank();
    let axes: Vec<usize> = match args.opt(3) {
        Some(t) => args
            .ints("axes", t)?
            .into_iter()
            .map(|a| args.axis(a, r))
            .collect::<Result<_, _>>()?,
        None => (0..r).collect(),
    };
    if pads.len() != 2 * axes.len() {
        return Err(args.err(format!(
            "pads has {} entries, expected {} (2 per axis)",
            pads.len(),
            2 * axes.len()
        )));
    }
    let mut begin = vec![0i64; r];
    let mut end = vec![0i64; r];
    for (k, &a) in axes.iter().enumerate() {
        begin[a] = pads[k];
        end[a] = pads[k + axes.len()];
    }
    let mut shape = Vec::with_capacity(r);
    for d in 0..r {
        let n = (x.shape()[d] as i64)
            .checked_add(begin[d])
            .and_then(|n| n.checked_add(end[d]))
            .filter(|&n| n >= 0)
            .ok_or_else(|| {
                args.err(format!(
                    "pads {}/{} on axis {d} of size {} give a negative size",
                    begin[d],
                    end[d],
                    x.shape()[d]
                ))
            })?;
        let n = usize::try_from(n).map_err(|_| args.err("padded size is too large"))?;
        if mode != PadMode::Constant && x.shape()[d] == 0 && n > 0 {
            return Err(args.err(format!("cannot {mode}-pad the empty axis {d}")));
        }
        shape.push(n);
    }
    count(args, &shape)?;
    let maps: Vec<Vec<Option<usize>>> = (0..r)
        .map(|d| {
            (0..shape[d] as i64)
                .map(|o| pad_index(o, begin[d], x.shape()[d] as i64, mode))
                .collect()
        })
        .collect();
    let value = match args.opt(2) {
        Some(t) if !t.is_empty() => {
            args.same_dtype("constant_value", t, x.dtype())?;
            Some(t)
        }
        _ => None,
    };
    any_dtype!(x.dtype(), T => {
        let fill = match value {
            Some(t) => slice::<T>(t)?[0],
            None => T::default(),
        };
        tensor(shape, gather_axes(slice::<T>(x)?, x.shape(), &maps, fill))
    })
}

/// Checks a 4-D NCHW input and a positive block size.
fn block_dims(args: &Args, x: &Tensor, b: i64) -> Result<(usize, [usize; 4]), InterpError> {
    let b = usize::try_from(b)
        .ok()
        .filter(|&b| b > 0)
        .ok_or_else(|| args.err(format!("blocksize {b} must be positive")))?;
    match *x.shape() {
        [n, c, h, w] => Ok((b, [n, c, h, w])),
        _ => Err(args.err(format!("input must be 4-D, got shape {:?}", x.shape()))),
    }
}

fn depth_to_space(
    args: &Args,
    x: &Tensor,
    b: i64,
    mode: DepthToSpaceMode,
) -> Result<Tensor, InterpError> {
    let (b, [n, c, h, w]) = block_dims(args, x, b)?;
    if c % (b * b) != 0 {
        return Err(args.err(format!(
            "channels {c} are not divisible by blocksize^2 = {}",
            b * b
        )));
    }
    let c2 = c / (b * b);
    let (view, perm) = match mode {
        DepthToSpaceMode::Dcr => (vec![n, b, b, c2, h, w], [0, 3, 4, 1, 5, 2]),
        DepthToSpaceMode::Crd => (vec![n, c2, b, b, h, w], [0, 1, 4, 2, 5, 3]),
    };
    let t = permute(&x.clone().reshaped(view)?, &perm)?;
    Ok(t.reshaped(vec![n, c2, h * b, w * b])?)
}

fn space_to_depth(args: &Args, x: &Tensor, b: i64) -> Result<Tensor, InterpError> {
    let (b, [n, c, h, w]) = block_dims(args, x, b)?;
    if h % b != 0 || w % b != 0 {
        return Err(args.err(format!(
            "spatial dims {h}x{w} are not divisible by blocksize {b}"
        )));
    }
    let view = vec![n, c, h / b, b, w / b, b];
    let t = permute(&x.clone().reshaped(view)?, &[0, 3, 5, 1, 2, 4])?;
    Ok(t.reshaped(vec![n, c * b * b, h / b, w / b])?)
}

/// Trilu(input, k?): keeps the upper (j - i >= k) or lower (j - i <= k) triangle
/// of the last two dims.
fn trilu(args: &Args, x: &Tensor, upper: bool) -> Result<Tensor, InterpError> {
    if x.rank() < 2 {
        return Err(args.err(format!("input must have rank >= 2, got {:?}", x.shape())));
    }
    let k = match args.opt(1) {
        Some(t) => args.int_scalar("k", t)?,
        None => 0,
    };
    let r = x.rank();
    let (rows, cols) = (x.shape()[r - 2], x.shape()[r - 1]);
    any_dtype!(x.dtype(), T => {
        let mut v = slice::<T>(x)?.to_vec();
        let mat = rows * cols;
        for m in 0..v.len() / mat.max(1) {
            for i in 0..rows {
                for j in 0..cols {
                    let diff = j as i64 - i as i64;
                    let keep = if upper { diff >= k } else { diff <= k };
                    if !keep {
                        v[m * mat + i * cols + j] = T::default();
                    }
                }
            }
        }
        tensor(x.shape().to_vec(), v)
    })
}

/// Compress(input, condition): keeps the slices along `axis` (or the flattened
/// elements) whose condition is true.
fn compress(args: &Args, x: &Tensor, axis: Option<i64>) -> Result<Tensor, InterpError> {
    let c = args.req(1)?;
    args.same_dtype("condition", c, DType::Bool)?;
    if c.rank() != 1 {
        return Err(args.err(format!("condition must be 1-D, got {:?}", c.shape())));
    }
    let cond = slice::<bool>(c)?;
    let (flat, axis) = match axis {
        Some(a) => (x.clone(), args.axis(a, x.rank())?),
        None => (x.clone().reshaped(vec![x.len()])?, 0),
    };
    let (outer, len, inner) = around_axis(flat.shape(), axis);
    if cond.iter().skip(len).any(|&b| b) {
        return Err(args.err(format!(
            "condition selects index {} beyond the axis size {len}",
            cond.len() - 1
        )));
    }
    let keep: Vec<usize> = (0..len.min(cond.len())).filter(|&i| cond[i]).collect();
    let mut shape = flat.shape().to_vec();
    shape[axis] = keep.len();
    any_dtype!(x.dtype(), T => {
        let v = slice::<T>(&flat)?;
        let mut out = Vec::with_capacity(outer * keep.len() * inner);
        for o in 0..outer {
            for &k in &keep {
                let s = (o * len + k) * inner;
                out.extend_from_slice(&v[s..s + inner]);
            }
        }
        tensor(shape, out)
    })
}

/// ReverseSequence(input, sequence_lens): reverses the first `lens[b]` time steps
/// of each batch entry.
fn reverse_sequence(
    args: &Args,
    x: &Tensor,
    batch_axis: i64,
    time_axis: i64,
) -> Result<Tensor, InterpError> {
    if x.rank() < 2 {
        return Err(args.err(format!("input must have rank >= 2, got {:?}", x.shape())));
    }
    let (ba, ta) = match (batch_axis, time_axis) {
        (0, 1) => (0, 1),
        (1, 0) => (1, 0),
        _ => {
            return Err(args.err(format!(
                "batch_axis {batch_axis} and time_axis {time_axis} must be 0 and 1 in some order"
            )))
        }
    };
    let lens = args.ints("sequence_lens", args.req(1)?)?;
    let (batch, time) = (x.shape()[ba], x.shape()[ta]);
    if lens.len() != batch {
        return Err(args.err(format!(
            "sequence_lens has {} entries, batch size is {batch}",
            lens.len()
        )));
    }
    let st = strides(x.shape());
    let inner: usize = x.shape()[2..].iter().product();
    any_dtype!(x.dtype(), T => {
        let v = slice::<T>(x)?;
        let mut out = v.to_vec();
        for (b, &l) in lens.iter().enumerate() {
            let l = usize::try_from(l).ok().filter(|&l| l <= time).ok_or_else(|| {
                args.err(format!("sequence length {l} is outside 0..={time}"))
            })?;
            for t in 0..l {
                let src = b * st[ba] + t * st[ta];
                let dst = b * st[ba] + (l - 1 - t) * st[ta];
                out[dst..dst + inner].copy_from_slice(&v[src..src + inner]);
            }
        }
        tensor(x.shape().to_vec(), out)
    })
}
