//! Tensor generators: ConstantOfShape, Range, EyeLike, OneHot and NonZero. Every
//! size that comes from tensor values is checked before allocating.

use super::util::{any_dtype, count, dim, num_dtype, slice, tensor, Args, Outputs};
use super::InterpError;
use crate::{DType, Element, Op, Tensor};

pub(super) fn eval(args: &Args) -> Outputs {
    let out = match *args.op {
        Op::ConstantOfShape { dtype, value } => constant_of_shape(args, dtype, value)?,
        Op::Range {} => range(args)?,
        Op::EyeLike { dtype, k } => eye_like(args, dtype, k)?,
        Op::OneHot { axis } => one_hot(args, axis)?,
        Op::NonZero {} => non_zero(args)?,
        _ => return Err(args.err("not a generator op")),
    };
    Ok(vec![out])
}

fn constant_of_shape(args: &Args, dtype: DType, value: f64) -> Result<Tensor, InterpError> {
    let s = args.req(0)?;
    if s.rank() != 1 {
        return Err(args.err(format!("shape must be 1-D, got {:?}", s.shape())));
    }
    args.same_dtype("shape", s, DType::I64)?;
    let shape: Vec<usize> = slice::<i64>(s)?
        .iter()
        .map(|&d| dim(args, "shape", d))
        .collect::<Result<_, _>>()?;
    let n = count(args, &shape)?;
    any_dtype!(dtype, T => tensor(shape, vec![T::from_f64(value); n]))
}

fn range(args: &Args) -> Result<Tensor, InterpError> {
    let (s, l, d) = (args.req(0)?, args.req(1)?, args.req(2)?);
    for (what, t) in [("start", s), ("limit", l), ("delta", d)] {
        args.same_dtype(what, t, s.dtype())?;
        if t.len() != 1 {
            return Err(args.err(format!("{what} must be a scalar, got {:?}", t.shape())));
        }
    }
    num_dtype!(s.dtype(), T => {
        let (start, limit, delta) = (slice::<T>(s)?[0], slice::<T>(l)?[0], slice::<T>(d)?[0]);
        let n = if T::DTYPE.is_float() {
            let (a, b, c) = (start.to_f64(), limit.to_f64(), delta.to_f64());
            let n = ((b - a) / c).ceil();
            if c == 0.0 || n.is_nan() || n == f64::INFINITY {
                return Err(args.err(format!("cannot count range({a}, {b}, {c})")));
            }
            n.max(0.0)
        } else {
            let (a, b, c) = (start.to_i64() as i128, limit.to_i64() as i128, delta.to_i64() as i128);
            if c == 0 {
                return Err(args.err("delta is 0"));
            }
            // ceil((b - a) / c) in exact integer arithmetic.
            let q = (b - a) / c;
            let q = if (b - a) % c != 0 && ((b - a) < 0) == (c < 0) { q + 1 } else { q };
            q.max(0) as f64
        };
        if n > crate::MAX_ELEMENTS as f64 {
            return Err(args.err(format!("range of {n} elements is too large")));
        }
        let n = n as usize;
        let out: Vec<T> = if T::DTYPE.is_float() {
            let (a, c) = (start.to_f64(), delta.to_f64());
            (0..n).map(|i| T::from_f64(a + i as f64 * c)).collect()
        } else {
            let (a, c) = (start.to_i64(), delta.to_i64());
            (0..n).map(|i| T::from_i64(a.wrapping_add((i as i64).wrapping_mul(c)))).collect()
        };
        tensor(vec![n], out)
    }, dt => Err(args.bad_dtype("start", dt)))
}

fn eye_like(args: &Args, dtype: Option<DType>, k: i64) -> Result<Tensor, InterpError> {
    let x = args.req(0)?;
    let [rows, cols] = *x.shape() else {
        return Err(args.err(format!("input must be 2-D, got {:?}", x.shape())));
    };
    let dtype = dtype.unwrap_or(x.dtype());
    any_dtype!(dtype, T => {
        let mut out = vec![T::default(); rows * cols];
        for i in 0..rows {
            let j = i as i64 + k;
            if (0..cols as i64).contains(&j) {
                out[i * cols + j as usize] = T::from_f64(1.0);
            }
        }
        tensor(vec![rows, cols], out)
    })
}

/// OneHot(indices, depth, values): `values = [off, on]`; negative indices count
/// back from `depth`, out-of-range ones give an all-`off` row.
fn one_hot(args: &Args, axis: i64) -> Result<Tensor, InterpError> {
    let (ind, dep, vals) = (args.req(0)?, args.req(1)?, args.req(2)?);
    if dep.len() != 1 || dep.dtype() == DType::Bool {
        return Err(args.err(format!(
            "depth must be a numeric scalar, got {} {:?}",
            dep.dtype(),
            dep.shape()
        )));
    }
    let depth = dep.to_f64_vec()[0];
    if depth.is_nan() || depth < 1.0 || depth > crate::MAX_ELEMENTS as f64 {
        return Err(args.err(format!("depth {depth} is out of range")));
    }
    let depth = depth as usize;
    if vals.len() != 2 {
        return Err(args.err(format!(
            "values must hold 2 elements, got {:?}",
            vals.shape()
        )));
    }
    if ind.dtype() == DType::Bool {
        return Err(args.bad_dtype("indices", ind.dtype()));
    }
    let idx = ind.to_f64_vec();
    let r = ind.rank() + 1;
    let axis = args.axis(axis, r)?;
    let mut shape = ind.shape().to_vec();
    shape.insert(axis, depth);
    let n = count(args, &shape)?;
    let outer: usize = ind.shape()[..axis].iter().product();
    let inner: usize = ind.shape()[axis..].iter().product();
    any_dtype!(vals.dtype(), T => {
        let (off, on) = (slice::<T>(vals)?[0], slice::<T>(vals)?[1]);
        let mut out = vec![off; n];
        for o in 0..outer {
            for i in 0..inner {
                let v = idx[o * inner + i].trunc() as i64;
                let v = if v < 0 { v + depth as i64 } else { v };
                if (0..depth as i64).contains(&v) {
                    out[(o * depth + v as usize) * inner + i] = on;
                }
            }
        }
        tensor(shape, out)
    })
}

/// NonZero(x): the coordinates of the non-zero elements, as i64 `[rank, count]`.
fn non_zero(args: &Args) -> Result<Tensor, InterpError> {
    let x = args.req(0)?;
    let r = x.rank();
    let st = super::util::strides(x.shape());
    let hits: Vec<usize> = any_dtype!(x.dtype(), T => slice::<T>(x)?
        .iter()
        .enumerate()
        .filter(|(_, &e)| e != T::default())
        .map(|(i, _)| i)
        .collect());
    let nnz = hits.len();
    let mut out = vec![0i64; r * nnz];
    for (j, &h) in hits.iter().enumerate() {
        for d in 0..r {
            out[d * nnz + j] = ((h / st[d]) % x.shape()[d]) as i64;
        }
    }
    tensor(vec![r, nnz], out)
}
