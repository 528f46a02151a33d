//! Quantization parameters from ranges, and quantized weights: activations are
//! asymmetric per-tensor, weights symmetric per-channel, biases int32 at s_x·s_w.

use pare_ir::{DType, QParams, Tensor};

/// Largest code of a signed `bits`-bit type, and the symmetric weight range
/// [-qmax, qmax] (TFLite leaves -2^(b-1) unused so negation is exact).
pub fn signed_max(bits: u8) -> i32 {
    (1i32 << (bits - 1)) - 1
}

/// Asymmetric per-tensor parameters for a signed `bits`-bit activation covering
/// [lo, hi]. The range is first widened to contain 0 so that real zero (padding,
/// ReLU's floor) is exactly representable.
pub fn activation_params(lo: f32, hi: f32, bits: u8) -> QParams {
    // One formula for the calibrator's error simulation and the quantizer.
    let (scale, zp) = super::calibrate::asymmetric_params(lo.min(0.0), hi.max(0.0), bits);
    QParams {
        bits,
        signed: true,
        scale: vec![scale],
        zero_point: vec![zp],
        axis: None,
    }
}

/// The parameters softmax outputs always use (TFLite's int8 spec): [0, 1) in
/// steps of 1/256.
pub fn softmax_output_params() -> QParams {
    QParams {
        bits: 8,
        signed: true,
        scale: vec![1.0 / 256.0],
        zero_point: vec![-128],
        axis: None,
    }
}

/// A weight quantized symmetrically, one scale per slice along `axis` (or one
/// for the whole tensor when `axis` is `None`), to `bits` bits stored in i8.
/// `scale_of(values, bits)` picks each slice's scale (min-max or MSE-optimal).
/// A slice whose scale is not a normal f32 (all zeros, all denormal) gets scale
/// 1 and zero codes, onnxruntime's rule (`compute_scale_zp`: a scale below
/// `finfo(float32).tiny` becomes 1). The values must be finite
/// ([`first_non_finite`] finds the culprit first).
pub fn quantize_weight_symmetric(
    w: &Tensor,
    axis: Option<usize>,
    bits: u8,
    scale_of: &dyn Fn(&[f32], u8) -> f32,
) -> (Tensor, QParams) {
    quantize_weight_floored(w, axis, bits, scale_of, &|_| None)
}

/// [`quantize_weight_symmetric`] with a lower bound on each slice's scale:
/// `floor_of(c)` (see [`min_weight_scale`]) raises slice `c`'s scale to at
/// least that value, and a dead slice (scale not a normal f32) takes exactly the
/// floor instead of 1 — its codes are 0 either way, and the smallest valid
/// scale gives its bias the finest step.
pub fn quantize_weight_floored(
    w: &Tensor,
    axis: Option<usize>,
    bits: u8,
    scale_of: &dyn Fn(&[f32], u8) -> f32,
    floor_of: &dyn Fn(usize) -> Option<f32>,
) -> (Tensor, QParams) {
    let vals = w.to_f32_vec();
    let shape = w.shape().to_vec();
    let (outer, channels, inner) = split_at_axis(&shape, axis);
    let qmax = signed_max(bits);
    let mut scales = Vec::with_capacity(channels);
    let mut q = vec![0i8; vals.len()];
    for c in 0..channels {
        let slice: Vec<f32> = (0..outer)
            .flat_map(|o| {
                let base = (o * channels + c) * inner;
                vals[base..base + inner].iter().copied()
            })
            .collect();
        let s = scale_of(&slice, bits);
        let floor = floor_of(c);
        let s = if s.is_finite() && s >= f32::MIN_POSITIVE {
            floor.map_or(s, |f| s.max(f))
        } else {
            floor.unwrap_or(1.0)
        };
        for o in 0..outer {
            let base = (o * channels + c) * inner;
            for k in base..base + inner {
                q[k] = round_clamp(vals[k] / s, -qmax, qmax) as i8;
            }
        }
        scales.push(s);
    }
    let params = QParams {
        bits,
        signed: true,
        zero_point: vec![0; scales.len()],
        scale: scales,
        axis,
    };
    let t = Tensor::from_vec(shape, q).expect("same element count as the float weight");
    (t, params)
}

