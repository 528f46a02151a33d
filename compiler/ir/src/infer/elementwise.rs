//! Element-wise ops: unary maps, broadcasting binary/ternary ops, comparisons,
//! logic, casts, `Clip`, `Dropout`, `PRelu` and `Where`.

use super::{broadcast, dt, Cx, R};
use crate::{DType, Op, TensorType};

/// What an element-wise op accepts and returns.
enum Rule {
    /// One input of an accepted dtype, same type out.
    Unary(fn(DType) -> bool, &'static str),
    /// One input of an accepted dtype, bool out.
    UnaryToBool(fn(DType) -> bool, &'static str),
    /// Inputs of one accepted dtype broadcast together, same dtype out.
    Broadcast(fn(DType) -> bool, &'static str),
    /// As `Broadcast` but the result is bool.
    Compare(fn(DType) -> bool, &'static str),
}

fn rule(op: &Op) -> Option<Rule> {
    use Op::*;
    use Rule::*;
    const FLOAT: &str = "a float type";
    const NUM: &str = "a numeric type";
    Some(match op {
        Identity {} => Unary(dt::any, "any type"),
        Abs {} | Neg {} | Sign {} | Relu {} => Unary(dt::numeric, NUM),
        Sigmoid {}
        | Tanh {}
        | Exp {}
        | Log {}
        | Sqrt {}
        | Reciprocal {}
        | Floor {}
        | Ceil {}
        | Round {}
        | Erf {}
        | Sin {}
        | Cos {}
        | Tan {}
        | Asin {}
        | Acos {}
        | Atan {}
        | Sinh {}
        | Cosh {}
        | Asinh {}
        | Acosh {}
        | Atanh {}
        | Softplus {}
        | Softsign {}
        | HardSwish {}
        | Mish {}
        | LeakyRelu { .. }
        | Elu { .. }
        | Selu { .. }
        | Celu { .. }
        | ThresholdedRelu { .. }
        | HardSigmoid { .. }
        | Gelu { .. }
        | Shrink { .. } => Unary(dt::float, FLOAT),
        Not {} => Unary(dt::boolean, "bool"),
        BitwiseNot {} => Unary(dt::int, "an integer type"),
        IsNaN {} | IsInf { .. } => UnaryToBool(dt::float, FLOAT),
        Add {} | Sub {} | Mul {} | Div {} | Max {} | Min {} | Mod { .. } => {
            Broadcast(dt::numeric, NUM)
        }
        And {} | Or {} | Xor {} => Broadcast(dt::boolean, "bool"),
        BitShift { .. } => Broadcast(dt::unsigned, "an unsigned integer type"),
        BitwiseAnd {} | BitwiseOr {} | BitwiseXor {} => Broadcast(dt::int, "an integer type"),
        Equal {} => Compare(dt::any, "any type"),
        Less {} | LessOrEqual {} | Greater {} | GreaterOrEqual {} => Compare(dt::numeric, NUM),
        _ => return None,
    })
}

pub(super) fn infer(cx: &Cx) -> R<Vec<TensorType>> {
    if let Some(r) = rule(cx.op()) {
        return match r {
            Rule::Unary(ok, what) => {
                let x = cx.input(0)?;
                cx.want_dtype(0, x, ok, what)?;
                Ok(vec![TensorType::new(x.dtype, x.shape.clone())])
            }
            Rule::UnaryToBool(ok, what) => {
                let x = cx.input(0)?;
                cx.want_dtype(0, x, ok, what)?;
                Ok(vec![TensorType::new(DType::Bool, x.shape.clone())])
            }
            Rule::Broadcast(ok, what) => {
                let (dtype, shape) = broadcast_all(cx, ok, what)?;
                Ok(vec![TensorType::new(dtype, shape)])
            }
            Rule::Compare(ok, what) => {
                let (_, shape) = broadcast_all(cx, ok, what)?;
                Ok(vec![TensorType::new(DType::Bool, shape)])
            }
        };
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
fn broadcast_all(cx: &Cx, ok: fn(DType) -> bool, what: &str) -> R<(DType, Vec<crate::Dim>)> {
    let first = cx.input(0)?;
    cx.want_dtype(0, first, ok, what)?;
    let mut shapes = Vec::with_capacity(cx.n_inputs());
    for i in 0..cx.n_inputs() {
        let t = cx.input(i)?;
        cx.same_dtype(0, first, i, t)?;
        shapes.push((i, t.shape.as_slice()));
    }
    Ok((first.dtype, broadcast::shapes(cx, &shapes)?))
}
