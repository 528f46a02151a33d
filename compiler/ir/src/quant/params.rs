//! Quantization parameters in use: code ranges, float ↔ code conversion and the
//! requantization multipliers the integer kernels derive from their scales.
//!
//! Conversions follow ONNX (and onnxruntime) so that a fake-quantized graph and a
//! QDQ graph agree exactly:
//! * quantize: `q = clamp(round_half_even(x / scale) + zp, qmin, qmax)`, the
//!   division in f32; NaN gives 0, ±∞ the range ends.
//! * dequantize: `x = ((q − zp) as f32) · scale`, one f32 multiply.
//!
//! Multipliers are computed in f64 from the f32 scales (each scale widened
//! exactly, then the operations in the order written below) and handed to
//! [`quantize_multiplier`].

use super::fixed::{multiply_by_quantized_multiplier, quantize_multiplier, Rounding};
use super::QuantError;
use crate::{DType, QParams, Tensor};

/// The code range of `q`: `[−2^(bits−1), 2^(bits−1) − 1]` when signed, `[0, 2^bits − 1]`
/// when not; `bits` is taken in `[1, 32]` and the range clipped to `i32`.
pub fn qrange(q: &QParams) -> (i32, i32) {
    let b = u32::from(q.bits.clamp(1, 32));
    let (lo, hi) = if q.signed {
        (-(1i64 << (b - 1)), (1i64 << (b - 1)) - 1)
    } else {
        (0, (1i64 << b) - 1)
    };
    let fit = |v: i64| v.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32;
    (fit(lo), fit(hi))
}

/// ONNX `QuantizeLinear` of one value: `clamp(round_half_even(x / scale) + zp, qmin, qmax)`
/// with the division in f32. NaN maps to 0 (clamped), like pare's QuantizeLinear kernel.
pub fn quantize_f32(x: f32, scale: f32, zp: i32, qmin: i32, qmax: i32) -> i32 {
    let r = (x / scale).round_ties_even();
    if r.is_nan() {
        return 0.clamp(qmin, qmax);
    }
    (f64::from(r) + f64::from(zp)).clamp(f64::from(qmin), f64::from(qmax)) as i32
}

/// ONNX `DequantizeLinear` of one code: `((q − zp) as f32) · scale`.
pub fn dequantize_f32(q: i32, scale: f32, zp: i32) -> f32 {
    ((i64::from(q) - i64::from(zp)) as f32) * scale
}

/// `(channels, inner)`: element `e` of a tensor of `shape` uses parameter
/// `(e / inner) % channels` of `q` (per-tensor: `(1, 1)`, parameter 0).
pub fn channel_layout(shape: &[usize], q: &QParams) -> Result<(usize, usize), QuantError> {
    let bad = |msg: String| Err(QuantError::Params(msg));
    if q.scale.len() != q.zero_point.len() || q.scale.is_empty() {
        return bad(format!(
            "{} scales and {} zero points",
            q.scale.len(),
            q.zero_point.len()
        ));
    }
    match q.axis {
        None if q.scale.len() == 1 => Ok((1, 1)),
        None => bad(format!(
            "per-tensor parameters need one scale, got {}",
            q.scale.len()
        )),
        Some(a) if a >= shape.len() => bad(format!("axis {a} is out of range for shape {shape:?}")),
        Some(a) if shape[a] != q.scale.len() => bad(format!(
            "axis {a} of shape {shape:?} has {} channels but there are {} scales",
            shape[a],
            q.scale.len()
        )),
        Some(a) => Ok((shape[a], shape[a + 1..].iter().product())),
    }
}

/// Dequantizes an integer tensor to f32 by `q` (per-tensor or per-axis), element by
/// element with [`dequantize_f32`]'s formula.
pub fn dequantize_tensor(t: &Tensor, q: &QParams) -> Result<Tensor, QuantError> {
    if !t.dtype().is_int() {
        return Err(QuantError::Params(format!(
            "cannot dequantize a {} tensor",
            t.dtype()
        )));
    }
    let (channels, inner) = channel_layout(t.shape(), q)?;
    let inner = inner.max(1);
    let v: Vec<f32> = t
        .to_i64_vec()
        .into_iter()
        .enumerate()
        .map(|(e, x)| {
            let c = (e / inner) % channels;
            ((x - i64::from(q.zero_point[c])) as f32) * q.scale[c]
        })
        .collect();
    Ok(Tensor::from_vec(t.shape().to_vec(), v)?)
}

