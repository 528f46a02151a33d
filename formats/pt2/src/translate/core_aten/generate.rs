//! Tensors made from sizes and scalars (`arange`, `full`, `full_like`, `fill`,
//! `scalar_tensor`, `empty*`) and copies (`_to_copy`, `copy`).

use super::super::args::NodeCtx;
use super::super::emit::*;
use super::super::symint;
use super::super::Translator;
use super::static_sizes;
use pare_ir::{DType, Op, Tensor, ValueId};

/// `arange(.default|.start|.start_step)(start, end, step)` with concrete bounds:
/// a constant of the length torch declared for the output.
pub(super) fn arange(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let out = c.out(0)?;
    let dtype = t.dtype(out)?;
    let len = *static_sizes(t, out)?
        .first()
        .ok_or("arange output is not 1-D")?;
    let (start, step) = if c.arg("start").is_some() {
        (c.float("start", None)?, c.float("step", Some(1.0))?)
    } else {
        (0.0, 1.0)
    };
    let end = c.float("end", None)?;
    let expected = ((end - start) / step).ceil().max(0.0);
    if expected != len as f64 {
        return Err(format!(
            "arange({start}, {end}, {step}) has {expected} elements but the output declares {len}"
        )
        .into());
    }
    let n = pare_ir::checked_count(&[len as usize])?;
    let tensor = if dtype.is_float() {
        Tensor::from_vec(
            vec![n],
            (0..n)
                .map(|i| start + i as f64 * step)
                .collect::<Vec<f64>>(),
        )?
    } else {
        let (s, st) = (start as i64, step as i64);
        let values = (0..n as i64)
            .map(|i| super::affine(s, st, i))
            .collect::<R<Vec<i64>>>()?;
        Tensor::from_vec(vec![n], values)?
    };
    let v = t.constant(&format!("{}/values", c.name), &tensor.cast(dtype))?;
    finish(t, c, Op::Identity {}, vec![Some(v)])
}

/// A tensor of `value` in the output's dtype over the shape `shape`.
fn filled_like(t: &mut Translator<'_>, c: &NodeCtx<'_>, shape: ValueId, value: f64) -> R<()> {
    let dtype = t.dtype(c.out(0)?)?;
    let value = match dtype {
        DType::Bool => f64::from(u8::from(value != 0.0)),
        d if !d.is_float() => value.trunc(),
        _ => value,
    };
    finish(
        t,
        c,
        Op::ConstantOfShape { dtype, value },
        vec![Some(shape)],
    )
}

/// The shape argument `size` as an i64 vector value (symbolic entries computed).
fn size_arg(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<ValueId> {
    match symint::sym_list(t, c, "size", Ok)? {
        Some(v) => Ok(v),
        None => {
            let size = c.ints("size", None)?;
            if let Some(d) = size.iter().find(|&&d| d < 0) {
                return Err(format!("size {d} is negative").into());
            }
            i64s(t, c, "shape", &size)
        }
    }
}

/// `full(size, fill_value)`.
pub(super) fn full(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let v = c.float("fill_value", None)?;
    full_value(t, c, v)
}

/// A tensor of shape `size` filled with `value`.
pub(super) fn full_value(t: &mut Translator<'_>, c: &NodeCtx<'_>, value: f64) -> R<()> {
    let shape = size_arg(t, c)?;
    filled_like(t, c, shape, value)
}

/// `empty.memory_format`, `empty_permuted`, `empty_strided`: torch leaves the
/// contents unspecified; zeros keep pare's outputs deterministic.
pub(super) fn empty(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let shape = size_arg(t, c)?;
    filled_like(t, c, shape, 0.0)
}

/// `full_like(self, fill_value)` and `fill.Scalar(self, value)`.
pub(super) fn full_like(t: &mut Translator<'_>, c: &NodeCtx<'_>, value_arg: &str) -> R<()> {
    let x = t.value(c.tensor("self")?)?;
    let shape = tmp(
        t,
        c,
        "shape",
        Op::Shape {
            start: 0,
            end: None,
        },
        vec![Some(x)],
    )?;
    let v = c.float(value_arg, None)?;
    filled_like(t, c, shape, v)
}

/// `scalar_tensor(s)`: a rank-0 constant in the output dtype.
pub(super) fn scalar_tensor(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let v = c.float("s", None)?;
    let s = scalar(t, c, "value", v)?;
    finish(t, c, Op::Identity {}, vec![Some(s)])
}

/// `_to_copy(self, dtype?, ...)`: a Cast when the dtype changes (float → int
/// truncates, as torch does); device and layout changes mean nothing here.
pub(super) fn to_copy(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let name = c.tensor("self")?;
    let to = t.dtype(c.out(0)?)?;
    let op = if t.dtype(name)? == to {
        Op::Identity {}
    } else {
        Op::Cast { to }
    };
    unary(t, c, "self", op)
}

/// `copy(self, src)`: `src` broadcast to `self`'s shape in `self`'s dtype.
pub(super) fn copy(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let dst = c.tensor("self")?;
    let src = c.tensor("src")?;
    let d = t.value(dst)?;
    let mut s = t.value(src)?;
    let dtype = t.dtype(dst)?;
    if t.dtype(src)? != dtype {
        s = tmp(t, c, "cast", Op::Cast { to: dtype }, vec![Some(s)])?;
    }
    let shape = tmp(
        t,
        c,
        "shape",
        Op::Shape {
            start: 0,
            end: None,
        },
        vec![Some(d)],
    )?;
    finish(t, c, Op::Expand {}, vec![Some(s), Some(shape)])
}
