//! Percentile range selection.

use super::zero_bin;
use crate::quantize::calibrate::Histogram;

/// Two-sided percentile, for asymmetric ranges: with `N` values and a tail of
/// `t = N · (100 − p) / 200` values per end, the lower edge is the left edge of
/// the first bin at which the count from below exceeds `t`, the upper edge the
/// right edge of the last bin at which the count from above exceeds `t`. So at
/// most `t` values are clipped at each end (as onnxruntime's percentile
/// calibration does for asymmetric ranges), at bin resolution, and `p = 100`
/// is min-max.
pub(super) fn percentile(h: &Histogram, p: f64) -> (usize, usize) {
    let tail = h.total() as f64 * (100.0 - p) / 200.0;
    let counts = h.counts();
    let mut i = 0;
    let mut below = 0u64;
    for (m, &c) in counts.iter().enumerate() {
        below += c;
        if below as f64 > tail {
            i = m;
            break;
        }
    }
    let mut j = counts.len();
    let mut above = 0u64;
    for (m, &c) in counts.iter().enumerate().rev() {
        above += c;
        if above as f64 > tail {
            j = m + 1;
            break;
        }
    }
    let z = zero_bin(h);
    (i.min(z), j.max(z + 1))
}
