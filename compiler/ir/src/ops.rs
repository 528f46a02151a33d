//! The closed set of ops pare understands, generated from one table.
//!
//! Each row gives the variant, its textual-IR name, its attribute fields and, after
//! `=>`, what every layer needs to know about it ([`OpInfo`]): category, signature
//! (input/output arity), float scalar function, whether it runs as a lookup table
//! when quantized, its ONNX form with the first opset it covers, and the
//! `torch.export` targets that map onto it. The table generates the enum, `name()`,
//! attribute listing and construction from named attributes; shape inference,
//! the interpreter, quantization, the ONNX importer and exporter and the pt2
//! translator derive their uniform cases from the rows. Adding an element-wise op
//! with a float function is one row; other ops add their shape rule and kernel.
//!
//! Conventions shared by importer, shape inference and interpreter:
//! * Semantics follow the ONNX operator of the same name at the newest opset pare
//!   accepts (21); importers normalize older forms (e.g. `axes` attributes become
//!   inputs, `Clip` min/max attributes become inputs).
//! * Node inputs are `Option<ValueId>` positionally as in ONNX: an absent optional
//!   input is `None` (trailing `None`s are trimmed).
//! * Spatial attribute lists (`strides`, `pads`, `dilations`, `kernel_shape`) are
//!   always explicit with the spatial rank's length; `pads` is `[begin..., end...]`.

mod info;
mod scalar;

use crate::attrs::{str_enum, take_attr, Attr, AttrError};
use crate::DType;
use info::build::*;
use std::collections::BTreeMap;

