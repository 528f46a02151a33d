//! Node → layer: for each op the C kernel it runs on and the builder that turns
//! the node into that kernel's params (geometry, zero points, requantization
//! multipliers and tables precomputed here with `pare_ir::quant`).
//!
//! * `conv`: Conv (1-D and 2-D, groups) → `pare_conv2d`, depthwise →
//!   `pare_depthwise_conv2d`;
//!   ConvTranspose → `pare_conv_transpose2d`
//! * `matmul`: Gemm, MatMul → `pare_fully_connected` (constant right operand)
//!   or `pare_matmul` (two activations)
//! * `product`: the blocked weight layout of `pare_conv2d` and
//!   `pare_fully_connected`, and each layer's arena workspace
//! * `sparse`: their sparse weight stream (mask bytes and non-zeros), chosen
//!   per layer where it is smaller
//! * `palette`: their (and depthwise convs') codebooks and packed indices, for
//!   weights the IR stores as a palette, chosen per layer where smaller
//! * `pool`: MaxPool, AveragePool → `pare_max_pool2d`, `pare_average_pool2d`
//! * `mean`: ReduceMean, GlobalAveragePool → `pare_mean`
//! * `binary`: Add, Sub, Mul → `pare_add`, `pare_sub`, `pare_mul`
//! * `unary`: element-wise ops as tables → `pare_lookup`; Softmax → `pare_softmax`
//! * `movement`: Concat → `pare_concat`; Transpose, Pad, Slice, Split, Expand,
//!   Tile, Gather, DepthToSpace, SpaceToDepth, Resize → `pare_gather`; views
//!   (Reshape & co.) → nothing when the plan aliased them, else `memcpy`

mod binary;
mod conv;
mod geometry;
mod matmul;
mod mean;
mod movement;
mod palette;
mod pool;
mod product;
mod sparse;
mod unary;

pub use product::packs_4bit_weights;
pub(crate) use product::scratch_bytes;
pub use sparse::{PaletteShape, WeightEncoding, WeightStorage};

use super::layer::{Layer, NodeCx};
use super::Rp2040Error;
use crate::plan::is_view_op;
use pare_ir::quant::is_lut_op;
use pare_ir::Op;

/// The C kernel `op` runs on, if the target has one.
pub(crate) fn c_kernel_for(op: &Op) -> Option<&'static str> {
    Some(match op {
        Op::Conv { .. } => "pare_conv2d",
        Op::ConvTranspose { .. } => "pare_conv_transpose2d",
        Op::Gemm { .. } | Op::MatMul {} => "pare_fully_connected",
        Op::MaxPool { .. } => "pare_max_pool2d",
        Op::AveragePool { .. } => "pare_average_pool2d",
        Op::GlobalAveragePool {} | Op::ReduceMean { .. } => "pare_mean",
        Op::Add {} => "pare_add",
        Op::Sub {} => "pare_sub",
        Op::Mul {} => "pare_mul",
        Op::Softmax { .. } => "pare_softmax",
        Op::Concat { .. } => "pare_concat",
        _ if is_lut_op(op) => "pare_lookup",
        _ if is_view_op(op) => "memcpy",
        _ if movement::is_gather_op(op) => "pare_gather",
        _ => return None,
    })
}

/// The layer of `cx`'s node.
pub(crate) fn build(cx: &mut NodeCx) -> Result<Layer, Rp2040Error> {
    let op = cx.node.op.clone();
    match op {
        Op::Conv { .. } => conv::conv(cx),
        Op::ConvTranspose { .. } => conv::conv_transpose(cx),
        Op::Gemm { .. } => matmul::gemm(cx),
        Op::MatMul {} => matmul::matmul(cx),
        Op::MaxPool { .. } | Op::AveragePool { .. } => pool::pool(cx),
        Op::GlobalAveragePool {} => mean::global_average_pool(cx),
        Op::ReduceMean { .. } => mean::reduce_mean(cx),
        Op::Add {} | Op::Sub {} | Op::Mul {} => binary::binary(cx),
        Op::Softmax { .. } => unary::softmax(cx),
        Op::Concat { .. } => movement::concat(cx),
        _ if is_lut_op(&op) => unary::lookup(cx),
        _ if is_view_op(&op) => movement::view(cx),
        _ if movement::is_gather_op(&op) => movement::gather(cx),
        _ => Err(cx.err(format!(
            "`{}` has no C kernel in the rp2040 target",
            op.name()
        ))),
    }
}
