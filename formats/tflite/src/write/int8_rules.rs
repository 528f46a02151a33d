//! What TFLite's int8 kernels require of pare's quantized graph, checked before a node
//! is written: the fixed output parameters of LOGISTIC and SOFTMAX (LiteRT checks them;
//! its TANH takes any, through a table, and matches pare), and the ops whose TFLite
//! int8 kernel is another function altogether (AVERAGE_POOL_2D averages codes without
//! requantizing): those are refused, naming the node.
//!
//! Measured against LiteRT's reference kernels (`compiler/driver/tests/tflite.rs`):
//! CONV_2D, DEPTHWISE_CONV_2D, ADD, MUL, MAX_POOL_2D, MEAN, TANH, RELU, RESHAPE,
//! QUANTIZE and DEQUANTIZE are bit-exact; SOFTMAX, LEAKY_RELU and HARD_SWISH round
//! differently from pare's tables now and then, by 1 LSB at most.

use super::lower::Lower;
use crate::TfliteError;
use pare_ir::{Node, Op};

impl Lower<'_> {
    /// Refuses `n` when its int8 form has no bit-exact TFLite kernel.
    pub(super) fn check_int8(&self, n: &Node) -> Result<(), TfliteError> {
        let Some(&out) = n.outputs.first() else {
            return Ok(());
        };
        let int8_in = n.input(0).is_some_and(|x| self.g.ty(x).quant.is_some());
        let Some(q) = self.g.ty(out).quant.as_ref().filter(|_| int8_in) else {
            return Ok(());
        };
        let fixed = |scale: f32, zp: i32, op: &str| -> Result<(), TfliteError> {
            if q.scale.len() == 1 && q.scale[0] == scale && q.zero_point[0] == zp {
                return Ok(());
            }
            Err(self.unsupported(
                n,
                format!(
                    "TFLite's int8 {op} needs output scale {scale} and zero point {zp}; the quantizer chose scale {:?}, zero point {:?}",
                    q.scale, q.zero_point
                ),
            ))
        };
        match &n.op {
            Op::Sigmoid {} => fixed(1.0 / 256.0, -128, "LOGISTIC"),
            Op::Softmax { .. } => fixed(1.0 / 256.0, -128, "SOFTMAX"),
            Op::AveragePool { .. } => Err(self.unsupported(
                n,
                "TFLite's int8 AVERAGE_POOL_2D averages the codes without requantizing, pare requantizes: it would not be bit-exact",
            )),
            _ => Ok(()),
        }
    }
}
