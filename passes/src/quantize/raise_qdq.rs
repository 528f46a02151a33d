//! `raise-qdq`: reads ONNX's QDQ spelling of a quantized graph back into pare's
//! quantized IR, so that a QDQ model (pare's own ONNX artifact, or one made by
//! onnxruntime's or TensorRT's tools) runs in the integer interpreter and reaches
//! the integer targets.
//!
//! 1. Every `quantize_linear` with constant parameters gets them in its output's
//!    type; every integer weight read by a `dequantize_linear` with constant
//!    parameters becomes a quantized weight.
//! 2. A node with an integer kernel ([`super::support`]) whose data inputs all
//!    come from `dequantize_linear` of such values, and each of whose outputs is
//!    read only by one `quantize_linear`, becomes a quantized node: it reads the
//!    integer values and writes the quantizer's output. The parameters must be
//!    ones the integer kernels can honour (per-tensor activations, a bias at
//!    scale s_x·s_w, equal parameters through data movement, softmax's fixed
//!    output); otherwise the node is left in QDQ form, which stays correct.
//!
//! Dequantize/quantize nodes left without readers are removed by `dce`.

use super::params::softmax_output_params;
use super::support::{classify_with, per_output_scales, OpClass};
use crate::{Changed, Pass, PassCx, PassError};
use pare_ir::{DType, Graph, NodeId, Op, QParams, ValueId, Weight, WeightBytes};

#[derive(Debug, Default)]
pub struct RaiseQdq;

impl Pass for RaiseQdq {
    fn name(&self) -> &'static str {
        "raise-qdq"
    }

    fn run(&mut self, g: &mut Graph, _cx: &mut PassCx) -> Result<Changed, PassError> {
        let changed = annotate(g)?;
        let mut raised = false;
        for id in g.order().to_vec() {
            raised |= raise(g, id);
        }
        if raised {
            // Drops the quantizers' nodes and the float values they displaced.
            g.compact();
        }
        Ok(changed | Changed::from_bool(raised))
    }
}

/// Step 1: parameters into the types of quantizer outputs and integer weights.
fn annotate(g: &mut Graph) -> Result<Changed, PassError> {
    let mut changed = false;
    for id in g.order().to_vec() {
        let n = g.node(id);
        match n.op {
            Op::QuantizeLinear {
                axis,
                block_size: 0,
                ..
            } => {
                let out = n.outputs[0];
                let Some(p) = params_of(g, id, axis) else {
                    continue;
                };
                if g.ty(out).quant.as_ref() != Some(&p) {
                    g.value_mut(out).ty.quant = Some(p);
                    changed = true;
                }
            }
            Op::DequantizeLinear {
                axis,
                block_size: 0,
            } => {
                let Some(x) = n.inputs[0] else { continue };
                let Some(w) = g.weight_of(x) else { continue };
                if w.ty.quant.is_some() {
                    continue;
                }
                let Some(p) = params_of(g, id, axis) else {
                    continue;
                };
                let mut ty = w.ty.clone();
                ty.quant = Some(p);
                let bytes = WeightBytes::Owned(w.bytes().to_vec().into());
                let name = g.value(x).name.clone();
                let nw = Weight::new(ty, bytes).map_err(|e| PassError::Node {
                    pass: "raise-qdq",
                    node: g.node(id).name.clone(),
                    source: Box::new(e),
                })?;
                let nv = g.add_weight(name, nw).map_err(|e| PassError::Node {
                    pass: "raise-qdq",
                    node: g.node(id).name.clone(),
                    source: Box::new(e),
                })?;
                g.node_mut(id).inputs[0] = Some(nv);
                changed = true;
            }
            _ => {}
        }
    }
    Ok(Changed::from_bool(changed))
}

/// The constant parameters of quantize/dequantize node `id` (inputs 1 and 2),
/// in pare's form, when its integer side is one pare's kernels use.
fn params_of(g: &Graph, id: NodeId, axis: i64) -> Option<QParams> {
    let n = g.node(id);
    let int_value = match n.op {
        Op::QuantizeLinear { .. } => n.outputs[0],
        _ => n.inputs[0]?,
    };
    let int_ty = g.ty(int_value);
    let (bits, signed) = match int_ty.dtype {
        DType::I8 => (8, true),
        DType::U8 => (8, false),
        DType::I32 => (32, true),
        _ => return None,
    };
    let scale = g
        .weight_of(n.inputs.get(1).copied().flatten()?)?
        .tensor()
        .ok()?;
    let scale: Vec<f32> = scale.to_f32_vec();
    let zero_point: Vec<i32> = match n.inputs.get(2).copied().flatten() {
        Some(z) => g
            .weight_of(z)?
            .tensor()
            .ok()?
            .to_i64_vec()
            .iter()
            .map(|&z| z as i32)
            .collect(),
        None => vec![0; scale.len()],
    };
    let per_axis = g.ty(n.inputs[1]?).rank() == 1;
    let r = int_ty.rank() as i64;
    let a = if axis < 0 { axis + r } else { axis };
    let axis = match usize::try_from(a).ok().filter(|&a| (a as i64) < r) {
        Some(a) if per_axis => Some(a),
        // A one-element vector whose axis does not fit is per tensor, as onnxruntime
        // reads it (its quantizer writes one for a one-channel bias, axis left unset).
        None if per_axis && scale.len() == 1 => None,
        None if per_axis => return None,
        _ => None,
    };
    if scale.len() != zero_point.len() || scale.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
        return None;
    }
    Some(QParams {
        bits,
        signed,
        scale,
        zero_point,
        axis,
    })
}

