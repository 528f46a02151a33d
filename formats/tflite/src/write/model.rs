//! The TFLite model being written, as plain data: tensors, buffers and operators in
//! the order they are emitted. Lowering fills it; `serialize` turns it into a flatbuffer.

use crate::schema::{ActivationFunctionType, BuiltinOperator, Padding, TensorType};

/// Quantization of one tensor (`real = scale * (q - zero_point)`).
#[derive(Clone, PartialEq, Debug)]
pub struct Quant {
    pub scale: Vec<f32>,
    pub zero_point: Vec<i64>,
    /// The per-channel axis (0 for per-tensor).
    pub dim: i32,
}

/// One tensor of the subgraph.
#[derive(Clone, Debug)]
pub struct Tensor {
    pub name: String,
    /// Static shape (symbolic dims written as 1).
    pub shape: Vec<i32>,
    /// `shape` with -1 for symbolic dims; `None` when every dim is fixed.
    pub signature: Option<Vec<i32>>,
    pub ty: TensorType,
    /// Index into [`Model::buffers`]; 0 is the empty buffer of non-constant tensors.
    pub buffer: u32,
    pub quant: Option<Quant>,
}

/// An operator's builtin options (only those this writer emits).
#[derive(Clone, PartialEq, Debug)]
pub enum Options {
    None,
    Conv2D {
        padding: Padding,
        stride: [i32; 2],
        dilation: [i32; 2],
        act: ActivationFunctionType,
    },
    DepthwiseConv2D {
        padding: Padding,
        stride: [i32; 2],
        dilation: [i32; 2],
        depth_multiplier: i32,
        act: ActivationFunctionType,
    },
    FullyConnected {
        act: ActivationFunctionType,
        keep_num_dims: bool,
    },
    /// ADD, SUB, MUL share this shape of options.
    Binary {
        act: ActivationFunctionType,
    },
    Pool2D {
        padding: Padding,
        stride: [i32; 2],
        filter: [i32; 2],
        act: ActivationFunctionType,
    },
    Reshape {
        new_shape: Vec<i32>,
    },
    Softmax {
        beta: f32,
    },
    Reducer {
        keep_dims: bool,
    },
    Concatenation {
        axis: i32,
    },
    Gather {
        axis: i32,
    },
    LeakyRelu {
        alpha: f32,
    },
    TransposeConv {
        padding: Padding,
        stride: [i32; 2],
        act: ActivationFunctionType,
    },
    BatchMatMul {
        adj_x: bool,
        adj_y: bool,
    },
    /// TRANSPOSE, QUANTIZE, DEQUANTIZE, HARD_SWISH, … : an empty options table of this kind.
    Empty,
}

/// One operator of the subgraph.
#[derive(Clone, Debug)]
pub struct Operator {
    pub code: BuiltinOperator,
    pub version: i32,
    pub inputs: Vec<i32>,
    pub outputs: Vec<i32>,
    pub options: Options,
}

/// The whole model: one subgraph, its signature, metadata.
#[derive(Clone, Debug, Default)]
pub struct Model {
    pub tensors: Vec<Tensor>,
    /// Buffer contents; index 0 is the empty sentinel every TFLite model starts with.
    pub buffers: Vec<Vec<u8>>,
    pub operators: Vec<Operator>,
    /// `(signature name, tensor)` of the subgraph's inputs and outputs.
    pub inputs: Vec<(String, i32)>,
    pub outputs: Vec<(String, i32)>,
    /// `(name, bytes)` metadata entries.
    pub metadata: Vec<(String, Vec<u8>)>,
    pub description: String,
}

impl Model {
    pub fn new(description: String) -> Model {
        Model {
            buffers: vec![Vec::new()],
            description,
            ..Model::default()
        }
    }

    /// Adds a tensor (with `data` as its buffer when it is a constant); its index.
    pub fn add_tensor(&mut self, mut t: Tensor, data: Option<Vec<u8>>) -> i32 {
        if let Some(d) = data {
            self.buffers.push(d);
            t.buffer = (self.buffers.len() - 1) as u32;
        }
        self.tensors.push(t);
        (self.tensors.len() - 1) as i32
    }
}
