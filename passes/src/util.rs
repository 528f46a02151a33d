//! Helpers shared by passes: weight access, replacing values by weights, and the
//! re-inference / verification calls the manager makes after each change.

use crate::PassError;
use pare_ir::{Graph, IrError, Tensor, ValueDef, ValueId, Weight};

/// The tensor behind `v` when `v` is a weight value.
pub(crate) fn weight_tensor(g: &Graph, v: ValueId) -> Option<Result<Tensor, IrError>> {
    g.weight_of(v).map(Weight::tensor)
}

pub(crate) fn is_weight(g: &Graph, v: ValueId) -> bool {
    matches!(g.value(v).def, ValueDef::Weight(_))
}

pub(crate) fn is_graph_input(g: &Graph, v: ValueId) -> bool {
    g.inputs.contains(&v)
}

pub(crate) fn is_graph_output(g: &Graph, v: ValueId) -> bool {
    g.outputs.contains(&v)
}

/// Adds `t` as a new weight value named `name`.
pub(crate) fn add_tensor_weight(
    g: &mut Graph,
    name: impl Into<String>,
    t: &Tensor,
) -> Result<ValueId, IrError> {
    g.add_weight(name, Weight::from_tensor(t))
}

/// Replaces every use of `old` by a new weight holding `t`. The weight takes over
/// `old`'s name (and quantization parameters) so graph outputs and anything
/// keyed by name keep working; `old` is left nameless and unused.
pub(crate) fn replace_with_weight(
    g: &mut Graph,
    old: ValueId,
    t: &Tensor,
) -> Result<ValueId, IrError> {
    let mut w = Weight::from_tensor(t);
    w.ty.quant = g.ty(old).quant.clone();
    let name = std::mem::take(&mut g.value_mut(old).name);
    let new = g.add_weight(name, w)?;
    g.replace_all_uses(old, new);
    Ok(new)
}

/// Recomputes all types after `pass` changed the graph.
pub(crate) fn reinfer(g: &mut Graph, pass: &str) -> Result<(), PassError> {
    pare_ir::infer::infer_graph(g).map_err(|e| PassError::Infer {
        pass: pass.to_string(),
        source: e,
    })
}

/// Runs the IR verifier, blaming `pass` on failure.
pub(crate) fn verify(g: &Graph, pass: &str) -> Result<(), PassError> {
    pare_ir::verify::verify(g).map_err(|e| PassError::Verify {
        pass: pass.to_string(),
        source: e,
    })
}
