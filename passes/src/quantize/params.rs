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
pub fn quantize_weight_symmetric(
    w: &Tensor,
    axis: Option<usize>,
    bits: u8,
    scale_of: &dyn Fn(&[f32], u8) -> f32,
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
        let mut s = scale_of(&slice, bits);
        if !(s.is_finite() && s > 0.0) {
            s = 1.0; // an all-zero channel
        }
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

    #[test]
    fn bias_scale_is_input_times_weight_scale() {
        let (q, p) = quantize_bias(&[0.5, -1.0], 0.5, &[0.25, 0.5]);
        assert_eq!(p.scale, vec![0.125, 0.25]);
        assert_eq!(q.as_slice::<i32>().unwrap(), &[4, -4]);
    }
}