/// Smallest real requantization multiplier `s_x·s_w/s_y` a weight scale may
/// give: `quantize_multiplier` flushes multipliers below 2^-32 to zero (the
/// channel's bias would vanish); one binade of margin keeps f32 rounding of
/// the scales clear of that edge.
pub const MIN_MULTIPLIER: f64 = 1.0 / (1u64 << 31) as f64;

/// How far a bias may come to `i32::MAX` codes: onnxruntime's
/// `multiplicative_epsilon` in `_adjust_weight_scale_for_int32_bias`.
const BIAS_MARGIN: f64 = 1.0001;

/// The smallest weight scale of one output channel of a quantized compute op
/// with input scale `s_x`, output scale `s_y` and largest bias magnitude
/// `bias_abs` on that channel, so that everything derived from it is valid:
///
/// * `s_w` and the bias scale `s_x·s_w` are normal f32 (onnxruntime's floor is
///   `finfo(float32).tiny` on the scale itself; a denormal bias scale loses its
///   precision and fails the integer kernels' `s_x·s_w` check);
/// * the multiplier `s_x·s_w/s_y` is at least [`MIN_MULTIPLIER`], so it has a
///   fixed-point form (a smaller one would flush to 0);
/// * the bias fits int32 at scale `s_x·s_w`, with room left for the sum it is
///   added to: `s_x·s_w ≥ 1.0001·|b| / (2^31 − 1 − headroom)`, where `headroom`
///   is the largest magnitude the channel's products can add up to
///   ([`accumulator_headroom`]). This is onnxruntime's
///   `_adjust_weight_scale_for_int32_bias` (after TFLite's
///   `AdjustWeightsForBiasScale`), which raises the weight scale rather than
///   clipping the bias; the headroom is pare's addition, so that a bias near
///   the int32 limit cannot make the accumulator wrap.
///
/// Computed in f64 and rounded up to f32. `Err` when no f32 scale satisfies
/// them (a bias beyond what any f32 weight scale can carry), with the reason.
pub fn min_weight_scale(s_x: f32, s_y: f32, bias_abs: f32, headroom: f64) -> Result<f32, String> {
    let (sx, sy) = (f64::from(s_x), f64::from(s_y));
    if !(sx > 0.0 && sx.is_finite() && sy > 0.0 && sy.is_finite()) {
        return Err(format!(
            "input scale {s_x:e} and output scale {s_y:e} must be positive and finite"
        ));
    }
    let tiny = f64::from(f32::MIN_POSITIVE);
    let floor = tiny
        .max(tiny / sx)
        .max(MIN_MULTIPLIER * sy / sx)
        .max(BIAS_MARGIN * f64::from(bias_abs) / (bias_limit(headroom) * sx));
    let mut f = floor as f32;
    if f64::from(f) < floor {
        f = f.next_up();
    }
    if f.is_finite() {
        Ok(f)
    } else {
        Err(format!(
            "bias magnitude {bias_abs:e} needs a weight scale beyond f32 at input scale {s_x:e}"
        ))
    }
}

/// The largest magnitude `taps` products of `weight_bits`-bit weight codes
/// (`|q| ≤ 2^(b−1) − 1`) and 8-bit centred activation codes (`|x − z_x| ≤ 255`)
/// can sum to: what a channel's accumulator adds to its bias.
pub fn accumulator_headroom(taps: usize, weight_bits: u8) -> f64 {
    taps as f64 * f64::from(signed_max(weight_bits)) * 255.0
}

/// The largest bias code a channel with `headroom` may hold: `2^31 − 1 −
/// headroom`, but at least 2^24 (a reduction so long that its products alone
/// could wrap gets no extra guarantee from the bias).
fn bias_limit(headroom: f64) -> f64 {
    (f64::from(i32::MAX) - headroom).max(f64::from(1u32 << 24))
}

/// The first non-finite value (NaN, ±inf) of `values`, with its flat index.
pub fn first_non_finite(values: &[f32]) -> Option<(usize, f32)> {
    values
        .iter()
        .position(|x| !x.is_finite())
        .map(|i| (i, values[i]))
}

