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
        _ if op.reduce_attrs().is_some() => sig(&["data", "axes"], 1, ONE),
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

/// Why a node's input or output count does not fit its op's [`Signature`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ArityError {
    #[error("has {got} inputs, at most {max} allowed")]
    TooManyInputs { got: usize, max: usize },
    #[error("input {index} ({name}) is required but absent (expected {wanted})")]
    MissingInput {
        index: usize,
        name: &'static str,
        wanted: String,
    },
    #[error("input {index} ({name}) is absent (variadic inputs cannot be skipped)")]
    VariadicHole { index: usize, name: &'static str },
    #[error("has {got} outputs, expected {wanted}")]
    Outputs { got: usize, wanted: String },
}

impl Signature {
    /// The name of input `i` for messages (a variadic op's last name covers the rest).
    pub fn input_name(&self, i: usize) -> &'static str {
        self.inputs
            .get(i)
            .or(self.inputs.last().filter(|_| self.variadic))
            .copied()
            .unwrap_or("?")
    }

    /// The accepted input counts in words: "1 input", "2 to 3 inputs", "at least 1 input".
    pub fn inputs_wanted(&self) -> String {
        let max = self.inputs.len();
        let plural = |n: usize| if n == 1 { "input" } else { "inputs" };
        if self.variadic {
            format!("at least {} {}", self.min_inputs, plural(self.min_inputs))
        } else if self.min_inputs == max {
            format!("{max} {}", plural(max))
        } else {
            format!("{} to {max} inputs", self.min_inputs)
        }
    }

    /// Checks `n_in` input slots, of which `present(i)` tells which are given:
    /// no more slots than the op has, required inputs present, no holes among
    /// variadic inputs.
    pub fn check_inputs(
        &self,
        n_in: usize,
        present: impl Fn(usize) -> bool,
    ) -> Result<(), ArityError> {
        if !self.variadic && n_in > self.inputs.len() {
            return Err(ArityError::TooManyInputs {
                got: n_in,
                max: self.inputs.len(),
            });
        }
        if let Some(index) = (0..self.min_inputs).find(|&i| i >= n_in || !present(i)) {
            return Err(ArityError::MissingInput {
                index,
                name: self.input_name(index),
                wanted: self.inputs_wanted(),
            });
        }
        if self.variadic {
            if let Some(index) = (self.min_inputs..n_in).find(|&i| !present(i)) {
                return Err(ArityError::VariadicHole {
                    index,
                    name: self.input_name(index),
                });
            }
        }
        Ok(())
    }

    /// Checks an output count.
    pub fn check_outputs(&self, n_out: usize) -> Result<(), ArityError> {
        let max_ok = self.max_outputs.is_none_or(|m| n_out <= m);
        if n_out >= self.min_outputs && max_ok {
            return Ok(());
        }
        let wanted = match self.max_outputs {
            Some(m) if m == self.min_outputs => format!("{m}"),
            Some(m) => format!("{} to {m}", self.min_outputs),
            None => format!("at least {}", self.min_outputs),
        };
        Err(ArityError::Outputs { got: n_out, wanted })
    }
}

/// Checks the node's input and output counts against its signature.
pub(super) fn check(cx: &Cx) -> R<()> {
    let s = signature(cx.op());
    let n_in = cx.n_inputs();
    s.check_inputs(n_in, |i| cx.node.input(i).is_some())
        .and_then(|()| s.check_outputs(cx.n_outputs()))
        .map_err(|e| cx.err(e.to_string()))?;
    for i in 0..n_in {
        cx.input_id(i)?;
    }
    Ok(())
}
