//! Element-wise unary kernels: activations and math functions (with their
//! attributes), logical and bitwise not, NaN/Inf tests, Cast/CastLike, Clip and
//! inference-mode Dropout.
//!
//! Float functions are evaluated in f64 and rounded once to the element type, so
//! f16 and f32 results are correctly rounded images of the exact function.

use super::mathfn::erf;
use super::num::{Int, Num};
use super::util::{float_dtype, int_dtype, num_dtype, slice, tensor, Args, Outputs};
use super::InterpError;
use crate::ops::GeluApprox;
use crate::{DType, Element, Op, Tensor};

/// Evaluates a unary element-wise op, Cast/CastLike, Clip or Dropout.
pub(super) fn eval(args: &Args, num_outputs: usize) -> Outputs {
    match args.op {
        Op::Cast { to } => Ok(vec![args.req(0)?.cast(*to)]),
        Op::CastLike {} => Ok(vec![args.req(0)?.cast(args.req(1)?.dtype())]),
        Op::Clip {} => Ok(vec![clip(args)?]),
        Op::Dropout {} => dropout(args, num_outputs),
        Op::Identity {} => Ok(vec![args.req(0)?.clone()]),
        _ => Ok(vec![unary(args, args.req(0)?)?]),
    }
}

/// `f` over the elements of a float tensor, evaluated in f64.
fn map_float(args: &Args, x: &Tensor, f: impl Fn(f64) -> f64) -> Result<Tensor, InterpError> {
    float_dtype!(x.dtype(), T => {
        let v = slice::<T>(x)?;
        tensor(x.shape().to_vec(), v.iter().map(|&e| T::from_f64(f(e.to_f64()))).collect())
    }, d => Err(args.bad_dtype("input", d)))
}

/// `f` over the elements of a numeric tensor of any dtype, kept in that dtype.
fn map_num<T: Num>(x: &Tensor, f: impl Fn(T) -> T) -> Result<Tensor, InterpError> {
    let v = slice::<T>(x)?;
    tensor(x.shape().to_vec(), v.iter().map(|&e| f(e)).collect())
}

/// `f` over a float tensor's elements giving bool.
fn test_float(args: &Args, x: &Tensor, f: impl Fn(f64) -> bool) -> Result<Tensor, InterpError> {
    float_dtype!(x.dtype(), T => {
        let v = slice::<T>(x)?;
        tensor(x.shape().to_vec(), v.iter().map(|&e| f(e.to_f64())).collect::<Vec<bool>>())
    }, d => Err(args.bad_dtype("input", d)))
}

fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

fn softplus(x: f64) -> f64 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

fn unary(args: &Args, x: &Tensor) -> Result<Tensor, InterpError> {
    let dt = x.dtype();
    match *args.op {
        // Ops defined on signed and unsigned integers as well as floats.
        Op::Abs {} => {
            num_dtype!(dt, T => map_num::<T>(x, Num::abs), d => Err(args.bad_dtype("input", d)))
        }
        Op::Neg {} => {
            num_dtype!(dt, T => map_num::<T>(x, Num::neg), d => Err(args.bad_dtype("input", d)))
        }
        Op::Relu {} => {
            num_dtype!(dt, T => map_num::<T>(x, |e| if e > T::zero() || e.is_nan() { e } else { T::zero() }), d => Err(args.bad_dtype("input", d)))
        }
        Op::Sign {} => num_dtype!(dt, T => map_num::<T>(x, |e| {
            if e > T::zero() { T::one() } else if e < T::zero() { T::one().neg() } else { e }
        }), d => Err(args.bad_dtype("input", d))),
        Op::Shrink { bias, lambd } => {
            let (bias, lambd) = (bias as f64, lambd as f64);
            num_dtype!(dt, T => map_num::<T>(x, |e| {
                let v = e.to_f64();
                T::from_f64(if v < -lambd { v + bias } else if v > lambd { v - bias } else { 0.0 })
            }), d => Err(args.bad_dtype("input", d)))
        }
        Op::Not {} => {
            args.same_dtype("input", x, DType::Bool)?;
            map_bool(x, |b| !b)
        }
        Op::BitwiseNot {} => {
            int_dtype!(dt, T => bitwise_not::<T>(x), d => Err(args.bad_dtype("input", d)))
        }
        Op::IsNaN {} => test_float(args, x, f64::is_nan),
        Op::IsInf {
            detect_negative,
            detect_positive,
        } => test_float(args, x, |v| {
            (detect_positive && v == f64::INFINITY) || (detect_negative && v == f64::NEG_INFINITY)
        }),
        // Float-only functions.
        Op::Sigmoid {} => map_float(args, x, sigmoid),
        Op::Tanh {} => map_float(args, x, f64::tanh),
        Op::Exp {} => map_float(args, x, f64::exp),
        Op::Log {} => map_float(args, x, f64::ln),
        Op::Sqrt {} => map_float(args, x, f64::sqrt),
        Op::Reciprocal {} => map_float(args, x, |v| 1.0 / v),
        Op::Floor {} => map_float(args, x, f64::floor),
        Op::Ceil {} => map_float(args, x, f64::ceil),
        Op::Round {} => map_float(args, x, f64::round_ties_even),
        Op::Erf {} => map_float(args, x, erf),
        Op::Sin {} => map_float(args, x, f64::sin),
        Op::Cos {} => map_float(args, x, f64::cos),
        Op::Tan {} => map_float(args, x, f64::tan),
        Op::Asin {} => map_float(args, x, f64::asin),
        Op::Acos {} => map_float(args, x, f64::acos),
        Op::Atan {} => map_float(args, x, f64::atan),
        Op::Sinh {} => map_float(args, x, f64::sinh),
        Op::Cosh {} => map_float(args, x, f64::cosh),
        Op::Asinh {} => map_float(args, x, f64::asinh),
        Op::Acosh {} => map_float(args, x, f64::acosh),
        Op::Atanh {} => map_float(args, x, f64::atanh),
        Op::Softplus {} => map_float(args, x, softplus),
        Op::Softsign {} => map_float(args, x, |v| v / (1.0 + v.abs())),
        Op::HardSwish {} => map_float(args, x, |v| v * (v / 6.0 + 0.5).clamp(0.0, 1.0)),
        Op::Mish {} => map_float(args, x, |v| v * softplus(v).tanh()),
        Op::LeakyRelu { alpha } => {
            let a = alpha as f64;
            map_float(args, x, |v| if v < 0.0 { a * v } else { v })
        }
        Op::Elu { alpha } => {
            let a = alpha as f64;
            map_float(args, x, |v| if v < 0.0 { a * v.exp_m1() } else { v })
        }
        Op::Selu { alpha, gamma } => {
            let (a, g) = (alpha as f64, gamma as f64);
            map_float(args, x, |v| {
                if v <= 0.0 {
                    g * (a * v.exp() - a)
                } else {
                    g * v
                }
            })
        }
        Op::Celu { alpha } => {
            let a = alpha as f64;
            map_float(args, x, |v| v.max(0.0) + (a * (v / a).exp_m1()).min(0.0))
        }
        Op::ThresholdedRelu { alpha } => {
            let a = alpha as f64;
            map_float(args, x, |v| if v > a { v } else { 0.0 })
        }
        Op::HardSigmoid { alpha, beta } => {
            let (a, b) = (alpha as f64, beta as f64);
            map_float(args, x, |v| (a * v + b).clamp(0.0, 1.0))
        }
        Op::Gelu { approximate } => match approximate {
            GeluApprox::None => map_float(args, x, |v| {
                0.5 * v * (1.0 + erf(v * std::f64::consts::FRAC_1_SQRT_2))
            }),
            GeluApprox::Tanh => {
                let c = (2.0 / std::f64::consts::PI).sqrt();
                map_float(args, x, |v| {
                    0.5 * v * (1.0 + (c * (v + 0.044715 * v * v * v)).tanh())
                })
            }
        },
        _ => Err(args.err("not an element-wise unary op")),
    }
}

