//! Applying a [`Plan`]: quantized nodes get integer types, constant weights and
//! int32 biases; one `quantize_linear` enters the integer domain per float value
//! a quantized node reads, one `dequantize_linear` leaves it per integer value a
//! float node (or the graph's output) reads.

use super::params::{
    accumulator_headroom, first_non_finite, min_weight_scale, quantize_bias, quantize_constant,
    quantize_weight_floored, QDTYPE,
};
use super::plan::{Decision, Plan};
use super::recurrent::{is_recurrent, widen_node, RECURRENT_REASON};
use super::report::{LayerRecord, LayerStatus};
use super::support::{classify, per_output_scales, OpClass};
use super::widen::{widen_weight_input, Dequantized};
use crate::PassError;
use pare_ir::{DType, Graph, NodeId, Op, QParams, Tensor, TensorType, ValueId, Weight};
use std::collections::BTreeMap;

/// How constant weights of compute ops are quantized.
pub struct WeightOptions<'a> {
    /// Bits for the weight of each quantized compute node (8, or 4 for int4).
    pub bits_of: &'a dyn Fn(NodeId) -> u8,
    /// Chooses one channel's symmetric scale from its values and bit width.
    pub scale_of: &'a dyn Fn(&[f32], u8) -> f32,
}

impl std::fmt::Debug for WeightOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeightOptions").finish_non_exhaustive()
    }
}

const PASS: &str = "quantize";

/// Rewrites `g` as `plan` says; returns one record per node, in order.
pub fn apply(
    g: &mut Graph,
    plan: &Plan,
    wopts: &WeightOptions,
) -> Result<Vec<LayerRecord>, PassError> {
    let order = g.order().to_vec();
    let mut rw = Rewriter {
        new_order: Vec::with_capacity(order.len() * 2),
        q_of: BTreeMap::new(),
        dq_of: BTreeMap::new(),
    };
    let mut records = Vec::with_capacity(order.len());
    for id in order {
        let record = match plan.decisions.get(&id) {
            Some(Decision::Int(class)) => rw.quantize_node(g, plan, wopts, id, class)?,
            Some(Decision::Float(reason)) if is_recurrent(&g.node(id).op) => {
                // The op stays float; its W and R are stored int8 all the same.
                let mut record = float_record(g, id, reason);
                let widened = widen_node(g, id, &mut rw.new_order)?;
                rw.leave_float(g, plan, id)?;
                widened.record(&mut record, LayerStatus::Float(RECURRENT_REASON.into()));
                record
            }
            Some(Decision::Float(reason)) if plan.islands.contains(&id) => {
                // A float island keeps its activations float; its weights
                // lose far less in int8 (per channel) and shrink 4×.
                let mut record = float_record(g, id, reason);
                if let Some((dq, before)) = widen_compute_weight(g, id, &mut rw.new_order)? {
                    record.weight_bits = Some(8);
                    record.weight_bytes_after = record.weight_bytes_before - before + dq.bytes;
                    record.weight_scale_range = Some(dq.scale_range());
                    if let LayerStatus::Float(why) = &mut record.status {
                        if !why.is_empty() {
                            why.push_str(ISLAND_WEIGHTS);
                        }
                    }
                }
                rw.leave_float(g, plan, id)?;
                record
            }
            Some(Decision::Float(reason)) => {
                rw.leave_float(g, plan, id)?;
                float_record(g, id, reason)
            }
            None => {
                rw.new_order.push(id);
                float_record(g, id, "not planned")
            }
        };
        records.push(record);
    }
    // Graph outputs are float: the dequantized value takes over the output's name.
    for k in 0..g.outputs.len() {
        let o = g.outputs[k];
        if plan.int_values.contains_key(&o) {
            let name = std::mem::take(&mut g.value_mut(o).name);
            g.value_mut(o).name = format!("{name}_quantized");
            let f = rw.dequantize(g, o, name)?;
            g.outputs[k] = f;
        }
    }
    g.set_order(rw.new_order);
    Ok(records)
}

struct Rewriter {
    new_order: Vec<NodeId>,
    /// Float value → its quantize_linear output.
    q_of: BTreeMap<ValueId, ValueId>,
    /// Integer value → its dequantize_linear output.
    dq_of: BTreeMap<ValueId, ValueId>,
}

