//! Indexing: `gather`, `index_select`, `index.Tensor` with one index tensor, and
//! the scatters (`scatter.src`, `scatter.value`, `scatter_add`, `scatter_reduce.two`).

use super::super::args::NodeCtx;
use super::super::emit::*;
use super::super::Translator;
use super::static_sizes;
use pare_ir::ops::ScatterReduction;
use pare_ir::{DType, Op, ValueId};
use serde_json::Value as Json;

/// `gather(self, dim, index)` → GatherElements.
pub(super) fn gather(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let name = c.tensor("self")?;
    let rank = t.sizes(name)?.len() as i64;
    let axis = norm(c.int("dim", None)?, rank.max(1))?;
    let x = t.value(name)?;
    let i = t.value(c.tensor("index")?)?;
    finish(t, c, Op::GatherElements { axis }, vec![Some(x), Some(i)])
}

/// `index_select(self, dim, index)` → Gather.
pub(super) fn index_select(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let name = c.tensor("self")?;
    let rank = t.sizes(name)?.len() as i64;
    let axis = norm(c.int("dim", None)?, rank.max(1))?;
    let x = t.value(name)?;
    let i = t.value(c.tensor("index")?)?;
    finish(t, c, Op::Gather { axis }, vec![Some(x), Some(i)])
}

/// `index.Tensor(self, indices)`: `x[..., idx]` with one integer index tensor at
/// position k (the entries before it `None`) is a Gather on axis k. Several index
/// tensors broadcast against each other into one advanced index, which pare does
/// not map.
pub(super) fn index(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let list = match c.arg("indices") {
        Some(("as_optional_tensors" | "as_tensors", Json::Array(l))) => l,
        _ => return Err("argument `indices` should be a list of optional tensors".into()),
    };
    let mut found = None;
    for (k, entry) in list.iter().enumerate() {
        let name = entry
            .get("as_tensor")
            .and_then(|t| t.get("name"))
            .and_then(Json::as_str)
            .or_else(|| entry.get("name").and_then(Json::as_str));
        if let Some(n) = name {
            if found.is_some() {
                return Err(
                    "indexing with several index tensors (one broadcast advanced index) is not supported"
                        .into(),
                );
            }
            found = Some((k, n));
        }
    }
    let (axis, idx) = found.ok_or("index.Tensor with no index tensor")?;
    let name = c.tensor("self")?;
    if t.dtype(idx)? == pare_ir::DType::Bool {
        return Err("indexing with a boolean mask (data-dependent shape) is not supported".into());
    }
    let x = t.value(name)?;
    let i = t.value(idx)?;
    finish(
        t,
        c,
        Op::Gather { axis: axis as i64 },
        vec![Some(x), Some(i)],
    )
}

/// The updates of a scatter: `src` cut to the index's shape (torch reads only that
/// part; ONNX wants equal shapes).
fn updates(t: &mut Translator<'_>, c: &NodeCtx<'_>, index: &str) -> R<ValueId> {
    let src = c.tensor("src")?;
    let v = t.value(src)?;
    let want = static_sizes(t, index)?;
    let have = static_sizes(t, src)?;
    if want == have {
        return Ok(v);
    }
    if want.len() != have.len() || want.iter().zip(&have).any(|(w, h)| w > h) {
        return Err(
            format!("scatter src of sizes {have:?} is smaller than its index {want:?}").into(),
        );
    }
    let zeros = i64s(t, c, "src_start", &vec![0; want.len()])?;
    let ends = i64s(t, c, "src_end", &want)?;
    let axes: Vec<i64> = (0..want.len() as i64).collect();
    let a = i64s(t, c, "src_axes", &axes)?;
    tmp(
        t,
        c,
        "src_cut",
        Op::Slice {},
        vec![Some(v), Some(zeros), Some(ends), Some(a)],
    )
}

