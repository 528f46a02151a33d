//! The one arity table: input names, how many inputs and outputs each op takes.

use super::{Cx, R};
use crate::Op;

/// Inputs and outputs an op accepts.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Signature {
    /// Input names in ONNX order (used in error messages). For a variadic op the
    /// last name stands for every further input.
    pub inputs: &'static [&'static str],
    /// Inputs that must be present (the first `min_inputs` slots).
    pub min_inputs: usize,
    /// Accepts any number of inputs `>= min_inputs`.
    pub variadic: bool,
    pub min_outputs: usize,
    /// `None` means unbounded (`Split`).
    pub max_outputs: Option<usize>,
}

const fn sig(
    inputs: &'static [&'static str],
    min_inputs: usize,
    outs: (usize, usize),
) -> Signature {
    Signature {
        inputs,
        min_inputs,
        variadic: false,
        min_outputs: outs.0,
        max_outputs: Some(outs.1),
    }
}

const fn variadic(name: &'static [&'static str], min_inputs: usize) -> Signature {
    Signature {
        inputs: name,
        min_inputs,
        variadic: true,
        min_outputs: 1,
        max_outputs: Some(1),
    }
}

const ONE: (usize, usize) = (1, 1);
const X: &[&str] = &["x"];
const AB: &[&str] = &["a", "b"];
const CONV: &[&str] = &["x", "weight", "bias"];
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

/// The signature of `op`.
pub fn signature(op: &Op) -> Signature {
    use Op::*;
    match op {
        CastLike {} => sig(&["x", "target_type"], 2, ONE),
        Clip {} => sig(&["x", "min", "max"], 1, ONE),
        Dropout {} => sig(&["x", "ratio", "training_mode"], 1, (1, 2)),
        Add {} | Sub {} | Mul {} | Div {} | Pow {} | Mod { .. } | And {} | Or {} | Xor {} => {
            sig(AB, 2, ONE)
        }
        Equal {} | Less {} | LessOrEqual {} | Greater {} | GreaterOrEqual {} => sig(AB, 2, ONE),
        BitShift { .. } | BitwiseAnd {} | BitwiseOr {} | BitwiseXor {} => sig(AB, 2, ONE),
        // ONNX Max/Min take one or more inputs.
        Max {} | Min {} => variadic(&["data"], 1),
        PRelu {} => sig(&["x", "slope"], 2, ONE),
        Where {} => sig(&["condition", "x", "y"], 3, ONE),
        MatMul {} => sig(AB, 2, ONE),
        Gemm { .. } => sig(&["a", "b", "c"], 2, ONE),
        Conv { .. } | ConvTranspose { .. } => sig(CONV, 2, ONE),
        Einsum { .. } => variadic(&["inputs"], 1),
        BatchNormalization { .. } => sig(&["x", "scale", "bias", "mean", "var"], 5, ONE),
        InstanceNormalization { .. } | GroupNormalization { .. } => {
            sig(&["x", "scale", "bias"], 3, ONE)
        }
        LayerNormalization { .. } => sig(&["x", "scale", "bias"], 2, (1, 3)),
        MaxPool { .. } => sig(X, 1, (1, 2)),
        ReduceSum { .. }
        | ReduceMean { .. }
        | ReduceMax { .. }
        | ReduceMin { .. }
        | ReduceProd { .. }
        | ReduceL1 { .. }
        | ReduceL2 { .. }
        | ReduceLogSum { .. }
        | ReduceLogSumExp { .. }
        | ReduceSumSquare { .. } => sig(&["data", "axes"], 1, ONE),
        CumSum { .. } => sig(&["x", "axis"], 2, ONE),
        TopK { .. } => sig(&["x", "k"], 2, (2, 2)),
        Reshape { .. } => sig(&["data", "shape"], 2, ONE),
        Squeeze {} => sig(&["data", "axes"], 1, ONE),
        Unsqueeze {} => sig(&["data", "axes"], 2, ONE),
        Concat { .. } => variadic(&["inputs"], 1),
        Split { .. } => Signature {
            max_outputs: None,
            ..sig(&["input", "split"], 1, ONE)
        },
        Slice {} => sig(&["data", "starts", "ends", "axes", "steps"], 3, ONE),
        Gather { .. } | GatherElements { .. } | GatherNd { .. } => {
            sig(&["data", "indices"], 2, ONE)
        }
        ScatterElements { .. } | ScatterNd { .. } => sig(&["data", "indices", "updates"], 3, ONE),
        Expand {} => sig(&["input", "shape"], 2, ONE),
        Tile {} => sig(&["input", "repeats"], 2, ONE),
        Pad { .. } => sig(&["data", "pads", "constant_value", "axes"], 2, ONE),
        Resize { .. } => sig(&["x", "roi", "scales", "sizes"], 1, ONE),
        Trilu { .. } => sig(&["input", "k"], 1, ONE),
        Compress { .. } => sig(&["input", "condition"], 2, ONE),
        ReverseSequence { .. } => sig(&["input", "sequence_lens"], 2, ONE),
        ConstantOfShape { .. } => sig(&["shape"], 1, ONE),
        Range {} => sig(&["start", "limit", "delta"], 3, ONE),
        OneHot { .. } => sig(&["indices", "depth", "values"], 3, ONE),
        Lstm { .. } => sig(LSTM, 3, (1, 3)),
        Gru { .. } | Rnn { .. } => sig(RNN, 3, (1, 2)),
        QuantizeLinear { .. } => sig(&["x", "y_scale", "y_zero_point"], 2, ONE),
        DequantizeLinear { .. } => sig(&["x", "x_scale", "x_zero_point"], 2, ONE),
        DynamicQuantizeLinear {} => sig(X, 1, (3, 3)),
        // Everything else is one input to one output (unary element-wise ops,
        // pooling, softmax, shape queries, ...).
        _ => sig(X, 1, ONE),
    }
}

/// Checks the node's input and output counts against its signature.
pub(super) fn check(cx: &Cx) -> R<()> {
    let s = signature(cx.op());
    let n_in = cx.n_inputs();
    if !s.variadic && n_in > s.inputs.len() {
        return Err(cx.err(format!(
            "has {n_in} inputs, at most {} allowed",
            s.inputs.len()
        )));
    }
    for i in 0..s.min_inputs {
        if cx.node.input(i).is_none() {
            return Err(cx.in_err(i, "is required but absent"));
        }
    }
    if s.variadic {
        // Variadic inputs are all required (no holes).
        for i in s.min_inputs..n_in {
            if cx.node.input(i).is_none() {
                return Err(cx.in_err(i, "is absent (variadic inputs cannot be skipped)"));
            }
        }
    }
    let n_out = cx.n_outputs();
    let max_ok = s.max_outputs.is_none_or(|m| n_out <= m);
    if n_out < s.min_outputs || !max_ok {
        let want = match s.max_outputs {
            Some(m) if m == s.min_outputs => format!("{m}"),
            Some(m) => format!("{} to {m}", s.min_outputs),
            None => format!("at least {}", s.min_outputs),
        };
        return Err(cx.err(format!("has {n_out} outputs, expected {want}")));
    }
    for i in 0..n_in {
        cx.input_id(i)?;
    }
    Ok(())
}
