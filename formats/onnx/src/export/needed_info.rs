//! Which intermediate values get a `value_info` entry: those whose type a re-import's
//! shape inference alone would not give back (symbol names from the source model, such
//! as onnxsim's `unk__N`, or sizes inference cannot prove). Types inference recovers
//! are left out: they would only make the artifact bigger.

use pare_ir::{Graph, TensorType, ValueId};
use std::collections::HashSet;

/// Node outputs (graph outputs aside: they are declared anyway) whose type differs when
/// the graph's shape inference starts from placeholders, as a re-import without
/// `value_info` does. When inference fails on the copy, every node output is listed.
pub(super) fn values_needing_info(g: &Graph) -> HashSet<ValueId> {
    let outputs: HashSet<ValueId> = g.outputs.iter().copied().collect();
    let intermediate: Vec<ValueId> = g
        .nodes()
        .flat_map(|(_, n)| n.outputs.iter().copied())
        .filter(|v| !outputs.contains(v))
        .collect();
    let mut fresh = g.clone();
    for &v in &intermediate {
        // A rank-0 placeholder differs in rank from what inference finds, so inference
        // wins (the importer types undeclared node outputs the same way).
        fresh.value_mut(v).ty = TensorType::scalar(g.ty(v).dtype);
    }
    if pare_ir::infer::infer_graph(&mut fresh).is_err() {
        return intermediate.into_iter().collect();
    }
    intermediate
        .into_iter()
        .filter(|&v| fresh.ty(v) != g.ty(v))
        .collect()
}
