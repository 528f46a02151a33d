//! A float constant stored as symmetric int8 codes behind a
//! `dequantize_linear`: the weight-only form shared by the weight-only schemes
//! and the recurrent ops that stay float inside the integer schemes.

use super::params::{first_non_finite, minmax_scale, quantize_weight_symmetric};
use crate::PassError;
use pare_ir::{DType, Graph, NodeId, Op, Tensor, TensorType, ValueId, Weight};

/// The int8 copy of a weight and the `dequantize_linear` that widens it.
pub struct Dequantized {
    pub node: NodeId,
    pub output: ValueId,
    /// Bytes of the int8 weight.
    pub bytes: u64,
    pub scales: Vec<f32>,
}

impl Dequantized {
    /// The smallest and largest per-channel scale.
    pub fn scale_range(&self) -> (f32, f32) {
        (
            self.scales.iter().copied().fold(f32::INFINITY, f32::min),
            self.scales.iter().copied().fold(0f32, f32::max),
        )
    }
}

/// Quantizes weight `wv` (values `t`, read by node `id`) to `bits` bits,
/// symmetric per slice along `axis`, and adds the int8 constant, its scales and
/// the `dequantize_linear` reading them. The caller rewires `id` to
/// [`Dequantized::output`] and schedules [`Dequantized::node`]. Errors (a
/// non-finite weight, named) are reported as pass `pass` on node `id`.
pub fn dequantized_weight(
    g: &mut Graph,
    id: NodeId,
    wv: ValueId,
    t: &Tensor,
    axis: usize,
    bits: u8,
    pass: &'static str,
) -> Result<Dequantized, PassError> {
    let err = |g: &Graph, msg: String| PassError::NodeMsg {
        pass,
        node: g.node(id).name.clone(),
        msg,
    };
    let name = g.value(wv).name.clone();
    if let Some((i, x)) = first_non_finite(&t.to_f32_vec()) {
        let msg = format!(
            "constant `{name}` holds {x} at element {i}: a weight must be finite to be quantized"
        );
        return Err(err(g, msg));
    }
    let (q, p) = quantize_weight_symmetric(t, Some(axis), bits, &minmax_scale);
    let dims: Vec<u64> = t.shape().iter().map(|&d| d as u64).collect();
    let mut ty = TensorType::fixed(DType::I8, &dims);
    ty.quant = Some(p.clone());
    let qw = Weight::with_type(ty, &q).map_err(|e| err(g, e.to_string()))?;
    let bytes = qw.bytes().len() as u64;
    let qv = g
        .add_weight(format!("{name}_q"), qw)
        .map_err(|e| err(g, e.to_string()))?;
    let scale = Tensor::from_vec(vec![p.scale.len()], p.scale.clone())
        .map_err(|e| err(g, e.to_string()))?;
    let sv = g
        .add_weight(format!("{name}_scale"), Weight::from_tensor(&scale))
        .map_err(|e| err(g, e.to_string()))?;
    let fty = TensorType::new(DType::F32, g.ty(wv).shape.clone());
    let (node, outs) = g
        .add_node(
            format!("{name}_dequantize"),
            Op::DequantizeLinear {
                axis: axis as i64,
                block_size: 0,
            },
            vec![Some(qv), Some(sv)],
            vec![(format!("{name}_dq"), fty)],
        )
        .map_err(|e| err(g, e.to_string()))?;
    Ok(Dequantized {
        node,
        output: outs[0],
        bytes,
        scales: p.scale,
    })
}

/// Stores the f32 constant weight in input `slot` of compute node `id` as
/// `bits`-bit codes per slice along `axis` (see [`dequantized_weight`]),
/// rewires `id` to the widened value and pushes the dequantize node onto
/// `order` (the caller pushes `id` after it). Returns it with the float
/// weight's bytes; `None` when the slot holds no f32 constant.
pub fn widen_weight_input(
    g: &mut Graph,
    id: NodeId,
    slot: usize,
    axis: usize,
    bits: u8,
    order: &mut Vec<NodeId>,
    pass: &'static str,
) -> Result<Option<(Dequantized, u64)>, PassError> {
    let Some(wv) = g.node(id).inputs.get(slot).copied().flatten() else {
        return Ok(None);
    };
    let Some(w) = g
        .weight_of(wv)
        .filter(|w| w.ty.dtype == DType::F32 && w.ty.quant.is_none())
    else {
        return Ok(None);
    };
    let before = w.stored_len() as u64;
    let t = w.tensor().map_err(|e| PassError::NodeMsg {
        pass,
        node: g.node(id).name.clone(),
        msg: e.to_string(),
    })?;
    let dq = dequantized_weight(g, id, wv, &t, axis, bits, pass)?;
    order.push(dq.node);
    g.node_mut(id).inputs[slot] = Some(dq.output);
    Ok(Some((dq, before)))
}
