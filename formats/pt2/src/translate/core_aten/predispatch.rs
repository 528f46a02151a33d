//! Pre-dispatch forms (`torch.export.export` without decomposition) that real
//! models hold and that map directly: `swapaxes` (MaxViT), `einsum`, `pad`,
//! `masked_fill` and `new_zeros` (Swin's shifted-window mask), `zeros`, `ones`.
//! In-place writes into views (`fill_` after `slice`, as `mask[a:b] = v` exports)
//! are not among them: they change the tensor viewed, which a functional lowering
//! would miss; `ep.run_decompositions()` turns them into `slice_scatter`, which maps.

use super::super::args::NodeCtx;
use super::super::emit::*;
use super::super::Translator;
use super::generate;
use pare_ir::ops::PadMode;
use pare_ir::Op;

/// `swapaxes(self, axis0, axis1)`: a Transpose swapping two axes.
pub(super) fn swapaxes(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let name = c.tensor("self")?;
    let rank = t.sizes(name)?.len() as i64;
    let a = norm(c.int("axis0", None)?, rank.max(1))?;
    let b = norm(c.int("axis1", None)?, rank.max(1))?;
    let mut perm: Vec<i64> = (0..rank).collect();
    perm.swap(a as usize, b as usize);
    unary(t, c, "self", Op::Transpose { perm: Some(perm) })
}

/// `einsum(equation, tensors, path?)`: the contraction path is only a schedule.
pub(super) fn einsum(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let equation = c.string("equation", "")?;
    if equation.is_empty() {
        return Err("einsum without an equation".into());
    }
    let inputs = c
        .tensors("tensors")?
        .iter()
        .map(|n| t.value(n).map(Some))
        .collect::<R<Vec<_>>>()?;
    finish(t, c, Op::Einsum { equation }, inputs)
}

/// `pad(self, pad, mode, value)`: `constant`, `reflect`, `replicate`, `circular`.
pub(super) fn pad(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let mode = match c.string("mode", "constant")?.as_str() {
        "constant" => PadMode::Constant,
        "reflect" => PadMode::Reflect,
        "replicate" => PadMode::Edge,
        "circular" => PadMode::Wrap,
        other => return Err(format!("unknown pad mode `{other}`").into()),
    };
    super::movement::pad(t, c, mode, "pad")
}

/// `masked_fill(self, mask, value)` (Scalar or 0-d Tensor value): Where.
pub(super) fn masked_fill(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let x = t.value(c.tensor("self")?)?;
    let mask = t.value(c.tensor("mask")?)?;
    let v = operand(t, c, "value")?;
    finish(t, c, Op::Where {}, vec![Some(mask), Some(v), Some(x)])
}

/// `new_zeros(self, size)`, `zeros(size)`, `ones(size)`: filled tensors of the
/// output's dtype.
pub(super) fn filled(t: &mut Translator<'_>, c: &NodeCtx<'_>, value: f64) -> R<()> {
    generate::full_value(t, c, value)
}
