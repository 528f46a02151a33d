//! The Core ATen ops (torch's `core`-tagged opset, what `ep.run_decompositions()`
//! leaves) and the pre-dispatch forms real models hold (`unbind`, `chunk`, `roll`,
//! `swapaxes`, `einsum`, `pad`, `masked_fill`, `new_zeros`, ...) that map
//! onto pare's IR beyond the forms [`super::ops`] lowers, plus
//! the runtime size assertions torch records (dropped: export checked them). The README's PyTorch section lists
//! the Core ATen ops that do not map, each with its reason.

mod distance;
mod elementwise;
mod generate;
mod index;
mod movement;
mod predispatch;
mod reduce;
mod spatial;

use super::args::NodeCtx;
use super::emit::*;
use super::error::LowerError;
use super::Translator;
use pare_ir::ops::PadMode;
use pare_ir::{Op, ValueId};

/// Targets lowered here (full names without `torch.ops.`). None of them is in
/// [`super::SUPPORTED_OPS`], so dispatch on the full name is unambiguous.
pub const CORE_ATEN_OPS: &[&str] = &[
    "_operator.eq",
    "_operator.ge",
    "_operator.gt",
    "_operator.le",
    "_operator.lt",
    "aten._adaptive_avg_pool3d.default",
    "aten._assert_scalar.default",
    "aten._assert_tensor_metadata.default",
    "aten._cdist_forward.default",
    "aten._native_batch_norm_legit.default",
    "aten._pdist_forward.default",
    "aten._to_copy.default",
    "aten.any.default",
    "aten.any.dim",
    "aten.any.dims",
    "aten.arange.default",
    "aten.arange.start",
    "aten.arange.start_step",
    "aten.argmax.default",
    "aten.argmin.default",
    "aten.as_strided.default",
    "aten.atan2.default",
    "aten.avg_pool3d.default",
    "aten.bitwise_and.Scalar",
    "aten.bitwise_and.Tensor",
    "aten.bitwise_not.default",
    "aten.bitwise_or.Scalar",
    "aten.bitwise_or.Tensor",
    "aten.bitwise_xor.Scalar",
    "aten.bitwise_xor.Tensor",
    "aten.chunk.default",
    "aten.clamp.Tensor",
    "aten.constant_pad_nd.default",
    "aten.copy.default",
    "aten.cumsum.default",
    "aten.detach_.default",
    "aten.diagonal.default",
    "aten.div.Scalar_mode",
    "aten.div.Tensor_mode",
    "aten.einsum.default",
    "aten.elu.default",
    "aten.empty.memory_format",
    "aten.empty_permuted.default",
    "aten.empty_strided.default",
    "aten.eq.Scalar",
    "aten.eq.Tensor",
    "aten.expm1.default",
    "aten.fill.Scalar",
    "aten.flip.default",
    "aten.fmod.Scalar",
    "aten.fmod.Tensor",
    "aten.full.default",
    "aten.full_like.default",
    "aten.gather.default",
    "aten.ge.Scalar",
    "aten.ge.Tensor",
    "aten.gt.Scalar",
    "aten.gt.Tensor",
    "aten.index.Tensor",
    "aten.index_put.default",
    "aten.index_select.default",
    "aten.isinf.default",
    "aten.isnan.default",
    "aten.le.Scalar",
    "aten.le.Tensor",
    "aten.lift_fresh_copy.default",
    "aten.log10.default",
    "aten.log2.default",
    "aten.logical_and.default",
    "aten.logical_not.default",
    "aten.logical_or.default",
    "aten.logical_xor.default",
    "aten.lt.Scalar",
    "aten.lt.Tensor",
    "aten.masked_fill.Scalar",
    "aten.masked_fill.Tensor",
    "aten.masked_scatter.default",
    "aten.max.dim",
    "aten.max_pool3d_with_indices.default",
    "aten.min.dim",
    "aten.native_group_norm.default",
    "aten.ne.Scalar",
    "aten.ne.Tensor",
    "aten.new_zeros.default",
    "aten.nonzero.default",
    "aten.ones.default",
    "aten.pad.default",
    "aten.pow.Scalar",
    "aten.prod.default",
    "aten.prod.dim_int",
    "aten.reflection_pad1d.default",
    "aten.reflection_pad2d.default",
    "aten.reflection_pad3d.default",
    "aten.remainder.Scalar",
    "aten.remainder.Tensor",
    "aten.repeat.default",
    "aten.replication_pad2d.default",
    "aten.replication_pad3d.default",
    "aten.roll.default",
    "aten.scalar_tensor.default",
    "aten.scatter.src",
    "aten.scatter.value",
    "aten.scatter_add.default",
    "aten.scatter_reduce.two",
    "aten.select_scatter.default",
    "aten.slice_scatter.default",
    "aten.sort.default",
    "aten.swapaxes.default",
    "aten.sym_numel.default",
    "aten.topk.default",
    "aten.trunc.default",
    "aten.unbind.int",
    "aten.upsample_bilinear2d.vec",
    "aten.upsample_nearest2d.vec",
    "aten.var.dim",
    "aten.zeros.default",
];