/// Min-max symmetric scale: the largest magnitude maps to the largest code.
pub fn minmax_scale(values: &[f32], bits: u8) -> f32 {
    let m = values.iter().fold(0f32, |a, &x| a.max(x.abs()));
    m / signed_max(bits) as f32
}

/// A constant tensor feeding a non-weight slot (an added constant, a position
/// table): asymmetric per-tensor over its own range.
pub fn quantize_constant(w: &Tensor, bits: u8) -> (Tensor, QParams) {
    let vals = w.to_f32_vec();
    let lo = vals.iter().copied().fold(0f32, f32::min);
    let hi = vals.iter().copied().fold(0f32, f32::max);
    let p = activation_params(lo, hi, bits);
    let (qmin, qmax) = (-(1i32 << (bits - 1)), (1i32 << (bits - 1)) - 1);
    let q: Vec<i8> = vals
        .iter()
        .map(|&x| {
            (round_clamp(
                x / p.scale[0],
                qmin - p.zero_point[0],
                qmax - p.zero_point[0],
            ) + p.zero_point[0]) as i8
        })
        .collect();
    let t = Tensor::from_vec(w.shape().to_vec(), q).expect("same element count");
    (t, p)
}

/// A bias quantized to int32 with scale s_x·s_w[c] and zero point 0 (per channel,
/// axis 0). `bias` holds one value per output channel.
pub fn quantize_bias(bias: &[f32], input_scale: f32, weight_scales: &[f32]) -> (Tensor, QParams) {
    let n = bias.len();
    let scales: Vec<f32> = (0..n)
        .map(|c| {
            let sw = weight_scales[if weight_scales.len() == 1 { 0 } else { c }];
            (input_scale as f64 * sw as f64) as f32
        })
        .collect();
    let q: Vec<i32> = bias
        .iter()
        .zip(&scales)
        .map(|(&b, &s)| {
            let r = (b as f64 / s as f64).round();
            r.clamp(i32::MIN as f64, i32::MAX as f64) as i32
        })
        .collect();
    let params = QParams {
        bits: 32,
        signed: true,
        zero_point: vec![0; n],
        scale: scales,
        axis: Some(0),
    };
    let t = Tensor::from_vec(vec![n], q).expect("n elements");
    (t, params)
}

/// The storage dtype of quantized activations and weights.
pub const QDTYPE: DType = DType::I8;

fn round_clamp(x: f32, lo: i32, hi: i32) -> i32 {
    // Half away from zero, like TFLite's converter rounds weights.
    (x.round() as i64).clamp(lo as i64, hi as i64) as i32
}

