//! Binding symbolic dims (the batch) to sizes before planning: a plan needs
//! every shape known.

use super::PlanError;
use pare_ir::Graph;

/// A copy of `g` with every symbolic dim of its inputs set to `size` (1 for the
/// batch of a microcontroller model) and all node output types re-inferred,
/// quantization parameters kept.
pub fn bind_symbols(g: &Graph, size: u64) -> Result<Graph, PlanError> {
    Ok(pare_ir::analysis::with_symbols_bound(g, size)?)
}
