//! The closed set of ops pare understands, generated from one table.
//!
//! Each entry gives the variant, its textual-IR name and its attribute fields. The
//! table generates the enum, `name()`, attribute listing and construction from named
//! attributes, so adding an op is one line here plus its shape rule and kernel.
//!
//! Conventions shared by importer, shape inference and interpreter:
//! * Semantics follow the ONNX operator of the same name at the newest opset pare
//!   accepts (21); importers normalize older forms (e.g. `axes` attributes become
//!   inputs, `Clip` min/max attributes become inputs).
//! * Node inputs are `Option<ValueId>` positionally as in ONNX: an absent optional
//!   input is `None` (trailing `None`s are trimmed).
//! * Spatial attribute lists (`strides`, `pads`, `dilations`, `kernel_shape`) are
//!   always explicit with the spatial rank's length; `pads` is `[begin..., end...]`.

use crate::attrs::{str_enum, take_attr, Attr, AttrError};
use crate::DType;
use std::collections::BTreeMap;

str_enum!(
    /// How spatial padding is chosen (ONNX `auto_pad`). `NotSet` means `pads` is used.
    AutoPad { NotSet = "NOTSET", SameUpper = "SAME_UPPER", SameLower = "SAME_LOWER", Valid = "VALID" }
);
str_enum!(
    /// `Pad` mode.
    PadMode { Constant = "constant", Reflect = "reflect", Edge = "edge", Wrap = "wrap" }
);
str_enum!(
    /// RNN direction.
    Direction { Forward = "forward", Reverse = "reverse", Bidirectional = "bidirectional" }
);
str_enum!(
    /// `Resize` interpolation mode.
    ResizeMode { Nearest = "nearest", Linear = "linear", Cubic = "cubic" }
);
str_enum!(
    /// `Resize` coordinate transformation mode.
    CoordTransform {
        HalfPixel = "half_pixel",
        HalfPixelSymmetric = "half_pixel_symmetric",
        PytorchHalfPixel = "pytorch_half_pixel",
        AlignCorners = "align_corners",
        Asymmetric = "asymmetric",
        TfCropAndResize = "tf_crop_and_resize",
    }
);
str_enum!(
    /// `Resize` rounding of nearest-neighbour coordinates.
    NearestMode {
        RoundPreferFloor = "round_prefer_floor",
        RoundPreferCeil = "round_prefer_ceil",
        Floor = "floor",
        Ceil = "ceil",
    }
);
str_enum!(
    /// `Resize` aspect-ratio policy when `sizes` is given.
    KeepAspect { Stretch = "stretch", NotLarger = "not_larger", NotSmaller = "not_smaller" }
);
str_enum!(
    /// Reduction used by scatter ops.
    ScatterReduction { None = "none", Add = "add", Mul = "mul", Max = "max", Min = "min" }
);
str_enum!(
    /// `DepthToSpace` element order.
    DepthToSpaceMode { Dcr = "DCR", Crd = "CRD" }
);
str_enum!(
    /// `Gelu` approximation.
    GeluApprox { None = "none", Tanh = "tanh" }
);