/// Lowers a node whose target is in [`CORE_ATEN_OPS`].
pub(super) fn lower(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let op = c.op.as_str();
    let base = op
        .strip_prefix("aten.")
        .and_then(|s| s.rsplit_once('.'))
        .map_or(op, |(b, _)| b);
    if let Some(u) = elementwise::unary_op(base) {
        return unary(t, c, "self", u);
    }
    match base {
        "trunc" | "expm1" | "log2" | "log10" => elementwise::composite_unary(t, c, base),
        "elu" => elementwise::elu(t, c),
        "atan2" => elementwise::atan2(t, c),
        "eq" | "ne" | "lt" | "le" | "gt" | "ge" => elementwise::compare(t, c, base),
        "fmod" | "remainder" | "bitwise_and" | "bitwise_or" | "bitwise_xor" => {
            elementwise::binary(t, c, base)
        }
        "logical_and" | "logical_or" | "logical_xor" | "logical_not" => {
            elementwise::logical(t, c, base)
        }
        "bitwise_not" => elementwise::bitwise_not(t, c),
        "div" => elementwise::div_rounding(t, c),
        "clamp" => elementwise::clamp_tensor(t, c),
        "pow" => {
            // pow.Scalar: a Python number raised to a tensor.
            let x = operand(t, c, "self")?;
            let e = operand(t, c, "exponent")?;
            finish(t, c, Op::Pow {}, vec![Some(x), Some(e)])
        }
        "any" => reduce::any(t, c),
        "argmax" | "argmin" => reduce::arg_extreme(t, c, base == "argmax"),
        "prod" => reduce::prod(t, c),
        "cumsum" => reduce::cumsum(t, c),
        "max" | "min" => reduce::extreme_dim(t, c, base == "max"),
        "topk" => reduce::topk(t, c, false),
        "sort" => reduce::topk(t, c, true),
        "var" => reduce::var_dim(t, c),
        "unbind" => movement::unbind(t, c),
        "chunk" => movement::chunk(t, c),
        "roll" => movement::roll(t, c),
        "flip" => movement::flip(t, c),
        "repeat" => movement::repeat(t, c),
        "as_strided" => movement::as_strided(t, c),
        "diagonal" => movement::diagonal(t, c),
        "constant_pad_nd" => movement::pad(t, c, PadMode::Constant, "pad"),
        "reflection_pad1d" | "reflection_pad2d" | "reflection_pad3d" => {
            movement::pad(t, c, PadMode::Reflect, "padding")
        }
        "replication_pad2d" | "replication_pad3d" => movement::pad(t, c, PadMode::Edge, "padding"),
        "pad" => predispatch::pad(t, c),
        "swapaxes" => predispatch::swapaxes(t, c),
        "einsum" => predispatch::einsum(t, c),
        "masked_fill" => predispatch::masked_fill(t, c),
        "new_zeros" | "zeros" => predispatch::filled(t, c, 0.0),
        "ones" => predispatch::filled(t, c, 1.0),
        "gather" => index::gather(t, c),
        "slice_scatter" => index::slice_scatter(t, c, false),
        "select_scatter" => index::slice_scatter(t, c, true),
        "masked_scatter" => index::masked_scatter(t, c),
        "nonzero" => index::nonzero(t, c),
        "_cdist_forward" => distance::cdist(t, c),
        "_pdist_forward" => distance::pdist(t, c),
        "sym_numel" => super::symint::sym_numel(t, c),
        "index_select" => index::index_select(t, c),
        "index" => index::index(t, c),
        "index_put" => index::index_put(t, c),
        "scatter" | "scatter_add" | "scatter_reduce" => index::scatter(t, c, base),
        "upsample_nearest2d" => spatial::upsample(t, c, false),
        "upsample_bilinear2d" => spatial::upsample(t, c, true),
        "avg_pool3d" => spatial::avg_pool3d(t, c),
        "max_pool3d_with_indices" => spatial::max_pool3d(t, c),
        "_adaptive_avg_pool3d" => spatial::adaptive_avg_pool3d(t, c),
        "native_group_norm" => spatial::group_norm(t, c),
        // Inference form: the running statistics; training mode is refused there.
        "_native_batch_norm_legit" => super::nn::batch_norm(t, c),
        "arange" => generate::arange(t, c),
        "full" => generate::full(t, c),
        "full_like" => generate::full_like(t, c, "fill_value"),
        "fill" => generate::full_like(t, c, "value"),
        "scalar_tensor" => generate::scalar_tensor(t, c),
        "empty" | "empty_permuted" | "empty_strided" => generate::empty(t, c),
        "_to_copy" => generate::to_copy(t, c),
        "copy" => generate::copy(t, c),
        // What a `torch.tensor(...)` made in `forward` leaves in an export that was
        // not decomposed: copies of a lifted constant.
        "lift_fresh_copy" | "detach_" => unary(t, c, "self", Op::Identity {}),
        // Checks torch already made at export; they have no outputs.
        "_assert_tensor_metadata" | "_assert_scalar" => Ok(()),
        // The conditions of `_assert_scalar` on data-dependent sizes (`nonzero`'s
        // count): with the assertions dropped nothing reads them, so they bind
        // nothing, and any other use fails as an undefined name.
        "_operator.eq" | "_operator.ge" | "_operator.gt" | "_operator.le" | "_operator.lt" => {
            Ok(())
        }
        _ => Err(format!("no lowering for `{}`", c.op).into()),
    }
}

