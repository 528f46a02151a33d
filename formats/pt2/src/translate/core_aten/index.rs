//! Indexing: `gather`, `index_select`, `index.Tensor` with one index tensor, and
//! the scatters (`scatter.src`, `scatter.value`, `scatter_add`, `scatter_reduce.two`).

use super::super::args::NodeCtx;
use super::super::emit::*;
use super::super::Translator;
use super::static_sizes;
use pare_ir::ops::ScatterReduction;
use pare_ir::{Op, ValueId};
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
