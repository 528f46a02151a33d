//! Kernels for convolution, pooling, normalization, matrix products, resize and
//! recurrent ops.
//!
//! Conv, ConvTranspose, MatMul and Gemm are generic over [`util::Float`] (f32, with
//! f16 widened to f32, or f64) and run on `matrixmultiply`; the other kernels are not
//! hot and compute in f64, converting back to the input's dtype.

mod conv;
mod gemm;
mod matmul;
mod util;

use super::InterpError;
use crate::{Op, Tensor};

/// Evaluates `op` if it belongs to this family; `None` otherwise.
pub(super) fn eval(
    op: &Op,
    inputs: &[Option<&Tensor>],
    num_outputs: usize,
) -> Option<Result<Vec<Tensor>, InterpError>> {
    let _ = num_outputs;
    let r = match op {
        Op::MatMul {} => matmul::matmul(op, inputs),
        Op::Gemm { .. } => matmul::gemm(op, inputs),
        Op::Conv { .. } => conv::conv(op, inputs),
        _ => return None,
    };
    Some(r)
}
