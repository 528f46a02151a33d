//! Which ops run in the integer domain and how: the one table the int8 scheme,
//! the integer interpreter and the targets agree on.

use pare_ir::interp::is_movement_op;
use pare_ir::quant::is_lut_op;
use pare_ir::{Graph, Node, Op, ValueId};

/// How a quantized op treats its inputs and chooses its output parameters.
#[derive(Clone, Debug, PartialEq)]
pub enum OpClass {
    /// Conv / ConvTranspose / Gemm / MatMul with a constant weight: the weight is
    /// quantized symmetrically per channel on `axis`, the bias (if any) to int32
    /// (one value per output channel; see [`per_output_scales`]).
    Compute {
        data: usize,
        weight: usize,
        axis: usize,
        bias: Option<usize>,
    },
    /// Add / Sub / Mul / MatMul of activations: each input keeps its own
    /// parameters, the output gets calibrated ones.
    Rescale { data: Vec<usize> },
    /// Averages (pooling, global pooling, ReduceMean): own output parameters.
    Mean,
    /// Element-wise unary op evaluated through a lookup table.
    Lut,
    /// Softmax: fixed output parameters (scale 1/256, zero point -128).
    Softmax,
    /// Data movement and max-pooling: the output shares its input's parameters
    /// (all inputs' for Concat).
    SameParams { data: Vec<usize> },
}

impl OpClass {
    /// Input slots that carry quantized data (the rest are shapes, axes, ...).
    pub fn data_inputs(&self, n: &Node) -> Vec<usize> {
        match self {
            OpClass::Compute { data, weight, .. } => vec![*data, *weight],
            OpClass::Rescale { data } | OpClass::SameParams { data } => data.clone(),
            OpClass::Mean | OpClass::Lut | OpClass::Softmax => vec![0],
        }
        .into_iter()
        .filter(|&i| n.input(i).is_some())
        .collect()
    }
}

/// The weight scale of each of `outputs` output channels of compute op `op` whose
/// weight has `weight_scales` (one, or one per channel on its axis): what the bias
/// scale `s_x·s_w[c]` and the requantization of channel `c` use. Every op has one
/// weight channel per output channel except ConvTranspose with groups: its axis 1
/// holds the C_out/group channels of one group, so output channel
/// `c = g·(C_out/group) + j` uses scale `j = c mod (C_out/group)`. `None` when the
/// counts do not fit together.
pub fn per_output_scales(op: &Op, weight_scales: &[f32], outputs: usize) -> Option<Vec<f32>> {
    let n = weight_scales.len();
    let fits = match op {
        _ if n == 1 || n == outputs => true,
        Op::ConvTranspose { .. } => n > 0 && outputs.is_multiple_of(n),
        _ => false,
    };
    fits.then(|| {
        (0..outputs)
            .map(|c| weight_scales[if n == 1 { 0 } else { c % n }])
            .collect()
    })
}

/// The class of node `n`, or why it stays float.
pub fn classify(g: &Graph, n: &Node) -> Result<OpClass, String> {
    classify_with(g, n, &|v| g.weight_of(v).is_some())
}

/// [`classify`] with the caller saying which values are constants (a QDQ model's
/// weights reach their ops through a dequantize_linear).
pub fn classify_with(
    g: &Graph,
    n: &Node,
    is_constant: &dyn Fn(ValueId) -> bool,
) -> Result<OpClass, String> {
    use Op::*;
    let is_weight = |i: usize| n.input(i).is_some_and(is_constant);
    let rank = |i: usize| n.input(i).map(|v| g.ty(v).rank());
    Ok(match &n.op {
        Conv { .. } => {
            if rank(0) != Some(4) {
                return Err("only 2-D convolutions have an integer kernel".into());
            }
            if !is_weight(1) {
                return Err("the convolution weight is not a constant".into());
            }
            if n.input(2).is_some() && !is_weight(2) {
                return Err("the bias is not a constant".into());
            }
            OpClass::Compute {
                data: 0,
                weight: 1,
                axis: 0,
                bias: n.input(2).map(|_| 2),
            }
        }
        ConvTranspose { .. } => {
            if rank(0) != Some(4) {
                return Err("only 2-D transposed convolutions have an integer kernel".into());
            }
            if !is_weight(1) {
                return Err("the transposed convolution weight is not a constant".into());
            }
            if n.input(2).is_some() && !is_weight(2) {
                return Err("the bias is not a constant".into());
            }
            // The weight is [C_in, C_out/group, k...]: output channels are axis 1
            // (ONNX's and onnxruntime's per-channel axis for ConvTranspose).
            OpClass::Compute {
                data: 0,
                weight: 1,
                axis: 1,
                bias: n.input(2).map(|_| 2),
            }
        }
        Gemm {
            alpha,
            beta,
            trans_a,
            trans_b,
        } => {
            if *alpha != 1.0 || (n.input(2).is_some() && *beta != 1.0) || *trans_a {
                return Err("Gemm with alpha/beta ≠ 1 or transA has no integer kernel".into());
            }
            if !is_weight(1) {
                return Err("the Gemm weight is not a constant".into());
            }
            if n.input(2).is_some() && !is_weight(2) {
                return Err("the Gemm bias is not a constant".into());
            }
            OpClass::Compute {
                data: 0,
                weight: 1,
                axis: if *trans_b { 0 } else { 1 },
                bias: n.input(2).map(|_| 2),
            }
        }
        MatMul {} if is_weight(1) && rank(1) == Some(2) => OpClass::Compute {
            data: 0,
            weight: 1,
            axis: 1,
            bias: None,
        },
        MatMul {} | Add {} | Sub {} | Mul {} => OpClass::Rescale { data: vec![0, 1] },
        AveragePool { .. } | GlobalAveragePool {} | ReduceMean { .. } => OpClass::Mean,
        Softmax { .. } => OpClass::Softmax,
        Concat { .. } => OpClass::SameParams {
            data: (0..n.inputs.len()).collect(),
        },
        Pad { mode } if *mode != pare_ir::ops::PadMode::Constant => {
            return Err("only constant padding has an integer kernel".into())
        }
        Resize { mode, .. } if *mode != pare_ir::ops::ResizeMode::Nearest => {
            return Err("only nearest resizing has an integer kernel".into())
        }
        Shape { .. } | Size {} => return Err("its output is an integer shape".into()),
        // Mean and variance over a row need a wide accumulator and an integer
        // 1/sqrt that pare does not have; the op stays float between a
        // dequantize and a quantize, as one layer.
        LayerNormalization { .. } => {
            return Err("float island: no integer kernel for layer normalization".into())
        }
        // The integer interpreter's tables: data movement keeps its input's
        // parameters; element-wise unary ops are lookup tables.
        MaxPool { .. } => OpClass::SameParams { data: vec![0] },
        op if is_movement_op(op) => OpClass::SameParams { data: vec![0] },
        op if is_lut_op(op) => OpClass::Lut,
        other => return Err(format!("`{}` has no integer kernel", other.name())),
    })
}
