//! Reference interpreter: evaluates ops on concrete [`crate::Tensor`]s, f32 plus the
//! integer and bool dtypes shape computations need. Correct before fast.
//!
//! `eval_op` checks the input and output counts against the op's signature
//! ([`crate::infer::signature`], the one arity table) and evaluates one op; `run` evaluates a whole graph, binding symbolic dims
//! from the inputs and freeing each intermediate after its last use.
//!
//! The kernels are split in two families: `nn` (convolution, pooling, normalization,
//! matrix products, resize, recurrent) and `core_ops` (everything else: element-wise,
//! reductions, softmax, shape and data movement, generators, quantization).
//!
//! Quantized nodes (see [`run_with`]) run either on the bit-exact integer kernels
//! of `int` ([`eval_int`], the reference every target matches) or on the
//! fake-quant path ([`eval_fake_quant`]: dequantize, float kernel, quantize).

mod binary;
mod core_ops;
mod elementwise;
mod fake_quant;
mod gather_scatter;
mod generators;
mod int;
mod movement;
mod nn;
mod num;
mod quant;
mod reduce;
mod run;
mod shape_ops;
mod softmax;
mod strided;
mod util;

pub use fake_quant::eval_fake_quant;
pub use int::{eval_int, has_int_kernel, is_movement_op};
pub use nn::matmul::batch_offsets;
pub use nn::window_geometry::{window_geometry, WindowGeometry};
pub use run::{run, run_observed, run_with, QuantExec, RunOptions};

use crate::{Op, Tensor};

/// An evaluation failure, naming the op and what was wrong.
#[derive(Debug, thiserror::Error)]
pub enum InterpError {
    #[error("{op}: {msg}")]
    Op { op: &'static str, msg: String },
    #[error("node `{node}` ({op}): {source}")]
    Node {
        node: String,
        op: &'static str,
        #[source]
        source: Box<InterpError>,
    },
    /// A graph input given to [`run`] does not match its declared type.
    #[error("input `{name}`: {msg}")]
    Input { name: String, msg: String },
    #[error("{0}")]
    Run(String),
    /// Inconsistent quantization parameters or data (see [`crate::quant`]).
    #[error("quantization: {0}")]
    Quant(String),
    #[error(transparent)]
    Ir(#[from] crate::IrError),
}

impl From<crate::quant::QuantError> for InterpError {
    fn from(e: crate::quant::QuantError) -> InterpError {
        use crate::quant::QuantError;
        match e {
            QuantError::Params(msg) => InterpError::Quant(msg),
            QuantError::Table { op, msg } => InterpError::Op { op, msg },
            QuantError::Ir(e) => InterpError::Ir(e),
        }
    }
}

impl InterpError {
    /// An error about op `op`.
    pub fn op(op: &Op, msg: impl Into<String>) -> InterpError {
        InterpError::Op {
            op: op.name(),
            msg: msg.into(),
        }
    }
}

/// Evaluates `op` on `inputs` (positional; `None` for an absent optional input),
/// producing `num_outputs` tensors.
pub fn eval_op(
    op: &Op,
    inputs: &[Option<&Tensor>],
    num_outputs: usize,
) -> Result<Vec<Tensor>, InterpError> {
    // One arity table for inference, the verifier and the interpreter.
    let sig = crate::infer::signature(op);
    sig.check_inputs(inputs.len(), |i| inputs[i].is_some())
        .and_then(|()| sig.check_outputs(num_outputs))
        .map_err(|e| InterpError::op(op, e.to_string()))?;
    if let Some(result) = nn::eval(op, inputs, num_outputs) {
        return result;
    }
    core_ops::eval(op, inputs, num_outputs)
}
