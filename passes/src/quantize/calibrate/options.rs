//! Calibration options and the progress reports the library sends its caller.

use super::{CalibError, CalibMethod};
use std::fmt;

/// How to calibrate.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct CalibOptions {
    /// How each value's clipping range is chosen.
    pub method: CalibMethod,
    /// Stop after this many samples (a batch that crosses the limit is cut).
    pub max_samples: Option<usize>,
    /// Activation bits the ranges are chosen for (asymmetric, 2 to 16).
    pub bits: u8,
    /// Histogram bins per value (16 to 2^20); memory is 8 bytes per bin per value.
    pub bins: usize,
}

impl Default for CalibOptions {
    fn default() -> CalibOptions {
        CalibOptions {
            method: CalibMethod::MinMax,
            max_samples: None,
            bits: 8,
            bins: 2048,
        }
    }
}

impl CalibOptions {
    /// Checks every field's range.
    pub fn validate(&self) -> Result<(), CalibError> {
        super::select::check_bits(self.bits)?;
        if !(16..=1 << 20).contains(&self.bins) {
            return Err(CalibError::Options(format!(
                "bins must be 16 to {}, got {}",
                1 << 20,
                self.bins
            )));
        }
        if let CalibMethod::Percentile(p) = self.method {
            if !(p > 0.0 && p <= 100.0) {
                return Err(CalibError::Options(format!(
                    "percentile must be in (0, 100], got {p}"
                )));
            }
        }
        Ok(())
    }
}

/// The stage calibration is in.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Phase {
    /// Pass 1 over the data: min, max and counts.
    Range,
    /// Pass 2 over the data: histograms over the pass-1 ranges.
    Histogram,
    /// Choosing each value's range from its statistics (no data read).
    Select,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Range => "range pass",
            Phase::Histogram => "histogram pass",
            Phase::Select => "range selection",
        })
    }
}

/// One progress report: `done` of `total` samples in a data pass, or values in
/// [`Phase::Select`]. `total` is `None` when the data source does not know its
/// length and no sample limit was given.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Progress {
    pub phase: Phase,
    pub done: usize,
    pub total: Option<usize>,
}
