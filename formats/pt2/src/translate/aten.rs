//! Lowerings of the core ATen forms `ep.run_decompositions()` produces that the
//! pre-dispatch graphs do not use: multi-output ops (`max_pool2d_with_indices`,
//! `native_dropout`, `split*`), `expand`, `where`, `pow`, `rsqrt`, `embedding`,
//! `amax`/`amin` and `var.correction`.

use super::args::NodeCtx;
use super::emit::*;
use super::nn::pool_op;
use super::Translator;
use pare_ir::{DType, Op, ValueId};

/// `max_pool2d_with_indices` → MaxPool with values and indices. ONNX counts indices
/// over the whole N·C·H·W tensor, torch within each H·W plane: since every ONNX index
/// is `(n·C + c)·H·W + plane_index`, taking it modulo H·W gives torch's index.
pub(super) fn max_pool_with_indices(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let op = pool_op(c, true)?;
    let xn = c.tensor("self")?;
    let outs = c.outs();
    let values = Some(c.out(0)?);
    let x = t.value(xn)?;
    let Some(indices) = outs.get(1).copied().flatten() else {
        return t
            .emit_multi(&c.name, op, vec![Some(x)], &[values])
            .map(|_| ());
    };
    let sizes = t.sizes(xn)?;
    let plane = sizes
        .iter()
        .rev()
        .take(2)
        .map(|d| d.ok_or("indices over a symbolic spatial size are not supported"))
        .try_fold(1i64, |a, d| d.map(|d| a.saturating_mul(d)))?;
    if sizes.len() < 3 || plane <= 0 {
        return Err(format!("input sizes {sizes:?} have no H·W plane to index").into());
    }
    let ids = t.emit_multi(&c.name, op, vec![Some(x)], &[values, None])?;
    let flat = *ids.get(1).ok_or("MaxPool lost its indices output")?;
    let m = scalar_of(t, c, "plane", plane as f64, DType::I64)?;
    let node = format!("{}/plane_index", c.name);
    t.emit(
        &node,
        Op::Mod { fmod: false },
        vec![Some(flat), Some(m)],
        indices,
    )
    .map(|_| ())
}

/// `native_dropout` in eval mode: the input unchanged and an all-true mask.
pub(super) fn native_dropout(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let train = matches!(c.arg("train"), Some(("as_bool", v)) if v.as_bool() == Some(true));
    if train && c.float("p", Some(0.5))? > 0.0 {
        return Err("dropout in training mode cannot be imported (export in eval mode)".into());
    }
    let x = t.value(c.tensor("input")?)?;
    finish(t, c, Op::Identity {}, vec![Some(x)])?;
    if let Some(mask) = c.outs().get(1).copied().flatten() {
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
        let op = Op::ConstantOfShape {
            dtype: DType::Bool,
            value: 1.0,
        };
        t.emit(&format!("{}/mask", c.name), op, vec![Some(shape)], mask)?;
    }
    Ok(())
}

/// `split.Tensor` (equal chunks, the last one smaller) and `split_with_sizes`.
pub(super) fn split(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let xn = c.tensor("self")?;
    let sizes = t.sizes(xn)?;
    let axis = norm(c.int("dim", Some(0))?, sizes.len() as i64)?;
    let parts = if c.op.ends_with("split_with_sizes.default") {
        c.ints("split_sizes", None)?
    } else {
        let len = sizes[axis as usize].ok_or("split along a symbolic dim")?;
        let step = c.int("split_size", None)?;
        if step <= 0 {
            return Err(format!("split_size {step} must be positive").into());
        }
        let n = ((len + step - 1) / step).max(1);
        (0..n).map(|i| step.min(len - i * step)).collect()
    };
    let outs = c.outs();
    if outs.len() != parts.len() || parts.iter().any(|&p| p < 0) {
        return Err(format!(
            "split into sizes {parts:?} but the node has {} outputs",
            outs.len()
        )
        .into());
    }
    let x = t.value(xn)?;
    let s = i64s(t, c, "split", &parts)?;
    let op = Op::Split {
        axis,
        num_outputs: None,
    };
    t.emit_multi(&c.name, op, vec![Some(x), Some(s)], &outs)
        .map(|_| ())
}

