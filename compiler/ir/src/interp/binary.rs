//! Element-wise binary and ternary kernels with ONNX multidirectional broadcasting:
//! arithmetic, Pow, Mod, Max/Min (variadic), comparisons, logical and bitwise ops,
//! BitShift, PRelu and Where.

use super::num::{Int, Num};
use super::strided::{broadcast_shapes, map2, map3};
use super::util::{any_dtype, count, int_dtype, num_dtype, slice, tensor, Args, Outputs};
use super::InterpError;
use crate::{DType, Element, Op, Tensor};

/// Evaluates a broadcasting binary/ternary op.
pub(super) fn eval(args: &Args) -> Outputs {
    let out = match args.op {
        Op::Max {} | Op::Min {} => variadic_minmax(args)?,
        Op::Where {} => where_(args)?,
        Op::PRelu {} => prelu(args)?,
        Op::Pow {} => pow(args)?,
        _ => {
            if args.len() != 2 {
                return Err(args.err(format!("expects 2 inputs, got {}", args.len())));
            }
            binary(args, args.req(0)?, args.req(1)?)?
        }
    };
    Ok(vec![out])
}

/// The broadcast shape of `a` and `b` and its element count.
fn out_shape(args: &Args, a: &Tensor, b: &Tensor) -> Result<(Vec<usize>, usize), InterpError> {
    let s = broadcast_shapes(a.shape(), b.shape()).ok_or_else(|| {
        args.err(format!(
            "cannot broadcast shapes {:?} and {:?}",
            a.shape(),
            b.shape()
        ))
    })?;
    let n = count(args, &s)?;
    Ok((s, n))
}

/// `f` over `a` and `b` (both of element type `T`) broadcast together.
fn zip<T: Element, O: Element>(
    args: &Args,
    a: &Tensor,
    b: &Tensor,
    f: impl Fn(T, T) -> O,
) -> Result<Tensor, InterpError> {
    let (s, n) = out_shape(args, a, b)?;
    let v = map2(
        (slice::<T>(a)?, a.shape()),
        (slice::<T>(b)?, b.shape()),
        &s,
        n,
        f,
    );
    tensor(s, v)
}

fn binary(args: &Args, a: &Tensor, b: &Tensor) -> Result<Tensor, InterpError> {
    if a.dtype() != b.dtype() {
        return Err(args.err(format!(
            "operand dtypes differ: {} and {}",
            a.dtype(),
            b.dtype()
        )));
    }
    let dt = a.dtype();
    let bad = |d: DType| args.bad_dtype("operand", d);
    match args.op {
        Op::Add {} | Op::Sub {} | Op::Mul {} | Op::Div {} | Op::Mod { .. } => {
            num_dtype!(dt, T => arith::<T>(args, a, b), d => Err(bad(d)))
        }
        Op::Equal {} => any_dtype!(dt, T => zip::<T, bool>(args, a, b, |x, y| x == y)),
        Op::Less {} => {
            num_dtype!(dt, T => zip::<T, bool>(args, a, b, |x, y| x < y), d => Err(bad(d)))
        }
        Op::LessOrEqual {} => {
            num_dtype!(dt, T => zip::<T, bool>(args, a, b, |x, y| x <= y), d => Err(bad(d)))
        }
        Op::Greater {} => {
            num_dtype!(dt, T => zip::<T, bool>(args, a, b, |x, y| x > y), d => Err(bad(d)))
        }
        Op::GreaterOrEqual {} => {
            num_dtype!(dt, T => zip::<T, bool>(args, a, b, |x, y| x >= y), d => Err(bad(d)))
        }
        Op::And {} | Op::Or {} | Op::Xor {} => {
            if dt != DType::Bool {
                return Err(bad(dt));
            }
            match args.op {
                Op::And {} => zip::<bool, bool>(args, a, b, |x, y| x & y),
                Op::Or {} => zip::<bool, bool>(args, a, b, |x, y| x | y),
                _ => zip::<bool, bool>(args, a, b, |x, y| x ^ y),
            }
        }
        Op::BitwiseAnd {} | Op::BitwiseOr {} | Op::BitwiseXor {} | Op::BitShift { .. } => {
            int_dtype!(dt, T => bitwise::<T>(args, a, b), d => Err(bad(d)))
        }
        _ => Err(args.err("not a binary op")),
    }
}

fn arith<T: Num>(args: &Args, a: &Tensor, b: &Tensor) -> Result<Tensor, InterpError> {
    let divides = matches!(args.op, Op::Div {} | Op::Mod { .. });
    if divides && !T::DTYPE.is_float() && slice::<T>(b)?.iter().any(|&y| y == T::zero()) {
        return Err(args.err("integer division by zero"));
    }
    match args.op {
        Op::Add {} => zip::<T, T>(args, a, b, T::add),
        Op::Sub {} => zip::<T, T>(args, a, b, T::sub),
        Op::Mul {} => zip::<T, T>(args, a, b, T::mul),
        Op::Div {} => zip::<T, T>(args, a, b, T::div),
        Op::Mod { fmod: true } => zip::<T, T>(args, a, b, T::rem_trunc),
        _ => zip::<T, T>(args, a, b, T::rem_floor),
    }
}

fn bitwise<T: Int>(args: &Args, a: &Tensor, b: &Tensor) -> Result<Tensor, InterpError> {
    match args.op {
        Op::BitwiseAnd {} => zip::<T, T>(args, a, b, |x, y| x & y),
        Op::BitwiseOr {} => zip::<T, T>(args, a, b, |x, y| x | y),
        Op::BitwiseXor {} => zip::<T, T>(args, a, b, |x, y| x ^ y),
        Op::BitShift { left: true } => zip::<T, T>(args, a, b, T::shl),
        _ => zip::<T, T>(args, a, b, T::shr),
    }
}