/// `scatter.src`, `scatter.value`, `scatter_add`, `scatter_reduce.two`.
pub(super) fn scatter(t: &mut Translator<'_>, c: &NodeCtx<'_>, base: &str) -> R<()> {
    let name = c.tensor("self")?;
    let rank = t.sizes(name)?.len() as i64;
    let axis = norm(c.int("dim", None)?, rank.max(1))?;
    let index = c.tensor("index")?;
    let reduction = match base {
        "scatter_add" => ScatterReduction::Add,
        "scatter_reduce" => {
            if !c.bool("include_self", true)? {
                return Err("scatter_reduce with include_self=False is not supported".into());
            }
            match c.string("reduce", "")?.as_str() {
                "sum" => ScatterReduction::Add,
                "prod" => ScatterReduction::Mul,
                "amax" => ScatterReduction::Max,
                "amin" => ScatterReduction::Min,
                other => {
                    return Err(format!(
                        "scatter_reduce `{other}` has no ScatterElements reduction"
                    )
                    .into())
                }
            }
        }
        _ => {
            if c.arg("reduce").is_some() {
                return Err("scatter with a `reduce` argument is not supported".into());
            }
            ScatterReduction::None
        }
    };
    let x = t.value(name)?;
    let i = t.value(index)?;
    let u = if c.op.ends_with("scatter.value") {
        let v = c.float("value", None)?;
        let s = scalar(t, c, "value", v)?;
        let shape = tmp(
            t,
            c,
            "index_shape",
            Op::Shape {
                start: 0,
                end: None,
            },
            vec![Some(i)],
        )?;
        tmp(t, c, "updates", Op::Expand {}, vec![Some(s), Some(shape)])?
    } else {
        updates(t, c, index)?
    };
    finish(
        t,
        c,
        Op::ScatterElements { axis, reduction },
        vec![Some(x), Some(i), Some(u)],
    )
}

/// A constant i64 index tensor of `shape` whose entry along `axis` is
/// `start + step·i` (the positions a slice of `shape` occupies in its source).
fn slice_positions(shape: &[i64], axis: usize, start: i64, step: i64) -> R<pare_ir::Tensor> {
    let dims: Vec<usize> = shape.iter().map(|&d| d.max(0) as usize).collect();
    let n = pare_ir::checked_count(&dims)?;
    let inner: usize = dims[axis + 1..].iter().product();
    let len = dims[axis].max(1);
    let values = (0..n)
        .map(|k| super::affine(start, step, ((k / inner.max(1)) % len) as i64))
        .collect::<R<Vec<i64>>>()?;
    Ok(pare_ir::Tensor::from_vec(dims, values)?)
}

/// `slice_scatter(self, src, dim, start, end, step)` and `select_scatter(self, src,
/// dim, index)`: `src` written over a slice of `self`, a ScatterElements with the
/// slice's positions as indices.
pub(super) fn slice_scatter(t: &mut Translator<'_>, c: &NodeCtx<'_>, select: bool) -> R<()> {
    let name = c.tensor("self")?;
    let sizes = static_sizes(t, name)?;
    let rank = sizes.len() as i64;
    let axis = norm(c.int("dim", Some(0))?, rank.max(1))?;
    let len = sizes[axis as usize];
    let src_name = c.tensor("src")?;
    let mut src = t.value(src_name)?;
    let mut src_sizes = static_sizes(t, src_name)?;
    let (start, step) = if select {
        let i = c.int("index", None)?;
        let i = if i < 0 { i + len } else { i };
        if !(0..len).contains(&i) {
            return Err(format!("index {i} is out of range for size {len}").into());
        }
        let a = i64s(t, c, "axes", &[axis])?;
        src = tmp(
            t,
            c,
            "src_unsqueezed",
            Op::Unsqueeze {},
            vec![Some(src), Some(a)],
        )?;
        src_sizes.insert(axis as usize, 1);
        (i, 1)
    } else {
        let step = c.int("step", Some(1))?;
        if step <= 0 {
            return Err(format!("step {step} must be positive").into());
        }
        let start = c.opt_int("start")?.unwrap_or(0);
        let start = if start < 0 {
            (start + len).max(0)
        } else {
            start.min(len)
        };
        (start, step)
    };
    let last = super::affine(start, step, src_sizes[axis as usize] - 1)?;
    if src_sizes.len() != sizes.len() || (src_sizes[axis as usize] > 0 && last >= len) {
        return Err(format!("src of sizes {src_sizes:?} does not fit a slice of {sizes:?}").into());
    }
    let positions = slice_positions(&src_sizes, axis as usize, start, step)?;
    let i = t.constant(&format!("{}/positions", c.name), &positions)?;
    let x = t.value(name)?;
    let op = Op::ScatterElements {
        axis,
        reduction: ScatterReduction::None,
    };
    finish(t, c, op, vec![Some(x), Some(i), Some(src)])
}

