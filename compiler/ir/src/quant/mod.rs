//! Integer quantization arithmetic shared by the integer interpreter and every
//! target (RP2040 C, TFLite, Rust runtime): the one place where requantization,
//! rounding and the compile-time tables are defined, so that all agree bit for bit.
//!
//! * [`fixed`]: TFLite's fixed-point requantization — [`quantize_multiplier`] turns a
//!   real multiplier into `(m, shift)`; [`multiply_by_quantized_multiplier`] applies it
//!   with the named [`Rounding`].
//! * [`params`]: code ranges, float ↔ code conversion (ONNX `QuantizeLinear` /
//!   `DequantizeLinear` rounding), whole-tensor (per-axis aware) conversions, and the
//!   multipliers each integer kernel derives from its scales.
//! * [`tables`]: lookup tables built at compile time (element-wise unary ops, the
//!   softmax exponential).
//!
//! Floats appear only while building multipliers and tables; applying them is pure
//! integer arithmetic. Tables take each op's float function from the op table
//! ([`crate::Op::scalar_fn`]), so this module does not depend on the interpreter.

mod error;
pub mod fixed;
pub mod params;
pub mod tables;
#[cfg(test)]
mod tests;

pub use error::QuantError;
pub use fixed::{
    multiply_by_quantized_multiplier, quantize_multiplier, rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul, Rounding, UnknownRounding,
};
pub use params::{
    add_requant, channel_layout, dequantize_f32, dequantize_tensor, mean_multiplier,
    product_multiplier, qrange, quantize_f32, quantize_tensor, AddRequant, ADD_LEFT_SHIFT,
};
pub use tables::{is_lut_op, softmax_exp_table, unary_lut, SOFTMAX_EXP_ONE};
