//! What the quantization passes leave in the pass context: the float graph a
//! `quantize` pass started from (bias correction and fidelity measure against
//! it) and the records a report is built from.

use super::bias_correction::BiasCorrection;
use super::calibrate::Calibration;
use super::equalize::Equalization;
use super::mixed::LayerSensitivity;
use super::LayerRecord;
use pare_ir::Graph;

/// Quantization results carried from pass to pass. Each pass overwrites what
/// it measured; nothing here changes how a later pass rewrites, except `float`,
/// which bias correction needs.
#[derive(Clone, Debug, Default)]
pub struct QuantState {
    /// The float graph the last integer quantization started from.
    pub float: Option<Graph>,
    /// Per-layer records of the last quantization.
    pub records: Vec<LayerRecord>,
    /// The last calibration and the data it read.
    pub calibration: Option<(String, Calibration)>,
    /// Wall time of the last calibration, in seconds (measured).
    pub calib_seconds: f64,
    /// What the last `equalize` did.
    pub equalization: Option<Equalization>,
    /// What the last `bias-correct` did.
    pub correction: Option<BiasCorrection>,
    /// Per-layer sensitivity measured by `mixed-precision`.
    pub sensitivity: Vec<LayerSensitivity>,
    /// Mixed precision: layers kept at 8 bits because the target cannot store
    /// them in 4, with why.
    pub int8_only: Vec<(String, String)>,
    /// The encoded artifact, when a target's size measure produced it while
    /// choosing widths (so it need not be encoded again).
    pub artifact: Option<Vec<u8>>,
    /// The variant search's artifact of the bias-corrected graph, while it
    /// decides which variant to keep.
    pub artifact_corrected: Option<Vec<u8>>,
}
