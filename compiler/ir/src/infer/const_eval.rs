//! Constant evaluation of small integer tensors for shape-value propagation.
//!
//! Exporters compute shapes and slice bounds with integer ops beyond the symbolic
//! rules of `shape_values` (`Mod`, `Max`, `ReduceProd`, `Range`, `Div` of negative
//! numbers, ...). When every input of such an op is a known 0-D/1-D integer tensor
//! this evaluates it, so inference needs no interpreter (the interpreter depends on
//! inference, not the other way round). Semantics are the interpreter's, element
//! for element — `compiler/ir/tests/const_eval.rs` checks that on random cases:
//! results wrap to the element type, integer division truncates, a zero divisor is an error.
//!
//! Arithmetic runs in `i64` and wraps to the element type at the end, which equals
//! wrapping arithmetic in that type for `+ - *` (both are modular) and is exact for
//! `/ %`, comparisons and `Range` on every integer type but `u64`, whose upper half
//! does not fit an `i64`; `u64` tensors are not evaluated.

use crate::{DType, Op, Tensor};

/// Longest tensor evaluated (the shape-value table tracks no longer ones).
pub const MAX_LEN: usize = super::shape_values::MAX_LEN;

/// Evaluates `op` on integer inputs of rank ≤ 1 (`None` for an absent optional input).
/// `None` when the op, an input's type or the values are outside what this covers,
/// or when the op fails on them (a zero divisor, a bad axis): the value then simply
/// stays unknown to inference.
pub fn eval(op: &Op, inputs: &[Option<&Tensor>]) -> Option<Tensor> {
    // An absent input stays `None`; a present one that is not a small integer
    // tensor ends the evaluation.
    let ins: Vec<Option<Ints>> = inputs
        .iter()
        .map(|t| match t {
            None => Some(None),
            Some(t) => Ints::from_tensor(t).map(Some),
        })
        .collect::<Option<_>>()?;
    let out = match op {
        Op::Add {} | Op::Sub {} | Op::Mul {} | Op::Div {} | Op::Mod { .. } => {
            let [Some(a), Some(b)] = ins.as_slice() else {
                return None;
            };
            binary(op, a, b)?
        }
        Op::Max {} | Op::Min {} => min_max(matches!(op, Op::Max {}), &ins)?,
        Op::Neg {} | Op::Abs {} | Op::Sign {} => {
            let [Some(x)] = ins.as_slice() else {
                return None;
            };
            let f: fn(i64) -> i64 = match op {
                Op::Neg {} => i64::wrapping_neg,
                Op::Abs {} => i64::wrapping_abs,
                _ => i64::signum,
            };
            x.map(f)
        }
        Op::ReduceSum { .. }
        | Op::ReduceProd { .. }
        | Op::ReduceMax { .. }
        | Op::ReduceMin { .. } => reduce(op, &ins)?,
        Op::Range {} => range(&ins)?,
        _ => return None,
    };
    out.into_tensor()
}

/// A small integer tensor widened to `i64`: its element type, shape (rank ≤ 1) and values.
#[derive(Clone, Debug)]
struct Ints {
    dtype: DType,
    shape: Vec<usize>,
    values: Vec<i64>,
}

impl Ints {
    fn from_tensor(t: &Tensor) -> Option<Ints> {
        let dtype = t.dtype();
        if !dtype.is_int() || dtype == DType::U64 || t.rank() > 1 || t.len() > MAX_LEN {
            return None;
        }
        Some(Ints {
            dtype,
            shape: t.shape().to_vec(),
            values: t.to_i64_vec(),
        })
    }

    /// The tensor in its element type; `Tensor::cast` wraps like `as`.
    fn into_tensor(self) -> Option<Tensor> {
        if self.values.len() > MAX_LEN {
            return None;
        }
        Some(
            Tensor::from_vec(self.shape, self.values)
                .ok()?
                .cast(self.dtype),
        )
    }

    fn map(&self, f: impl Fn(i64) -> i64) -> Ints {
        Ints {
            values: self.values.iter().map(|&v| f(v)).collect(),
            ..self.clone()
        }
    }

    /// Element `k` of the broadcast result (a length-1 or rank-0 tensor repeats).
    fn at(&self, k: usize) -> i64 {
        if self.values.len() == 1 {
            self.values[0]
        } else {
            self.values[k]
        }
    }

    fn scalar(&self) -> Option<i64> {
        match self.values.as_slice() {
            [v] => Some(*v),
            _ => None,
        }
    }
}

/// Numpy broadcasting of two shapes of rank ≤ 1.
fn broadcast(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    match (a, b) {
        ([], s) | (s, []) => Some(s.to_vec()),
        ([x], [y]) if x == y || *y == 1 => Some(vec![*x]),
        ([1], [y]) => Some(vec![*y]),
        _ => None,
    }
}

