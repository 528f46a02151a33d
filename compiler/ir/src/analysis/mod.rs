//! Analyses: facts computed from a graph on demand (side tables keyed by id),
//! never stored in it.

mod macs;
mod stats;

pub use macs::{macs_of_node, total_macs};
pub use stats::{op_counts, param_count, weight_bytes, with_symbols_bound};
