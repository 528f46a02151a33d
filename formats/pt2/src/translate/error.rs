//! Why one node could not be lowered; [`crate::ErrorKind::Node`] adds the node's
//! name and target.

use pare_ir::IrError;

/// A lowering failure inside one node.
#[derive(Debug, thiserror::Error)]
pub enum LowerError {
    #[error("argument `{arg}` should be {want}, got {got}")]
    BadArg {
        arg: String,
        want: &'static str,
        /// The argument's JSON as the exporter wrote it.
        got: String,
    },
    #[error("argument `{arg}` ({want}) is missing")]
    MissingArg { arg: String, want: &'static str },
    #[error("output {0} is not a named tensor")]
    UnnamedOutput(usize),
    #[error("the node has {got} outputs, expected {expected}")]
    OutputCount { got: usize, expected: usize },
    #[error("tensor `{0}` is not defined before its use")]
    Undefined(String),
    #[error("tensor `{0}` has no entry in tensor_values")]
    NoMeta(String),
    #[error("`{name}` has {dtype}, which pare does not represent")]
    DType { name: String, dtype: String },
    #[error("`{name}` has an unreadable size {size}")]
    BadSize { name: String, size: String },
    #[error("dim {dim} is out of range for rank {rank}")]
    DimOutOfRange { dim: i64, rank: i64 },
    #[error("`{name}` needs a known size along dim {dim}; it is symbolic")]
    SymbolicDim { name: String, dim: usize },
    /// An op-specific reason this form of the op cannot be imported.
    #[error("{0}")]
    Unsupported(String),
    #[error(transparent)]
    Ir(#[from] IrError),
}

/// The op lowerings state their specific reasons as text.
impl From<String> for LowerError {
    fn from(reason: String) -> Self {
        LowerError::Unsupported(reason)
    }
}

impl From<&str> for LowerError {
    fn from(reason: &str) -> Self {
        LowerError::Unsupported(reason.to_string())
    }
}
