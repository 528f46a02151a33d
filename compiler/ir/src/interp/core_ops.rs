//! Kernels for element-wise ops, reductions, softmax, shape and data movement,
//! generators and quantization: routes each op to its family's file.

use super::util::{Args, Outputs};
use super::{
    binary, elementwise, gather_scatter, generators, movement, quant, reduce, shape_ops, softmax,
};
use crate::{Op, Tensor};

/// Evaluates `op` (any op the `nn` family did not take).
pub(super) fn eval(op: &Op, inputs: &[Option<&Tensor>], num_outputs: usize) -> Outputs {
    // `eval_op` checked the input and output counts; kernels check dtypes and shapes.
    let args = Args::new(op, inputs);
    use Op::*;
    match op {
        Add {}
        | Sub {}
        | Mul {}
        | Div {}
        | Pow {}
        | Max {}
        | Min {}
        | Mod { .. }
        | And {}
        | Or {}
        | Xor {}
        | Equal {}
        | Less {}
        | LessOrEqual {}
        | Greater {}
        | GreaterOrEqual {}
        | BitShift { .. }
        | BitwiseAnd {}
        | BitwiseOr {}
        | BitwiseXor {}
        | PRelu {}
        | Where {} => binary::eval(&args),
        Softmax { .. } | LogSoftmax { .. } | Hardmax { .. } => softmax::eval(&args),
        _ if op.reduce_attrs().is_some() => reduce::reduce(&args),
        ArgMax { .. } | ArgMin { .. } => reduce::arg_extreme(&args),
        CumSum { .. } => reduce::cumsum(&args),
        TopK { .. } => reduce::topk(&args),
        Shape { .. }
        | Size {}
        | Reshape { .. }
        | Flatten { .. }
        | Transpose { .. }
        | Squeeze {}
        | Unsqueeze {}
        | Concat { .. }
        | Split { .. }
        | Expand {}
        | Tile {} => shape_ops::eval(&args, num_outputs),
        Slice {}
        | Pad { .. }
        | DepthToSpace { .. }
        | SpaceToDepth { .. }
        | Trilu { .. }
        | Compress { .. }
        | ReverseSequence { .. } => movement::eval(&args),
        Gather { .. }
        | GatherElements { .. }
        | GatherNd { .. }
        | ScatterElements { .. }
        | ScatterNd { .. } => gather_scatter::eval(&args),
        ConstantOfShape { .. } | Range {} | EyeLike { .. } | OneHot { .. } | NonZero {} => {
            generators::eval(&args)
        }
        QuantizeLinear { .. } | DequantizeLinear { .. } | DynamicQuantizeLinear {} => {
            quant::eval(&args)
        }
        MatMul {}
        | Gemm { .. }
        | Conv { .. }
        | ConvTranspose { .. }
        | Einsum { .. }
        | BatchNormalization { .. }
        | InstanceNormalization { .. }
        | LayerNormalization { .. }
        | GroupNormalization { .. }
        | LpNormalization { .. }
        | Lrn { .. }
        | MeanVarianceNormalization { .. }
        | MaxPool { .. }
        | AveragePool { .. }
        | LpPool { .. }
        | GlobalAveragePool {}
        | GlobalMaxPool {}
        | GlobalLpPool { .. }
        | Resize { .. }
        | Lstm { .. }
        | Gru { .. }
        | Rnn { .. } => Err(args.err("not supported by the interpreter")),
        _ => elementwise::eval(&args, num_outputs),
    }
}