impl Rewriter {
    fn quantize_node(
        &mut self,
        g: &mut Graph,
        plan: &Plan,
        wopts: &WeightOptions,
        id: NodeId,
        class: &OpClass,
    ) -> Result<LayerRecord, PassError> {
        let data = class.data_inputs(g.node(id));
        let floors = weight_floors(g, plan, id, class, (wopts.bits_of)(id))?;
        let mut weight_before = 0u64;
        let mut weight_after = 0u64;
        let mut weight_scales: Option<Vec<f32>> = None;
        let mut weight_bits = None;
        for &slot in &data {
            let Some(v) = g.node(id).inputs[slot] else {
                continue;
            };
            if plan.int_values.contains_key(&v) {
                continue;
            }
            if let Some(w) = g.weight_of(v) {
                weight_before += w.stored_len() as u64;
                let t = w.tensor().map_err(|e| node_err(g, id, e))?;
                check_finite(g, id, v, &t.to_f32_vec())?;
                let (q, params) = match class {
                    OpClass::Compute { weight, axis, .. } if *weight == slot => {
                        let bits = (wopts.bits_of)(id);
                        weight_bits = Some(bits);
                        let floor_of = |c: usize| floors.as_ref().and_then(|f| f.get(c).copied());
                        let (q, p) = quantize_weight_floored(
                            &t,
                            Some(*axis),
                            bits,
                            wopts.scale_of,
                            &floor_of,
                        );
                        weight_scales = Some(p.scale.clone());
                        (q, p)
                    }
                    _ => quantize_constant(&t, 8),
                };
                let name = format!("{}_q", g.value(v).name);
                let nv =
                    add_quantized_weight(g, name, &q, params).map_err(|e| node_err(g, id, e))?;
                weight_after += g.weight_of(nv).map_or(0, |w| w.stored_len() as u64);
                g.node_mut(id).inputs[slot] = Some(nv);
            } else {
                let q = self.quantize(g, plan, v)?;
                g.node_mut(id).inputs[slot] = Some(q);
            }
        }
        if let OpClass::Compute {
            data: x,
            bias: Some(b),
            ..
        } = class
        {
            let (Some(bv), Some(xv)) = (g.node(id).inputs[*b], g.node(id).inputs[*x]) else {
                return Err(node_msg(g, id, "bias or data input vanished"));
            };
            let sx = g.ty(xv).quant.as_ref().map(|q| q.scale[0]);
            let (Some(sx), Some(sw)) = (sx, weight_scales.as_ref()) else {
                return Err(node_msg(g, id, "no scales for the bias"));
            };
            let w = g
                .weight_of(bv)
                .ok_or_else(|| node_msg(g, id, "bias is not a constant"))?;
            weight_before += w.stored_len() as u64;
            let vals = w.tensor().map_err(|e| node_err(g, id, e))?.to_f32_vec();
            check_finite(g, id, bv, &vals)?;
            // One weight scale per bias value (ConvTranspose's repeat per group).
            let sw = per_output_scales(&g.node(id).op, sw, vals.len()).ok_or_else(|| {
                node_msg(
                    g,
                    id,
                    &format!(
                        "bias has {} values for a weight with {} channel scales",
                        vals.len(),
                        sw.len()
                    ),
                )
            })?;
            let (q, p) = quantize_bias(&vals, sx, &sw);
            let name = g.value(bv).name.clone();
            let nv = add_quantized_weight(g, name, &q, p).map_err(|e| node_err(g, id, e))?;
            weight_after += g.weight_of(nv).map_or(0, |w| w.stored_len() as u64);
            g.node_mut(id).inputs[*b] = Some(nv);
        }
        let outputs = g.node(id).outputs.clone();
        for o in &outputs {
            let p = plan
                .int_values
                .get(o)
                .ok_or_else(|| node_msg(g, id, "output has no planned parameters"))?;
            let ty = &mut g.value_mut(*o).ty;
            ty.dtype = QDTYPE;
            ty.quant = Some(p.clone());
        }
        self.new_order.push(id);
        let n = g.node(id);
        let out_q = g.ty(outputs[0]).quant.clone();
        Ok(LayerRecord {
            node: n.name.clone(),
            op: n.op.name(),
            status: LayerStatus::Int8,
            weight_bits,
            weight_bytes_before: weight_before,
            weight_bytes_after: weight_after,
            weight_scale_range: weight_scales.map(|s| {
                let lo = s.iter().copied().fold(f32::INFINITY, f32::min);
                let hi = s.iter().copied().fold(0f32, f32::max);
                (lo, hi)
            }),
            output_scale: out_q.as_ref().map(|q| q.scale[0]),
            output_zero_point: out_q.as_ref().map(|q| q.zero_point[0]),
        })
    }