/// `f` over `a` and `b` broadcast together; both must have the same element type.
fn zip(a: &Ints, b: &Ints, f: impl Fn(i64, i64) -> Option<i64>) -> Option<Ints> {
    if a.dtype != b.dtype {
        return None;
    }
    let shape = broadcast(&a.shape, &b.shape)?;
    let n = shape.iter().product();
    let values = (0..n).map(|k| f(a.at(k), b.at(k))).collect::<Option<_>>()?;
    Some(Ints {
        dtype: a.dtype,
        shape,
        values,
    })
}

fn binary(op: &Op, a: &Ints, b: &Ints) -> Option<Ints> {
    if matches!(op, Op::Div {} | Op::Mod { .. }) && b.values.contains(&0) {
        return None; // integer division by zero
    }
    zip(a, b, |x, y| match op {
        Op::Add {} => Some(x.wrapping_add(y)),
        Op::Sub {} => Some(x.wrapping_sub(y)),
        Op::Mul {} => Some(x.wrapping_mul(y)),
        Op::Div {} => Some(x.wrapping_div(y)),
        // fmod: the sign of the dividend (C); otherwise of the divisor (Python).
        Op::Mod { fmod: true } => Some(x.wrapping_rem(y)),
        Op::Mod { fmod: false } => {
            let r = x.wrapping_rem(y);
            Some(if r != 0 && (r < 0) != (y < 0) {
                r + y
            } else {
                r
            })
        }
        _ => None,
    })
}

/// Variadic Max/Min, folded left with broadcasting.
fn min_max(max: bool, ins: &[Option<Ints>]) -> Option<Ints> {
    let (first, rest) = ins.split_first()?;
    let mut acc = first.clone()?;
    for x in rest {
        acc = zip(&acc, x.as_ref()?, |a, b| {
            Some(if max { a.max(b) } else { a.min(b) })
        })?;
    }
    Some(acc)
}

/// The smallest and largest value of an integer element type.
fn type_range(dtype: DType) -> Option<(i64, i64)> {
    Some(match dtype {
        DType::I8 => (i8::MIN.into(), i8::MAX.into()),
        DType::I16 => (i16::MIN.into(), i16::MAX.into()),
        DType::I32 => (i32::MIN.into(), i32::MAX.into()),
        DType::I64 => (i64::MIN, i64::MAX),
        DType::U8 => (0, u8::MAX.into()),
        DType::U16 => (0, u16::MAX.into()),
        DType::U32 => (0, u32::MAX.into()),
        _ => return None,
    })
}

/// ReduceSum/Prod/Max/Min of a rank-≤1 tensor, with ONNX's optional `axes` input,
/// `keepdims` and `noop_with_empty_axes`; an empty input gives the identity.
fn reduce(op: &Op, ins: &[Option<Ints>]) -> Option<Ints> {
    let (keepdims, noop) = op.reduce_attrs()?;
    let (x, axes) = match ins {
        [Some(x)] | [Some(x), None] => (x, Vec::new()),
        [Some(x), Some(a)] if matches!(a.dtype, DType::I32 | DType::I64) => (x, a.values.clone()),
        _ => return None,
    };
    if axes.is_empty() && noop {
        return Some(x.clone());
    }
    let rank = x.shape.len() as i64;
    // Rank ≤ 1: the only axis is 0 (or -1), and naming it twice is an error.
    if axes.len() > 1 || axes.iter().any(|&a| a < -rank || a >= rank) {
        return None;
    }
    let (lo, hi) = type_range(x.dtype)?;
    let (init, f): (i64, fn(i64, i64) -> i64) = match op {
        Op::ReduceSum { .. } => (0, i64::wrapping_add),
        Op::ReduceProd { .. } => (1, i64::wrapping_mul),
        Op::ReduceMax { .. } => (lo, i64::max),
        _ => (hi, i64::min),
    };
    let total = x.values.iter().fold(init, |a, &v| f(a, v));
    let shape = if keepdims && rank == 1 {
        vec![1]
    } else {
        Vec::new()
    };
    Some(Ints {
        dtype: x.dtype,
        shape,
        values: vec![total],
    })
}

/// Range(start, limit, delta) on one-element tensors of one integer type.
fn range(ins: &[Option<Ints>]) -> Option<Ints> {
    let [Some(s), Some(l), Some(d)] = ins else {
        return None;
    };
    if l.dtype != s.dtype || d.dtype != s.dtype {
        return None;
    }
    let (start, limit, delta) = (s.scalar()?, l.scalar()?, d.scalar()?);
    if delta == 0 {
        return None;
    }
    // ceil((limit - start) / delta), exact in i128.
    let (span, step) = (i128::from(limit) - i128::from(start), i128::from(delta));
    let q = span / step + i128::from(span % step != 0 && (span < 0) == (step < 0));
    let n = usize::try_from(q.max(0)).ok().filter(|&n| n <= MAX_LEN)?;
    let values = (0..n as i64)
        .map(|i| start.wrapping_add(i.wrapping_mul(delta)))
        .collect();
    Some(Ints {
        dtype: s.dtype,
        shape: vec![n],
        values,
    })
}
