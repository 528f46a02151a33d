//! The errors of the TFLite writer: each names the node, op or value it is about.

/// Why a graph cannot be written as a `.tflite` model.
#[derive(Debug, thiserror::Error)]
pub enum TfliteError {
    /// A node TFLite (or this writer) cannot express.
    #[error("node `{node}` ({op}): {why}")]
    Unsupported {
        node: String,
        op: &'static str,
        why: String,
    },
    /// A value whose type or data cannot be written.
    #[error("value `{value}`: {why}")]
    Value { value: String, why: String },
    #[error(transparent)]
    Ir(#[from] pare_ir::IrError),
    /// Flatbuffers address 2 GiB at most.
    #[error("the model is {0} bytes of tensor data, over the 2 GiB a flatbuffer can hold")]
    TooLarge(usize),
}