/// (product of dims before `axis`, size of `axis`, product after); a whole
/// tensor is one channel.
fn split_at_axis(shape: &[usize], axis: Option<usize>) -> (usize, usize, usize) {
    match axis {
        Some(a) => (
            shape[..a].iter().product(),
            shape[a],
            shape[a + 1..].iter().product(),
        ),
        None => (1, 1, shape.iter().product()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activation_params_represent_zero_exactly() {
        let p = activation_params(-1.0, 3.0, 8);
        let zp = p.zero_point[0];
        assert!((-128..=127).contains(&zp));
        let s = p.scale[0];
        assert!((s - 4.0 / 255.0).abs() < 1e-7);
        // Real 0 is code zp; the range ends map near the code ends.
        assert_eq!(((-1.0 / s).round() as i32 + zp).clamp(-128, 127), -128);
        assert_eq!(((3.0 / s).round() as i32 + zp).clamp(-128, 127), 127);
    }

    #[test]
    fn relu_range_puts_zero_at_the_bottom_code() {
        let p = activation_params(0.0, 6.0, 8);
        assert_eq!(p.zero_point, vec![-128]);
    }

    #[test]
    fn weights_are_symmetric_per_channel() {
        let w = Tensor::from_vec(vec![2, 2], vec![1.0f32, -0.6, 0.25, 0.1]).unwrap();
        let (q, p) = quantize_weight_symmetric(&w, Some(0), 8, &minmax_scale);
        assert_eq!(p.scale, vec![1.0 / 127.0, 0.25 / 127.0]);
        assert_eq!(q.as_slice::<i8>().unwrap(), &[127, -76, 127, 51]);
        let (q4, p4) = quantize_weight_symmetric(&w, Some(0), 4, &minmax_scale);
        assert_eq!(p4.scale[0], 1.0 / 7.0);
        assert_eq!(q4.as_slice::<i8>().unwrap(), &[7, -4, 7, 3]);
    }

    /// The PaddleOCR case: a channel of denormal weights gave a denormal scale
    /// and a bias scale s_x·s_w of 3.5e-44 that f32 cannot hold.
    #[test]
    fn dead_and_denormal_channels_get_zero_codes_and_a_normal_floor() {
        let w = Tensor::from_vec(
            vec![4, 2],
            vec![0.5f32, -0.25, 0.0, 0.0, 3.1e-39, -2.0e-39, 0.4, 0.4],
        )
        .unwrap();
        // Without a floor: onnxruntime's rule, scale 1 for what is not normal.
        let (q, p) = quantize_weight_symmetric(&w, Some(0), 8, &minmax_scale);
        assert_eq!(p.scale[1..3], [1.0, 1.0]);
        assert_eq!(
            q.as_slice::<i8>().unwrap(),
            &[127, -64, 0, 0, 0, 0, 127, 127]
        );
        // With the floor of an op reading s_x = 1/255 and writing s_y = 0.01.
        let (sx, sy) = (1.0 / 255.0, 0.01);
        let floor = min_weight_scale(sx, sy, 0.0, 0.0).unwrap();
        let (q, p) = quantize_weight_floored(&w, Some(0), 8, &minmax_scale, &|_| Some(floor));
        assert_eq!(
            q.as_slice::<i8>().unwrap(),
            &[127, -64, 0, 0, 0, 0, 127, 127]
        );
        assert_eq!((p.scale[1], p.scale[2]), (floor, floor));
        assert_eq!(
            p.scale[3],
            0.4 / 127.0,
            "a constant channel is an ordinary one"
        );
        for &sw in &p.scale {
            let bias_scale = (f64::from(sx) * f64::from(sw)) as f32;
            assert!(bias_scale.is_normal(), "{bias_scale:e}");
            let (m, shift) = pare_ir::quant::product_multiplier(sx, sw, sy);
            assert!(m >= 1 << 30 && shift >= -31, "({m}, {shift})");
        }
    }

    #[test]
    fn a_bias_too_large_for_int32_raises_the_weight_scale() {
        let (sx, sy) = (1.0 / 255.0, 20.0);
        let headroom = accumulator_headroom(4, 8);
        let s = min_weight_scale(sx, sy, 5000.0, headroom).unwrap();
        // At s_w = 0.002/127 the bias would be 3.2e11 codes; raised, it fits.
        assert!(s > 0.002 / 127.0);
        let (q, p) = quantize_bias(&[5000.0, -5000.0], sx, &[s, s]);
        let codes = q.as_slice::<i32>().unwrap();
        let limit = f64::from(i32::MAX) - headroom;
        assert!(
            f64::from(codes[0]) <= limit && f64::from(-codes[1]) <= limit,
            "{codes:?}"
        );
        assert!(
            f64::from(codes[0]) > 0.99 * limit,
            "the floor is the smallest that fits"
        );
        let back = f64::from(codes[0]) * f64::from(p.scale[0]);
        assert!((back - 5000.0).abs() < 1e-3, "{back}");
    }

    #[test]
    fn min_weight_scale_refuses_what_no_f32_carries() {
        let e = min_weight_scale(1e-30, 1.0, 3e38, 0.0).unwrap_err();
        assert!(e.contains("beyond f32"), "{e}");
        assert!(min_weight_scale(0.0, 1.0, 0.0, 0.0).is_err());
    }

    #[test]
    fn non_finite_values_are_found() {
        assert_eq!(first_non_finite(&[1.0, 2.0]), None);
        let (i, x) = first_non_finite(&[1.0, f32::NAN, f32::INFINITY]).unwrap();
        assert!(i == 1 && x.is_nan());
    }

    #[test]
    fn bias_scale_is_input_times_weight_scale() {
        let (q, p) = quantize_bias(&[0.5, -1.0], 0.5, &[0.25, 0.5]);
        assert_eq!(p.scale, vec![0.125, 0.25]);
        assert_eq!(q.as_slice::<i32>().unwrap(), &[4, -4]);
    }
}
