//! Softmax, LogSoftmax and Hardmax along one axis (or, with `coerce_2d`, the opset<13
//! form: the input flattened to 2-D at `axis` and normalized over the second dim).

use super::util::{around_axis, float_dtype, slice, tensor, Args, Outputs};
use super::InterpError;
use crate::{Element, Op, Tensor};

pub(super) fn eval(args: &Args) -> Outputs {
    if args.len() != 1 {
        return Err(args.err(format!("expects 1 input, got {}", args.len())));
    }
    let x = args.req(0)?;
    let (axis, coerce_2d) = match *args.op {
        Op::Softmax { axis, coerce_2d }
        | Op::LogSoftmax { axis, coerce_2d }
        | Op::Hardmax { axis, coerce_2d } => (axis, coerce_2d),
        _ => return Err(args.err("not a softmax-family op")),
    };
    // A scalar behaves as a one-element vector.
    let shape: Vec<usize> = if x.rank() == 0 {
        vec![1]
    } else {
        x.shape().to_vec()
    };
    let axis = args.axis(axis, shape.len())?;
    let (outer, len, inner) = if coerce_2d {
        let outer = shape[..axis].iter().product();
        (outer, shape[axis..].iter().product(), 1)
    } else {
        around_axis(&shape, axis)
    };
    let kind = match args.op {
        Op::Softmax { .. } => Kind::Softmax,
        Op::LogSoftmax { .. } => Kind::LogSoftmax,
        _ => Kind::Hardmax,
    };
    let out = float_dtype!(x.dtype(), T => run::<T>(x, kind, outer, len, inner),
        d => Err(args.bad_dtype("input", d)))?;
    Ok(vec![out])
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Softmax,
    LogSoftmax,
    Hardmax,
}

fn run<T: Element>(
    x: &Tensor,
    kind: Kind,
    outer: usize,
    len: usize,
    inner: usize,
) -> Result<Tensor, InterpError> {
    let v = slice::<T>(x)?;
    let mut out = vec![T::default(); v.len()];
    let mut line = vec![0f64; len];
    for o in 0..outer {
        for i in 0..inner {
            let at = |k: usize| o * len * inner + k * inner + i;
            for (k, l) in line.iter_mut().enumerate() {
                *l = v[at(k)].to_f64();
            }
            match kind {
                Kind::Hardmax => {
                    // First index of the maximum wins.
                    let mut best = 0;
                    for k in 1..len {
                        if line[k] > line[best] {
                            best = k;
                        }
                    }
                    for k in 0..len {
                        out[at(k)] = T::from_f64(if k == best { 1.0 } else { 0.0 });
                    }
                }
                _ => {
                    let m = line.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let m = if m.is_finite() { m } else { 0.0 };
                    let sum: f64 = line.iter().map(|&l| (l - m).exp()).sum();
                    for (k, &l) in line.iter().enumerate() {
                        out[at(k)] = T::from_f64(if kind == Kind::Softmax {
                            (l - m).exp() / sum
                        } else {
                            l - m - sum.ln()
                        });
                    }
                }
            }
        }
    }
    tensor(x.shape().to_vec(), out)
}
