//! Pruning: structured (whole channels, heads and hidden units, removed
//! physically with every coupled layer) and, beside it, unstructured.

pub mod report;
pub mod structured;

pub use report::{GroupReport, PruneReport};
pub use structured::PruneStructured;