pub use info::{Accepts, Category, OnnxForm, OpInfo, Scalar, ScalarFn, Signature};
pub use scalar::erf;

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
        $variant:ident = $name:literal { $($field:ident : $ty:ty),* $(,)? } => $info:expr
    ),* $(,)?) => {
        /// One operation. See the module docs for the conventions.
        #[derive(Clone, PartialEq, Debug)]
        pub enum Op {
            $($(#[$doc])* $variant { $($field: $ty),* }),*
        }

        /// The variants without their fields: the row index into [`TABLE`].
        #[derive(Clone, Copy)]
        enum Row {
            $($variant),*
        }

        /// The rows' facts, in table order.
        static TABLE: &[OpInfo] = &[$($info),*];

        impl Op {
            /// Every op name, in table order.
            pub const ALL_NAMES: &'static [&'static str] = &[$($name),*];

            /// The op's textual-IR name (`conv`, `max_pool`, ...).
            pub fn name(&self) -> &'static str {
                match self {
                    $(Op::$variant { .. } => $name),*
                }
            }

            /// The op's row of the op table.
            pub fn info(&self) -> &'static OpInfo {
                let row = match self {
                    $(Op::$variant { .. } => Row::$variant),*
                };
                &TABLE[row as usize]
            }

            /// The op named `name` if it has no attributes at all (`None` for an
            /// unknown name or an op with attribute fields).
            pub fn bare(name: &str) -> Option<Op> {
                match name {
                    $($name => define_ops!(@bare $variant { $($field)* }),)*
                    _ => None,
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
    (@bare $variant:ident {}) => { Some(Op::$variant {}) };
    (@bare $variant:ident { $($field:ident)+ }) => { None };
}

/// Every row: `(textual-IR name, facts)`, in table order.
pub fn table() -> impl Iterator<Item = (&'static str, &'static OpInfo)> {
    Op::ALL_NAMES.iter().copied().zip(TABLE.iter())
}

/// The row whose ONNX form is operator `op_type`: `(textual-IR name, facts)`.
pub fn by_onnx_name(op_type: &str) -> Option<(&'static str, &'static OpInfo)> {
    table().find(|(_, i)| i.onnx.is_some_and(|o| o.name == op_type))
}

/// The row listing `torch.export` target `target` (without `torch.ops.`).
pub fn by_aten_target(target: &str) -> Option<(&'static str, &'static OpInfo)> {
    table().find(|(_, i)| i.aten.contains(&target))
}

// Input-name lists several rows share.
const AB: &[&str] = &["a", "b"];
const AXES: &[&str] = &["data", "axes"];
const RNN: &[&str] = &["x", "w", "r", "b", "sequence_lens", "initial_h"];
const LSTM: &[&str] = &[
    "x",
    "w",
    "r",
    "b",
    "sequence_lens",
    "initial_h",
    "initial_c",
    "p",
];

define_ops! {
    // ---- element-wise unary, no attributes ----
    Identity = "identity" {} => unary(Any).onnx("Identity", 1).aten(&[
        "aten.alias.default", "aten.clone.default", "aten.contiguous.default", "aten.detach.default",
    ]),
    Abs = "abs" {} => unary(Numeric).scalar(f64::abs).lut().onnx("Abs", 6).aten(&["aten.abs.default"]),
    Neg = "neg" {} => unary(Numeric).scalar(scalar::neg).lut().onnx("Neg", 6).aten(&["aten.neg.default"]),
    Relu = "relu" {} => unary(Numeric).scalar(scalar::relu).lut().onnx("Relu", 6)
        .aten(&["aten.relu.default", "aten.relu_.default"]),
    Sigmoid = "sigmoid" {} => unary(Float).scalar(scalar::sigmoid).lut().onnx("Sigmoid", 6)
        .aten(&["aten.sigmoid.default", "aten.sigmoid_.default"]),
    Tanh = "tanh" {} => unary(Float).scalar(f64::tanh).lut().onnx("Tanh", 6).aten(&["aten.tanh.default"]),
    Exp = "exp" {} => unary(Float).scalar(f64::exp).lut().onnx("Exp", 6).aten(&["aten.exp.default"]),
    Log = "log" {} => unary(Float).scalar(f64::ln).lut().onnx("Log", 6).aten(&["aten.log.default"]),
    Sqrt = "sqrt" {} => unary(Float).scalar(f64::sqrt).lut().onnx("Sqrt", 6).aten(&["aten.sqrt.default"]),
    Reciprocal = "reciprocal" {} => unary(Float).scalar(scalar::reciprocal).lut().onnx("Reciprocal", 6)
        .aten(&["aten.reciprocal.default"]),
    Floor = "floor" {} => unary(Float).scalar(f64::floor).lut().onnx("Floor", 6).aten(&["aten.floor.default"]),
    Ceil = "ceil" {} => unary(Float).scalar(f64::ceil).lut().onnx("Ceil", 6).aten(&["aten.ceil.default"]),
    /// Round half to even, like ONNX `Round` (and `torch.round`).
    Round = "round" {} => unary(Float).scalar(f64::round_ties_even).lut().onnx("Round", 11)
        .aten(&["aten.round.default"]),
    Sign = "sign" {} => unary(Numeric).scalar(scalar::sign).lut().onnx("Sign", 9).aten(&["aten.sign.default"]),
    Erf = "erf" {} => unary(Float).scalar(scalar::erf).lut().onnx("Erf", 9).aten(&["aten.erf.default"]),
    Sin = "sin" {} => unary(Float).scalar(f64::sin).lut().onnx("Sin", 7).aten(&["aten.sin.default"]),
    Cos = "cos" {} => unary(Float).scalar(f64::cos).lut().onnx("Cos", 7).aten(&["aten.cos.default"]),
    Tan = "tan" {} => unary(Float).scalar(f64::tan).lut().onnx("Tan", 7).aten(&["aten.tan.default"]),
    Asin = "asin" {} => unary(Float).scalar(f64::asin).lut().onnx("Asin", 7).aten(&["aten.asin.default"]),
    Acos = "acos" {} => unary(Float).scalar(f64::acos).lut().onnx("Acos", 7).aten(&["aten.acos.default"]),
    Atan = "atan" {} => unary(Float).scalar(f64::atan).lut().onnx("Atan", 7).aten(&["aten.atan.default"]),
    Sinh = "sinh" {} => unary(Float).scalar(f64::sinh).lut().onnx("Sinh", 9).aten(&["aten.sinh.default"]),
    Cosh = "cosh" {} => unary(Float).scalar(f64::cosh).lut().onnx("Cosh", 9).aten(&["aten.cosh.default"]),
    Asinh = "asinh" {} => unary(Float).scalar(f64::asinh).lut().onnx("Asinh", 9).aten(&["aten.asinh.default"]),
    Acosh = "acosh" {} => unary(Float).scalar(f64::acosh).lut().onnx("Acosh", 9).aten(&["aten.acosh.default"]),
    Atanh = "atanh" {} => unary(Float).scalar(f64::atanh).lut().onnx("Atanh", 9).aten(&["aten.atanh.default"]),
    Softplus = "softplus" {} => unary(Float).scalar(scalar::softplus).lut().onnx("Softplus", 1),
    Softsign = "softsign" {} => unary(Float).scalar(scalar::softsign).lut().onnx("Softsign", 1),
    HardSwish = "hard_swish" {} => unary(Float).scalar(scalar::hard_swish).lut().onnx("HardSwish", 14)
        .aten(&["aten.hardswish.default", "aten.hardswish_.default"]),
    /// `x·sigmoid(x)` (SiLU, Swish). An ATen op (`torch.nn.SiLU`); ONNX (≤ 21) has no
    /// operator for it, so the exporter writes `Sigmoid` and `Mul`.
    Silu = "silu" {} => unary(Float).scalar(scalar::silu).lut()
        .aten(&["aten.silu.default", "aten.silu_.default"]),
    Mish = "mish" {} => unary(Float).scalar(scalar::mish).lut().onnx("Mish", 18).aten(&["aten.mish.default"]),
    /// `ln(1 + x)`, accurate near 0. An ATen op (`torch.log1p`); ONNX has no operator for it.
    Log1p = "log1p" {} => unary(Float).scalar(f64::ln_1p).lut().aten(&["aten.log1p.default"]),
    Not = "not" {} => unary(Bool).onnx("Not", 1),
    BitwiseNot = "bitwise_not" {} => unary(Int).onnx("BitwiseNot", 18),
    IsNaN = "is_nan" {} => unary_test(Float).onnx("IsNaN", 9),

    // ---- element-wise unary with attributes ----
    IsInf = "is_inf" { detect_negative: bool, detect_positive: bool } => unary_test(Float).onnx("IsInf", 10),
    LeakyRelu = "leaky_relu" { alpha: f32 } =>
        unary(Float).scalar_with(scalar::leaky_relu).lut().onnx("LeakyRelu", 6),
    Elu = "elu" { alpha: f32 } => unary(Float).scalar_with(scalar::elu).lut().onnx("Elu", 6),
    Selu = "selu" { alpha: f32, gamma: f32 } => unary(Float).scalar_with(scalar::selu).lut().onnx("Selu", 6),
    Celu = "celu" { alpha: f32 } => unary(Float).scalar_with(scalar::celu).lut().onnx("Celu", 12),
    ThresholdedRelu = "thresholded_relu" { alpha: f32 } =>
        unary(Float).scalar_with(scalar::thresholded_relu).lut().onnx("ThresholdedRelu", 10),
    HardSigmoid = "hard_sigmoid" { alpha: f32, beta: f32 } =>
        unary(Float).scalar_with(scalar::hard_sigmoid).lut().onnx("HardSigmoid", 6),
    Gelu = "gelu" { approximate: GeluApprox } => unary(Float).scalar_with(scalar::gelu).lut().onnx("Gelu", 20),
    Shrink = "shrink" { bias: f32, lambd: f32 } => unary(Float).scalar_with(scalar::shrink).lut().onnx("Shrink", 9),
    Cast = "cast" { to: DType } => op(Elementwise).onnx("Cast", 9),
    /// Cast input 0 to the dtype of input 1.
    CastLike = "cast_like" {} => op(Elementwise).inputs(&["x", "target_type"], 2).onnx("CastLike", 15),
    /// Inputs: x, min?, max? (scalars).
    Clip = "clip" {} => op(Elementwise).inputs(&["x", "min", "max"], 1).scalar_with(scalar::clip).lut()
        .onnx("Clip", 11),
    /// Inference-mode dropout: identity. Inputs: x, ratio?, training_mode?;
    /// outputs: y, mask (all true).
    Dropout = "dropout" {} => op(Elementwise).inputs(&["x", "ratio", "training_mode"], 1)
        .outputs(1, Some(2)).onnx("Dropout", 10),

    // ---- element-wise binary / ternary with multidirectional broadcasting ----
    Add = "add" {} => broadcast(Numeric).onnx("Add", 7),
    Sub = "sub" {} => broadcast(Numeric).onnx("Sub", 7),
    Mul = "mul" {} => broadcast(Numeric).onnx("Mul", 7)
        .aten(&["aten.mul.Tensor", "aten.mul.Scalar", "aten.mul_.Tensor"]),
    Div = "div" {} => broadcast(Numeric).onnx("Div", 7),
    /// The base's type; the exponent may be of another numeric type.
    Pow = "pow" {} => op(Elementwise).inputs(AB, 2).onnx("Pow", 7)
        .aten(&["aten.pow.Tensor_Scalar", "aten.pow.Tensor_Tensor"]),
    Max = "max" {} => broadcast(Numeric).sig(variadic(&["data"], 1)).onnx("Max", 8)
        .aten(&["aten.maximum.default"]),
    Min = "min" {} => broadcast(Numeric).sig(variadic(&["data"], 1)).onnx("Min", 8)
        .aten(&["aten.minimum.default"]),
    Mod = "mod" { fmod: bool } => broadcast(Numeric).onnx("Mod", 10),
    And = "and" {} => broadcast(Bool).onnx("And", 7),
    Or = "or" {} => broadcast(Bool).onnx("Or", 7),
    Xor = "xor" {} => broadcast(Bool).onnx("Xor", 7),
    Equal = "equal" {} => compare(Any).onnx("Equal", 11),
    Less = "less" {} => compare(Numeric).onnx("Less", 9),
    LessOrEqual = "less_or_equal" {} => compare(Numeric).onnx("LessOrEqual", 12),
    Greater = "greater" {} => compare(Numeric).onnx("Greater", 9),
    GreaterOrEqual = "greater_or_equal" {} => compare(Numeric).onnx("GreaterOrEqual", 12),
    BitShift = "bit_shift" { left: bool } => broadcast(Unsigned).onnx("BitShift", 11),
    BitwiseAnd = "bitwise_and" {} => broadcast(Int).onnx("BitwiseAnd", 18),
    BitwiseOr = "bitwise_or" {} => broadcast(Int).onnx("BitwiseOr", 18),
    BitwiseXor = "bitwise_xor" {} => broadcast(Int).onnx("BitwiseXor", 18),
    /// Inputs: x, slope (unidirectionally broadcast to x).
    PRelu = "prelu" {} => op(Elementwise).inputs(&["x", "slope"], 2).onnx("PRelu", 9),
    /// Inputs: condition, x, y.
    Where = "where" {} => op(Elementwise).inputs(&["condition", "x", "y"], 3).onnx("Where", 9),

    // ---- linear algebra ----
    MatMul = "matmul" {} => op(LinearAlgebra).inputs(AB, 2).onnx("MatMul", 9),
    /// Inputs: a, b, c?.
    Gemm = "gemm" { alpha: f32, beta: f32, trans_a: bool, trans_b: bool } =>
        op(LinearAlgebra).inputs(&["a", "b", "c"], 2).onnx("Gemm", 11),
    /// N-d convolution. Inputs: x, w, b?.
    Conv = "conv" {
        auto_pad: AutoPad,
        kernel_shape: Vec<i64>,
        strides: Vec<i64>,
        pads: Vec<i64>,
        dilations: Vec<i64>,
        group: i64,
    } => op(LinearAlgebra).inputs(&["x", "weight", "bias"], 2).onnx("Conv", 11),
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
    } => op(LinearAlgebra).inputs(&["x", "weight", "bias"], 2).onnx("ConvTranspose", 11),
    Einsum = "einsum" { equation: String } =>
        op(LinearAlgebra).sig(variadic(&["inputs"], 1)).onnx("Einsum", 12),

    // ---- normalization ----
    /// Inference mode only. Inputs: x, scale, bias, mean, var.
    BatchNormalization = "batch_normalization" { epsilon: f32 } =>
        op(Normalization).inputs(&["x", "scale", "bias", "mean", "var"], 5).onnx("BatchNormalization", 9),
    /// Inputs: x, scale, bias.
    InstanceNormalization = "instance_normalization" { epsilon: f32 } =>
        op(Normalization).inputs(&["x", "scale", "bias"], 3).onnx("InstanceNormalization", 6),
    /// Inputs: x, scale, bias?. Outputs: y, mean?, inv_std_dev?.
    LayerNormalization = "layer_normalization" { axis: i64, epsilon: f32, stash_type: DType } =>
        op(Normalization).inputs(&["x", "scale", "bias"], 2).outputs(1, Some(3)).onnx("LayerNormalization", 17),
    /// Inputs: x, scale, bias (per channel, opset 21).
    GroupNormalization = "group_normalization" { num_groups: i64, epsilon: f32, stash_type: DType } =>
        op(Normalization).inputs(&["x", "scale", "bias"], 3).onnx("GroupNormalization", 18),
    LpNormalization = "lp_normalization" { axis: i64, p: i64 } => op(Normalization).onnx("LpNormalization", 1),
    Lrn = "lrn" { alpha: f32, beta: f32, bias: f32, size: i64 } => op(Normalization).onnx("LRN", 1),
    MeanVarianceNormalization = "mean_variance_normalization" { axes: Vec<i64> } =>
        op(Normalization).onnx("MeanVarianceNormalization", 9),

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
    } => op(Pooling).outputs(1, Some(2)).onnx("MaxPool", 11),
    AveragePool = "average_pool" {
        auto_pad: AutoPad,
        kernel_shape: Vec<i64>,
        strides: Vec<i64>,
        pads: Vec<i64>,
        dilations: Vec<i64>,
        ceil_mode: bool,
        count_include_pad: bool,
    } => op(Pooling).onnx("AveragePool", 11),
    LpPool = "lp_pool" {
        auto_pad: AutoPad,
        kernel_shape: Vec<i64>,
        strides: Vec<i64>,
        pads: Vec<i64>,
        dilations: Vec<i64>,
        ceil_mode: bool,
        p: i64,
    } => op(Pooling).onnx("LpPool", 11),
    GlobalAveragePool = "global_average_pool" {} => op(Pooling).onnx("GlobalAveragePool", 1),
    GlobalMaxPool = "global_max_pool" {} => op(Pooling).onnx("GlobalMaxPool", 1),
    GlobalLpPool = "global_lp_pool" { p: i64 } => op(Pooling).onnx("GlobalLpPool", 2),

    // ---- softmax family; `coerce_2d` is the opset < 13 semantics (flatten at axis) ----
    Softmax = "softmax" { axis: i64, coerce_2d: bool } => op(Softmax).onnx("Softmax", 11),
    LogSoftmax = "log_softmax" { axis: i64, coerce_2d: bool } => op(Softmax).onnx("LogSoftmax", 11),
    Hardmax = "hardmax" { axis: i64, coerce_2d: bool } => op(Softmax).onnx("Hardmax", 11),

    // ---- reductions; inputs: x, axes? (i64 1-D) ----
    ReduceSum = "reduce_sum" { keepdims: bool, noop_with_empty_axes: bool } =>
        op(Reduction).inputs(AXES, 1).onnx("ReduceSum", 11),
    ReduceMean = "reduce_mean" { keepdims: bool, noop_with_empty_axes: bool } =>
        op(Reduction).inputs(AXES, 1).onnx("ReduceMean", 11),
    ReduceMax = "reduce_max" { keepdims: bool, noop_with_empty_axes: bool } =>
        op(Reduction).inputs(AXES, 1).onnx("ReduceMax", 11),
    ReduceMin = "reduce_min" { keepdims: bool, noop_with_empty_axes: bool } =>
        op(Reduction).inputs(AXES, 1).onnx("ReduceMin", 11),
    ReduceProd = "reduce_prod" { keepdims: bool, noop_with_empty_axes: bool } =>
        op(Reduction).inputs(AXES, 1).onnx("ReduceProd", 11),
    ReduceL1 = "reduce_l1" { keepdims: bool, noop_with_empty_axes: bool } =>
        op(Reduction).inputs(AXES, 1).onnx("ReduceL1", 11),
    ReduceL2 = "reduce_l2" { keepdims: bool, noop_with_empty_axes: bool } =>
        op(Reduction).inputs(AXES, 1).onnx("ReduceL2", 11),
    ReduceLogSum = "reduce_log_sum" { keepdims: bool, noop_with_empty_axes: bool } =>
        op(Reduction).inputs(AXES, 1).onnx("ReduceLogSum", 11),
    ReduceLogSumExp = "reduce_log_sum_exp" { keepdims: bool, noop_with_empty_axes: bool } =>
        op(Reduction).inputs(AXES, 1).onnx("ReduceLogSumExp", 11),
    ReduceSumSquare = "reduce_sum_square" { keepdims: bool, noop_with_empty_axes: bool } =>
        op(Reduction).inputs(AXES, 1).onnx("ReduceSumSquare", 11),
    ArgMax = "arg_max" { axis: i64, keepdims: bool, select_last_index: bool } => op(Reduction).onnx("ArgMax", 11),
    ArgMin = "arg_min" { axis: i64, keepdims: bool, select_last_index: bool } => op(Reduction).onnx("ArgMin", 11),
    /// Inputs: x, axis (scalar).
    CumSum = "cum_sum" { exclusive: bool, reverse: bool } =>
        op(Reduction).inputs(&["x", "axis"], 2).onnx("CumSum", 11),
    /// Inputs: x, k (1-element i64). Outputs: values, indices.
    TopK = "top_k" { axis: i64, largest: bool, sorted: bool } =>
        op(Reduction).inputs(&["x", "k"], 2).outputs(2, Some(2)).onnx("TopK", 11),

    // ---- shape and data movement ----
    Shape = "shape" { start: i64, end: Option<i64> } => op(DataMovement).onnx("Shape", 1),
    Size = "size" {} => op(DataMovement).onnx("Size", 1),
    /// Inputs: data, shape.
    Reshape = "reshape" { allowzero: bool } => op(DataMovement).inputs(&["data", "shape"], 2).onnx("Reshape", 5),
    Flatten = "flatten" { axis: i64 } => op(DataMovement).onnx("Flatten", 11),
    /// `perm` absent means reverse the axes.
    Transpose = "transpose" { perm: Option<Vec<i64>> } => op(DataMovement).onnx("Transpose", 1),
    /// Inputs: data, axes?.
    Squeeze = "squeeze" {} => op(DataMovement).inputs(AXES, 1).onnx("Squeeze", 11),
    /// Inputs: data, axes.
    Unsqueeze = "unsqueeze" {} => op(DataMovement).inputs(AXES, 2).onnx("Unsqueeze", 11),
    Concat = "concat" { axis: i64 } => op(DataMovement).sig(variadic(&["inputs"], 1)).onnx("Concat", 11),
    /// Inputs: x, split?. One output per piece.
    Split = "split" { axis: i64, num_outputs: Option<i64> } =>
        op(DataMovement).inputs(&["input", "split"], 1).outputs(1, None).onnx("Split", 11),
    /// Inputs: data, starts, ends, axes?, steps?.
    Slice = "slice" {} => op(DataMovement).inputs(&["data", "starts", "ends", "axes", "steps"], 3).onnx("Slice", 11),
    /// Inputs: data, indices.
    Gather = "gather" { axis: i64 } => op(DataMovement).inputs(&["data", "indices"], 2).onnx("Gather", 11),
    GatherElements = "gather_elements" { axis: i64 } =>
        op(DataMovement).inputs(&["data", "indices"], 2).onnx("GatherElements", 11),
    GatherNd = "gather_nd" { batch_dims: i64 } =>
        op(DataMovement).inputs(&["data", "indices"], 2).onnx("GatherND", 11),
    /// Inputs: data, indices, updates.
    ScatterElements = "scatter_elements" { axis: i64, reduction: ScatterReduction } =>
        op(DataMovement).inputs(&["data", "indices", "updates"], 3).onnx("ScatterElements", 11),
    ScatterNd = "scatter_nd" { reduction: ScatterReduction } =>
        op(DataMovement).inputs(&["data", "indices", "updates"], 3).onnx("ScatterND", 11),
    /// Inputs: input, shape.
    Expand = "expand" {} => op(DataMovement).inputs(&["input", "shape"], 2).onnx("Expand", 8),
    /// Inputs: input, repeats.
    Tile = "tile" {} => op(DataMovement).inputs(&["input", "repeats"], 2).onnx("Tile", 6),
    /// Inputs: data, pads, constant_value?, axes?.
    Pad = "pad" { mode: PadMode } =>
        op(DataMovement).inputs(&["data", "pads", "constant_value", "axes"], 2).onnx("Pad", 11),
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
    } => op(DataMovement).inputs(&["x", "roi", "scales", "sizes"], 1).onnx("Resize", 11),
    DepthToSpace = "depth_to_space" { blocksize: i64, mode: DepthToSpaceMode } =>
        op(DataMovement).onnx("DepthToSpace", 11),
    SpaceToDepth = "space_to_depth" { blocksize: i64 } => op(DataMovement).onnx("SpaceToDepth", 1),
    /// Inputs: input, k?.
    Trilu = "trilu" { upper: bool } => op(DataMovement).inputs(&["input", "k"], 1).onnx("Trilu", 14),
    /// Inputs: input, condition.
    Compress = "compress" { axis: Option<i64> } =>
        op(DataMovement).inputs(&["input", "condition"], 2).onnx("Compress", 11),
    /// Inputs: input, sequence_lens.
    ReverseSequence = "reverse_sequence" { batch_axis: i64, time_axis: i64 } =>
        op(DataMovement).inputs(&["input", "sequence_lens"], 2).onnx("ReverseSequence", 10),

    // ---- generators ----
    /// Input: shape (i64 1-D). `value` is converted to `dtype` (int64 fill values
    /// above 2^53 are not representable; no exporter emits them).
    ConstantOfShape = "constant_of_shape" { dtype: DType, value: f64 } =>
        op(Generator).inputs(&["shape"], 1).onnx("ConstantOfShape", 9),
    /// Inputs: start, limit, delta (scalars).
    Range = "range" {} => op(Generator).inputs(&["start", "limit", "delta"], 3).onnx("Range", 11),
    EyeLike = "eye_like" { dtype: Option<DType>, k: i64 } => op(Generator).onnx("EyeLike", 9),
    /// Inputs: indices, depth, values.
    OneHot = "one_hot" { axis: i64 } =>
        op(Generator).inputs(&["indices", "depth", "values"], 3).onnx("OneHot", 11),
    NonZero = "non_zero" {} => op(Generator).onnx("NonZero", 9),

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
    } => op(Recurrent).inputs(LSTM, 3).outputs(1, Some(3)).onnx("LSTM", 7),
    Gru = "gru" {
        direction: Direction,
        hidden_size: i64,
        activations: Vec<String>,
        activation_alpha: Vec<f32>,
        activation_beta: Vec<f32>,
        clip: Option<f32>,
        linear_before_reset: bool,
        layout: i64,
    } => op(Recurrent).inputs(RNN, 3).outputs(1, Some(2)).onnx("GRU", 7),
    Rnn = "rnn" {
        direction: Direction,
        hidden_size: i64,
        activations: Vec<String>,
        activation_alpha: Vec<f32>,
        activation_beta: Vec<f32>,
        clip: Option<f32>,
        layout: i64,
    } => op(Recurrent).inputs(RNN, 3).outputs(1, Some(2)).onnx("RNN", 7),

    // ---- quantization (ONNX QDQ form); inputs: x, scale, zero_point? ----
    QuantizeLinear = "quantize_linear" { axis: i64, saturate: bool, block_size: i64 } =>
        op(Quantization).inputs(&["x", "y_scale", "y_zero_point"], 2).onnx("QuantizeLinear", 10),
    DequantizeLinear = "dequantize_linear" { axis: i64, block_size: i64 } =>
        op(Quantization).inputs(&["x", "x_scale", "x_zero_point"], 2).onnx("DequantizeLinear", 10),
    /// Outputs: y (u8), y_scale, y_zero_point.
    DynamicQuantizeLinear = "dynamic_quantize_linear" {} =>
        op(Quantization).outputs(3, Some(3)).onnx("DynamicQuantizeLinear", 11),
}

