//! Small builders the op lowerings share: emitting the final and helper nodes,
//! constants (axes lists, scalars in the right dtype, filled vectors), operands with
//! torch's scalar arguments and dtype promotion, and dim normalization.

use super::args::NodeCtx;
use super::error::LowerError;
use super::Translator;
use pare_ir::{DType, Op, Tensor, ValueId};

pub(super) type R<T> = Result<T, LowerError>;

/// Normalizes a possibly negative dim against `rank`.
pub(super) fn norm(d: i64, rank: i64) -> R<i64> {
    let n = if d < 0 { d + rank } else { d };
    if (0..rank).contains(&n) {
        Ok(n)
    } else {
        Err(LowerError::DimOutOfRange { dim: d, rank })
    }
}

/// Emits the node's final op, bound to its first output.
pub(super) fn finish(
    t: &mut Translator<'_>,
    c: &NodeCtx<'_>,
    op: Op,
    inputs: Vec<Option<ValueId>>,
) -> R<()> {
    let out = c.out(0)?;
    t.emit(&c.name, op, inputs, out).map(|_| ())
}

/// A helper node of this lowering.
pub(super) fn tmp(
    t: &mut Translator<'_>,
    c: &NodeCtx<'_>,
    suffix: &str,
    op: Op,
    inputs: Vec<Option<ValueId>>,
) -> R<ValueId> {
    let name = format!("{}/{suffix}", c.name);
    t.emit(&name, op, inputs, &name)
}

pub(super) fn unary(t: &mut Translator<'_>, c: &NodeCtx<'_>, arg: &str, op: Op) -> R<()> {
    let x = t.value(c.tensor(arg)?)?;
    finish(t, c, op, vec![Some(x)])
}

pub(super) fn i64s(t: &mut Translator<'_>, c: &NodeCtx<'_>, suffix: &str, v: &[i64]) -> R<ValueId> {
    let tensor = Tensor::from_vec(vec![v.len()], v.to_vec())?;
    t.constant(&format!("{}/{suffix}", c.name), &tensor)
}

/// A scalar constant in the dtype of the node's output.
pub(super) fn scalar(t: &mut Translator<'_>, c: &NodeCtx<'_>, suffix: &str, v: f64) -> R<ValueId> {
    let dtype = t.dtype(c.out(0)?)?;
    scalar_of(t, c, suffix, v, dtype)
}

pub(super) fn scalar_of(
    t: &mut Translator<'_>,
    c: &NodeCtx<'_>,
    suffix: &str,
    v: f64,
    dtype: DType,
) -> R<ValueId> {
    if !dtype.is_float() && v.fract() != 0.0 {
        return Err(format!("scalar {v} cannot be represented in {}", dtype.name()).into());
    }
    let tensor = Tensor::scalar(v).cast(dtype);
    t.constant(&format!("{}/{suffix}", c.name), &tensor)
}

/// A binary op's operand: a tensor (cast to the output dtype when torch would
/// promote it) or a Python scalar made a constant of the output dtype.
pub(super) fn operand(t: &mut Translator<'_>, c: &NodeCtx<'_>, arg: &str) -> R<ValueId> {
    let out_dtype = t.dtype(c.out(0)?)?;
    if let Some(name) = c.opt_tensor(arg).ok().flatten() {
        let v = t.value(name)?;
        if t.dtype(name)? != out_dtype {
            return tmp(
                t,
                c,
                &format!("{arg}_cast"),
                Op::Cast { to: out_dtype },
                vec![Some(v)],
            );
        }
        return Ok(v);
    }
    let v = c.float(arg, None)?;
    scalar_of(t, c, arg, v, out_dtype)
}

pub(super) fn clip(
    t: &mut Translator<'_>,
    c: &NodeCtx<'_>,
    lo: Option<f64>,
    hi: Option<f64>,
) -> R<()> {
    let x = t.value(c.tensor("self")?)?;
    let lo = lo.map(|v| scalar(t, c, "min", v)).transpose()?;
    let hi = hi.map(|v| scalar(t, c, "max", v)).transpose()?;
    finish(t, c, Op::Clip {}, vec![Some(x), lo, hi])
}

/// Expands a torch int list (one value for all spatial dims allowed).
pub(super) fn spatial(v: Vec<i64>, n: usize, what: &str) -> R<Vec<i64>> {
    match v.len() {
        1 => Ok(vec![v[0]; n]),
        l if l == n => Ok(v),
        l => Err(format!("{what} has {l} entries for {n} spatial dims").into()),
    }
}

/// A per-channel constant of `len` copies of `v` (missing affine parameters).
pub(super) fn filled(
    t: &mut Translator<'_>,
    c: &NodeCtx<'_>,
    suffix: &str,
    len: usize,
    v: f32,
    dtype: DType,
) -> R<ValueId> {
    // `len` comes from declared sizes: bound it before allocating.
    pare_ir::checked_count(&[len])
        .map_err(|e| LowerError::Unsupported(format!("{suffix} of {len} elements: {e}")))?;
    let tensor = Tensor::from_vec(vec![len], vec![v; len])?.cast(dtype);
    t.constant(&format!("{}/{suffix}", c.name), &tensor)
}
