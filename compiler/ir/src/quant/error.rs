//! What can go wrong in quantization arithmetic: inconsistent parameters or data,
//! or a lookup table that cannot be built.

use crate::{IrError, Op};

#[derive(Debug, thiserror::Error)]
pub enum QuantError {
    /// Inconsistent quantization parameters or data.
    #[error("quantization: {0}")]
    Params(String),
    /// A lookup table for op `op` cannot be built.
    #[error("{op}: {msg}")]
    Table { op: &'static str, msg: String },
    #[error(transparent)]
    Ir(#[from] IrError),
}

impl QuantError {
    pub(crate) fn table(op: &Op, msg: impl Into<String>) -> QuantError {
        QuantError::Table {
            op: op.name(),
            msg: msg.into(),
        }
    }
}
