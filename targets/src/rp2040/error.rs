//! Why a graph cannot become RP2040 C: every message names the node, its op and
//! what was expected.

use crate::plan::PlanError;
use pare_ir::interp::InterpError;

/// An RP2040 emission failure.
#[derive(Debug, thiserror::Error)]
pub enum Rp2040Error {
    /// Nodes the target cannot run, all listed at once (one per line).
    #[error("the graph cannot run on the rp2040 target:\n{}", .0.join("\n"))]
    Unsupported(Vec<String>),
    /// One node's parameters are outside what its C kernel takes.
    #[error("node `{node}` ({op}): {msg}")]
    Node {
        node: String,
        op: &'static str,
        msg: String,
    },
    /// The model's entry or exit is not a quantize/dequantize pair.
    #[error("{0}")]
    Boundary(String),
    #[error("`{0}` is not a C identifier (letters, digits and `_`, not starting with a digit)")]
    BadName(String),
    #[error("memory planning: {0}")]
    Plan(#[from] PlanError),
    /// The integer interpreter refused the graph (its parameters are checked there).
    #[error("the integer interpreter rejects the graph: {0}")]
    Interp(#[from] InterpError),
    #[error(transparent)]
    Quant(#[from] pare_ir::quant::QuantError),
    #[error(transparent)]
    Ir(#[from] pare_ir::IrError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl Rp2040Error {
    /// An error about `node`.
    pub fn node(node: &pare_ir::Node, msg: impl Into<String>) -> Rp2040Error {
        Rp2040Error::Node {
            node: node.name.clone(),
            op: node.op.name(),
            msg: msg.into(),
        }
    }
}
