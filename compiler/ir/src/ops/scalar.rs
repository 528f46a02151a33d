//! The float scalar functions of element-wise ops, in f64, that the op table gives
//! the interpreter's kernels and the quantized lookup tables.

use super::info::ScalarFn;
use super::{GeluApprox, Op};

pub(crate) fn neg(x: f64) -> f64 {
    -x
}

/// `max(x, 0)`, NaN kept.
pub(crate) fn relu(x: f64) -> f64 {
    if x > 0.0 || x.is_nan() {
        x
    } else {
        0.0
    }
}

/// −1, 0 or 1; ±0 and NaN unchanged.
pub(crate) fn sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        x
    }
}

pub(crate) fn reciprocal(x: f64) -> f64 {
    1.0 / x
}

/// Logistic function, without overflow for large |x|.
pub(crate) fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// `ln(1 + e^x)`, without overflow for large x.
pub(crate) fn softplus(x: f64) -> f64 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

pub(crate) fn softsign(x: f64) -> f64 {
    x / (1.0 + x.abs())
}

pub(crate) fn hard_swish(x: f64) -> f64 {
    x * (x / 6.0 + 0.5).clamp(0.0, 1.0)
}

/// `x·sigmoid(x)`, with the sigmoid rounded to f32 first: the f32 result is then
/// bit for bit that of `Mul(x, Sigmoid(x))` in f32 (the product of two f32
/// values is exact in f64), so fusing that form into `silu`, and exporting
/// `silu` to ONNX as that form, change no output bits.
pub(crate) fn silu(x: f64) -> f64 {
    x * f64::from(sigmoid(x) as f32)
}

pub(crate) fn mish(x: f64) -> f64 {
    x * softplus(x).tanh()
}

/// The error function, accurate to about 1e-14 (Taylor series below 3, a
/// continued fraction for erfc above).
pub fn erf(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    let a = x.abs();
    let r = if a < 3.0 {
        // erf(x) = 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1))
        let x2 = a * a;
        let mut term = a;
        let mut sum = a;
        let mut n = 0.0;
        while term.abs() > 1e-17 * sum.abs() {
            n += 1.0;
            term *= -x2 / n;
            sum += term / (2.0 * n + 1.0);
        }
        sum * std::f64::consts::FRAC_2_SQRT_PI
    } else if a > 6.0 {
        1.0
    } else {
        // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...))))
        let mut f = a;
        for k in (1..=60).rev() {
            f = a + (k as f64 / 2.0) / f;
        }
        1.0 - (-a * a).exp() / (std::f64::consts::PI.sqrt() * f)
    };
    if x < 0.0 {
        -r
    } else {
        r
    }
}

// ---- functions chosen by attributes (or constant extra inputs) ----

/// Boxes `f` as the op's function.
fn bind(f: impl Fn(f64) -> f64 + Send + Sync + 'static) -> Option<ScalarFn> {
    Some(Box::new(f))
}

pub(crate) fn leaky_relu(op: &Op, _: &[Option<f64>]) -> Option<ScalarFn> {
    let Op::LeakyRelu { alpha } = *op else {
        return None;
    };
    let a = f64::from(alpha);
    bind(move |v| if v < 0.0 { a * v } else { v })
}

pub(crate) fn elu(op: &Op, _: &[Option<f64>]) -> Option<ScalarFn> {
    let Op::Elu { alpha } = *op else { return None };
    let a = f64::from(alpha);
    bind(move |v| if v < 0.0 { a * v.exp_m1() } else { v })
}

pub(crate) fn selu(op: &Op, _: &[Option<f64>]) -> Option<ScalarFn> {
    let Op::Selu { alpha, gamma } = *op else {
        return None;
    };
    let (a, g) = (f64::from(alpha), f64::from(gamma));
    bind(move |v| {
        if v <= 0.0 {
            g * (a * v.exp() - a)
        } else {
            g * v
        }
    })
}

pub(crate) fn celu(op: &Op, _: &[Option<f64>]) -> Option<ScalarFn> {
    let Op::Celu { alpha } = *op else { return None };
    let a = f64::from(alpha);
    bind(move |v| v.max(0.0) + (a * (v / a).exp_m1()).min(0.0))
}

pub(crate) fn thresholded_relu(op: &Op, _: &[Option<f64>]) -> Option<ScalarFn> {
    let Op::ThresholdedRelu { alpha } = *op else {
        return None;
    };
    let a = f64::from(alpha);
    bind(move |v| if v > a { v } else { 0.0 })
}

pub(crate) fn hard_sigmoid(op: &Op, _: &[Option<f64>]) -> Option<ScalarFn> {
    let Op::HardSigmoid { alpha, beta } = *op else {
        return None;
    };
    let (a, b) = (f64::from(alpha), f64::from(beta));
    bind(move |v| (a * v + b).clamp(0.0, 1.0))
}

pub(crate) fn gelu(op: &Op, _: &[Option<f64>]) -> Option<ScalarFn> {
    let Op::Gelu { approximate } = *op else {
        return None;
    };
    match approximate {
        GeluApprox::None => bind(|v| 0.5 * v * (1.0 + erf(v * std::f64::consts::FRAC_1_SQRT_2))),
        GeluApprox::Tanh => {
            let c = (2.0 / std::f64::consts::PI).sqrt();
            bind(move |v| 0.5 * v * (1.0 + (c * (v + 0.044715 * v * v * v)).tanh()))
        }
    }
}

pub(crate) fn shrink(op: &Op, _: &[Option<f64>]) -> Option<ScalarFn> {
    let Op::Shrink { bias, lambd } = *op else {
        return None;
    };
    let (bias, lambd) = (f64::from(bias), f64::from(lambd));
    bind(move |v| {
        if v < -lambd {
            v + bias
        } else if v > lambd {
            v - bias
        } else {
            0.0
        }
    })
}

/// `Clip` with its bounds (`extra` = [min, max], absent ones unbounded):
/// `min(max(x, lo), hi)`, so with lo > hi every value becomes hi, like numpy.
pub(crate) fn clip(op: &Op, extra: &[Option<f64>]) -> Option<ScalarFn> {
    let Op::Clip {} = op else { return None };
    let bound = |i: usize| extra.get(i).copied().flatten();
    let lo = bound(0).unwrap_or(f64::NEG_INFINITY);
    let hi = bound(1).unwrap_or(f64::INFINITY);
    bind(move |v| {
        let v = if v < lo { lo } else { v };
        if v > hi {
            hi
        } else {
            v
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn erf_matches_reference_values() {
        // Values from scipy.special.erf.
        let cases = [
            (0.0, 0.0),
            (0.1, 0.1124629160182849),
            (0.5, 0.5204998778130465),
            (1.0, 0.8427007929497149),
            (2.0, 0.9953222650189527),
            (2.9, 0.9999589021219005),
            (3.5, 0.9999992569016276),
            (-1.5, -0.9661051464753108),
        ];
        for (x, want) in cases {
            let got = super::erf(x);
            assert!((got - want).abs() < 1e-13, "erf({x}) = {got}, want {want}");
        }
    }
}
