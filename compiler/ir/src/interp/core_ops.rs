//! Kernels for element-wise ops, reductions, softmax, shape and data movement,
//! generators and quantization.

use super::InterpError;
use crate::{Op, Tensor};

/// Evaluates `op` (any op the `nn` family did not take).
pub(super) fn eval(
    op: &Op,
    inputs: &[Option<&Tensor>],
    num_outputs: usize,
) -> Result<Vec<Tensor>, InterpError> {
    let _ = (inputs, num_outputs);
    Err(InterpError::op(op, "not supported by the interpreter"))
}
