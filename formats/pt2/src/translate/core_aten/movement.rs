//! Data movement: `unbind` (attention's `q, k, v = qkv.unbind(0)`), `chunk`
//! (ShuffleNet), `roll` (Swin's window shift), `flip`, `repeat`, `diagonal`, and the
//! constant, reflection and replication pads.

use super::super::args::NodeCtx;
use super::super::emit::*;
use super::super::Translator;
use super::{reshape_const, static_sizes};
use pare_ir::ops::PadMode;
use pare_ir::{Op, ValueId};

/// `unbind(self, dim)`: a Split into size-1 pieces, each squeezed.
pub(super) fn unbind(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let name = c.tensor("self")?;
    let sizes = static_sizes(t, name)?;
    let axis = norm(c.int("dim", Some(0))?, sizes.len() as i64)?;
    let n = sizes[axis as usize];
    let outs = c.outs();
    if outs.len() as i64 != n {
        return Err(format!(
            "unbind along dim {axis} of size {n} but the node has {} outputs",
            outs.len()
        )
        .into());
    }
    let x = t.value(name)?;
    let ones = i64s(t, c, "split", &vec![1; n as usize])?;
    let piece_names: Vec<String> = (0..n).map(|i| format!("{}/piece{i}", c.name)).collect();
    let pieces: Vec<Option<&str>> = piece_names.iter().map(|s| Some(s.as_str())).collect();
    let op = Op::Split {
        axis,
        num_outputs: None,
    };
    let ids = t.emit_multi(&c.name, op, vec![Some(x), Some(ones)], &pieces)?;
    let axes = i64s(t, c, "axes", &[axis])?;
    for (i, (&piece, out)) in ids.iter().zip(&outs).enumerate() {
        if let Some(out) = out {
            let node = format!("{}/squeeze{i}", c.name);
            t.emit(&node, Op::Squeeze {}, vec![Some(piece), Some(axes)], out)?;
        }
    }
    Ok(())
}

/// `chunk(self, chunks, dim)`: pieces of ⌈len / chunks⌉, the last smaller, and
/// fewer than `chunks` when they run out (as torch does).
pub(super) fn chunk(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let name = c.tensor("self")?;
    let sizes = static_sizes(t, name)?;
    let axis = norm(c.int("dim", Some(0))?, sizes.len() as i64)?;
    let len = sizes[axis as usize];
    let chunks = c.int("chunks", None)?;
    if chunks <= 0 {
        return Err(format!("chunks = {chunks} must be positive").into());
    }
    if len < 0 {
        return Err(format!("chunk of a dim of size {len}").into());
    }
    let ceil_div = |a: i64, b: i64| a / b + i64::from(a % b != 0);
    let step = ceil_div(len, chunks).max(1);
    let n = if len == 0 { 1 } else { ceil_div(len, step) };
    let outs = c.outs();
    // Checked before the sizes are listed: `len` comes from the file.
    if outs.len() as i64 != n {
        return Err(format!(
            "chunk of {len} into {chunks} gives {n} pieces but the node has {} outputs",
            outs.len()
        )
        .into());
    }
    let parts: Vec<i64> = (0..n).map(|i| step.min(len - i * step)).collect();
    let x = t.value(name)?;
    let s = i64s(t, c, "split", &parts)?;
    let op = Op::Split {
        axis,
        num_outputs: None,
    };
    t.emit_multi(&c.name, op, vec![Some(x), Some(s)], &outs)
        .map(|_| ())
}

/// `x[start:end]` along `axis`.
fn slice_axis(
    t: &mut Translator<'_>,
    c: &NodeCtx<'_>,
    suffix: &str,
    x: ValueId,
    axis: i64,
    range: (i64, i64),
) -> R<ValueId> {
    let s = i64s(t, c, &format!("{suffix}_start"), &[range.0])?;
    let e = i64s(t, c, &format!("{suffix}_end"), &[range.1])?;
    let a = i64s(t, c, &format!("{suffix}_axis"), &[axis])?;
    tmp(
        t,
        c,
        suffix,
        Op::Slice {},
        vec![Some(x), Some(s), Some(e), Some(a)],
    )
}