/// Max/Min over one or more inputs, folded left with broadcasting; NaN propagates.
fn variadic_minmax(args: &Args) -> Result<Tensor, InterpError> {
    let mut it = args.present();
    let first = it
        .next()
        .ok_or_else(|| args.err("needs at least one input"))?;
    if args.present().count() != args.len() {
        return Err(args.err("inputs may not be absent"));
    }
    let mut acc = first.clone();
    let max = matches!(args.op, Op::Max {});
    for t in it {
        if t.dtype() != acc.dtype() {
            return Err(args.err(format!(
                "operand dtypes differ: {} and {}",
                acc.dtype(),
                t.dtype()
            )));
        }
        acc = num_dtype!(acc.dtype(), T => if max {
            zip::<T, T>(args, &acc, t, T::max_nan)
        } else {
            zip::<T, T>(args, &acc, t, T::min_nan)
        }, d => Err(args.bad_dtype("operand", d)))?;
    }
    Ok(acc)
}

/// Pow(x, y): the result has x's dtype; y may have any numeric dtype.
fn pow(args: &Args) -> Result<Tensor, InterpError> {
    if args.len() != 2 {
        return Err(args.err(format!("expects 2 inputs, got {}", args.len())));
    }
    let (x, y) = (args.req(0)?, args.req(1)?);
    if y.dtype() == DType::Bool {
        return Err(args.bad_dtype("exponent", y.dtype()));
    }
    let (s, n) = out_shape(args, x, y)?;
    if x.dtype().is_int() && y.dtype().is_int() {
        // Exact integer power (wrapping); negative exponents truncate like a float
        // result cast back (only ±1 survive).
        let e = y.to_i64_vec();
        return int_dtype!(x.dtype(), T => {
            let v = map2((slice::<T>(x)?, x.shape()), (&e, y.shape()), &s, n, |b: T, e: i64| {
                T::from_i64(int_pow(b.to_i64(), e))
            });
            tensor(s, v)
        }, d => Err(args.bad_dtype("base", d)));
    }
    let e = y.to_f64_vec();
    num_dtype!(x.dtype(), T => {
        let v = map2((slice::<T>(x)?, x.shape()), (&e, y.shape()), &s, n, |b: T, e: f64| {
            T::from_f64(b.to_f64().powf(e))
        });
        tensor(s, v)
    }, d => Err(args.bad_dtype("base", d)))
}

fn int_pow(b: i64, e: i64) -> i64 {
    if e >= 0 {
        let mut r: i64 = 1;
        let (mut base, mut e) = (b, e);
        while e > 0 {
            if e & 1 == 1 {
                r = r.wrapping_mul(base);
            }
            base = base.wrapping_mul(base);
            e >>= 1;
        }
        r
    } else {
        match b {
            1 => 1,
            -1 => {
                if e % 2 == 0 {
                    1
                } else {
                    -1
                }
            }
            _ => 0,
        }
    }
}

/// PRelu(x, slope): slope broadcasts to x's shape (unidirectionally).
fn prelu(args: &Args) -> Result<Tensor, InterpError> {
    if args.len() != 2 {
        return Err(args.err(format!("expects 2 inputs, got {}", args.len())));
    }
    let (x, slope) = (args.req(0)?, args.req(1)?);
    if slope.dtype() != x.dtype() {
        return Err(args.err(format!(
            "slope dtype {} differs from input dtype {}",
            slope.dtype(),
            x.dtype()
        )));
    }
    let (s, _) = out_shape(args, x, slope)?;
    if s != x.shape() {
        return Err(args.err(format!(
            "slope shape {:?} does not broadcast to input shape {:?}",
            slope.shape(),
            x.shape()
        )));
    }
    num_dtype!(x.dtype(), T => zip::<T, T>(args, x, slope, |v, a| if v < T::zero() { v.mul(a) } else { v }),
        d => Err(args.bad_dtype("input", d)))
}

/// Where(cond, x, y) with three-way broadcasting.
fn where_(args: &Args) -> Result<Tensor, InterpError> {
    if args.len() != 3 {
        return Err(args.err(format!("expects 3 inputs, got {}", args.len())));
    }
    let (c, x, y) = (args.req(0)?, args.req(1)?, args.req(2)?);
    args.same_dtype("condition", c, DType::Bool)?;
    if x.dtype() != y.dtype() {
        return Err(args.err(format!(
            "operand dtypes differ: {} and {}",
            x.dtype(),
            y.dtype()
        )));
    }
    let s = broadcast_shapes(c.shape(), x.shape())
        .and_then(|s| broadcast_shapes(&s, y.shape()))
        .ok_or_else(|| {
            args.err(format!(
                "cannot broadcast shapes {:?}, {:?} and {:?}",
                c.shape(),
                x.shape(),
                y.shape()
            ))
        })?;
    let n = count(args, &s)?;
    let cv = slice::<bool>(c)?;
    any_dtype!(x.dtype(), T => {
        let v = map3(
            (cv, c.shape()),
            (slice::<T>(x)?, x.shape()),
            (slice::<T>(y)?, y.shape()),
            &s,
            n,
            |c, a: T, b: T| if c { a } else { b },
        );
        tensor(s, v)
    })
}