macro_rules! define_ops {
    ($(
        $(#[$doc:meta])*
        $variant:ident = $name:literal { $($field:ident : $ty:ty),* $(,)? }
    ),* $(,)?) => {
        /// One operation. See the module docs for the conventions.
        #[derive(Clone, PartialEq, Debug)]
        pub enum Op {
            $($(#[$doc])* $variant { $($field: $ty),* }),*
        }

        impl Op {
            /// Every op name, in table order.
            pub const ALL_NAMES: &'static [&'static str] = &[$($name),*];

            /// The op's textual-IR name (`conv`, `max_pool`, ...).
            pub fn name(&self) -> &'static str {
                match self {
                    $(Op::$variant { .. } => $name),*
                }
            }

            /// Attributes in declaration order; absent optional ones are left out.
            #[allow(unused_mut)]
            pub fn attrs(&self) -> Vec<(&'static str, Attr)> {
                match self {
                    $(Op::$variant { $($field),* } => {
                        let mut out = Vec::new();
                        $(
                            if let Some(a) = crate::attrs::AttrType::to_attr($field) {
                                out.push((stringify!($field), a));
                            }
                        )*
                        out
                    })*
                }
            }

            /// Builds op `name` from named attributes; unknown or ill-typed ones fail.
            pub fn from_attrs(name: &str, mut attrs: BTreeMap<String, Attr>) -> Result<Op, AttrError> {
                let op = match name {
                    $($name => Op::$variant {
                        $($field: take_attr::<$ty>(&mut attrs, $name, stringify!($field))?),*
                    },)*
                    _ => return Err(AttrError::UnknownOp(name.to_string())),
                };
                if let Some((attr, _)) = attrs.into_iter().next() {
                    return Err(AttrError::Unknown { op: op.name(), attr });
                }
                Ok(op)
            }
        }
    };
}

define_ops! {
    // ---- element-wise unary, no attributes ----
    Identity = "identity" {},
    Abs = "abs" {},
    Neg = "neg" {},
    Relu = "relu" {},
    Sigmoid = "sigmoid" {},
    Tanh = "tanh" {},
    Exp = "exp" {},
    Log = "log" {},
    Sqrt = "sqrt" {},
    Reciprocal = "reciprocal" {},
    Floor = "floor" {},
    Ceil = "ceil" {},
    /// Round half to even, like ONNX `Round`.
    Round = "round" {},
    Sign = "sign" {},
    Erf = "erf" {},
    Sin = "sin" {},
    Cos = "cos" {},
    Tan = "tan" {},
    Asin = "asin" {},
    Acos = "acos" {},
    Atan = "atan" {},
    Sinh = "sinh" {},
    Cosh = "cosh" {},
    Asinh = "asinh" {},
    Acosh = "acosh" {},
    Atanh = "atanh" {},
    Softplus = "softplus" {},
    Softsign = "softsign" {},
    HardSwish = "hard_swish" {},
    Mish = "mish" {},
    Not = "not" {},
    BitwiseNot = "bitwise_not" {},
    IsNaN = "is_nan" {},

    // ---- element-wise unary with attributes ----
    IsInf = "is_inf" { detect_negative: bool, detect_positive: bool },
    LeakyRelu = "leaky_relu" { alpha: f32 },
    Elu = "elu" { alpha: f32 },
    Selu = "selu" { alpha: f32, gamma: f32 },
    Celu = "celu" { alpha: f32 },
    ThresholdedRelu = "thresholded_relu" { alpha: f32 },
    HardSigmoid = "hard_sigmoid" { alpha: f32, beta: f32 },
    Gelu = "gelu" { approximate: GeluApprox },
    Shrink = "shrink" { bias: f32, lambd: f32 },
    Cast = "cast" { to: DType },
    /// Cast input 0 to the dtype of input 1.
    CastLike = "cast_like" {},
    /// Inputs: x, min?, max? (scalars).
    Clip = "clip" {},
    /// Inference-mode dropout: identity. Inputs: x, ratio?, training_mode?;
    /// outputs: y, mask (all true).
    Dropout = "dropout" {},

    // ---- element-wise binary / ternary with multidirectional broadcasting ----
    Add = "add" {},
    Sub = "sub" {},
    Mul = "mul" {},
    Div = "div" {},
    Pow = "pow" {},
    Max = "max" {},
    Min = "min" {},
    Mod = "mod" { fmod: bool },
    And = "and" {},
    Or = "or" {},
    Xor = "xor" {},
    Equal = "equal" {},
    Less = "less" {},
    LessOrEqual = "less_or_equal" {},
    Greater = "greater" {},
    GreaterOrEqual = "greater_or_equal" {},
    BitShift = "bit_shift" { left: bool },
    BitwiseAnd = "bitwise_and" {},
    BitwiseOr = "bitwise_or" {},
    BitwiseXor = "bitwise_xor" {},
    /// Inputs: x, slope (unidirectionally broadcast to x).
    PRelu = "prelu" {},
    /// Inputs: condition, x, y.
    Where = "where" {},

    // ---- linear algebra ----
    MatMul = "matmul" {},
    /// Inputs: a, b, c?.
    Gemm = "gemm" { alpha: f32, beta: f32, trans_a: bool, trans_b: bool },
    /// N-d convolution. Inputs: x, w, b?.
    Conv = "conv" {
        auto_pad: AutoPad,
        kernel_shape: Vec<i64>,
        strides: Vec<i64>,
        pads: Vec<i64>,
        dilations: Vec<i64>,
        group: i64,
    },
    /// Inputs: x, w, b?. `output_shape` empty when not given.
    ConvTranspose = "conv_transpose" {
        auto_pad: AutoPad,
        kernel_shape: Vec<i64>,
        strides: Vec<i64>,
        pads: Vec<i64>,
        dilations: Vec<i64>,
        group: i64,
        output_padding: Vec<i64>,
        output_shape: Vec<i64>,
    },
    Einsum = "einsum" { equation: String },

    // ---- normalization ----
    /// Inference mode only. Inputs: x, scale, bias, mean, var.
    BatchNormalization = "batch_normalization" { epsilon: f32 },
    /// Inputs: x, scale, bias.
    InstanceNormalization = "instance_normalization" { epsilon: f32 },
    /// Inputs: x, scale, bias?. Outputs: y, mean?, inv_std_dev?.
    LayerNormalization = "layer_normalization" { axis: i64, epsilon: f32, stash_type: DType },
    /// Inputs: x, scale, bias (per channel, opset 21).
    GroupNormalization = "group_normalization" { num_groups: i64, epsilon: f32, stash_type: DType },
    LpNormalization = "lp_normalization" { axis: i64, p: i64 },
    Lrn = "lrn" { alpha: f32, beta: f32, bias: f32, size: i64 },
    MeanVarianceNormalization = "mean_variance_normalization" { axes: Vec<i64> },

    // ---- pooling ----
    /// Outputs: y, indices?.
    MaxPool = "max_pool" {
        auto_pad: AutoPad,
        kernel_shape: Vec<i64>,
        strides: Vec<i64>,
        pads: Vec<i64>,
        dilations: Vec<i64>,
        ceil_mode: bool,
        storage_order: i64,
    },
    AveragePool = "average_pool" {
        auto_pad: AutoPad,
        kernel_shape: Vec<i64>,
        strides: Vec<i64>,
        pads: Vec<i64>,
        dilations: Vec<i64>,
        ceil_mode: bool,
        count_include_pad: bool,
    },
    LpPool = "lp_pool" {
        auto_pad: AutoPad,
        kernel_shape: Vec<i64>,
        strides: Vec<i64>,
        pads: Vec<i64>,
        dilations: Vec<i64>,
        ceil_mode: bool,
        p: i64,
    },
    GlobalAveragePool = "global_average_pool" {},
    GlobalMaxPool = "global_max_pool" {},
    GlobalLpPool = "global_lp_pool" { p: i64 },

    // ---- softmax family; `coerce_2d` is the opset < 13 semantics (flatten at axis) ----
    Softmax = "softmax" { axis: i64, coerce_2d: bool },
    LogSoftmax = "log_softmax" { axis: i64, coerce_2d: bool },
    Hardmax = "hardmax" { axis: i64, coerce_2d: bool },

    // ---- reductions; inputs: x, axes? (i64 1-D) ----
    ReduceSum = "reduce_sum" { keepdims: bool, noop_with_empty_axes: bool },
    ReduceMean = "reduce_mean" { keepdims: bool, noop_with_empty_axes: bool },
    ReduceMax = "reduce_max" { keepdims: bool, noop_with_empty_axes: bool },
    ReduceMin = "reduce_min" { keepdims: bool, noop_with_empty_axes: bool },
    ReduceProd = "reduce_prod" { keepdims: bool, noop_with_empty_axes: bool },
    ReduceL1 = "reduce_l1" { keepdims: bool, noop_with_empty_axes: bool },
    ReduceL2 = "reduce_l2" { keepdims: bool, noop_with_empty_axes: bool },
    ReduceLogSum = "reduce_log_sum" { keepdims: bool, noop_with_empty_axes: bool },
    ReduceLogSumExp = "reduce_log_sum_exp" { keepdims: bool, noop_with_empty_axes: bool },
    ReduceSumSquare = "reduce_sum_square" { keepdims: bool, noop_with_empty_axes: bool },
    ArgMax = "arg_max" { axis: i64, keepdims: bool, select_last_index: bool },
    ArgMin = "arg_min" { axis: i64, keepdims: bool, select_last_index: bool },
    /// Inputs: x, axis (scalar).
    CumSum = "cum_sum" { exclusive: bool, reverse: bool },
    /// Inputs: x, k (1-element i64). Outputs: values, indices.
    TopK = "top_k" { axis: i64, largest: bool, sorted: bool },

    // ---- shape and data movement ----
    Shape = "shape" { start: i64, end: Option<i64> },
    Size = "size" {},
    /// Inputs: data, shape.
    Reshape = "reshape" { allowzero: bool },
    Flatten = "flatten" { axis: i64 },
    /// `perm` absent means reverse the axes.
    Transpose = "transpose" { perm: Option<Vec<i64>> },
    /// Inputs: data, axes?.
    Squeeze = "squeeze" {},
    /// Inputs: data, axes.
    Unsqueeze = "unsqueeze" {},
    Concat = "concat" { axis: i64 },
    /// Inputs: x, split?. One output per piece.
    Split = "split" { axis: i64, num_outputs: Option<i64> },
    /// Inputs: data, starts, ends, axes?, steps?.
    Slice = "slice" {},
    /// Inputs: data, indices.
    Gather = "gather" { axis: i64 },
    GatherElements = "gather_elements" { axis: i64 },
    GatherNd = "gather_nd" { batch_dims: i64 },
    /// Inputs: data, indices, updates.
    ScatterElements = "scatter_elements" { axis: i64, reduction: ScatterReduction },
    ScatterNd = "scatter_nd" { reduction: ScatterReduction },
    /// Inputs: input, shape.
    Expand = "expand" {},
    /// Inputs: input, repeats.
    Tile = "tile" {},
    /// Inputs: data, pads, constant_value?, axes?.
    Pad = "pad" { mode: PadMode },
    /// Inputs: x, roi?, scales?, sizes?.
    Resize = "resize" {
        mode: ResizeMode,
        coordinate_transformation_mode: CoordTransform,
        nearest_mode: NearestMode,
        cubic_coeff_a: f32,
        exclude_outside: bool,
        extrapolation_value: f32,
        antialias: bool,
        axes: Option<Vec<i64>>,
        keep_aspect_ratio_policy: KeepAspect,
    },
    DepthToSpace = "depth_to_space" { blocksize: i64, mode: DepthToSpaceMode },
    SpaceToDepth = "space_to_depth" { blocksize: i64 },
    /// Inputs: input, k?.
    Trilu = "trilu" { upper: bool },
    /// Inputs: input, condition.
    Compress = "compress" { axis: Option<i64> },
    /// Inputs: input, sequence_lens.
    ReverseSequence = "reverse_sequence" { batch_axis: i64, time_axis: i64 },

    // ---- generators ----
    /// Input: shape (i64 1-D). `value` is converted to `dtype` (int64 fill values
    /// above 2^53 are not representable; no exporter emits them).
    ConstantOfShape = "constant_of_shape" { dtype: DType, value: f64 },
    /// Inputs: start, limit, delta (scalars).
    Range = "range" {},
    EyeLike = "eye_like" { dtype: Option<DType>, k: i64 },
    /// Inputs: indices, depth, values.
    OneHot = "one_hot" { axis: i64 },
    NonZero = "non_zero" {},

    // ---- recurrent; input order as ONNX: x, w, r, b?, sequence_lens?, initial_h?, initial_c?, p? ----
    Lstm = "lstm" {
        direction: Direction,
        hidden_size: i64,
        activations: Vec<String>,
        activation_alpha: Vec<f32>,
        activation_beta: Vec<f32>,
        clip: Option<f32>,
        input_forget: bool,
        layout: i64,
    },
    Gru = "gru" {
        direction: Direction,
        hidden_size: i64,
        activations: Vec<String>,
        activation_alpha: Vec<f32>,
        activation_beta: Vec<f32>,
        clip: Option<f32>,
        linear_before_reset: bool,
        layout: i64,
    },
    Rnn = "rnn" {
        direction: Direction,
        hidden_size: i64,
        activations: Vec<String>,
        activation_alpha: Vec<f32>,
        activation_beta: Vec<f32>,
        clip: Option<f32>,
        layout: i64,
    },

    // ---- quantization (ONNX QDQ form); inputs: x, scale, zero_point? ----
    QuantizeLinear = "quantize_linear" { axis: i64, saturate: bool, block_size: i64 },
    DequantizeLinear = "dequantize_linear" { axis: i64, block_size: i64 },
    /// Outputs: y (u8), y_scale, y_zero_point.
    DynamicQuantizeLinear = "dynamic_quantize_linear" {},
}

impl Op {
    /// Ops whose output equals their first input (before any pass removes them).
    pub fn is_identity_like(&self) -> bool {
        matches!(self, Op::Identity {} | Op::Dropout {})
    }

    /// `(keepdims, noop_with_empty_axes)` of a `Reduce*` op, `None` for any other op:
    /// the one list of the reductions that inference, the arity table and the
    /// interpreter dispatch on.
    pub fn reduce_attrs(&self) -> Option<(bool, bool)> {
        use Op::*;
        match *self {
            ReduceSum {
                keepdims,
                noop_with_empty_axes,
            }
            | ReduceMean {
                keepdims,
                noop_with_empty_axes,
            }
            | ReduceMax {
                keepdims,
                noop_with_empty_axes,
            }
            | ReduceMin {
                keepdims,
                noop_with_empty_axes,
            }
            | ReduceProd {
                keepdims,
                noop_with_empty_axes,
            }
            | ReduceL1 {
                keepdims,
                noop_with_empty_axes,
            }
            | ReduceL2 {
                keepdims,
                noop_with_empty_axes,
            }
            | ReduceLogSum {
                keepdims,
                noop_with_empty_axes,
            }
            | ReduceLogSumExp {
                keepdims,
                noop_with_empty_axes,
            }
            | ReduceSumSquare {
                keepdims,
                noop_with_empty_axes,
            } => Some((keepdims, noop_with_empty_axes)),
            _ => None,
        }
    }
}