/// `roll(self, shifts, dims)`: per dim, the last `shift` elements moved to the
/// front (a Concat of two slices); without `dims` over the flattened tensor.
pub(super) fn roll(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let name = c.tensor("self")?;
    let sizes = static_sizes(t, name)?;
    let shifts = c.ints("shifts", None)?;
    let dims = c.ints("dims", Some(&[]))?;
    let x = t.value(name)?;
    let (mut y, plan, flat) = if dims.is_empty() {
        let [shift] = shifts[..] else {
            return Err(format!("roll without dims takes one shift, got {shifts:?}").into());
        };
        let total = super::count(&sizes)?;
        let f = reshape_const(t, c, "flat", x, &[total])?;
        (f, vec![(shift, 0, total)], true)
    } else {
        if dims.len() != shifts.len() {
            return Err(format!("roll with shifts {shifts:?} but dims {dims:?}").into());
        }
        let rank = sizes.len() as i64;
        let plan = dims
            .iter()
            .zip(&shifts)
            .map(|(&d, &s)| norm(d, rank).map(|a| (s, a, sizes[a as usize])))
            .collect::<R<Vec<_>>>()?;
        (x, plan, false)
    };
    for (k, (shift, axis, len)) in plan.into_iter().enumerate() {
        if len == 0 {
            continue;
        }
        let s = shift.rem_euclid(len);
        if s == 0 {
            continue;
        }
        let tail = slice_axis(t, c, &format!("tail{k}"), y, axis, (len - s, len))?;
        let head = slice_axis(t, c, &format!("head{k}"), y, axis, (0, len - s))?;
        y = tmp(
            t,
            c,
            &format!("rolled{k}"),
            Op::Concat { axis },
            vec![Some(tail), Some(head)],
        )?;
    }
    if flat {
        let shape: Vec<i64> = sizes.clone();
        let s = i64s(t, c, "shape", &shape)?;
        return finish(
            t,
            c,
            Op::Reshape { allowzero: false },
            vec![Some(y), Some(s)],
        );
    }
    finish(t, c, Op::Identity {}, vec![Some(y)])
}

/// `flip(self, dims)`: a Slice with step −1 over each dim.
pub(super) fn flip(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let name = c.tensor("self")?;
    let rank = t.sizes(name)?.len() as i64;
    let dims = c
        .ints("dims", None)?
        .into_iter()
        .map(|d| norm(d, rank.max(1)))
        .collect::<R<Vec<_>>>()?;
    let x = t.value(name)?;
    if dims.is_empty() {
        return finish(t, c, Op::Identity {}, vec![Some(x)]);
    }
    let k = dims.len();
    let s = i64s(t, c, "starts", &vec![-1; k])?;
    let e = i64s(t, c, "ends", &vec![i64::MIN; k])?;
    let a = i64s(t, c, "axes", &dims)?;
    let st = i64s(t, c, "steps", &vec![-1; k])?;
    finish(
        t,
        c,
        Op::Slice {},
        vec![Some(x), Some(s), Some(e), Some(a), Some(st)],
    )
}

/// `repeat(self, repeats)`: Tile, after prepending unit dims when `repeats` is
/// longer than the rank.
pub(super) fn repeat(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let name = c.tensor("self")?;
    let rank = t.sizes(name)?.len();
    let repeats = c.ints("repeats", None)?;
    if repeats.len() < rank || repeats.iter().any(|&r| r < 0) {
        return Err(format!("repeats {repeats:?} for a rank-{rank} tensor").into());
    }
    let mut x = t.value(name)?;
    let extra = repeats.len() - rank;
    if extra > 0 {
        let axes: Vec<i64> = (0..extra as i64).collect();
        let a = i64s(t, c, "axes", &axes)?;
        x = tmp(t, c, "unsqueezed", Op::Unsqueeze {}, vec![Some(x), Some(a)])?;
    }
    let r = i64s(t, c, "repeats", &repeats)?;
    finish(t, c, Op::Tile {}, vec![Some(x), Some(r)])
}

