//! `remove-identity`: removes `Identity` and inference-mode `Dropout` nodes,
//! and `Reshape`/`Expand` nodes that leave their input as it is, by pointing
//! their users at their input.
//!
//! A reshape or expand is a no-op when its output has its input's dtype,
//! quantization and shape (symbolic dims by the same symbol), or when its
//! constant target provably keeps the input's shape (TF exporters write
//! `BroadcastTo` to the shape a value already has).
//!
//! `Max(x, −∞)` and `Min(x, +∞)` (a constant of infinities that broadcasting
//! does not widen `x` by) are `x` too: JAX's stable softmax writes
//! `max(-inf, reduce_max(x))`, which hides the max subtraction from
//! `fuse-softmax`.
//!
//! Graph outputs keep their names: when a removed node's output is a graph
//! output, its input takes over the output's name, unless the input is itself a
//! graph input, another graph output or a weight (renaming those would change the
//! model's interface or a shared initializer), or the input's type differs
//! from the output's, in which case the node stays.
//! A Dropout whose mask output is used is kept, except when the mask's shape is
//! fully known: then the mask becomes a constant all-true weight.

use super::shape_target::is_noop_shape_op;
use crate::util::{is_graph_input, is_graph_output, is_weight, replace_with_weight};
use crate::{Changed, Pass, PassCx, PassError};
use pare_ir::{checked_count, Graph, NodeId, Op, Tensor};

#[derive(Debug, Default)]
pub struct RemoveIdentity;

impl Pass for RemoveIdentity {
    fn name(&self) -> &'static str {
        "remove-identity"
    }

    fn run(&mut self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        let candidates: Vec<NodeId> = g
            .nodes()
            .filter(|&(id, _)| kept_input(g, id).is_some())
            .map(|(id, _)| id)
            .collect();
        let mut removed = 0;
        for id in candidates {
            if self.try_remove(g, id)? {
                removed += 1;
            }
        }
        if removed == 0 {
            return Ok(Changed::No);
        }
        cx.note(
            self.name(),
            format!("identity-like nodes removed: {removed}"),
        );
        Ok(Changed::Yes)
    }
}

/// The input a removable node passes through unchanged.
fn kept_input(g: &Graph, id: NodeId) -> Option<pare_ir::ValueId> {
    let n = g.node(id);
    if n.op.is_identity_like() || is_noop_shape_op(g, id) {
        return n.input(0);
    }
    let neutral = match n.op {
        Op::Max {} => f64::NEG_INFINITY,
        Op::Min {} => f64::INFINITY,
        _ => return None,
    };
    let [Some(a), Some(b)] = n.inputs[..] else {
        return None;
    };
    let is_neutral = |v| {
        g.weight_of(v)
            .and_then(|w| w.tensor().ok())
            .is_some_and(|t| !t.is_empty() && t.to_f64_vec().iter().all(|&e| e == neutral))
    };
    let y = *n.outputs.first()?;
    [(a, b), (b, a)]
        .into_iter()
        .find(|&(x, c)| is_neutral(c) && !is_neutral(x) && g.ty(x) == g.ty(y))
        .map(|(x, _)| x)
}

impl RemoveIdentity {
    fn try_remove(&self, g: &mut Graph, id: NodeId) -> Result<bool, PassError> {
        let node = g.node(id);
        let (Some(x), Some(&y)) = (kept_input(g, id), node.outputs.first()) else {
            return Ok(false);
        };
        let mask = match node.op {
            Op::Dropout {} => node.outputs.get(1).copied(),
            _ => None,
        };
        let y_is_output = is_graph_output(g, y);
        if y_is_output && (is_graph_input(g, x) || is_graph_output(g, x) || is_weight(g, x)) {
            return Ok(false);
        }
        // A no-op reshape may declare its output with other symbols than its
        // input has; as a graph output that type is the model's interface.
        if y_is_output && g.ty(x) != g.ty(y) {
            return Ok(false);
        }
        if let Some(m) = mask {
            let used = g.nodes().any(|(_, n)| n.present_inputs().any(|i| i == m));
            if used || is_graph_output(g, m) {
                // Inference-mode dropout keeps every element: the mask is all true.
                let Some(shape) = g.ty(m).fixed_shape() else {
                    return Ok(false);
                };
                let shape: Vec<usize> = shape.iter().map(|&d| d as usize).collect();
                let t = checked_count(&shape)
                    .and_then(|n| Tensor::from_vec(shape, vec![true; n]))
                    .map_err(|e| PassError::node(self.name(), g, id, e))?;
                replace_with_weight(g, m, &t)
                    .map_err(|e| PassError::node(self.name(), g, id, e))?;
            }
        }
        if y_is_output {
            // `x` is an intermediate value used only inside the graph: it can take
            // the output's name without changing the model's interface.
            let name = std::mem::take(&mut g.value_mut(y).name);
            g.value_mut(x).name = name;
        }
        g.replace_all_uses(y, x);
        g.remove_node(id);
        Ok(true)
    }
}
