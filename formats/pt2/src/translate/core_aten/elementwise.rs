//! Element-wise Core ATen ops that are not uniform rows of the op table (those —
//! `sin`, `floor`, `maximum`, `log1p`, … — are lowered by `translate::uniform`):
//! `isnan`/`isinf`, comparisons with torch's type promotion, logical and bitwise ops,
//! `fmod`/`remainder`, rounding division, tensor-bounded `clamp`, and the functions pare
//! spells with two or three ops (`trunc`, `expm1`, `log2`, `log10`, scaled `elu`).

use super::super::args::NodeCtx;
use super::super::emit::*;
use super::super::Translator;
use pare_ir::{DType, Op, ValueId};

/// The one-op unary tests, by ATen base name.
pub(super) fn unary_op(base: &str) -> Option<Op> {
    Some(match base {
        "isnan" => Op::IsNaN {},
        "isinf" => Op::IsInf {
            detect_negative: true,
            detect_positive: true,
        },
        _ => return None,
    })
}

/// `trunc(x)`: ceil below zero, floor above (NaN stays NaN through Floor).
pub(super) fn trunc(t: &mut Translator<'_>, c: &NodeCtx<'_>, x: ValueId) -> R<ValueId> {
    let dtype = t.dtype(c.out(0)?)?;
    let zero = scalar_of(t, c, "zero", 0.0, dtype)?;
    let neg = tmp(t, c, "negative", Op::Less {}, vec![Some(x), Some(zero)])?;
    let up = tmp(t, c, "ceil", Op::Ceil {}, vec![Some(x)])?;
    let down = tmp(t, c, "floor", Op::Floor {}, vec![Some(x)])?;
    tmp(
        t,
        c,
        "trunc",
        Op::Where {},
        vec![Some(neg), Some(up), Some(down)],
    )
}

/// The unary functions pare builds from two or three ops.
pub(super) fn composite_unary(t: &mut Translator<'_>, c: &NodeCtx<'_>, base: &str) -> R<()> {
    let x = t.value(c.tensor("self")?)?;
    match base {
        "trunc" => {
            let y = trunc(t, c, x)?;
            finish(t, c, Op::Identity {}, vec![Some(y)])
        }
        "expm1" => {
            let e = tmp(t, c, "exp", Op::Exp {}, vec![Some(x)])?;
            let one = scalar(t, c, "one", 1.0)?;
            finish(t, c, Op::Sub {}, vec![Some(e), Some(one)])
        }
        "log2" | "log10" => {
            let base_ln = if base == "log2" {
                std::f64::consts::LN_2
            } else {
                std::f64::consts::LN_10
            };
            let l = tmp(t, c, "ln", Op::Log {}, vec![Some(x)])?;
            let d = scalar(t, c, "ln_base", base_ln)?;
            finish(t, c, Op::Div {}, vec![Some(l), Some(d)])
        }
        other => Err(format!("`{other}` is not a composite unary op").into()),
    }
}

/// `elu(x, alpha, scale, input_scale)` = scale·(x if x > 0 else alpha·(e^x − 1)).
pub(super) fn elu(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let alpha = c.float("alpha", Some(1.0))? as f32;
    let scale = c.float("scale", Some(1.0))?;
    let input_scale = c.float("input_scale", Some(1.0))?;
    if input_scale != 1.0 {
        return Err(format!("elu with input_scale {input_scale} (only 1 maps onto Elu)").into());
    }
    let x = t.value(c.tensor("self")?)?;
    if scale == 1.0 {
        return finish(t, c, Op::Elu { alpha }, vec![Some(x)]);
    }
    let e = tmp(t, c, "elu", Op::Elu { alpha }, vec![Some(x)])?;
    let s = scalar(t, c, "scale", scale)?;
    finish(t, c, Op::Mul {}, vec![Some(e), Some(s)])
}

/// The dtype torch computes a comparison in: the tensors' common type, where a
/// Python float against an integer tensor promotes to f32.
fn compare_dtype(t: &Translator<'_>, c: &NodeCtx<'_>) -> R<DType> {
    let a = t.dtype(c.tensor("self")?)?;
    let b = match c.opt_tensor("other").ok().flatten() {
        Some(n) => t.dtype(n)?,
        None => {
            let v = c.float("other", None)?;
            if !a.is_float()
                && (v.fract() != 0.0 || matches!(c.arg("other"), Some(("as_float", _))))
            {
                DType::F32
            } else {
                a
            }
        }
    };
    Ok(promote(a, b))
}

/// torch's promotion of two tensor dtypes, for the dtypes pare imports.
fn promote(a: DType, b: DType) -> DType {
    if a == b {
        return a;
    }
    match (a.is_float(), b.is_float()) {
        (true, false) => a,
        (false, true) => b,
        _ if a == DType::Bool => b,
        _ if b == DType::Bool => a,
        _ => {
            if a.size_bytes() >= b.size_bytes() {
                a
            } else {
                b
            }
        }
    }
}