    fn leave_float(&mut self, g: &mut Graph, plan: &Plan, id: NodeId) -> Result<(), PassError> {
        for slot in 0..g.node(id).inputs.len() {
            let Some(v) = g.node(id).inputs[slot] else {
                continue;
            };
            if plan.int_values.contains_key(&v) {
                let name = format!("{}_dq", g.value(v).name);
                let f = match self.dq_of.get(&v) {
                    Some(&f) => f,
                    None => self.dequantize(g, v, name)?,
                };
                g.node_mut(id).inputs[slot] = Some(f);
            }
        }
        self.new_order.push(id);
        Ok(())
    }

    /// The quantize_linear output for float value `v` (made once).
    fn quantize(&mut self, g: &mut Graph, plan: &Plan, v: ValueId) -> Result<ValueId, PassError> {
        if let Some(&q) = self.q_of.get(&v) {
            return Ok(q);
        }
        let p =
            plan.entries.get(&v).cloned().ok_or_else(|| {
                graph_msg(format!("no entry parameters for `{}`", g.value(v).name))
            })?;
        let base = g.value(v).name.clone();
        let (scale, zp) = param_weights(g, &base, &p)?;
        let mut ty = TensorType::new(QDTYPE, g.ty(v).shape.clone());
        ty.quant = Some(p);
        let op = Op::QuantizeLinear {
            axis: 1,
            saturate: true,
            block_size: 0,
        };
        let (nid, outs) = g
            .add_node(
                format!("{base}_quantize"),
                op,
                vec![Some(v), Some(scale), Some(zp)],
                vec![(format!("{base}_q"), ty)],
            )
            .map_err(|e| graph_msg(e.to_string()))?;
        self.new_order.push(nid);
        self.q_of.insert(v, outs[0]);
        Ok(outs[0])
    }

    /// Adds a dequantize_linear of integer value `v`, its output named `name`.
    fn dequantize(
        &mut self,
        g: &mut Graph,
        v: ValueId,
        name: String,
    ) -> Result<ValueId, PassError> {
        let p = g
            .ty(v)
            .quant
            .clone()
            .ok_or_else(|| graph_msg(format!("`{}` is not quantized", g.value(v).name)))?;
        let base = g.value(v).name.clone();
        let (scale, zp) = param_weights(g, &base, &p)?;
        let ty = TensorType::new(DType::F32, g.ty(v).shape.clone());
        let op = Op::DequantizeLinear {
            axis: 1,
            block_size: 0,
        };
        let (nid, outs) = g
            .add_node(
                format!("{base}_dequantize"),
                op,
                vec![Some(v), Some(scale), Some(zp)],
                vec![(name, ty)],
            )
            .map_err(|e| graph_msg(e.to_string()))?;
        self.new_order.push(nid);
        self.dq_of.insert(v, outs[0]);
        Ok(outs[0])
    }
}

/// The lower bound of each weight channel's scale of compute node `id` (see
/// [`min_weight_scale`]: bias scale and multiplier representable, bias within
/// int32 with room for the channel's `weight_bits`-bit products), from its planned input and output scales and its float bias; `None`
/// for other classes. A bias value reaches weight channel `c mod channels`, as
/// [`super::support::per_output_scales`] maps them back.
fn weight_floors(
    g: &Graph,
    plan: &Plan,
    id: NodeId,
    class: &OpClass,
    weight_bits: u8,
) -> Result<Option<Vec<f32>>, PassError> {
    let OpClass::Compute {
        data,
        weight,
        axis,
        bias,
    } = class
    else {
        return Ok(None);
    };
    let n = g.node(id);
    let scale_of = |v: Option<ValueId>| v.and_then(|v| plan.params_of(v)).map(|q| q.scale[0]);
    let (Some(sx), Some(sy)) = (
        scale_of(n.inputs[*data]),
        scale_of(n.outputs.first().copied()),
    ) else {
        return Err(node_msg(g, id, "no planned input or output scale"));
    };
    let Some(w) = n.inputs[*weight].and_then(|v| g.weight_of(v)) else {
        return Err(node_msg(g, id, "weight is not a constant"));
    };
    let channels =
        w.ty.fixed_shape()
            .and_then(|s| s.get(*axis).copied())
            .ok_or_else(|| node_msg(g, id, "weight has no fixed channel axis"))? as usize;
    // Every product a channel's accumulator can add lies in its weight slice.
    let taps = w.ty.num_elements().unwrap_or(0) as usize / channels.max(1);
    let headroom = accumulator_headroom(taps, weight_bits);
    let mut bias_abs = vec![0f32; channels];
    if let Some(bv) = bias.and_then(|b| n.inputs[b]) {
        let b = g
            .weight_of(bv)
            .ok_or_else(|| node_msg(g, id, "bias is not a constant"))?;
        let vals = b.tensor().map_err(|e| node_err(g, id, e))?.to_f32_vec();
        check_finite(g, id, bv, &vals)?;
        for (c, x) in vals.iter().enumerate() {
            let k = c % channels.max(1);
            bias_abs[k] = bias_abs[k].max(x.abs());
        }
    }
    bias_abs
        .iter()
        .enumerate()
        .map(|(c, &b)| {
            min_weight_scale(sx, sy, b, headroom)
                .map_err(|why| node_msg(g, id, &format!("weight channel {c}: {why}")))
        })
        .collect::<Result<Vec<f32>, PassError>>()
        .map(Some)
}

