//! Integer element-wise unary ops (Relu, Clip, LeakyRelu, Sigmoid, Tanh,
//! HardSigmoid, HardSwish, Elu, Gelu, Erf, Exp, Softplus, Neg, Abs, Sqrt, …; the
//! list is [`crate::quant::is_lut_op`]) as a table lookup.
//!
//! Spec: `y = T[q − qmin_in]` with `T = unary_lut(op, in, out, aux)`
//! ([`crate::quant::unary_lut`]): every input code dequantized, pare's f32 kernel
//! applied, the result quantized to the output (round half to even, clamp). The
//! op's further inputs (Clip's `min`/`max`) are constants of the table: float ones
//! are used as given, quantized ones are dequantized by their type first. Input
//! and output are per-tensor 8-bit.

use super::ctx::{Ctx, Res};
use crate::quant::{dequantize_tensor, unary_lut};
use crate::Tensor;
use std::borrow::Cow;

/// A unary op through its lookup table.
pub(super) fn lut(cx: &Ctx) -> Res<Vec<Tensor>> {
    let (qi, qo) = (cx.act_in(0)?, cx.act_out(0)?);
    let aux: Vec<Option<Cow<Tensor>>> = (1..cx.inputs.len())
        .map(|i| match (cx.opt(i), cx.in_quant(i)) {
            (Some(t), Some(q)) => Ok(Some(Cow::Owned(dequantize_tensor(t, q)?))),
            (Some(t), None) => Ok(Some(Cow::Borrowed(t))),
            (None, _) => Ok(None),
        })
        .collect::<Res<_>>()?;
    let aux_refs: Vec<Option<&Tensor>> = aux.iter().map(|t| t.as_deref()).collect();
    let (Some(in_q), Some(out_q)) = (cx.in_quant(0), cx.out_quant(0)) else {
        return Err(cx.err("input 0 and output 0 must be quantized"));
    };
    let table = unary_lut(cx.op, in_q, out_q, &aux_refs)?;
    let idx = cx.centered(0, qi.lo)?;
    cx.check_range(0, &idx, table.len())?;
    let y = idx.into_iter().map(|i| table[i as usize]).collect();
    Ok(vec![cx.output(&qo, cx.req(0)?.shape().to_vec(), y)?])
}
