//! Lowering pare's quantized IR to ONNX's QDQ form before export.
//!
//! In pare a quantized node is an ordinary op over integer types carrying their
//! parameters; ONNX spells the same thing as `DequantizeLinear` on every integer
//! input, the float op, and `QuantizeLinear` on every integer output — the form
//! onnxruntime fuses into integer kernels and TensorRT reads. Integer values
//! themselves (and integer weights, INT4 for 4-bit ones) are kept, so the file
//! holds exactly the bytes pare quantized.

use crate::error::ErrorKind;
use pare_ir::infer::is_quantized_node;
use pare_ir::{DType, Graph, NodeId, Op, QParams, Tensor, TensorType, ValueId, Weight};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// `g` with every quantized node spelled out in QDQ form (borrowed when `g` has
/// none).
pub(crate) fn lower_quantized(g: &Graph) -> Result<Cow<'_, Graph>, ErrorKind> {
    let quantized: Vec<NodeId> = g
        .order()
        .iter()
        .copied()
        .filter(|&n| is_quantized_node(g, g.node(n)))
        .collect();
    if quantized.is_empty() {
        return Ok(Cow::Borrowed(g));
    }
    let mut g = g.clone();
    let mut params = ParamCache::seeded(&g);
    let mut order = Vec::with_capacity(g.order().len() * 3);
    let mut dq_of: BTreeMap<ValueId, ValueId> = BTreeMap::new();
    let err = |e: pare_ir::IrError| ErrorKind::Export(e.to_string());
    for id in g.order().to_vec() {
        if !is_quantized_node(&g, g.node(id)) {
            order.push(id);
            continue;
        }
        for slot in 0..g.node(id).inputs.len() {
            let Some(v) = g.node(id).inputs[slot] else {
                continue;
            };
            let Some(q) = g.ty(v).quant.clone() else {
                continue;
            };
            let f = match dq_of.get(&v) {
                Some(&f) => f,
                None => {
                    let base = g.value(v).name.clone();
                    let mut inputs = vec![Some(v)];
                    let dtype = g.ty(v).dtype;
                    inputs.extend(param_inputs(&mut g, &mut params, &base, &q, dtype, false)?);
                    let op = Op::DequantizeLinear {
                        axis: q.axis.map_or(1, |a| a as i64),
                        block_size: 0,
                    };
                    let ty = TensorType::new(DType::F32, g.ty(v).shape.clone());
                    let (n, outs) = g
                        .add_node(String::new(), op, inputs, vec![(format!("{base}_f"), ty)])
                        .map_err(err)?;
                    order.push(n);
                    dq_of.insert(v, outs[0]);
                    outs[0]
                }
            };
            g.node_mut(id).inputs[slot] = Some(f);
        }
        // Each integer output becomes float, then quantize_linear restores the
        // integer value (same id, so its readers are untouched).
        let outputs = g.node(id).outputs.clone();
        let mut quantizers = Vec::new();
        for (slot, &o) in outputs.iter().enumerate() {
            let Some(q) = g.ty(o).quant.clone() else {
                continue;
            };
            let base = g.value(o).name.clone();
            let ty = TensorType::new(DType::F32, g.ty(o).shape.clone());
            let f = g
                .detach_output(id, slot, format!("{base}_f"), ty)
                .map_err(err)?;
            let mut inputs = vec![Some(f)];
            let dtype = g.ty(o).dtype;
            inputs.extend(param_inputs(&mut g, &mut params, &base, &q, dtype, true)?);
            let op = Op::QuantizeLinear {
                axis: q.axis.map_or(1, |a| a as i64),
                saturate: true,
                block_size: 0,
            };
            let qtype = g.ty(o).clone();
            let (qn, qouts) = g
                .add_node(String::new(), op, inputs, vec![(String::new(), qtype)])
                .map_err(err)?;
            // Hand the original integer value to the quantizer's output slot.
            g.set_output(qn, 0, o);
            g.value_mut(qouts[0]).name.clear();
            quantizers.push(qn);
        }
        order.push(id);
        order.extend(quantizers);
    }
    g.set_order(order);
    Ok(Cow::Owned(g))
}

/// Scale and zero-point initializers for `q` (per axis when `q` is). The zero
/// point has the integer value's ONNX type; a dequantizer's all-zero one is
/// left out.
fn param_inputs(
    g: &mut Graph,
    cache: &mut ParamCache,
    base: &str,
    q: &QParams,
    dtype: DType,
    quantizer: bool,
) -> Result<Vec<Option<ValueId>>, ErrorKind> {
    let err = |e: pare_ir::IrError| ErrorKind::Export(e.to_string());
    let shape = if q.axis.is_some() {
        vec![q.scale.len()]
    } else {
        vec![]
    };
    let scale = Tensor::from_vec(shape.clone(), q.scale.clone()).map_err(err)?;
    let s = cache.get(g, format!("{base}_scale"), &scale)?;
    if !quantizer && q.zero_point.iter().all(|&z| z == 0) {
        // A dequantizer's default zero point is 0 of its input's type: symmetric
        // weights and int32 biases need no zero-point tensor. (A quantizer's
        // zero point also sets its output type, so it is always written.)
        return Ok(vec![Some(s)]);
    }
    if q.bits <= 4 {
        return Err(ErrorKind::Export(format!(
            "`{base}`: 4-bit values with a non-zero zero point are not exported"
        )));
    }
    let zp = match dtype {
        DType::I8 => Tensor::from_vec(shape, q.zero_point.iter().map(|&z| z as i8).collect()),
        DType::U8 => Tensor::from_vec(shape, q.zero_point.iter().map(|&z| z as u8).collect()),
        DType::I32 => Tensor::from_vec(shape, q.zero_point.clone()),
        other => {
            return Err(ErrorKind::Export(format!(
                "`{base}`: quantized {other} values have no ONNX QDQ form"
            )))
        }
    }
    .map_err(err)?;
    let z = cache.get(g, format!("{base}_zero_point"), &zp)?;
    Ok(vec![Some(s), Some(z)])
}

/// Scale and zero-point constants by contents, so that the many Q/DQ pairs with
/// equal parameters share one initializer each (a real share of a small int8
/// model's bytes). Seeded with the parameters the graph's own quantize/dequantize
/// nodes already read.
struct ParamCache(BTreeMap<(DType, Vec<usize>, Vec<u8>), ValueId>);

impl ParamCache {
    fn seeded(g: &Graph) -> ParamCache {
        let mut m = BTreeMap::new();
        for (_, n) in g.nodes() {
            if !matches!(
                n.op,
                Op::QuantizeLinear { .. } | Op::DequantizeLinear { .. }
            ) {
                continue;
            }
            for v in n.inputs.iter().skip(1).flatten() {
                if let Some(t) = g.weight_of(*v).and_then(|w| w.tensor().ok()) {
                    m.entry((t.dtype(), t.shape().to_vec(), t.to_le_bytes()))
                        .or_insert(*v);
                }
            }
        }
        ParamCache(m)
    }

    fn get(&mut self, g: &mut Graph, name: String, t: &Tensor) -> Result<ValueId, ErrorKind> {
        let key = (t.dtype(), t.shape().to_vec(), t.to_le_bytes());
        if let Some(&v) = self.0.get(&key) {
            return Ok(v);
        }
        let v = g
            .add_weight(name, Weight::from_tensor(t))
            .map_err(|e| ErrorKind::Export(e.to_string()))?;
        self.0.insert(key, v);
        Ok(v)
    }
}
