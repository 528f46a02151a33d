//! `fold-constants`: evaluates nodes whose inputs are all weights with the
//! reference interpreter and replaces their outputs by weights (keeping the
//! outputs' names).
//!
//! Not folded:
//! * quantize/dequantize ops: a `DequantizeLinear` of an int8 weight is how QDQ
//!   models carry quantized weights; folding it would silently de-quantize them.
//! * nodes whose result would exceed `fold_size_limit` bytes while being larger
//!   than their inputs (`ConstantOfShape`, `Expand`, `Tile` can turn a few bytes
//!   into megabytes that are cheaper to compute at run time than to store).

use crate::util::{replace_with_weight, weight_tensor};
use crate::{Changed, Pass, PassCx, PassError};
use pare_ir::{Graph, NodeId, Op, Tensor};

#[derive(Debug, Default)]
pub struct FoldConstants;

impl Pass for FoldConstants {
    fn name(&self) -> &'static str {
        "fold-constants"
    }

    fn run(&mut self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        // Nodes are visited in order, so a chain of constant nodes folds in one
        // run: each fold turns the next node's input into a weight.
        let order: Vec<NodeId> = g.order().to_vec();
        let mut folded = 0;
        for id in order {
            if self.try_fold(g, id, cx)? {
                folded += 1;
            }
        }
        if folded == 0 {
            return Ok(Changed::No);
        }
        cx.note(self.name(), format!("constant nodes folded: {folded}"));
        Ok(Changed::Yes)
    }
}

impl FoldConstants {
    fn try_fold(&self, g: &mut Graph, id: NodeId, cx: &mut PassCx) -> Result<bool, PassError> {
        let limit = cx.options.fold_size_limit;
        let node = g.node(id);
        if is_quantization(&node.op) || node.outputs.is_empty() {
            return Ok(false);
        }
        if node.present_inputs().any(|v| g.weight_of(v).is_none()) {
            return Ok(false);
        }
        let in_bytes: usize = node.present_inputs().map(|v| weight_bytes(g, v)).sum();
        let budget = limit.max(in_bytes);
        // Check the declared output sizes first so a huge result is never built.
        let declared: Option<usize> = node
            .outputs
            .iter()
            .map(|&o| {
                let ty = g.ty(o);
                ty.num_elements()
                    .map(|n| (n as usize).saturating_mul(ty.dtype.size_bytes()))
            })
            .sum();
        if declared.is_some_and(|b| b > budget) {
            return Ok(false);
        }

        let mut inputs: Vec<Option<Tensor>> = Vec::with_capacity(node.inputs.len());
        for v in &node.inputs {
            inputs.push(match v {
                Some(v) => match weight_tensor(g, *v) {
                    Some(t) => Some(t.map_err(|e| PassError::node(self.name(), g, id, e))?),
                    None => return Ok(false),
                },
                None => None,
            });
        }
        let refs: Vec<Option<&Tensor>> = inputs.iter().map(Option::as_ref).collect();
        // Folding is an optimization: a node the interpreter cannot evaluate
        // (no kernel yet, or inputs it rejects) stays for the runtime to compute,
        // and the reason goes to the log.
        let results = match pare_ir::interp::eval_op(&node.op, &refs, node.outputs.len()) {
            Ok(r) => r,
            Err(e) => {
                let msg = format!("kept {}: {e}", crate::pass::node_label(g, id));
                cx.note(self.name(), msg);
                return Ok(false);
            }
        };
        let out_bytes: usize = results
            .iter()
            .map(|t| t.len() * t.dtype().size_bytes())
            .sum();
        if out_bytes > budget {
            return Ok(false);
        }
        let outputs = node.outputs.clone();
        if results.len() != outputs.len() {
            return Err(PassError::node_msg(
                self.name(),
                g,
                id,
                format!(
                    "interpreter produced {} outputs, node has {}",
                    results.len(),
                    outputs.len()
                ),
            ));
        }
        for (&o, t) in outputs.iter().zip(&results) {
            let ty = g.ty(o);
            let shape_ok = ty.fixed_shape().is_none_or(|s| {
                s.len() == t.rank() && s.iter().zip(t.shape()).all(|(&a, &b)| a as usize == b)
            });
            if ty.dtype != t.dtype() || !shape_ok {
                return Err(PassError::node_msg(
                    self.name(),
                    g,
                    id,
                    format!(
                        "folded value `{}` is {}{:?} but its type is {ty}",
                        g.value(o).name,
                        t.dtype(),
                        t.shape()
                    ),
                ));
            }
            replace_with_weight(g, o, t).map_err(|e| PassError::node(self.name(), g, id, e))?;
        }
        g.remove_node(id);
        Ok(true)
    }
}

fn is_quantization(op: &Op) -> bool {
    matches!(
        op,
        Op::QuantizeLinear { .. } | Op::DequantizeLinear { .. } | Op::DynamicQuantizeLinear {}
    )
}

fn weight_bytes(g: &Graph, v: pare_ir::ValueId) -> usize {
    g.weight_of(v).map_or(0, |w| w.stored_len())
}