/// `diagonal(self, offset, dim1, dim2)`: the two dims moved last and merged, then
/// a Gather of the diagonal's flat positions; the result's last dim is the diagonal.
pub(super) fn diagonal(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let name = c.tensor("self")?;
    let sizes = static_sizes(t, name)?;
    let rank = sizes.len() as i64;
    let d1 = norm(c.int("dim1", Some(0))?, rank)?;
    let d2 = norm(c.int("dim2", Some(1))?, rank)?;
    if d1 == d2 {
        return Err(format!("diagonal dims {d1} and {d2} are the same").into());
    }
    let offset = c.int("offset", Some(0))?;
    let (n1, n2) = (sizes[d1 as usize], sizes[d2 as usize]);
    let (r0, c0) = if offset >= 0 {
        (0, offset)
    } else {
        (
            offset.checked_neg().ok_or("diagonal offset out of range")?,
            0,
        )
    };
    let len = (n1 - r0).min(n2 - c0).max(0);
    let mut perm: Vec<i64> = (0..rank).filter(|&d| d != d1 && d != d2).collect();
    let mut shape: Vec<i64> = perm.iter().map(|&d| sizes[d as usize]).collect();
    perm.extend([d1, d2]);
    shape.push(super::count(&[n1, n2])?);
    let x = t.value(name)?;
    let moved = tmp(
        t,
        c,
        "moved",
        Op::Transpose { perm: Some(perm) },
        vec![Some(x)],
    )?;
    let merged = reshape_const(t, c, "merged", moved, &shape)?;
    let positions: Vec<i64> = (0..len).map(|i| (r0 + i) * n2 + c0 + i).collect();
    let p = i64s(t, c, "positions", &positions)?;
    let axis = shape.len() as i64 - 1;
    finish(t, c, Op::Gather { axis }, vec![Some(merged), Some(p)])
}

/// `constant_pad_nd`, `reflection_pad{1,2,3}d`, `replication_pad{2,3}d`: torch lists
/// (begin, end) pairs from the last dim backwards; negative pads crop.
pub(super) fn pad(t: &mut Translator<'_>, c: &NodeCtx<'_>, mode: PadMode, arg: &str) -> R<()> {
    let name = c.tensor("self")?;
    let rank = t.sizes(name)?.len();
    let torch_pads = c.ints(arg, None)?;
    if torch_pads.len() % 2 != 0 || torch_pads.len() / 2 > rank {
        return Err(format!("{arg} {torch_pads:?} does not fit a rank-{rank} tensor").into());
    }
    let mut pads = vec![0i64; 2 * rank];
    for (k, pair) in torch_pads.chunks(2).enumerate() {
        let d = rank - 1 - k;
        pads[d] = pair[0];
        pads[rank + d] = pair[1];
    }
    let x = t.value(name)?;
    let p = i64s(t, c, "pads", &pads)?;
    let mut inputs = vec![Some(x), Some(p)];
    if mode == PadMode::Constant {
        let v = c.opt_float("value")?.unwrap_or(0.0);
        inputs.push(Some(scalar(t, c, "value", v)?));
    }
    finish(t, c, Op::Pad { mode }, inputs)
}

/// `as_strided(self, size, stride, storage_offset)` reads raw storage, which pare's
/// tensors do not have. It maps only where the result is certain to be a reshape:
/// offset 0, the same element count, row-major strides over the dims longer than
/// 1, and an input with at most one dim longer than 1, so that its storage order
/// cannot differ from its row-major order (Swin's head re-strides a pooled
/// `[1, C, 1, 1]` this way).
pub(super) fn as_strided(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let name = c.tensor("self")?;
    let input = static_sizes(t, name)?;
    let size = c.ints("size", None)?;
    let stride = c.ints("stride", None)?;
    let offset = c.opt_int("storage_offset")?.unwrap_or(0);
    let mut contiguous = vec![1i64; size.len()];
    for k in (0..size.len().saturating_sub(1)).rev() {
        contiguous[k] = contiguous[k + 1].saturating_mul(size[k + 1].max(1));
    }
    let row_major = size.len() == stride.len()
        && size
            .iter()
            .zip(stride.iter().zip(&contiguous))
            .all(|(&n, (&s, &cs))| n <= 1 || s == cs);
    let same_count = super::count(&input)? == super::count(&size)?;
    let one_long_dim = input.iter().filter(|&&d| d > 1).count() <= 1;
    if offset != 0 || !row_major || !same_count || !one_long_dim {
        return Err(format!(
            "as_strided of sizes {input:?} to size {size:?}, stride {stride:?}, offset {offset} \
             reads raw storage; pare maps it only when it is a plain reshape"
        )
        .into());
    }
    let x = t.value(name)?;
    let s = i64s(t, c, "shape", &size)?;
    finish(
        t,
        c,
        Op::Reshape { allowzero: false },
        vec![Some(x), Some(s)],
    )
}