fn map_bool(x: &Tensor, f: impl Fn(bool) -> bool) -> Result<Tensor, InterpError> {
    let v = slice::<bool>(x)?;
    tensor(x.shape().to_vec(), v.iter().map(|&b| f(b)).collect())
}

fn bitwise_not<T: Int>(x: &Tensor) -> Result<Tensor, InterpError> {
    map_num::<T>(x, |e| !e)
}

/// Clip(x, min?, max?): bounds are scalars (or one-element tensors) of x's dtype.
fn clip(args: &Args) -> Result<Tensor, InterpError> {
    let x = args.req(0)?;
    let bound = |i: usize| -> Result<Option<&Tensor>, InterpError> {
        match args.opt(i) {
            None => Ok(None),
            // An empty tensor stands for an absent bound in some exporters.
            Some(t) if t.is_empty() => Ok(None),
            Some(t) => {
                args.same_dtype(if i == 1 { "min" } else { "max" }, t, x.dtype())?;
                if t.len() != 1 {
                    return Err(args.err(format!(
                        "bound {i} must be a scalar, got shape {:?}",
                        t.shape()
                    )));
                }
                Ok(Some(t))
            }
        }
    };
    let (lo, hi) = (bound(1)?, bound(2)?);
    num_dtype!(x.dtype(), T => {
        let lo = match lo { Some(t) => slice::<T>(t)?[0], None => T::lowest() };
        let hi = match hi { Some(t) => slice::<T>(t)?[0], None => T::highest() };
        // max(x, lo) then min(., hi): with lo > hi every element becomes hi, like numpy.
        map_num::<T>(x, |e| {
            let e = if e < lo { lo } else { e };
            if e > hi { hi } else { e }
        })
    }, d => Err(args.bad_dtype("input", d)))
}

/// Inference-mode Dropout: y = x and an all-true mask.
fn dropout(args: &Args, num_outputs: usize) -> Outputs {
    let x = args.req(0)?;
    if let Some(t) = args.opt(2) {
        args.same_dtype("training_mode", t, DType::Bool)?;
        // Training with ratio 0 drops nothing; any other ratio would be random.
        let ratio = args
            .opt(1)
            .map_or(0.5, |r| r.to_f64_vec().first().copied().unwrap_or(0.5));
        if slice::<bool>(t)?.iter().any(|&b| b) && ratio != 0.0 {
            return Err(args.err("training mode (random dropout) is not supported"));
        }
    }
    let mut out = vec![x.clone()];
    if num_outputs == 2 {
        out.push(tensor(x.shape().to_vec(), vec![true; x.len()])?);
    }
    Ok(out)
}
