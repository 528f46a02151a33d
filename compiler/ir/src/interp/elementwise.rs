//! Element-wise unary kernels: activations and math functions (with their
//! attributes), logical and bitwise not, NaN/Inf tests, Cast/CastLike, Clip and
//! inference-mode Dropout.
//!
//! Float functions come from the op table ([`crate::Op::scalar_fn`]); they are
//! evaluated in f64 and rounded once to the element type, so f16 and f32 results
//! are correctly rounded images of the exact function.

use super::num::{Int, Num};
use super::util::{float_dtype, int_dtype, num_dtype, slice, tensor, Args, Outputs};
use super::InterpError;
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

fn unary(args: &Args, x: &Tensor) -> Result<Tensor, InterpError> {
    let dt = x.dtype();
    // Float inputs: the op table's scalar function, in f64 and rounded once.
    if dt.is_float() {
        if let Some(f) = args.op.scalar_fn(&[]) {
            return map_float(args, x, f);
        }
    }
    match *args.op {
        // Ops defined on signed and unsigned integers as well as floats.
        Op::Abs {} => {
            num_dtype!(dt, T => map_num::<T>(x, Num::abs), d => Err(args.bad_dtype("input", d)))
        }
        Op::Neg {} => {
            num_dtype!(dt, T => map_num::<T>(x, Num::neg), d => Err(args.bad_dtype("input", d)))
        }
        Op::Relu {} => {
            num_dtype!(dt, T => map_num::<T>(x, |e| if e > T::zero() { e } else { T::zero() }), d => Err(args.bad_dtype("input", d)))
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
        // A float-only function given another dtype.
        _ if args.op.info().scalar.is_some() => Err(args.bad_dtype("input", dt)),
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
