//! Pruning: structured (whole channels, heads and hidden units, removed
//! physically with every coupled layer) and unstructured (weights set to zero
//! by magnitude and stored sparse).

pub mod magnitude;
pub mod report;
pub mod sparse_encode;
pub mod structured;
pub mod unstructured;

pub use report::{GroupReport, PruneReport};
pub use sparse_encode::SparseEncode;
pub use structured::PruneStructured;
pub use unstructured::PruneUnstructured;
