//! Weight-only quantization: each compute op's constant weight is stored as
//! int8 or packed int4 (symmetric, per output channel) and widened by a
//! `dequantize_linear` before the op, which keeps float activations. No
//! calibration data is needed; the artifact shrinks like int8/int4 and the
//! arithmetic stays float (what ORT's weight-only and TFLite's dynamic-range
//! modes give users whose hardware has an FPU).

use super::recurrent::{is_recurrent, widen_node};
use super::report::{LayerRecord, LayerStatus};
use super::support::{classify, OpClass};
use super::widen::widen_weight_input;
use crate::PassError;
use pare_ir::{DType, Graph, NodeId};

/// Quantizes the weights of `g`'s compute ops to `bits` (8 or 4); returns one
/// record per node (compute ops `Int8`-style weight rows, others float).
pub fn quantize_weights_only(g: &mut Graph, bits: u8) -> Result<Vec<LayerRecord>, PassError> {
    let order = g.order().to_vec();
    let mut new_order = Vec::with_capacity(order.len() * 2);
    let mut records = Vec::with_capacity(order.len());
    for id in order {
        let class = classify(g, g.node(id));
        let (weight, axis) = match class {
            Ok(OpClass::Compute { weight, axis, .. }) => (weight, axis),
            _ if is_recurrent(&g.node(id).op) => {
                // W and R int8 per gate row whatever `bits` (no 4-bit
                // recurrent weights: the gates' sums are too sensitive).
                let mut record = float_record(g, id, "its W and R are not f32 constants".into());
                widen_node(g, id, &mut new_order)?.record(&mut record, LayerStatus::WeightOnly);
                new_order.push(id);
                records.push(record);
                continue;
            }
            other => {
                new_order.push(id);
                let reason = match other {
                    Err(why) => why,
                    Ok(_) => "weight-only quantization leaves ops without weights float".into(),
                };
                records.push(float_record(g, id, reason));
                continue;
            }
        };
        let Some(wv) = g.node(id).inputs[weight] else {
            new_order.push(id);
            continue;
        };
        let w = g
            .weight_of(wv)
            .ok_or_else(|| err(g, id, "weight is not a constant"))?;
        if w.ty.dtype != DType::F32 {
            new_order.push(id);
            records.push(float_record(
                g,
                id,
                format!("weight is {}, not f32", w.ty.dtype),
            ));
            continue;
        }
        let Some((dq, before)) = widen_weight_input(
            g,
            id,
            weight,
            axis,
            bits,
            &mut new_order,
            "quantize-weights",
        )?
        else {
            return Err(err(g, id, "weight is not an f32 constant"));
        };
        new_order.push(id);
        let n = g.node(id);
        records.push(LayerRecord {
            node: n.name.clone(),
            op: n.op.name(),
            status: LayerStatus::WeightOnly,
            weight_bits: Some(bits),
            weight_bytes_before: before,
            weight_bytes_after: dq.bytes,
            weight_scale_range: Some(dq.scale_range()),
            output_scale: None,
            output_zero_point: None,
        });
    }
    g.set_order(new_order);
    g.compact();
    Ok(records)
}

fn float_record(g: &Graph, id: NodeId, reason: String) -> LayerRecord {
    let n = g.node(id);
    LayerRecord {
        node: n.name.clone(),
        op: n.op.name(),
        status: LayerStatus::Float(reason),
        weight_bits: None,
        weight_bytes_before: 0,
        weight_bytes_after: 0,
        weight_scale_range: None,
        output_scale: None,
        output_zero_point: None,
    }
}

fn err(g: &Graph, id: NodeId, msg: &str) -> PassError {
    PassError::NodeMsg {
        pass: "quantize-weights",
        node: g.node(id).name.clone(),
        msg: msg.to_string(),
    }
}
