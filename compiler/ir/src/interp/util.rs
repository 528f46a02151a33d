//! Helpers shared by the kernels: operand access, axis
//! normalization, reading shape-like integer tensors, and dtype dispatch macros.

use super::InterpError;
use crate::{DType, Element, Op, Tensor};

/// Result of one kernel: its output tensors.
pub(super) type Outputs = Result<Vec<Tensor>, InterpError>;

/// The operands of one op application (their count checked by `eval_op`).
#[derive(Debug, Clone, Copy)]
pub(super) struct Args<'a> {
    pub op: &'a Op,
    inputs: &'a [Option<&'a Tensor>],
}

impl<'a> Args<'a> {
    /// Wraps operands `eval_op` already checked against the op's signature.
    pub fn new(op: &'a Op, inputs: &'a [Option<&'a Tensor>]) -> Args<'a> {
        Args { op, inputs }
    }

    /// Required input `i`.
    pub fn req(&self, i: usize) -> Result<&'a Tensor, InterpError> {
        self.opt(i)
            .ok_or_else(|| self.err(format!("input {i} is required")))
    }

    /// Optional input `i` (`None` when absent).
    pub fn opt(&self, i: usize) -> Option<&'a Tensor> {
        self.inputs.get(i).copied().flatten()
    }

    /// Number of input slots given (present or not).
    pub fn len(&self) -> usize {
        self.inputs.len()
    }

    /// All present inputs.
    pub fn present(&self) -> impl Iterator<Item = &'a Tensor> + 'a {
        self.inputs.iter().flatten().copied()
    }

    pub fn err(&self, msg: impl Into<String>) -> InterpError {
        InterpError::op(self.op, msg)
    }

    /// Errors unless `t` has dtype `want`.
    pub fn same_dtype(&self, what: &str, t: &Tensor, want: DType) -> Result<(), InterpError> {
        if t.dtype() != want {
            return Err(self.err(format!("{what} has dtype {}, expected {want}", t.dtype())));
        }
        Ok(())
    }

    /// Normalizes a possibly negative `axis` against `rank` (`-rank..rank`).
    pub fn axis(&self, axis: i64, rank: usize) -> Result<usize, InterpError> {
        norm_axis(axis, rank)
            .ok_or_else(|| self.err(format!("axis {axis} is out of range for rank {rank}")))
    }

    /// The values of an integer (i32/i64) tensor, e.g. `axes`, `shape`, `pads`.
    pub fn ints(&self, what: &str, t: &Tensor) -> Result<Vec<i64>, InterpError> {
        match t.dtype() {
            DType::I64 | DType::I32 => Ok(t.to_i64_vec()),
            d => Err(self.err(format!("{what} must be int64 or int32, got {d}"))),
        }
    }

    /// The single value of a scalar or one-element integer tensor.
    pub fn int_scalar(&self, what: &str, t: &Tensor) -> Result<i64, InterpError> {
        let v = self.ints(what, t)?;
        match v.as_slice() {
            [x] => Ok(*x),
            _ => Err(self.err(format!(
                "{what} must hold one value, got shape {:?}",
                t.shape()
            ))),
        }
    }

    /// Unsupported-dtype error for operand `what`.
    pub fn bad_dtype(&self, what: &str, d: DType) -> InterpError {
        self.err(format!("{what} of dtype {d} is not supported"))
    }
}

/// `axis` in `-rank..rank` mapped to `0..rank`.
pub(super) fn norm_axis(axis: i64, rank: usize) -> Option<usize> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    (0..r).contains(&a).then_some(a as usize)
}

/// The elements of `t` as `&[T]` (the caller dispatched on `t`'s dtype).
pub(super) fn slice<T: Element>(t: &Tensor) -> Result<&[T], InterpError> {
    t.as_slice::<T>().ok_or_else(|| {
        InterpError::Run(format!(
            "internal: tensor of dtype {} read as {}",
            t.dtype(),
            T::DTYPE
        ))
    })
}

/// A tensor from a typed vector whose length the kernel computed from `shape`.
pub(super) fn tensor<T: Element>(shape: Vec<usize>, v: Vec<T>) -> Result<Tensor, InterpError> {
    Ok(Tensor::from_vec(shape, v)?)
}

/// Element count of a shape computed from tensor values, refusing absurd sizes.
pub(super) fn count(args: &Args, shape: &[usize]) -> Result<usize, InterpError> {
    crate::checked_count(shape).map_err(|_| {
        args.err(format!(
            "output shape {shape:?} is too large (more than 2^28 elements)"
        ))
    })
}

/// Converts a dimension read from tensor data to `usize`, rejecting negatives.
pub(super) fn dim(args: &Args, what: &str, v: i64) -> Result<usize, InterpError> {
    usize::try_from(v).map_err(|_| args.err(format!("{what} has negative dimension {v}")))
}

/// Row-major strides of `shape`.
pub(super) fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Dispatches on a dtype, binding `$T` to the element type for the listed dtypes
/// and evaluating `$else` for the others.
macro_rules! by_dtype {
    ($dt:expr, $T:ident => $body:expr, [$($D:ident : $t:ty),*], $o:pat => $else:expr) => {{
        #[allow(unreachable_patterns)]
        let r = match $dt {
            $(crate::DType::$D => {
                #[allow(dead_code)]
                type $T = $t;
                $body
            })*
            $o => $else,
        };
        r
    }};
    ($dt:expr, $T:ident => $body:expr, [$($D:ident : $t:ty),*]) => {
        match $dt {
            $(crate::DType::$D => {
                #[allow(dead_code)]
                type $T = $t;
                $body
            })*
        }
    };
}

/// Dispatch over every numeric dtype (all but bool).
macro_rules! num_dtype {
    ($dt:expr, $T:ident => $body:expr, $o:pat => $else:expr) => {
        $crate::interp::util::by_dtype!($dt, $T => $body,
            [F32: f32, F16: half::f16, F64: f64, I8: i8, I16: i16, I32: i32, I64: i64,
             U8: u8, U16: u16, U32: u32, U64: u64], $o => $else)
    };
}

/// Dispatch over the float dtypes.
macro_rules! float_dtype {
    ($dt:expr, $T:ident => $body:expr, $o:pat => $else:expr) => {
        $crate::interp::util::by_dtype!($dt, $T => $body,
            [F32: f32, F16: half::f16, F64: f64], $o => $else)
    };
}

/// Dispatch over the integer dtypes.
macro_rules! int_dtype {
    ($dt:expr, $T:ident => $body:expr, $o:pat => $else:expr) => {
        $crate::interp::util::by_dtype!($dt, $T => $body,
            [I8: i8, I16: i16, I32: i32, I64: i64, U8: u8, U16: u16, U32: u32, U64: u64],
            $o => $else)
    };
}

/// Dispatch over every dtype.
macro_rules! any_dtype {
    ($dt:expr, $T:ident => $body:expr) => {
        $crate::interp::util::by_dtype!($dt, $T => $body,
            [F32: f32, F16: half::f16, F64: f64, I8: i8, I16: i16, I32: i32, I64: i64,
             U8: u8, U16: u16, U32: u32, U64: u64, Bool: bool])
    };
}

pub(super) use {any_dtype, by_dtype, float_dtype, int_dtype, num_dtype};

/// `(outer, len, inner)`: the element counts before, along and after `axis`.
pub(super) fn around_axis(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    let outer = shape[..axis].iter().product();
    let inner = shape[axis + 1..].iter().product();
    (outer, shape[axis], inner)
}
