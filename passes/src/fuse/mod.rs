//! Fusion of written-out patterns: exporters (tf2onnx, older torch.onnx
//! opsets, paddle2onnx) spell LayerNorm, GELU, Softmax, SiLU, HardSwish and
//! HardSigmoid as chains of elementary ops. Each chain becomes the IR's one op
//! for it, so quantization sees one layer with one integer kernel (a lookup
//! table, softmax's kernel) or one stated float island (LayerNorm) instead of
//! an int8 rounding at every intermediate value.
//!
//! Patterns are compared as sums of products ([`poly`]), so the order an
//! exporter wrote the factors in does not matter; constants are matched by
//! value within a tolerance, and nothing fuses when an inner value is read
//! outside the pattern, the axes or shapes differ, or the dtype is not f32.

mod activations;
mod common;
mod gelu;
mod layer_norm;
mod poly;
mod softmax;

pub use activations::FuseActivations;
pub use gelu::FuseGelu;
pub use layer_norm::FuseLayerNorm;
pub use softmax::FuseSoftmax;
