//! Lookup tables built at compile time, which targets emit as data: one output code
//! per input code for element-wise unary ops, and the exponential table of the
//! integer softmax.

use super::params::{dequantize_f32, qrange, quantize_f32};
use super::QuantError;
use crate::{Op, QParams, Tensor};

/// Whether `op` is an element-wise unary op that runs as a lookup table on
/// quantized data (its extra inputs, like Clip's bounds, are constants of the
/// table): the op table's `lut` column.
pub fn is_lut_op(op: &Op) -> bool {
    op.info().lut
}

/// Largest input width a table is built for (2^16 entries).
const MAX_LUT_BITS: u8 = 16;

/// The table of element-wise unary `op` from input codes `in_q` to output codes
/// `out_q` (both per-tensor).
///
/// Entry `i` is the output code for input code `qmin_in + i`, for every code of
/// [`qrange`]`(in_q)`: the code is dequantized (`((q − z) as f32) · s`), the op's
/// scalar function from the op table ([`Op::scalar_fn`], the one pare's float kernel
/// uses) is applied in f64 and rounded to f32, and each result is quantized to
/// `out_q` ([`quantize_f32`]: round half to even, clamp). So the table is exactly
/// what the fake-quant path computes, code by code. `aux` holds the op's inputs after
/// the first, as one-element float tensors (Clip's `min` and `max`), `None` (or an
/// empty tensor) where absent; it is empty for ops with one input. Entries fit the output type (i8 for
/// 8-bit signed outputs); they are `i32` so that one type serves every width.
pub fn unary_lut(
    op: &Op,
    in_q: &QParams,
    out_q: &QParams,
    aux: &[Option<&Tensor>],
) -> Result<Vec<i32>, QuantError> {
    if !is_lut_op(op) {
        return Err(QuantError::table(
            op,
            "not an element-wise unary op: no lookup table",
        ));
    }
    for (what, q) in [("input", in_q), ("output", out_q)] {
        if q.axis.is_some() || q.scale.len() != 1 || q.zero_point.len() != 1 {
            return Err(QuantError::table(
                op,
                format!("a lookup table needs per-tensor {what} parameters"),
            ));
        }
    }
    if in_q.bits > MAX_LUT_BITS {
        return Err(QuantError::table(
            op,
            format!(
                "a lookup table over {}-bit input codes is too large (at most {MAX_LUT_BITS} bits)",
                in_q.bits
            ),
        ));
    }
    let mut extra = Vec::with_capacity(aux.len());
    for (i, t) in aux.iter().enumerate() {
        extra.push(match t {
            None => None,
            // An empty tensor stands for an absent input in some exporters.
            Some(t) if t.is_empty() => None,
            Some(t) if t.dtype().is_float() && t.len() == 1 => Some(t.to_f64_vec()[0]),
            Some(t) => {
                return Err(QuantError::table(
                    op,
                    format!(
                        "input {} must be a one-element float constant, got {} {:?}",
                        i + 1,
                        t.dtype(),
                        t.shape()
                    ),
                ))
            }
        });
    }
    let f = op
        .scalar_fn(&extra)
        .ok_or_else(|| QuantError::table(op, "the op table gives no scalar function"))?;
    let (lo, hi) = qrange(in_q);
    let (olo, ohi) = qrange(out_q);
    let (s, z) = (out_q.scale[0], out_q.zero_point[0]);
    Ok((lo..=hi)
        .map(|q| {
            let x = dequantize_f32(q, in_q.scale[0], in_q.zero_point[0]);
            // Rounded to f32 first, as the f32 kernel's output is.
            let y = f(f64::from(x)) as f32;
            quantize_f32(y, s, z, olo, ohi)
        })
        .collect())
}

/// `exp(0)` in the softmax table's fixed point: entries are Q16 (`2^16` is 1.0).
pub const SOFTMAX_EXP_ONE: u32 = 1 << 16;

/// The integer softmax's exponential table for input scale `input_scale`:
/// entry `d` (for `d` in `0..len`, the distance below the row maximum in codes) is
/// `round(exp(−f64(input_scale) · d) · 2^16)`, computed in f64 and rounded half away
/// from zero. Entry 0 is [`SOFTMAX_EXP_ONE`].
pub fn softmax_exp_table(input_scale: f32, len: usize) -> Vec<u32> {
    let s = f64::from(input_scale);
    (0..len)
        .map(|d| ((-s * d as f64).exp() * f64::from(SOFTMAX_EXP_ONE)).round() as u32)
        .collect()
}