/// Operand `arg` as a value of `dtype` (cast or made a constant).
fn operand_as(t: &mut Translator<'_>, c: &NodeCtx<'_>, arg: &str, dtype: DType) -> R<ValueId> {
    if let Some(name) = c.opt_tensor(arg).ok().flatten() {
        let v = t.value(name)?;
        if t.dtype(name)? == dtype {
            return Ok(v);
        }
        return tmp(
            t,
            c,
            &format!("{arg}_cast"),
            Op::Cast { to: dtype },
            vec![Some(v)],
        );
    }
    let v = c.float(arg, None)?;
    if dtype == DType::Bool {
        return scalar_of(t, c, arg, f64::from(u8::from(v != 0.0)), DType::Bool);
    }
    scalar_of(t, c, arg, v, dtype)
}

/// `eq`, `ne`, `lt`, `le`, `gt`, `ge` (Tensor and Scalar forms).
pub(super) fn compare(t: &mut Translator<'_>, c: &NodeCtx<'_>, base: &str) -> R<()> {
    let dtype = compare_dtype(t, c)?;
    let x = operand_as(t, c, "self", dtype)?;
    let y = operand_as(t, c, "other", dtype)?;
    let op = match base {
        "eq" | "ne" => Op::Equal {},
        "lt" => Op::Less {},
        "le" => Op::LessOrEqual {},
        "gt" => Op::Greater {},
        "ge" => Op::GreaterOrEqual {},
        other => return Err(format!("`{other}` is not a comparison").into()),
    };
    if base == "ne" {
        let eq = tmp(t, c, "equal", op, vec![Some(x), Some(y)])?;
        return finish(t, c, Op::Not {}, vec![Some(eq)]);
    }
    finish(t, c, op, vec![Some(x), Some(y)])
}

/// `fmod`, `remainder` and the bitwise ops on the output dtype (`maximum`/`minimum` are
/// uniform rows of the op table, lowered by `translate::uniform`).
pub(super) fn binary(t: &mut Translator<'_>, c: &NodeCtx<'_>, base: &str) -> R<()> {
    let dtype = t.dtype(c.out(0)?)?;
    let boolean = dtype == DType::Bool;
    let op = match base {
        "fmod" => Op::Mod { fmod: true },
        "remainder" => Op::Mod { fmod: false },
        "bitwise_and" if boolean => Op::And {},
        "bitwise_or" if boolean => Op::Or {},
        "bitwise_xor" if boolean => Op::Xor {},
        "bitwise_and" => Op::BitwiseAnd {},
        "bitwise_or" => Op::BitwiseOr {},
        "bitwise_xor" => Op::BitwiseXor {},
        other => return Err(format!("`{other}` is not a binary op").into()),
    };
    let x = operand_as(t, c, "self", dtype)?;
    let y = operand_as(t, c, "other", dtype)?;
    finish(t, c, op, vec![Some(x), Some(y)])
}

/// `logical_and/or/xor/not`: operands are truth values (non-zero is true).
pub(super) fn logical(t: &mut Translator<'_>, c: &NodeCtx<'_>, base: &str) -> R<()> {
    let x = truth(t, c, "self")?;
    if base == "logical_not" {
        return finish(t, c, Op::Not {}, vec![Some(x)]);
    }
    let y = truth(t, c, "other")?;
    let op = match base {
        "logical_and" => Op::And {},
        "logical_or" => Op::Or {},
        "logical_xor" => Op::Xor {},
        other => return Err(format!("`{other}` is not a logical op").into()),
    };
    finish(t, c, op, vec![Some(x), Some(y)])
}

/// Tensor `arg` as bool: `x != 0`.
fn truth(t: &mut Translator<'_>, c: &NodeCtx<'_>, arg: &str) -> R<ValueId> {
    let name = c.tensor(arg)?;
    let v = t.value(name)?;
    let dtype = t.dtype(name)?;
    if dtype == DType::Bool {
        return Ok(v);
    }
    let zero = scalar_of(t, c, &format!("{arg}_zero"), 0.0, dtype)?;
    let eq = tmp(
        t,
        c,
        &format!("{arg}_is_zero"),
        Op::Equal {},
        vec![Some(v), Some(zero)],
    )?;
    tmp(t, c, &format!("{arg}_truth"), Op::Not {}, vec![Some(eq)])
}

/// `bitwise_not`: Not on bool, BitwiseNot on integers.
pub(super) fn bitwise_not(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let name = c.tensor("self")?;
    let op = if t.dtype(name)? == DType::Bool {
        Op::Not {}
    } else {
        Op::BitwiseNot {}
    };
    unary(t, c, "self", op)
}

