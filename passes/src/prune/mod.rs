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

/// The calibration samples the data-driven pruning steps (importance, refit) read.
pub const SAMPLES: crate::registry::OptionSpec = crate::registry::OptionSpec {
    name: "samples",
    ty: crate::registry::OptionType::Int,
    default: Some("2048"),
    help: "calibration samples read for data-driven importance and refit (a fully connected layer needs more samples than it has inputs)",
};
