//! The fake-quant path: a quantized node evaluated by its float kernel between a
//! dequantization of its inputs and a quantization of its outputs. It is the
//! definition every integer kernel approximates, and the analysis path
//! (`QuantExec::FakeQuant`).

use super::{eval_op, InterpError};
use crate::quant::{dequantize_tensor, quantize_tensor};
use crate::{Op, Tensor, TensorType};
use std::borrow::Cow;

/// Evaluates `op` as "the float op on dequantized values, quantized back": every
/// input whose type is quantized (i32 biases included) is dequantized to f32 by
/// that type (per-tensor or per-axis, [`crate::quant::dequantize_tensor`]), the op
/// runs through [`eval_op`], and every output whose type is quantized is quantized
/// to that type (round half to even, clamp; [`crate::quant::quantize_tensor`]).
/// Inputs and outputs without quantization pass through unchanged.
pub fn eval_fake_quant(
    op: &Op,
    inputs: &[Option<&Tensor>],
    in_types: &[Option<&TensorType>],
    out_types: &[&TensorType],
) -> Result<Vec<Tensor>, InterpError> {
    if in_types.len() != inputs.len() {
        return Err(InterpError::op(
            op,
            format!("{} inputs but {} input types", inputs.len(), in_types.len()),
        ));
    }
    let real: Vec<Option<Cow<Tensor>>> = inputs
        .iter()
        .zip(in_types)
        .map(|(t, ty)| match (t, ty.and_then(|ty| ty.quant.as_ref())) {
            (Some(t), Some(q)) => dequantize_tensor(t, q).map(|d| Some(Cow::Owned(d))),
            (Some(t), None) => Ok(Some(Cow::Borrowed(*t))),
            (None, _) => Ok(None),
        })
        .collect::<Result<_, _>>()?;
    let refs: Vec<Option<&Tensor>> = real.iter().map(|t| t.as_deref()).collect();
    let outs = eval_op(op, &refs, out_types.len())?;
    outs.into_iter()
        .zip(out_types)
        .map(|(t, ty)| match &ty.quant {
            Some(q) => Ok(quantize_tensor(&t, ty.dtype, q)?),
            None => Ok(t),
        })
        .collect()
}
