//! Element-wise ops: unary maps, broadcasting binary/ternary ops, comparisons,
//! logic, casts, `Clip`, `Dropout`, `PRelu` and `Where`.

use super::{broadcast, dt, Cx, R};
use crate::ops::{Accepts, Category};
use crate::{DType, Op, TensorType};

pub(super) fn infer(cx: &Cx) -> R<Vec<TensorType>> {
    // The uniform families take their rule from the op table.
    match cx.op().info().category {
        Category::Unary(ok) => {
            let x = cx.input(0)?;
            want(cx, 0, x, ok)?;
            return Ok(vec![TensorType::new(x.dtype, x.shape.clone())]);
        }
        Category::UnaryTest(ok) => {
            let x = cx.input(0)?;
            want(cx, 0, x, ok)?;
            return Ok(vec![TensorType::new(DType::Bool, x.shape.clone())]);
        }
        Category::Broadcast(ok) => {
            let (dtype, shape) = broadcast_all(cx, ok)?;
            return Ok(vec![TensorType::new(dtype, shape)]);
        }
        Category::Compare(ok) => {
            let (_, shape) = broadcast_all(cx, ok)?;
            return Ok(vec![TensorType::new(DType::Bool, shape)]);
        }
        _ => {}
    }
    match cx.op() {
        Op::Pow {} => {
            // Base and exponent may differ in type; the result has the base's.
            let (a, b) = (cx.input(0)?, cx.input(1)?);
            cx.want_dtype(0, a, dt::numeric, "a numeric type")?;
            cx.want_dtype(1, b, dt::numeric, "a numeric type")?;
            let shape = broadcast::shapes(cx, &[(0, &a.shape), (1, &b.shape)])?;
            Ok(vec![TensorType::new(a.dtype, shape)])
        }
        Op::Cast { to } => Ok(vec![TensorType::new(*to, cx.input(0)?.shape.clone())]),
        Op::CastLike {} => {
            let (x, t) = (cx.input(0)?, cx.input(1)?);
            Ok(vec![TensorType::new(t.dtype, x.shape.clone())])
        }
        Op::Clip {} => {
            let x = cx.input(0)?;
            cx.want_dtype(0, x, dt::numeric, "a numeric type")?;
            for i in 1..3 {
                if let Some(b) = cx.opt_input(i)? {
                    cx.same_dtype(0, x, i, b)?;
                    if b.num_elements() != Some(1) && b.rank() != 0 {
                        return Err(cx.in_err(i, format!("must be a scalar, got {b}")));
                    }
                }
            }
            Ok(vec![TensorType::new(x.dtype, x.shape.clone())])
        }
        Op::Dropout {} => {
            let x = cx.input(0)?;
            cx.want_dtype(0, x, dt::float, "a float type")?;
            if let Some(m) = cx.opt_input(2)? {
                cx.want_dtype(2, m, dt::boolean, "bool")?;
            }
            let mut out = vec![TensorType::new(x.dtype, x.shape.clone())];
            if cx.n_outputs() > 1 {
                out.push(TensorType::new(DType::Bool, x.shape.clone()));
            }
            Ok(out)
        }
        Op::PRelu {} => {
            let (x, s) = (cx.input(0)?, cx.input(1)?);
            cx.want_dtype(0, x, dt::numeric, "a numeric type")?;
            cx.same_dtype(0, x, 1, s)?;
            broadcast::unidirectional(cx, 1, &s.shape, &x.shape)?;
            Ok(vec![TensorType::new(x.dtype, x.shape.clone())])
        }
        Op::Where {} => {
            let (c, x, y) = (cx.input(0)?, cx.input(1)?, cx.input(2)?);
            cx.want_dtype(0, c, dt::boolean, "bool")?;
            cx.same_dtype(1, x, 2, y)?;
            let shape = broadcast::shapes(cx, &[(0, &c.shape), (1, &x.shape), (2, &y.shape)])?;
            Ok(vec![TensorType::new(x.dtype, shape)])
        }
        other => Err(cx.err(format!("no shape rule for op `{}`", other.name()))),
    }
}

/// Broadcasts every input, requiring one shared dtype accepted by `ok`.
fn broadcast_all(cx: &Cx, ok: Accepts) -> R<(DType, Vec<crate::Dim>)> {
    let first = cx.input(0)?;
    want(cx, 0, first, ok)?;
    let mut shapes = Vec::with_capacity(cx.n_inputs());
    for i in 0..cx.n_inputs() {
        let t = cx.input(i)?;
        cx.same_dtype(0, first, i, t)?;
        shapes.push((i, t.shape.as_slice()));
    }
    Ok((first.dtype, broadcast::shapes(cx, &shapes)?))
}

/// Requires input `i` to have a dtype of class `ok`.
fn want(cx: &Cx, i: usize, t: &TensorType, ok: Accepts) -> R<()> {
    if ok.admits(t.dtype) {
        Ok(())
    } else {
        Err(cx.in_err(
            i,
            format!("has dtype {}, expected {}", t.dtype, ok.describe()),
        ))
    }
}
