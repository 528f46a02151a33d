//! Symbolic integers of dynamic-shape exports: `aten.sym_size.int`, the Python
//! operators torch records on them (`_operator.mul`, ...), and size lists that mix
//! them with constants (`as_sym_ints`, e.g. a `view` to `[batch, 64]`).
//!
//! Convention: a sym int is an i64 tensor of shape `[1]`. That is what `Shape` with
//! `start`/`end` gives, so `sym_size` is one node, arithmetic stays element-wise, and
//! a size list is a plain `Concat` of its pieces. Shape-value propagation follows
//! these chains, so inference sees symbolic output dims and `cleanup` folds them.

use super::args::NodeCtx;
use super::emit::*;
use super::error::LowerError;
use super::{single_key, Translator};
use pare_ir::{Op, ValueId};
use serde_json::Value as Json;

/// `sym_size.int(self, dim)` → `Shape(self, start=dim, end=dim+1)`.
pub(super) fn sym_size(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let xn = c.tensor("self")?;
    let rank = t.sizes(xn)?.len() as i64;
    let d = norm(c.int("dim", None)?, rank)?;
    let x = t.value(xn)?;
    let op = Op::Shape {
        start: d,
        end: Some(d + 1),
    };
    t.emit(&c.name, op, vec![Some(x)], sym_out(c)?).map(|_| ())
}

/// `sym_numel.default(self)` → the element count as a `[1]` i64 value.
pub(super) fn sym_numel(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let x = t.value(c.tensor("self")?)?;
    let n = tmp(t, c, "size", Op::Size {}, vec![Some(x)])?;
    let one = i64s(t, c, "shape", &[1])?;
    let op = Op::Reshape { allowzero: false };
    t.emit(&c.name, op, vec![Some(n), Some(one)], sym_out(c)?)
        .map(|_| ())
}

/// `_operator.{add,sub,mul,floordiv}` on two sym ints (or a sym int and a constant).
/// Sizes are non-negative, so `floordiv` is the truncating integer `Div`.
pub(super) fn sym_binary(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let op = match c.op.as_str() {
        "_operator.add" => Op::Add {},
        "_operator.sub" => Op::Sub {},
        "_operator.mul" => Op::Mul {},
        "_operator.floordiv" => Op::Div {},
        other => return Err(format!("no lowering for sym-int operator `{other}`").into()),
    };
    // The serializer names operator arguments after Python's signature (`a`, `b`);
    // read them by position so other spellings work too.
    let args = &c.node.inputs;
    if args.len() != 2 {
        return Err(format!("`{}` takes 2 arguments, the node has {}", c.op, args.len()).into());
    }
    let a = sym_piece(t, c, &args[0].name, &args[0].arg)?;
    let b = sym_piece(t, c, &args[1].name, &args[1].arg)?;
    t.emit(&c.name, op, vec![Some(a), Some(b)], sym_out(c)?)
        .map(|_| ())
}

/// The name of the node's sym-int result (`[{"as_sym_int": {"as_name": n}}]`).
fn sym_out<'n>(c: &NodeCtx<'n>) -> R<&'n str> {
    c.node
        .outputs
        .first()
        .and_then(|o| o.get("as_sym_int"))
        .and_then(|s| s.get("as_name"))
        .and_then(Json::as_str)
        .ok_or_else(|| {
            LowerError::Unsupported(format!(
                "output should be a named sym int, got {}",
                Json::Array(c.node.outputs.clone())
            ))
        })
}

/// One sym-int argument as a `[1]` i64 value: a named sym int, or a constant
/// (`as_int`, or `as_sym_int` holding `as_int`).
fn sym_piece(t: &mut Translator<'_>, c: &NodeCtx<'_>, arg: &str, j: &Json) -> R<ValueId> {
    let bad = || LowerError::BadArg {
        arg: arg.to_string(),
        want: "a sym int or an int",
        got: j.to_string(),
    };
    let (kind, body) = single_key(j).ok_or_else(bad)?;
    let inner = match kind {
        "as_int" => return constant_piece(t, c, arg, body.as_i64().ok_or_else(bad)?),
        "as_sym_int" => body,
        _ => return Err(bad()),
    };
    if let Some(name) = inner.get("as_name").and_then(Json::as_str) {
        return t.value(name);
    }
    let n = inner.get("as_int").and_then(Json::as_i64).ok_or_else(bad)?;
    constant_piece(t, c, arg, n)
}

fn constant_piece(t: &mut Translator<'_>, c: &NodeCtx<'_>, arg: &str, n: i64) -> R<ValueId> {
    i64s(t, c, arg, &[n])
}

/// A size list argument that names at least one sym int, as a 1-D i64 value
/// (`Concat` of its pieces). `None` when the argument is absent or all constants,
/// where the caller's constant lowering applies. `map` rewrites constant entries
/// (`expand` spells torch's `-1` as ONNX's `1`).
pub(super) fn sym_list(
    t: &mut Translator<'_>,
    c: &NodeCtx<'_>,
    arg: &str,
    map: impl Fn(i64) -> R<i64>,
) -> R<Option<ValueId>> {
    let Some(("as_sym_ints", Json::Array(items))) = c.arg(arg) else {
        return Ok(None);
    };
    let named = |j: &Json| j.get("as_name").is_some();
    if !items.iter().any(named) {
        return Ok(None);
    }
    let mut pieces = Vec::with_capacity(items.len());
    for (i, j) in items.iter().enumerate() {
        let piece = if let Some(name) = j.get("as_name").and_then(Json::as_str) {
            t.value(name)?
        } else {
            let n = j.get("as_int").and_then(Json::as_i64).ok_or_else(|| {
                format!("argument `{arg}` entry {i} should be a sym int or an int, got {j}")
            })?;
            constant_piece(t, c, &format!("{arg}{i}"), map(n)?)?
        };
        pieces.push(Some(piece));
    }
    tmp(t, c, arg, Op::Concat { axis: 0 }, pieces).map(Some)
}

/// Whether a size list holds a literal `0` (ONNX `Reshape` then needs `allowzero`,
/// since `0` would otherwise mean "copy the input dim").
pub(super) fn has_zero(c: &NodeCtx<'_>, arg: &str) -> bool {
    matches!(c.arg(arg), Some(("as_sym_ints", Json::Array(items)))
        if items.iter().any(|j| j.get("as_int").and_then(Json::as_i64) == Some(0)))
}

/// A single int argument that names a sym int (`slice` bounds such as `x[:, :n]`),
/// as its `[1]` value; `None` for absent or constant arguments.
pub(super) fn sym_arg(t: &mut Translator<'_>, c: &NodeCtx<'_>, arg: &str) -> R<Option<ValueId>> {
    match c.arg(arg) {
        Some(("as_sym_int", j)) => match j.get("as_name").and_then(Json::as_str) {
            Some(name) => t.value(name).map(Some),
            None => Ok(None),
        },
        _ => Ok(None),
    }
}
