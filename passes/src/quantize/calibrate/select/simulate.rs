//! The simulated quantization error of a range, which `auto` ranks candidates by:
//! the histogram quantized with the range's actual scale and zero point.

use super::zero_bin;
use crate::quantize::calibrate::Histogram;

/// Scale and zero point of signed asymmetric `bits`-bit quantization of
/// `[lo, hi]` (`q` in `[−2^(bits−1), 2^(bits−1) − 1]`, `real = scale·(q − zp)`):
/// `scale = (hi − lo) / (2^bits − 1)` and `zp = round(qmin − lo / scale)`
/// clamped into `[qmin, qmax]` (TFLite's nudging, so 0 is exactly representable).
/// A degenerate range (`hi <= lo`, or a scale that underflows f32: a value that
/// was 0 on every sample) gets scale 1 and zero point 0, which represent its only
/// value 0 exactly (onnxruntime's `compute_scale_zp` does the same below
/// `finfo(float32).tiny`). A range narrower than that but not empty gets at
/// least [`MIN_ACTIVATION_SCALE`].
pub fn asymmetric_params(lo: f32, hi: f32, bits: u8) -> (f32, i32) {
    let qmin = -(1i64 << (bits.clamp(2, 31) - 1));
    let qmax = -qmin - 1;
    let scale = ((f64::from(hi) - f64::from(lo)) / (qmax - qmin) as f64) as f32;
    if !(scale > 0.0 && scale.is_finite()) {
        return (1.0, 0);
    }
    let scale = scale.max(MIN_ACTIVATION_SCALE);
    let zp = (qmin as f64 - f64::from(lo) / f64::from(scale)).round();
    (scale, zp.clamp(qmin as f64, qmax as f64) as i32)
}

/// The smallest activation scale, 2^-60: values below about 10^-18 next to a
/// zero that must stay exact are noise to any f32 model, and a scale this large
/// keeps every product of scales a kernel forms (`s_x·s_w`, bias scales,
/// multipliers against the output scale) far from f32's denormals.
pub const MIN_ACTIVATION_SCALE: f32 = 1.0 / (1u64 << 60) as f32;

/// Mean squared error per value of quantizing the histogram's values to `bits`
/// bits over `range` (with [`asymmetric_params`]): each bin's values are taken
/// as uniform over the bin and the squared distance to their quantized value
/// (rounded to the nearest level, clamped at the ends) is integrated exactly;
/// `zeros` exact zeros (counted in the bin holding 0) cost nothing.
pub fn simulated_mse(h: &Histogram, zeros: u64, range: (f32, f32), bits: u8) -> f64 {
    let total = h.total();
    if total == 0 {
        return 0.0;
    }
    let (scale, zp) = asymmetric_params(range.0, range.1, bits);
    let qmin = -(1i64 << (bits.clamp(2, 31) - 1));
    let q = Quantizer {
        scale: f64::from(scale),
        zp: zp as f64,
        qmin: qmin as f64,
        qmax: (-qmin - 1) as f64,
    };
    let z = zero_bin(h);
    let mut err = 0.0;
    for (m, &c) in h.counts().iter().enumerate() {
        let c = if m == z { c.saturating_sub(zeros) } else { c };
        if c == 0 {
            continue;
        }
        let (u, v) = (h.edge(m), h.edge(m + 1));
        let mean_sq = if v > u {
            q.integral(u, v) / (v - u)
        } else {
            let d = u - q.dequant(q.level(u));
            d * d
        };
        err += c as f64 * mean_sq;
    }
    err / total as f64
}

/// Fake quantization with fixed parameters, in f64.
struct Quantizer {
    scale: f64,
    zp: f64,
    qmin: f64,
    qmax: f64,
}

impl Quantizer {
    /// The level `x` quantizes to (ties are measure-zero here, so plain rounding).
    fn level(&self, x: f64) -> f64 {
        (x / self.scale + self.zp)
            .round()
            .clamp(self.qmin, self.qmax)
    }

    fn dequant(&self, q: f64) -> f64 {
        self.scale * (q - self.zp)
    }

    /// ∫_u^v (x − fq(x))² dx, walking the quantization cells that meet `[u, v]`.
    fn integral(&self, u: f64, v: f64) -> f64 {
        let mut sum = 0.0;
        let mut x = u;
        let mut q = self.level(u);
        while x < v {
            let y = self.dequant(q);
            // The top cell extends to +∞ (values above clamp to it).
            let cell_end = if q >= self.qmax {
                f64::INFINITY
            } else {
                self.scale * (q + 0.5 - self.zp)
            };
            let end = v.min(cell_end);
            if end > x {
                sum += ((end - y).powi(3) - (x - y).powi(3)) / 3.0;
            }
            x = end.max(x);
            q += 1.0;
            if end >= v || q > self.qmax {
                break;
            }
        }
        sum
    }
}