/// `expand(self, size)`: -1 keeps a dim, which ONNX Expand spells 1 (broadcast).
pub(super) fn expand(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let keep = |d: i64| match d {
        -1 => Ok(1),
        d if d < 0 => Err(format!("expand to negative size {d}").into()),
        d => Ok(d),
    };
    if let Some(s) = super::symint::sym_list(t, c, "size", keep)? {
        let x = t.value(c.tensor("self")?)?;
        return finish(t, c, Op::Expand {}, vec![Some(x), Some(s)]);
    }
    let shape: Vec<i64> = c
        .ints("size", None)?
        .into_iter()
        .map(|d| if d == -1 { 1 } else { d })
        .collect();
    if let Some(d) = shape.iter().find(|&&d| d < 0) {
        return Err(format!("expand to negative size {d}").into());
    }
    let x = t.value(c.tensor("self")?)?;
    let s = i64s(t, c, "shape", &shape)?;
    finish(t, c, Op::Expand {}, vec![Some(x), Some(s)])
}

/// `where(condition, self, other)`; either branch may be a Python scalar.
pub(super) fn where_(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let cond = t.value(c.tensor("condition")?)?;
    let x = operand(t, c, "self")?;
    let y = operand(t, c, "other")?;
    finish(t, c, Op::Where {}, vec![Some(cond), Some(x), Some(y)])
}

/// `embedding(weight, indices)`: rows of the weight table.
pub(super) fn embedding(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let w = t.value(c.tensor("weight")?)?;
    let i = t.value(c.tensor("indices")?)?;
    finish(t, c, Op::Gather { axis: 0 }, vec![Some(w), Some(i)])
}

/// The normalized reduction dims of `dim` (all dims when absent or empty).
fn reduce_dims(t: &Translator<'_>, c: &NodeCtx<'_>, input: &str) -> R<Vec<i64>> {
    let rank = t.sizes(input)?.len() as i64;
    let dims = c.ints("dim", Some(&[]))?;
    if dims.is_empty() {
        return Ok((0..rank).collect());
    }
    dims.into_iter().map(|d| norm(d, rank.max(1))).collect()
}

/// `amax`/`amin` → ReduceMax/ReduceMin.
pub(super) fn amax(t: &mut Translator<'_>, c: &NodeCtx<'_>, max: bool) -> R<()> {
    let xn = c.tensor("self")?;
    let dims = reduce_dims(t, c, xn)?;
    let keepdims = c.bool("keepdim", false)?;
    let x = t.value(xn)?;
    let axes = i64s(t, c, "axes", &dims)?;
    let op = if max {
        Op::ReduceMax {
            keepdims,
            noop_with_empty_axes: false,
        }
    } else {
        Op::ReduceMin {
            keepdims,
            noop_with_empty_axes: false,
        }
    };
    finish(t, c, op, vec![Some(x), Some(axes)])
}

/// `var.correction`: Σ(x − mean)² / (N − correction) over the reduced dims.
pub(super) fn var(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let xn = c.tensor("self")?;
    let dims = reduce_dims(t, c, xn)?;
    let sizes = t.sizes(xn)?;
    let n = dims
        .iter()
        .map(|&d| sizes.get(d as usize).copied().flatten())
        .try_fold(1i64, |a, d| d.map(|d| a.saturating_mul(d)))
        .ok_or("variance over a symbolic dim is not supported")?;
    let correction = c.float("correction", Some(1.0))?;
    let keepdims = c.bool("keepdim", false)?;
    let x = t.value(xn)?;
    let axes = i64s(t, c, "axes", &dims)?;
    let mean_op = Op::ReduceMean {
        keepdims: true,
        noop_with_empty_axes: false,
    };
    let mean: ValueId = tmp(t, c, "mean", mean_op, vec![Some(x), Some(axes)])?;
    let d = tmp(t, c, "centered", Op::Sub {}, vec![Some(x), Some(mean)])?;
    let sq = tmp(t, c, "squared", Op::Mul {}, vec![Some(d), Some(d)])?;
    let sum_op = Op::ReduceSum {
        keepdims,
        noop_with_empty_axes: false,
    };
    let s = tmp(t, c, "sum", sum_op, vec![Some(sq), Some(axes)])?;
    let denom = scalar(t, c, "count", n as f64 - correction)?;
    finish(t, c, Op::Div {}, vec![Some(s), Some(denom)])
}