/// The element count of `dims`: negative sizes and counts past pare's tensor
/// limit are errors, never overflows or huge allocations.
pub(super) fn count(dims: &[i64]) -> R<i64> {
    let dims = dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| LowerError::from(format!("negative size {d}"))))
        .collect::<R<Vec<usize>>>()?;
    Ok(pare_ir::checked_count(&dims)? as i64)
}

/// `start + step·i`, or an error when it leaves i64.
pub(super) fn affine(start: i64, step: i64, i: i64) -> R<i64> {
    step.checked_mul(i)
        .and_then(|v| v.checked_add(start))
        .ok_or_else(|| format!("index {start} + {step}·{i} overflows").into())
}

/// The declared sizes of `name`, all of which must be concrete.
pub(super) fn static_sizes(t: &Translator<'_>, name: &str) -> R<Vec<i64>> {
    t.sizes(name)?
        .into_iter()
        .enumerate()
        .map(|(dim, d)| {
            d.ok_or_else(|| LowerError::SymbolicDim {
                name: name.to_string(),
                dim,
            })
        })
        .collect()
}

/// `x` reshaped to the constant `shape`, as a helper node.
pub(super) fn reshape_const(
    t: &mut Translator<'_>,
    c: &NodeCtx<'_>,
    suffix: &str,
    x: ValueId,
    shape: &[i64],
) -> R<ValueId> {
    let s = i64s(t, c, &format!("{suffix}_shape"), shape)?;
    tmp(
        t,
        c,
        suffix,
        Op::Reshape { allowzero: false },
        vec![Some(x), Some(s)],
    )
}
