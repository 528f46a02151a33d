//! Drops activations that quantization made no-ops: when a producer's output
//! saturates exactly where its Relu/Clip clips (the planner gives both the
//! activation's range), the activation's lookup table maps every code to itself,
//! and the node can go — exactly, code for code, like TFLite's fused activations.

use pare_ir::quant::{is_lut_op, qrange, unary_lut};
use pare_ir::{Graph, NodeId, Tensor};

/// Removes every quantized element-wise node whose table is the identity;
/// returns the removed nodes' names.
pub fn fold_identity_luts(g: &mut Graph) -> Vec<String> {
    let mut removed = Vec::new();
    for id in g.order().to_vec() {
        if is_identity_lut(g, id) {
            let n = g.node(id);
            let (Some(x), y) = (n.inputs[0], n.outputs[0]) else {
                continue;
            };
            removed.push(n.name.clone());
            g.remove_node(id);
            g.replace_all_uses(y, x);
        }
    }
    removed
}

fn is_identity_lut(g: &Graph, id: NodeId) -> bool {
    let n = g.node(id);
    if !is_lut_op(&n.op) || n.outputs.len() != 1 {
        return false;
    }
    let Some(x) = n.inputs.first().copied().flatten() else {
        return false;
    };
    let (Some(qi), Some(qo)) = (&g.ty(x).quant, &g.ty(n.outputs[0]).quant) else {
        return false;
    };
    if qi != qo || g.ty(x).dtype != g.ty(n.outputs[0]).dtype || g.outputs.contains(&n.outputs[0]) {
        return false;
    }
    // The table's constants (Clip's bounds) must be weights.
    let aux: Option<Vec<Option<Tensor>>> = n.inputs[1..]
        .iter()
        .map(|i| match i {
            None => Some(None),
            Some(v) => g.weight_of(*v).and_then(|w| w.tensor().ok()).map(Some),
        })
        .collect();
    let Some(aux) = aux else { return false };
    let aux_refs: Vec<Option<&Tensor>> = aux.iter().map(Option::as_ref).collect();
    let Ok(table) = unary_lut(&n.op, qi, qo, &aux_refs) else {
        return false;
    };
    let (lo, _) = qrange(qi);
    table.iter().enumerate().all(|(i, &c)| c == lo + i as i32)
}