impl Op {
    /// The op's float scalar function with its attributes bound, and `extra` the
    /// values of its constant scalar inputs after the first (Clip's bounds, `None`
    /// where absent); `None` for ops without one (see [`OpInfo::scalar`]).
    pub fn scalar_fn(&self, extra: &[Option<f64>]) -> Option<ScalarFn> {
        match self.info().scalar? {
            Scalar::Plain(f) => Some(Box::new(f)),
            Scalar::Parametric(f) => f(self, extra),
        }
    }

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

    /// Sets `keepdims` of a `Reduce*` op (the same list as [`Op::reduce_attrs`]);
    /// false, changing nothing, for any other op.
    pub fn set_keepdims(&mut self, keep: bool) -> bool {
        use Op::*;
        match self {
            ReduceSum { keepdims, .. }
            | ReduceMean { keepdims, .. }
            | ReduceMax { keepdims, .. }
            | ReduceMin { keepdims, .. }
            | ReduceProd { keepdims, .. }
            | ReduceL1 { keepdims, .. }
            | ReduceL2 { keepdims, .. }
            | ReduceLogSum { keepdims, .. }
            | ReduceLogSumExp { keepdims, .. }
            | ReduceSumSquare { keepdims, .. } => {
                *keepdims = keep;
                true
            }
            _ => false,
        }
    }
}
