//! Symmetric weight scales, per channel: min-max or the MSE-optimal clipping ratio.

use super::{CalibError, WeightMethod};
use pare_ir::Tensor;

/// Clipping ratios the MSE search tries: 1.00, 0.99, …, 0.20.
const RATIOS: usize = 81;

/// The scale of symmetric `bits`-bit quantization (zero point 0, `q` in
/// `[−qmax, qmax]`, `qmax = 2^(bits−1) − 1`: the restricted range TFLite uses
/// for int8 weights, so `−q` is always representable) of one channel's values.
///
/// * [`WeightMethod::MinMax`]: `max|w| / qmax`.
/// * [`WeightMethod::Mse`]: grid search of the clipping threshold `r·max|w|`
///   for `r` = 1.00, 0.99, …, 0.20, keeping the one whose exact squared error
///   `Σ (w − s·clamp(round_half_even(w/s), −qmax, qmax))²` over the values is
///   lowest (ties keep the larger `r`); the error is measured with the f32
///   scale that will be stored.
///
/// Non-finite values are ignored. A channel with no non-zero finite value, or
/// one whose scale would not be a normal f32 (all-denormal weights), gets scale
/// 1, as onnxruntime's `compute_scale_zp` does below `finfo(float32).tiny`: any
/// scale represents zeros exactly, and 1 keeps the bias scale `s_x · s_w` of
/// that channel sane.
pub fn weight_scale(values: &[f32], bits: u8, method: WeightMethod) -> Result<f32, CalibError> {
    super::select::check_bits(bits)?;
    let qmax = ((1u32 << (bits - 1)) - 1) as f32;
    let amax = values
        .iter()
        .filter(|x| x.is_finite())
        .fold(0.0f32, |m, x| m.max(x.abs()));
    let minmax = amax / qmax;
    // Also when max|w| is so small its scale underflows: those values are 0
    // to any useful precision.
    if minmax < f32::MIN_POSITIVE {
        return Ok(1.0);
    }
    if method == WeightMethod::MinMax {
        return Ok(minmax);
    }
    let mut best = (f64::INFINITY, minmax);
    for k in 0..RATIOS {
        let ratio = 1.0 - 0.01 * k as f64;
        let scale = (f64::from(amax) * ratio / f64::from(qmax)) as f32;
        if scale < f32::MIN_POSITIVE {
            continue;
        }
        let err = sq_error(values, scale, qmax);
        if err < best.0 {
            best = (err, scale);
        }
    }
    Ok(best.1)
}

/// Σ (w − fq(w))² over the finite values, in f64.
fn sq_error(values: &[f32], scale: f32, qmax: f32) -> f64 {
    values
        .iter()
        .filter(|x| x.is_finite())
        .map(|&w| {
            let q = (w / scale).round_ties_even().clamp(-qmax, qmax);
            let d = f64::from(w) - f64::from(q * scale);
            d * d
        })
        .sum()
}

/// [`weight_scale`] for each channel of `w` along `axis` (e.g. axis 0 of a
/// Conv weight `[O, I/g, kh, kw]`), in channel order. `w` must be a float tensor.
pub fn weight_scales(
    w: &Tensor,
    axis: usize,
    bits: u8,
    method: WeightMethod,
) -> Result<Vec<f32>, CalibError> {
    if !w.dtype().is_float() {
        return Err(CalibError::Weights(format!(
            "weight is {}, expected a float tensor",
            w.dtype()
        )));
    }
    let shape = w.shape();
    if axis >= shape.len() {
        return Err(CalibError::Weights(format!(
            "channel axis {axis} out of range for shape {shape:?}"
        )));
    }
    let channels = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    let outer: usize = shape[..axis].iter().product();
    let values = w.to_f32_vec();
    let mut channel = Vec::with_capacity(outer * inner);
    (0..channels)
        .map(|c| {
            channel.clear();
            for o in 0..outer {
                let start = (o * channels + c) * inner;
                channel.extend_from_slice(&values[start..start + inner]);
            }
            weight_scale(&channel, bits, method)
        })
        .collect()
}