/// `masked_scatter(self, mask, source)`: the k-th true position of the (broadcast)
/// mask takes `source`'s k-th element in row-major order — a running count of the
/// mask picks the source element, Where keeps `self` elsewhere.
pub(super) fn masked_scatter(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let name = c.tensor("self")?;
    let x = t.value(name)?;
    let mask = t.value(c.tensor("mask")?)?;
    let source = t.value(c.tensor("source")?)?;
    let shape_op = Op::Shape {
        start: 0,
        end: None,
    };
    let shape = tmp(t, c, "shape", shape_op, vec![Some(x)])?;
    let m = tmp(
        t,
        c,
        "mask_full",
        Op::Expand {},
        vec![Some(mask), Some(shape)],
    )?;
    let flat_shape = i64s(t, c, "flat_shape", &[-1])?;
    let reshape = Op::Reshape { allowzero: false };
    let mf = tmp(
        t,
        c,
        "mask_flat",
        reshape.clone(),
        vec![Some(m), Some(flat_shape)],
    )?;
    let ones = tmp(
        t,
        c,
        "mask_int",
        Op::Cast { to: DType::I64 },
        vec![Some(mf)],
    )?;
    let axis = t.constant(&format!("{}/axis", c.name), &pare_ir::Tensor::scalar(0i64))?;
    let cumsum = Op::CumSum {
        exclusive: true,
        reverse: false,
    };
    let count = tmp(t, c, "count", cumsum, vec![Some(ones), Some(axis)])?;
    let src_flat = tmp(
        t,
        c,
        "source_flat",
        reshape.clone(),
        vec![Some(source), Some(flat_shape)],
    )?;
    // Positions past the last true take the last source element; Where drops them.
    let total = tmp(t, c, "source_len", Op::Size {}, vec![Some(src_flat)])?;
    let one = t.constant(&format!("{}/one", c.name), &pare_ir::Tensor::scalar(1i64))?;
    let last = tmp(
        t,
        c,
        "source_last",
        Op::Sub {},
        vec![Some(total), Some(one)],
    )?;
    let clipped = tmp(
        t,
        c,
        "count_clipped",
        Op::Min {},
        vec![Some(count), Some(last)],
    )?;
    let picked = tmp(
        t,
        c,
        "picked",
        Op::Gather { axis: 0 },
        vec![Some(src_flat), Some(clipped)],
    )?;
    let shaped = tmp(
        t,
        c,
        "picked_shaped",
        reshape,
        vec![Some(picked), Some(shape)],
    )?;
    finish(t, c, Op::Where {}, vec![Some(m), Some(shaped), Some(x)])
}

/// `nonzero(self)` → `[count, rank]` indices (NonZero gives `[rank, count]`).
pub(super) fn nonzero(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let x = t.value(c.tensor("self")?)?;
    let nz = tmp(t, c, "nonzero", Op::NonZero {}, vec![Some(x)])?;
    let op = Op::Transpose {
        perm: Some(vec![1, 0]),
    };
    finish(t, c, op, vec![Some(nz)])
}