/// The integer value behind `v` when `v` is a dequantize_linear of a value whose
/// type carries exactly that dequantizer's parameters.
fn dequantized(g: &Graph, v: ValueId) -> Option<ValueId> {
    let d = g.producer(v)?;
    let n = g.node(d);
    let Op::DequantizeLinear {
        axis,
        block_size: 0,
    } = n.op
    else {
        return None;
    };
    let x = n.inputs[0]?;
    let p = params_of(g, d, axis)?;
    (g.ty(x).quant.as_ref() == Some(&p)).then_some(x)
}

/// Step 2 for one node; true when it was raised.
fn raise(g: &mut Graph, id: NodeId) -> bool {
    if !g.is_live(id) {
        return false;
    }
    let n = g.node(id);
    if pare_ir::infer::is_quantized_node(g, n) {
        return false;
    }
    let is_constant = |v: ValueId| {
        dequantized(g, v).is_some_and(|x| g.weight_of(x).is_some()) || g.weight_of(v).is_some()
    };
    let Ok(class) = classify_with(g, n, &is_constant) else {
        return false;
    };
    let mut slots = class.data_inputs(n);
    if let OpClass::Compute { bias: Some(b), .. } = class {
        slots.push(b);
    }
    // Every data input must be a dequantized integer value; nothing else quantized.
    let mut ints = Vec::new();
    for &s in &slots {
        let Some(x) = n.inputs[s].and_then(|v| dequantized(g, v)) else {
            return false;
        };
        ints.push((s, x));
    }
    // Every output read by exactly one quantizer (and not a graph output).
    let uses = g.uses();
    let mut quantizers = Vec::new();
    for &o in &n.outputs {
        if g.outputs.contains(&o) {
            return false;
        }
        let [(q, 0)] = uses[o.index()][..] else {
            return false;
        };
        if !matches!(g.node(q).op, Op::QuantizeLinear { .. }) {
            return false;
        }
        let qo = g.node(q).outputs[0];
        if g.ty(qo).quant.is_none() || g.ty(qo).dtype != DType::I8 {
            return false;
        }
        quantizers.push((q, qo));
    }
    let param = |v: ValueId| g.ty(v).quant.clone();
    if !kernel_accepts(&n.op, &class, &ints, &quantizers, &param) {
        return false;
    }
    for (s, x) in ints {
        g.node_mut(id).inputs[s] = Some(x);
    }
    for (k, (q, qo)) in quantizers.into_iter().enumerate() {
        g.set_output(id, k, qo);
        g.remove_node(q);
    }
    true
}

/// Whether the integer kernels can honour these parameters.
fn kernel_accepts(
    op: &Op,
    class: &OpClass,
    ints: &[(usize, ValueId)],
    outs: &[(NodeId, ValueId)],
    param: &dyn Fn(ValueId) -> Option<QParams>,
) -> bool {
    let act_ok = |p: &QParams| p.axis.is_none() && p.bits == 8 && p.signed;
    let input = |slot: usize| ints.iter().find(|(s, _)| *s == slot).map(|&(_, x)| x);
    let out_params: Vec<QParams> = outs.iter().filter_map(|&(_, o)| param(o)).collect();
    if out_params.len() != outs.len() || !out_params.iter().all(act_ok) {
        return false;
    }
    match class {
        OpClass::Compute {
            data,
            weight,
            axis,
            bias,
            ..
        } => {
            let (Some(x), Some(w)) = (input(*data).and_then(param), input(*weight).and_then(param))
            else {
                return false;
            };
            if !act_ok(&x) || w.bits != 8 || !w.signed || w.axis.is_some_and(|a| a != *axis) {
                return false;
            }
            match bias.map(|b| input(b).and_then(param)) {
                None => true,
                Some(None) => false,
                Some(Some(b)) => {
                    // Each bias channel at s_x times its output channel's weight scale.
                    let Some(sw) = per_output_scales(op, &w.scale, b.scale.len()) else {
                        return false;
                    };
                    b.bits == 32
                        && b.zero_point.iter().all(|&z| z == 0)
                        && b.scale.iter().zip(&sw).all(|(&sb, &sw)| {
                            let want = x.scale[0] as f64 * sw as f64;
                            ((sb as f64 - want) / want).abs() < 1e-5
                        })
                }
            }
        }
        OpClass::SameParams { .. } => {
            ints.iter()
                .all(|&(_, x)| param(x).as_ref() == Some(&out_params[0]))
                && out_params.iter().all(|p| *p == out_params[0])
        }
        OpClass::Softmax => out_params[0] == softmax_output_params(),
        OpClass::Rescale { .. } | OpClass::Mean | OpClass::Lut => ints
            .iter()
            .all(|&(_, x)| param(x).as_ref().is_some_and(act_ok)),
    }
}