/// `div` with `rounding_mode` `trunc` or `floor` (None is plain division).
pub(super) fn div_rounding(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let dtype = t.dtype(c.out(0)?)?;
    let mode = match c.arg("rounding_mode") {
        None => None,
        Some(_) => Some(c.string("rounding_mode", "")?),
    };
    let x = operand_as(t, c, "self", dtype)?;
    let y = operand_as(t, c, "other", dtype)?;
    match (mode.as_deref(), dtype.is_float()) {
        (None, _) => finish(t, c, Op::Div {}, vec![Some(x), Some(y)]),
        // Integer Div truncates already.
        (Some("trunc"), false) => finish(t, c, Op::Div {}, vec![Some(x), Some(y)]),
        (Some("trunc"), true) => {
            let q = tmp(t, c, "quotient", Op::Div {}, vec![Some(x), Some(y)])?;
            let r = trunc(t, c, q)?;
            finish(t, c, Op::Identity {}, vec![Some(r)])
        }
        (Some("floor"), true) => {
            let q = tmp(t, c, "quotient", Op::Div {}, vec![Some(x), Some(y)])?;
            finish(t, c, Op::Floor {}, vec![Some(q)])
        }
        // Integers: (x − x mod y) / y, with the floored modulo, divides exactly.
        (Some("floor"), false) => {
            let m = tmp(
                t,
                c,
                "modulo",
                Op::Mod { fmod: false },
                vec![Some(x), Some(y)],
            )?;
            let d = tmp(t, c, "multiple", Op::Sub {}, vec![Some(x), Some(m)])?;
            finish(t, c, Op::Div {}, vec![Some(d), Some(y)])
        }
        (Some(other), _) => Err(format!("unknown rounding_mode `{other}`").into()),
    }
}

/// `clamp.Tensor(self, min?, max?)`: Max with the lower, Min with the upper bound.
pub(super) fn clamp_tensor(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let dtype = t.dtype(c.out(0)?)?;
    let mut x = operand_as(t, c, "self", dtype)?;
    let lo = c.opt_tensor("min")?;
    let hi = c.opt_tensor("max")?;
    if lo.is_some() {
        let l = operand_as(t, c, "min", dtype)?;
        let op = Op::Max {};
        x = if hi.is_some() {
            tmp(t, c, "lower", op, vec![Some(x), Some(l)])?
        } else {
            return finish(t, c, op, vec![Some(x), Some(l)]);
        };
    }
    match hi {
        Some(_) => {
            let h = operand_as(t, c, "max", dtype)?;
            finish(t, c, Op::Min {}, vec![Some(x), Some(h)])
        }
        None => finish(t, c, Op::Identity {}, vec![Some(x)]),
    }
}

/// `atan2(self=y, other=x)`: atan(y/x), moved by ±π when x < 0 (by the sign of y),
/// and 0 where both are 0, as torch gives.
pub(super) fn atan2(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let dtype = t.dtype(c.out(0)?)?;
    let y = operand_as(t, c, "self", dtype)?;
    let x = operand_as(t, c, "other", dtype)?;
    let q = tmp(t, c, "ratio", Op::Div {}, vec![Some(y), Some(x)])?;
    let base = tmp(t, c, "atan", Op::Atan {}, vec![Some(q)])?;
    let zero = scalar_of(t, c, "zero", 0.0, dtype)?;
    let pi = scalar_of(t, c, "pi", std::f64::consts::PI, dtype)?;
    let minus_pi = scalar_of(t, c, "minus_pi", -std::f64::consts::PI, dtype)?;
    let y_up = tmp(
        t,
        c,
        "y_nonneg",
        Op::GreaterOrEqual {},
        vec![Some(y), Some(zero)],
    )?;
    let turn = tmp(
        t,
        c,
        "turn",
        Op::Where {},
        vec![Some(y_up), Some(pi), Some(minus_pi)],
    )?;
    let turned = tmp(t, c, "turned", Op::Add {}, vec![Some(base), Some(turn)])?;
    let x_neg = tmp(t, c, "x_negative", Op::Less {}, vec![Some(x), Some(zero)])?;
    let angle = tmp(
        t,
        c,
        "angle",
        Op::Where {},
        vec![Some(x_neg), Some(turned), Some(base)],
    )?;
    let x0 = tmp(t, c, "x_zero", Op::Equal {}, vec![Some(x), Some(zero)])?;
    let y0 = tmp(t, c, "y_zero", Op::Equal {}, vec![Some(y), Some(zero)])?;
    let origin = tmp(t, c, "origin", Op::And {}, vec![Some(x0), Some(y0)])?;
    finish(
        t,
        c,
        Op::Where {},
        vec![Some(origin), Some(zero), Some(angle)],
    )
}
