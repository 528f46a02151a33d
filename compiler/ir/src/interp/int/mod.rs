//! The bit-exact integer reference interpreter of pare's quantized IR: the ground
//! truth every target (RP2040 C, TFLite, Rust runtime) must match bit for bit.
//!
//! A quantized node means "the float op on the dequantized inputs, its result
//! quantized to the output type"; these kernels compute that with integer
//! arithmetic only, following the TFLite int8 spec. Floats appear only where a
//! target would compute at compile time: requantization multipliers
//! ([`crate::quant::quantize_multiplier`] of an f64 ratio of the f32 scales) and
//! lookup tables. Each file's docs give its exact arithmetic; the shared notation:
//!
//! * `(s, z)`: a value's per-tensor scale and zero point; `s[c]`, `z[c]` per channel.
//! * `MBQM(x, M)`: [`crate::quant::multiply_by_quantized_multiplier`] with the
//!   interpreter's [`Rounding`], `M = (m, shift)`.
//! * `clamp`: to the output type's code range ([`crate::quant::qrange`]).
//!
//! Activations are 8-bit codes (i8 when signed, u8 when not), weights 8-bit or
//! narrower stored in i8/u8, biases i32. Families:
//! `conv` (Conv), `conv_transpose` (ConvTranspose), `matmul` (Gemm, MatMul),
//! `binary` (Add, Sub, Mul), `pool` (MaxPool, AveragePool, GlobalAveragePool),
//! `reduce` (ReduceMean), `softmax`, `unary` (element-wise ops as tables),
//! `movement` (data movement on codes).

mod binary;
mod conv;
mod conv_transpose;
mod ctx;
mod matmul;
mod movement;

pub use movement::is_movement as is_movement_op;
mod pool;
mod reduce;
mod softmax;
mod unary;

use super::InterpError;
use crate::quant::{is_lut_op, Rounding};
use crate::{Op, Tensor, TensorType};
use ctx::Ctx;

/// Whether [`eval_int`] has a kernel for `op` (its parameters may still be refused).
pub fn has_int_kernel(op: &Op) -> bool {
    matches!(
        op,
        Op::Conv { .. }
            | Op::ConvTranspose { .. }
            | Op::Gemm { .. }
            | Op::MatMul {}
            | Op::Add {}
            | Op::Sub {}
            | Op::Mul {}
            | Op::MaxPool { .. }
            | Op::AveragePool { .. }
            | Op::GlobalAveragePool {}
            | Op::ReduceMean { .. }
            | Op::Softmax { .. }
    ) || is_lut_op(op)
        || movement::is_movement(op)
}

/// Evaluates quantized `op` in integer arithmetic.
///
/// `inputs` are positional (`None` for an absent optional input) with their static
/// types in `in_types` (same length; a type's `quant` says how to read the codes);
/// `out_types` gives one type per output, whose dtype and quantization the results
/// take. Ops without an integer kernel fail with "no integer kernel for `op`";
/// parameters a kernel cannot honour (per-axis activations, a softmax output other
/// than 1/256, …) fail with a message saying what was expected.
pub fn eval_int(
    op: &Op,
    inputs: &[Option<&Tensor>],
    in_types: &[Option<&TensorType>],
    out_types: &[&TensorType],
    r: Rounding,
) -> Result<Vec<Tensor>, InterpError> {
    if in_types.len() != inputs.len() {
        return Err(InterpError::op(
            op,
            format!("{} inputs but {} input types", inputs.len(), in_types.len()),
        ));
    }
    let sig = crate::infer::signature(op);
    sig.check_inputs(inputs.len(), |i| inputs[i].is_some())
        .and_then(|()| sig.check_outputs(out_types.len()))
        .map_err(|e| InterpError::op(op, e.to_string()))?;
    let cx = Ctx {
        op,
        inputs,
        in_types,
        out_types,
        r,
    };
    match op {
        Op::Conv { .. } => conv::conv(&cx),
        Op::ConvTranspose { .. } => conv_transpose::conv_transpose(&cx),
        Op::Gemm { .. } => matmul::gemm(&cx),
        Op::MatMul {} => matmul::matmul(&cx),
        Op::Add {} | Op::Sub {} | Op::Mul {} => binary::eval(&cx),
        Op::MaxPool { .. } => pool::max_pool(&cx),
        Op::AveragePool { .. } => pool::average_pool(&cx),
        Op::GlobalAveragePool {} => pool::global_average_pool(&cx),
        Op::ReduceMean { .. } => reduce::reduce_mean(&cx),
        Op::Softmax { .. } => softmax::softmax(&cx),
        _ if is_lut_op(op) => unary::lut(&cx),
        _ if movement::is_movement(op) => movement::eval(&cx),
        _ => Err(InterpError::Run(format!(
            "no integer kernel for `{}`",
            op.name()
        ))),
    }
}
