//! fp16 weights: every f32 weight with more than one element is stored as f16
//! and widened by a `cast` before its first use, halving the artifact while the
//! arithmetic stays f32 (what TFLite's float16 quantization and ORT's
//! `convert_float_to_float16(keep_io_types=True)` produce).

use super::report::{LayerRecord, LayerStatus};
use crate::PassError;
use pare_ir::{DType, Graph, NodeId, Op, TensorType, ValueId, Weight};
use std::collections::BTreeMap;

/// Converts `g`'s float weights to f16; returns one record per converted weight
/// user.
pub fn weights_to_fp16(g: &mut Graph) -> Result<Vec<LayerRecord>, PassError> {
    let order = g.order().to_vec();
    let mut widened: BTreeMap<ValueId, ValueId> = BTreeMap::new();
    let mut new_order = Vec::with_capacity(order.len() * 2);
    let mut records = Vec::new();
    for id in order {
        let mut before = 0u64;
        let mut after = 0u64;
        for slot in 0..g.node(id).inputs.len() {
            let Some(v) = g.node(id).inputs[slot] else {
                continue;
            };
            let Some(w) = g.weight_of(v) else { continue };
            if w.ty.dtype != DType::F32 || w.ty.num_elements().is_none_or(|n| n <= 1) {
                continue;
            }
            if let Some(&c) = widened.get(&v) {
                g.node_mut(id).inputs[slot] = Some(c);
                continue;
            }
            before += w.stored_len() as u64;
            let t = w.tensor().map_err(|e| err(g, id, e.to_string()))?;
            let half = t.cast(DType::F16);
            let name = g.value(v).name.clone();
            let hv = g
                .add_weight(format!("{name}_f16"), Weight::from_tensor(&half))
                .map_err(|e| err(g, id, e.to_string()))?;
            after += g.weight_of(hv).map_or(0, |w| w.stored_len() as u64);
            let ty = TensorType::new(DType::F32, g.ty(v).shape.clone());
            let (cid, outs) = g
                .add_node(
                    format!("{name}_widen"),
                    Op::Cast { to: DType::F32 },
                    vec![Some(hv)],
                    vec![(format!("{name}_f32"), ty)],
                )
                .map_err(|e| err(g, id, e.to_string()))?;
            new_order.push(cid);
            widened.insert(v, outs[0]);
            g.node_mut(id).inputs[slot] = Some(outs[0]);
        }
        new_order.push(id);
        if before > 0 {
            let n = g.node(id);
            records.push(LayerRecord {
                node: n.name.clone(),
                op: n.op.name(),
                status: LayerStatus::Fp16,
                weight_bits: Some(16),
                weight_bytes_before: before,
                weight_bytes_after: after,
                weight_scale_range: None,
                output_scale: None,
                output_zero_point: None,
            });
        }
    }
    g.set_order(new_order);
    Ok(records)
}

fn err(g: &Graph, id: NodeId, msg: String) -> PassError {
    PassError::NodeMsg {
        pass: "quantize-fp16",
        node: g.node(id).name.clone(),
        msg,
    }
}