/// `index_put(self, indices, values, accumulate)`, the two forms that map:
/// a boolean mask with one value (`x[mask] = v`): Where over the mask broadcast to
/// `self`; and one integer index tensor on dim 0 (`x[idx] = v`): ScatterND with the
/// values broadcast to the rows they replace (added when `accumulate`).
pub(super) fn index_put(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let list = match c.arg("indices") {
        Some(("as_optional_tensors" | "as_tensors", Json::Array(l))) => l,
        _ => return Err("argument `indices` should be a list of optional tensors".into()),
    };
    let named: Vec<(usize, &str)> = list
        .iter()
        .enumerate()
        .filter_map(|(k, e)| {
            let n = e
                .get("as_tensor")
                .and_then(|t| t.get("name"))
                .or_else(|| e.get("name"));
            n.and_then(Json::as_str).map(|n| (k, n))
        })
        .collect();
    let [(axis, idx)] = named[..] else {
        return Err("index_put with several index tensors is not supported".into());
    };
    let name = c.tensor("self")?;
    let sizes = static_sizes(t, name)?;
    let rank = sizes.len();
    let dtype = t.dtype(name)?;
    let accumulate = c.bool("accumulate", false)?;
    let x = t.value(name)?;
    let values_name = c.tensor("values")?;
    let mut v = t.value(values_name)?;
    if t.dtype(values_name)? != dtype {
        v = tmp(t, c, "values_cast", Op::Cast { to: dtype }, vec![Some(v)])?;
    }
    if t.dtype(idx)? == DType::Bool {
        if super::count(&static_sizes(t, values_name)?)? != 1 {
            return Err("index_put through a boolean mask with several values (data-dependent positions) is not supported".into());
        }
        let mask_rank = t.sizes(idx)?.len();
        if axis + mask_rank > rank {
            return Err(
                format!("a rank-{mask_rank} mask at dim {axis} of a rank-{rank} tensor").into(),
            );
        }
        let mut m = t.value(idx)?;
        let around: Vec<i64> = (0..axis as i64)
            .chain((axis + mask_rank) as i64..rank as i64)
            .collect();
        if !around.is_empty() {
            let a = i64s(t, c, "mask_axes", &around)?;
            m = tmp(t, c, "mask_full", Op::Unsqueeze {}, vec![Some(m), Some(a)])?;
        }
        let scalar_shape = i64s(t, c, "value_shape", &[])?;
        let one = tmp(
            t,
            c,
            "value",
            Op::Reshape { allowzero: false },
            vec![Some(v), Some(scalar_shape)],
        )?;
        let new = if accumulate {
            tmp(t, c, "sum", Op::Add {}, vec![Some(x), Some(one)])?
        } else {
            one
        };
        return finish(t, c, Op::Where {}, vec![Some(m), Some(new), Some(x)]);
    }
    if axis != 0 {
        return Err(
            format!("index_put with its index tensor on dim {axis} (only dim 0 maps)").into(),
        );
    }
    let i = t.value(idx)?;
    let last = i64s(t, c, "index_axis", &[-1])?;
    let i = tmp(
        t,
        c,
        "index_nd",
        Op::Unsqueeze {},
        vec![Some(i), Some(last)],
    )?;
    let mut shape = static_sizes(t, idx)?;
    shape.extend_from_slice(&sizes[1..]);
    let s = i64s(t, c, "updates_shape", &shape)?;
    let u = tmp(t, c, "updates", Op::Expand {}, vec![Some(v), Some(s)])?;
    let reduction = if accumulate {
        ScatterReduction::Add
    } else {
        ScatterReduction::None
    };
    finish(
        t,
        c,
        Op::ScatterNd { reduction },
        vec![Some(x), Some(i), Some(u)],
    )
}