/// Quantizes a float tensor to `dtype` by `q` with [`quantize_f32`] (f64 and f16
/// values are first converted to f32). `dtype` must be an integer type whose
/// signedness is `q.signed` and which holds `q.bits` bits.
pub fn quantize_tensor(x: &Tensor, dtype: DType, q: &QParams) -> Result<Tensor, QuantError> {
    if !x.dtype().is_float() {
        return Err(QuantError::Params(format!(
            "cannot quantize a {} tensor (expected a float)",
            x.dtype()
        )));
    }
    if !dtype.is_int()
        || dtype.is_signed() != q.signed
        || usize::from(q.bits) > dtype.size_bytes() * 8
    {
        return Err(QuantError::Params(format!(
            "{}-bit {} parameters do not fit dtype {dtype}",
            q.bits,
            if q.signed { "signed" } else { "unsigned" }
        )));
    }
    let (channels, inner) = channel_layout(x.shape(), q)?;
    let inner = inner.max(1);
    let (lo, hi) = qrange(q);
    let codes: Vec<i64> = x
        .to_f32_vec()
        .into_iter()
        .enumerate()
        .map(|(e, v)| {
            let c = (e / inner) % channels;
            i64::from(quantize_f32(v, q.scale[c], q.zero_point[c], lo, hi))
        })
        .collect();
    Ok(Tensor::from_vec(x.shape().to_vec(), codes)?.cast(dtype))
}

/// Multiplier of a product of two quantized operands requantized to the output:
/// `quantize_multiplier(f64(s_a) · f64(s_b) / f64(s_out))`. Conv, Gemm and MatMul use it
/// per output channel (`s_b` = that channel's weight scale); Mul per tensor.
pub fn product_multiplier(s_a: f32, s_b: f32, s_out: f32) -> (i32, i32) {
    quantize_multiplier(f64::from(s_a) * f64::from(s_b) / f64::from(s_out))
}

/// Multiplier of a mean over `count` codes, as TFLite's int8 MEAN (reference and
/// TFLite Micro kernels) derives it: `(m0, e0) = quantize_multiplier(f64(s_in) /
/// f64(s_out))`, then the division by `count` folded in with integers:
/// `k = min(⌊log2 count⌋, 32, 31 + e0)`, `m = ⌊(m0 · 2^k) / count⌋`, shift `e0 − k`.
/// (Rounding `s_in / (s_out · count)` directly differs by one code now and then when
/// `count` is not a power of two, so LiteRT would not be bit-exact.)
pub fn mean_multiplier(s_in: f32, s_out: f32, count: u64) -> (i32, i32) {
    let (m0, e0) = quantize_multiplier(f64::from(s_in) / f64::from(s_out));
    if count <= 1 || m0 == 0 {
        return (m0, e0);
    }
    let k = (63 - count.leading_zeros() as i32).min(32).min(31 + e0);
    // m0 < 2^31 and k ≤ 32: the shifted value fits an i64; the quotient is below 2^31.
    let m = (i64::from(m0) << k) / count as i64;
    (m as i32, e0 - k)
}

/// Left shift TFLite's int8 Add applies to both operands before rescaling them.
pub const ADD_LEFT_SHIFT: i32 = 20;

/// Requantization parameters of TFLite's int8 Add/Sub (see [`add_requant`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct AddRequant {
    /// `(m, shift)` of `s1 / twice_max`.
    pub input1: (i32, i32),
    /// `(m, shift)` of `s2 / twice_max`.
    pub input2: (i32, i32),
    /// `(m, shift)` of `twice_max / (2^20 · s_out)`.
    pub output: (i32, i32),
}

impl AddRequant {
    /// `a ± b` in output units, before the output zero point: with `a = q1 − z1` and
    /// `b = q2 − z2` (8-bit codes, so the shifts below cannot overflow),
    /// `MBQM(MBQM(a << 20, input1) ± MBQM(b << 20, input2), output)`.
    pub fn apply(&self, a: i32, b: i32, subtract: bool, r: Rounding) -> i32 {
        let sa =
            multiply_by_quantized_multiplier(a << ADD_LEFT_SHIFT, self.input1.0, self.input1.1, r);
        let sb =
            multiply_by_quantized_multiplier(b << ADD_LEFT_SHIFT, self.input2.0, self.input2.1, r);
        let sum = if subtract {
            sa.wrapping_sub(sb)
        } else {
            sa.wrapping_add(sb)
        };
        multiply_by_quantized_multiplier(sum, self.output.0, self.output.1, r)
    }
}

/// TFLite's int8 Add parameters: `twice_max = 2 · max(s1, s2)`, input multipliers
/// `s1 / twice_max` and `s2 / twice_max`, output multiplier
/// `twice_max / (2^20 · s_out)`, all in f64 from the f32 scales.
pub fn add_requant(s1: f32, s2: f32, s_out: f32) -> AddRequant {
    let (s1, s2, so) = (f64::from(s1), f64::from(s2), f64::from(s_out));
    let twice_max = 2.0 * s1.max(s2);
    AddRequant {
        input1: quantize_multiplier(s1 / twice_max),
        input2: quantize_multiplier(s2 / twice_max),
        output: quantize_multiplier(twice_max / (f64::from(1u32 << ADD_LEFT_SHIFT) * so)),
    }
}
