//! Table-driven lowering of the ATen targets the op table lists for an op
//! (`pare_ir::ops::OpInfo::aten`): the target's leading arguments, in schema order,
//! become the inputs of the op's attribute-free form — one tensor for a unary op,
//! two operands (tensors or Python scalars, promoted to the output's dtype) for a
//! binary one.

use super::args::NodeCtx;
use super::emit::{finish, operand, R};
use super::Translator;
use pare_ir::ops::Category;
use pare_ir::Op;

/// The op that target `target` (without `torch.ops.`) maps onto, if the op table
/// lists it.
pub(crate) fn op_for(target: &str) -> Option<Op> {
    let (name, _) = pare_ir::ops::by_aten_target(target)?;
    Op::bare(name)
}

/// Lowers node `c` to `op` (from [`op_for`]).
pub(super) fn lower(t: &mut Translator<'_>, c: &NodeCtx<'_>, op: Op) -> R<()> {
    let operands = match op.info().category {
        Category::Unary(_) | Category::UnaryTest(_) => 1,
        _ => 2,
    };
    let args: Vec<&str> = c
        .node
        .inputs
        .iter()
        .take(operands)
        .map(|a| a.name.as_str())
        .collect();
    if args.len() < operands {
        return Err(format!(
            "expects {operands} operands for `{}`, got {}",
            op.name(),
            args.len()
        )
        .into());
    }
    let inputs = if operands == 1 {
        vec![Some(t.value(c.tensor(args[0])?)?)]
    } else {
        args.iter()
            .map(|a| operand(t, c, a).map(Some))
            .collect::<R<Vec<_>>>()?
    };
    finish(t, c, op, inputs)
}
