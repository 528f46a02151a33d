//! `OnnxError`: every way reading or writing an ONNX file can fail, with the file,
//! node, op and value involved.

use std::fmt;
use std::path::PathBuf;

/// An import or export failure, tagged with the model it concerns.
#[derive(Debug, thiserror::Error)]
#[error("{source_name}: {kind}")]
pub struct OnnxError {
    /// The file path (or the caller's name for in-memory bytes).
    pub source_name: String,
    pub kind: ErrorKind,
}

/// One node that pare cannot import, as listed in [`ErrorKind::Unsupported`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct UnsupportedNode {
    pub op_type: String,
    /// Empty for the default ONNX domain.
    pub domain: String,
    /// The opset the model imports for `domain` (0 if it imports none).
    pub opset: i64,
    pub node: String,
    /// Why, when it is more than "pare has no such op" (e.g. defined only at a later opset).
    pub note: String,
}

impl fmt::Display for UnsupportedNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let domain = if self.domain.is_empty() {
            "ai.onnx"
        } else {
            &self.domain
        };
        write!(
            f,
            "{} (domain {}, opset {}) at node `{}`",
            self.op_type, domain, self.opset, self.node
        )?;
        if !self.note.is_empty() {
            write!(f, ": {}", self.note)?;
        }
        Ok(())
    }
}

/// One line (CLI errors are one line): `If (...) at node `a`; Loop (...) at node `b``.
fn list(nodes: &[UnsupportedNode]) -> String {
    nodes
        .iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum ErrorKind {
    #[error("cannot {action} `{path}`: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("not a valid ONNX protobuf message: {0}")]
    Decode(#[from] prost::DecodeError),
    #[error("the model has no graph")]
    NoGraph,
    #[error("unsupported {what} {got}; pare supports {supported}")]
    Version {
        what: &'static str,
        got: i64,
        supported: &'static str,
    },
    #[error("{} unsupported node(s): {}", .0.len(), list(.0))]
    Unsupported(Vec<UnsupportedNode>),
    #[error("node `{node}` ({op}): {msg}")]
    Node {
        node: String,
        op: String,
        msg: String,
    },
    #[error("node `{node}` ({op}): attribute `{attr}`: {msg}")]
    Attribute {
        node: String,
        op: String,
        attr: String,
        msg: String,
    },
    #[error("tensor `{tensor}`: {msg}")]
    Tensor { tensor: String, msg: String },
    #[error("tensor `{tensor}`: external data: {msg}")]
    ExternalData { tensor: String, msg: String },
    #[error("value `{value}`: {msg}")]
    Value { value: String, msg: String },
    #[error("{0}")]
    Graph(String),
    #[error("shape inference failed: {0}")]
    Infer(String),
    #[error("export: {0}")]
    Export(String),
    #[error(transparent)]
    Ir(#[from] pare_ir::IrError),
}

impl ErrorKind {
    /// Tags the error with the model's name or path.
    pub fn at(self, source_name: impl Into<String>) -> OnnxError {
        OnnxError {
            source_name: source_name.into(),
            kind: self,
        }
    }

    pub(crate) fn tensor(tensor: &str, msg: impl Into<String>) -> ErrorKind {
        ErrorKind::Tensor {
            tensor: tensor.to_string(),
            msg: msg.into(),
        }
    }

    pub(crate) fn external(tensor: &str, msg: impl Into<String>) -> ErrorKind {
        ErrorKind::ExternalData {
            tensor: tensor.to_string(),
            msg: msg.into(),
        }
    }

    pub(crate) fn value(value: &str, msg: impl Into<String>) -> ErrorKind {
        ErrorKind::Value {
            value: value.to_string(),
            msg: msg.into(),
        }
    }
}
