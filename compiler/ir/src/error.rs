//! Errors of the IR crate's core (construction, tensors, weights).

use crate::DType;

#[derive(Debug, thiserror::Error)]
pub enum IrError {
    #[error("tensor of shape {shape:?} needs {expected} elements, got {actual}")]
    TensorSize {
        shape: Vec<usize>,
        expected: usize,
        actual: usize,
    },
    #[error("{dtype} tensor of shape {shape:?} needs {expected} bytes, got {actual}")]
    ByteCount {
        dtype: DType,
        shape: Vec<usize>,
        expected: usize,
        actual: usize,
    },
    #[error("tensor too large (element count overflows or exceeds pare's limit of 2^28 elements for computed tensors)")]
    TooLarge,
    #[error("weight type {0} has a symbolic dim; weights need a known shape")]
    SymbolicWeight(String),
    #[error("byte range {offset}+{len} lies outside the {file_len}-byte file")]
    OutOfFile {
        offset: usize,
        len: usize,
        file_len: usize,
    },
    #[error("graph too large: more than 2^32 {0}")]
    ArenaFull(&'static str),
    #[error("sparse weight of type {ty}: {reason}")]
    SparseWeight { ty: String, reason: String },
    #[error("palette weight of type {ty}: {reason}")]
    PaletteWeight { ty: String, reason: String },
    #[error("{0}")]
    Invalid(String),
}
