//! Kernels for convolution, pooling, normalization, matrix products, resize and
//! recurrent ops.
//!
//! Conv, ConvTranspose, MatMul and Gemm are generic over [`util::Float`] (f32, with
//! f16 widened to f32, or f64) and run on `matrixmultiply`; the other kernels are not
//! hot and compute in f64, converting back to the input's dtype.

pub(super) mod conv;
pub(super) mod conv_transpose;
mod einsum;
mod gemm;
pub(super) mod matmul;
mod norm;
mod pool;
mod resize;
mod rnn;
pub(super) mod util;
pub(super) mod window_geometry;

use super::InterpError;
use crate::{Op, Tensor};

/// Evaluates `op` if it belongs to this family; `None` otherwise.
pub(super) fn eval(
    op: &Op,
    inputs: &[Option<&Tensor>],
    num_outputs: usize,
) -> Option<Result<Vec<Tensor>, InterpError>> {
    let r = match op {
        Op::MatMul {} => matmul::matmul(op, inputs),
        Op::Gemm { .. } => matmul::gemm(op, inputs),
        Op::Conv { .. } => conv::conv(op, inputs),
        Op::ConvTranspose { .. } => conv_transpose::conv_transpose(op, inputs),
        Op::MaxPool { .. } => pool::max_pool(op, inputs, num_outputs),
        Op::AveragePool { .. } => pool::average_pool(op, inputs),
        Op::LpPool { .. } => pool::lp_pool(op, inputs),
        Op::GlobalAveragePool {} | Op::GlobalMaxPool {} | Op::GlobalLpPool { .. } => {
            pool::global_pool(op, inputs)
        }
        Op::BatchNormalization { .. } => norm::batch_norm(op, inputs),
        Op::InstanceNormalization { .. } => norm::instance_norm(op, inputs),
        Op::LayerNormalization { .. } => norm::layer_norm(op, inputs, num_outputs),
        Op::GroupNormalization { .. } => norm::group_norm(op, inputs),
        Op::LpNormalization { .. } => norm::lp_norm(op, inputs),
        Op::Lrn { .. } => norm::lrn(op, inputs),
        Op::MeanVarianceNormalization { .. } => norm::mvn(op, inputs),
        Op::Einsum { .. } => einsum::einsum(op, inputs),
        Op::Resize { .. } => resize::resize(op, inputs),
        Op::Lstm { .. } | Op::Gru { .. } | Op::Rnn { .. } => {
            rnn::recurrent(op, inputs, num_outputs)
        }
        _ => return None,
    };
    Some(r)
}
