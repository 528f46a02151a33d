//! What can go wrong in calibration, each error saying where and what was expected.

use super::{CalibMethod, Phase};

/// A boxed error from the caller's data source (anything `Into` it: a
/// `thiserror` type, `std::io::Error`, `anyhow::Error`).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A calibration failure.
#[derive(Debug, thiserror::Error)]
pub enum CalibError {
    /// Options out of range (bits, bins, percentile).
    #[error("calibration options: {0}")]
    Options(String),
    /// The data source failed to open or to yield a batch.
    #[error("calibration data ({phase}): {source}")]
    Source {
        phase: Phase,
        #[source]
        source: BoxError,
    },
    /// The float graph failed on a batch (wrong inputs, or an interpreter error).
    #[error("calibration batch {batch} ({phase}): {source}")]
    Run {
        phase: Phase,
        batch: usize,
        #[source]
        source: pare_ir::interp::InterpError,
    },
    /// A NaN in the data or computed from it: no range can hold it.
    #[error("calibration: value `{value}`: {what}")]
    NotANumber { value: String, what: String },
    #[error("calibration data yielded no samples")]
    Empty,
    /// The second pass did not see the data the first one did.
    #[error("calibration data changed between passes: {what} (the data source must yield the same batches each time it is opened)")]
    Inconsistent { what: String },
    /// A histogram method was asked of a calibration that ran min-max only.
    #[error("calibration method `{method}` needs histograms, but this calibration ran min-max only (one pass over the data)")]
    NoHistogram { method: CalibMethod },
    /// A weight tensor that cannot be given per-channel scales.
    #[error("weight scales: {0}")]
    Weights(String),
}