/// Errors naming the constant `v` of node `id` and its first NaN or infinite
/// element: such a weight has no quantized form.
fn check_finite(g: &Graph, id: NodeId, v: ValueId, vals: &[f32]) -> Result<(), PassError> {
    match first_non_finite(vals) {
        Some((i, x)) => {
            // Unnamed nodes (textual IR, some exporters) are known by their output.
            let n = g.node(id);
            let reader = match n.outputs.first() {
                Some(&o) if n.name.is_empty() => {
                    format!(" ({} producing `{}`)", n.op.name(), g.value(o).name)
                }
                _ => String::new(),
            };
            Err(node_msg(
                g,
                id,
                &format!(
                    "constant `{}`{reader} holds {x} at element {i}: a weight must be finite to be quantized",
                    g.value(v).name
                ),
            ))
        }
        None => Ok(()),
    }
}

/// Scalar scale (f32) and zero point (i8) weights for per-tensor parameters.
fn param_weights(g: &mut Graph, base: &str, p: &QParams) -> Result<(ValueId, ValueId), PassError> {
    let scale = Tensor::scalar(p.scale[0]);
    let zp = Tensor::scalar(p.zero_point[0] as i8);
    let s = g
        .add_weight(format!("{base}_scale"), Weight::from_tensor(&scale))
        .map_err(|e| graph_msg(e.to_string()))?;
    let z = g
        .add_weight(format!("{base}_zero_point"), Weight::from_tensor(&zp))
        .map_err(|e| graph_msg(e.to_string()))?;
    Ok((s, z))
}

fn add_quantized_weight(
    g: &mut Graph,
    name: String,
    t: &Tensor,
    p: QParams,
) -> Result<ValueId, pare_ir::IrError> {
    let mut ty = TensorType::fixed(
        t.dtype(),
        &t.shape().iter().map(|&d| d as u64).collect::<Vec<_>>(),
    );
    ty.quant = Some(p);
    let w = Weight::with_type(ty, t)?;
    g.add_weight(name, w)
}

/// What a float island's record adds when its weights are stored int8.
pub(crate) const ISLAND_WEIGHTS: &str = "; int8 weights (weight-only)";

/// Stores compute node `id`'s f32 constant weight as int8 (per channel)
/// behind a dequantize_linear, pushed onto `order`: the dequantized weight
/// and the float weight's bytes; `None` for a node without one.
fn widen_compute_weight(
    g: &mut Graph,
    id: NodeId,
    order: &mut Vec<NodeId>,
) -> Result<Option<(Dequantized, u64)>, PassError> {
    match classify(g, g.node(id)) {
        Ok(OpClass::Compute { weight, axis, .. }) => {
            widen_weight_input(g, id, weight, axis, 8, order, "quantize")
        }
        _ => Ok(None),
    }
}

fn float_record(g: &Graph, id: NodeId, reason: &str) -> LayerRecord {
    let n = g.node(id);
    let weight_bytes: u64 = n
        .present_inputs()
        .filter_map(|v| g.weight_of(v))
        .filter(|w| w.ty.dtype.is_float())
        .map(|w| w.stored_len() as u64)
        .sum();
    LayerRecord {
        node: n.name.clone(),
        op: n.op.name(),
        status: LayerStatus::Float(reason.to_string()),
        weight_bits: None,
        weight_bytes_before: weight_bytes,
        weight_bytes_after: weight_bytes,
        weight_scale_range: None,
        output_scale: None,
        output_zero_point: None,
    }
}

fn node_err(g: &Graph, id: NodeId, e: impl std::error::Error + Send + Sync + 'static) -> PassError {
    PassError::Node {
        pass: PASS,
        node: g.node(id).name.clone(),
        source: Box::new(e),
    }
}

fn node_msg(g: &Graph, id: NodeId, msg: &str) -> PassError {
    PassError::NodeMsg {
        pass: PASS,
        node: g.node(id).name.clone(),
        msg: msg.to_string(),
    }
}

fn graph_msg(msg: String) -> PassError {
    PassError::NodeMsg {
        pass: PASS,
        node: String::new(),
        msg,
    }
}
