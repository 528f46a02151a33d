//! Core ATen reductions and orderings: `any`, `argmax`/`argmin`, `prod`, `cumsum`,
//! `max.dim`/`min.dim` (values and indices), `topk`, `sort` and `var.dim`.

use super::super::args::NodeCtx;
use super::super::emit::*;
use super::super::error::LowerError;
use super::super::Translator;
use super::{reshape_const, static_sizes};
use pare_ir::{DType, Op, Tensor, ValueId};

/// The reduced dims: `dim` as one int or a list; absent or empty means all.
fn dims(t: &Translator<'_>, c: &NodeCtx<'_>, input: &str) -> R<Vec<i64>> {
    let rank = t.sizes(input)?.len() as i64;
    let dims = c.ints("dim", Some(&[]))?;
    if dims.is_empty() {
        return Ok((0..rank).collect());
    }
    dims.into_iter().map(|d| norm(d, rank.max(1))).collect()
}

/// Input `self` cast to the output's dtype when torch promotes it (int → i64).
fn input_as_output(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<ValueId> {
    let name = c.tensor("self")?;
    let x = t.value(name)?;
    let out = t.dtype(c.out(0)?)?;
    if t.dtype(name)? == out {
        return Ok(x);
    }
    tmp(t, c, "cast", Op::Cast { to: out }, vec![Some(x)])
}

/// `any` (`.default`, `.dim`, `.dims`): the largest truth value, as 0/1 in i32.
pub(super) fn any(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let name = c.tensor("self")?;
    let axes = dims(t, c, name)?;
    let keepdims = c.bool("keepdim", false)?;
    let x = t.value(name)?;
    let dtype = t.dtype(name)?;
    let truth = if dtype == DType::Bool {
        x
    } else {
        let zero = scalar_of(t, c, "zero", 0.0, dtype)?;
        let eq = tmp(t, c, "is_zero", Op::Equal {}, vec![Some(x), Some(zero)])?;
        tmp(t, c, "truth", Op::Not {}, vec![Some(eq)])?
    };
    let ints = tmp(
        t,
        c,
        "as_int",
        Op::Cast { to: DType::I32 },
        vec![Some(truth)],
    )?;
    let a = i64s(t, c, "axes", &axes)?;
    let op = Op::ReduceMax {
        keepdims,
        noop_with_empty_axes: false,
    };
    let m = tmp(t, c, "max", op, vec![Some(ints), Some(a)])?;
    finish(t, c, Op::Cast { to: DType::Bool }, vec![Some(m)])
}

/// `argmax`/`argmin(self, dim?, keepdim)`; without `dim` over the flattened input.
pub(super) fn arg_extreme(t: &mut Translator<'_>, c: &NodeCtx<'_>, max: bool) -> R<()> {
    let name = c.tensor("self")?;
    let rank = t.sizes(name)?.len() as i64;
    let keepdims = c.bool("keepdim", false)?;
    let x = t.value(name)?;
    let make = |axis, keepdims| {
        if max {
            Op::ArgMax {
                axis,
                keepdims,
                select_last_index: false,
            }
        } else {
            Op::ArgMin {
                axis,
                keepdims,
                select_last_index: false,
            }
        }
    };
    match c.opt_int("dim")? {
        Some(d) => {
            let axis = norm(d, rank.max(1))?;
            finish(t, c, make(axis, keepdims), vec![Some(x)])
        }
        None => {
            let flat = reshape_const(t, c, "flat", x, &[-1])?;
            let i = tmp(t, c, "index", make(0, false), vec![Some(flat)])?;
            let shape = vec![1; if keepdims { rank as usize } else { 0 }];
            let s = i64s(t, c, "shape", &shape)?;
            finish(
                t,
                c,
                Op::Reshape { allowzero: false },
                vec![Some(i), Some(s)],
            )
        }
    }
}

/// `prod.default` (all dims) and `prod.dim_int(self, dim, keepdim)`.
pub(super) fn prod(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let name = c.tensor("self")?;
    let rank = t.sizes(name)?.len() as i64;
    let axes = match c.opt_int("dim")? {
        Some(d) => vec![norm(d, rank.max(1))?],
        None => (0..rank).collect(),
    };
    let keepdims = c.bool("keepdim", false)?;
    let x = input_as_output(t, c)?;
    let a = i64s(t, c, "axes", &axes)?;
    let op = Op::ReduceProd {
        keepdims,
        noop_with_empty_axes: false,
    };
    finish(t, c, op, vec![Some(x), Some(a)])
}

/// `cumsum(self, dim, dtype?)`.
pub(super) fn cumsum(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let rank = t.sizes(c.tensor("self")?)?.len() as i64;
    let axis = norm(c.int("dim", None)?, rank.max(1))?;
    let x = input_as_output(t, c)?;
    let a = t.constant(&format!("{}/axis", c.name), &Tensor::scalar(axis))?;
    let op = Op::CumSum {
        exclusive: false,
        reverse: false,
    };
    finish(t, c, op, vec![Some(x), Some(a)])
}

/// `max.dim`/`min.dim(self, dim, keepdim)` → (values, indices).
pub(super) fn extreme_dim(t: &mut Translator<'_>, c: &NodeCtx<'_>, max: bool) -> R<()> {
    let name = c.tensor("self")?;
    let rank = t.sizes(name)?.len() as i64;
    let axis = norm(c.int("dim", None)?, rank.max(1))?;
    let keepdims = c.bool("keepdim", false)?;
    let x = t.value(name)?;
    let outs = c.outs();
    if let Some(values) = outs.first().copied().flatten() {
        let a = i64s(t, c, "axes", &[axis])?;
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
        t.emit(
            &format!("{}/values", c.name),
            op,
            vec![Some(x), Some(a)],
            values,
        )?;
    }
    if let Some(indices) = outs.get(1).copied().flatten() {
        let op = if max {
            Op::ArgMax {
                axis,
                keepdims,
                select_last_index: false,
            }
        } else {
            Op::ArgMin {
                axis,
                keepdims,
                select_last_index: false,
            }
        };
        t.emit(&format!("{}/indices", c.name), op, vec![Some(x)], indices)?;
    }
    Ok(())
}

/// `topk(self, k, dim, largest, sorted)` and `sort(self, dim, descending)` (a TopK
/// over the whole dim) → (values, indices).
pub(super) fn topk(t: &mut Translator<'_>, c: &NodeCtx<'_>, sort: bool) -> R<()> {
    let name = c.tensor("self")?;
    let rank = t.sizes(name)?.len() as i64;
    let axis = norm(c.int("dim", Some(-1))?, rank.max(1))?;
    let (k, largest) = if sort {
        // TopK orders equal values by index, so `stable` needs nothing more.
        let len = static_sizes(t, name)?
            .get(axis as usize)
            .copied()
            .unwrap_or(1);
        (len, c.bool("descending", false)?)
    } else {
        (c.int("k", None)?, c.bool("largest", true)?)
    };
    if k < 0 {
        return Err(format!("k = {k} is negative").into());
    }
    let x = t.value(name)?;
    let kv = i64s(t, c, "k", &[k])?;
    let op = Op::TopK {
        axis,
        largest,
        sorted: true,
    };
    let outs = c.outs();
    if outs.len() != 2 {
        return Err(LowerError::OutputCount {
            got: outs.len(),
            expected: 2,
        });
    }
    t.emit_multi(&c.name, op, vec![Some(x), Some(kv)], &outs)
        .map(|_| ())
}

/// `var.dim(self, dim?, unbiased, keepdim)`: Σ(x − mean)² / (N − unbiased).
pub(super) fn var_dim(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let name = c.tensor("self")?;
    let axes = dims(t, c, name)?;
    let sizes = static_sizes(t, name)?;
    let reduced: Vec<i64> = axes.iter().map(|&d| sizes[d as usize]).collect();
    let n = super::count(&reduced)?;
    let correction = if c.bool("unbiased", true)? { 1.0 } else { 0.0 };
    let keepdims = c.bool("keepdim", false)?;
    let x = t.value(name)?;
    let a = i64s(t, c, "axes", &axes)?;
    let mean_op = Op::ReduceMean {
        keepdims: true,
        noop_with_empty_axes: false,
    };
    let mean = tmp(t, c, "mean", mean_op, vec![Some(x), Some(a)])?;
    let d = tmp(t, c, "centered", Op::Sub {}, vec![Some(x), Some(mean)])?;
    let sq = tmp(t, c, "squared", Op::Mul {}, vec![Some(d), Some(d)])?;
    let sum_op = Op::ReduceSum {
        keepdims,
        noop_with_empty_axes: false,
    };
    let s = tmp(t, c, "sum", sum_op, vec![Some(sq), Some(a)])?;
    let denom = scalar(t, c, "count", n as f64 - correction)?;
    finish(t, c, Op::Div {}, vec![Some(s), Some(denom)])
}
