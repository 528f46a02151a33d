//! Pruning: weights set to zero by magnitude and stored sparse.

pub mod magnitude;
pub mod sparse_encode;
pub mod unstructured;

pub use sparse_encode::SparseEncode;
pub use unstructured::PruneUnstructured;
