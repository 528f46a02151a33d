//! Entropy (KL divergence) range selection: TensorRT's algorithm adapted to
//! asymmetric ranges.

use super::zero_bin;
use crate::quantize::calibrate::Histogram;

/// The normalised probability `Q` gets where it would be 0 but `P` is not
/// (MXNet's and TensorRT's smoothing; without it such a range costs +∞ and the
/// search cannot pass through it).
const SMOOTHING: f64 = 1e-4;

/// Rounds of coordinate descent at most (it usually settles in two or three).
const MAX_ROUNDS: usize = 64;

/// Entropy calibration. TensorRT picks one threshold on `|x|`; here the lower
/// and upper edges are chosen separately (asymmetric quantization has two).
/// For a candidate range of bins `[i, j)`, `n = j − i`, `k = 2^bits` levels:
///
/// * `P` is the histogram restricted to the range with the clipped counts added
///   to its end bins (values below go to bin `i`, values above to bin `j − 1`);
/// * `Q` merges the *unclipped* counts of the range into `k` chunks (bin `m` in
///   chunk `⌊(m − i)·k / n⌋`, pytorch-quantization's even split) and spreads each
///   chunk's total evenly over its bins where `P` is non-zero;
/// * the cost is `KL(P ‖ Q)` with `P` and `Q` each normalised: clipping piles
///   mass into `P`'s end bins that `Q` lacks, and a wide range makes `Q`'s
///   chunks coarse. Where `P > 0` but `Q = 0` (clipped mass piled into an end
///   bin whose chunk is empty) `Q` is smoothed to [`SMOOTHING`].
///
/// The exhaustive search over both edges costs bins² evaluations, so the edges
/// are found by coordinate descent from the full range: the best upper edge for
/// the current lower edge, then the best lower edge for that upper edge, until
/// neither moves (each step only lowers the cost, so it ends; at most
/// [`MAX_ROUNDS`] rounds). Each evaluation costs O(k) from prefix sums of the
/// counts, of `c·ln c` and of non-empty bins. As TensorRT only tries
/// thresholds of at least 128 bins, ranges narrower than `k` bins are not
/// tried (each chunk needs a bin). With fewer bins than levels (16-bit) the
/// histogram cannot resolve rounding at all: `None`, and the caller uses min-max.
pub(super) fn entropy(h: &Histogram, bits: u8) -> Option<(usize, usize)> {
    let levels = 1usize << bits;
    let bins = h.bins();
    if bins < levels {
        return None;
    }
    let kl = Kl::new(h.counts(), levels);
    let z = zero_bin(h);
    let (mut i, mut j) = (0, bins);
    let mut best = kl.cost(i, j);
    for _ in 0..MAX_ROUNDS {
        let mut moved = false;
        for jj in (z + 1).max(i + levels)..=bins {
            let c = kl.cost(i, jj);
            if c < best {
                (best, j, moved) = (c, jj, true);
            }
        }
        for ii in 0..=z.min(j - levels) {
            let c = kl.cost(ii, j);
            if c < best {
                (best, i, moved) = (c, ii, true);
            }
        }
        if !moved {
            break;
        }
    }
    Some((i, j))
}

/// Prefix sums for O(levels) KL evaluation.
struct Kl<'a> {
    counts: &'a [u64],
    levels: usize,
    total: f64,
    /// cum[m] = Σ_{b<m} c_b.
    cum: Vec<u64>,
    /// clnc[m] = Σ_{b<m} c_b ln c_b.
    clnc: Vec<f64>,
    /// nonzero[m] = number of non-empty bins below m.
    nonzero: Vec<usize>,
}

fn xlnx(x: u64) -> f64 {
    if x == 0 {
        0.0
    } else {
        let x = x as f64;
        x * x.ln()
    }
}

impl<'a> Kl<'a> {
    fn new(counts: &'a [u64], levels: usize) -> Kl<'a> {
        let mut cum = Vec::with_capacity(counts.len() + 1);
        let mut clnc = Vec::with_capacity(counts.len() + 1);
        let mut nonzero = Vec::with_capacity(counts.len() + 1);
        let (mut c0, mut c1, mut c2) = (0u64, 0.0, 0usize);
        for &c in counts {
            cum.push(c0);
            clnc.push(c1);
            nonzero.push(c2);
            c0 += c;
            c1 += xlnx(c);
            c2 += usize::from(c > 0);
        }
        cum.push(c0);
        clnc.push(c1);
        nonzero.push(c2);
        Kl {
            counts,
            levels,
            total: c0 as f64,
            cum,
            clnc,
            nonzero,
        }
    }

    /// KL(P ‖ Q) of the range of bins `[i, j)`; needs `j − i >= levels`.
    fn cost(&self, i: usize, j: usize) -> f64 {
        let n = j - i;
        let below = self.cum[i];
        let above = self.cum[self.counts.len()] - self.cum[j];
        let inside = self.cum[j] - self.cum[i];
        if inside == 0 || self.total == 0.0 {
            return f64::INFINITY;
        }
        let (first, last) = (self.counts[i], self.counts[j - 1]);
        // Σ P ln P: the raw sum with the two end bins replaced by their P values.
        let p_ln_p = self.clnc[j] - self.clnc[i] - xlnx(first) - xlnx(last)
            + xlnx(first + below)
            + xlnx(last + above);
        // Σ P ln Q, chunk by chunk (Q is constant over a chunk's non-zero bins).
        let mut p_ln_q = 0.0;
        for ch in 0..self.levels {
            let s = i + (ch * n).div_ceil(self.levels);
            let e = i + ((ch + 1) * n).div_ceil(self.levels);
            let q_mass = self.cum[e] - self.cum[s];
            let mut nz = self.nonzero[e] - self.nonzero[s];
            let mut p_mass = q_mass;
            if ch == 0 {
                p_mass += below;
                nz += usize::from(first == 0 && below > 0);
            }
            if ch == self.levels - 1 {
                p_mass += above;
                nz += usize::from(last == 0 && above > 0);
            }
            if p_mass == 0 {
                continue;
            }
            p_ln_q += if q_mass == 0 {
                // Only an end bin's clipped mass lands here: Q smoothed to ε there.
                p_mass as f64 * (SMOOTHING.ln() + (inside as f64).ln())
            } else {
                p_mass as f64 * (q_mass as f64 / nz as f64).ln()
            };
        }
        (p_ln_p - p_ln_q) / self.total + (inside as f64 / self.total).ln()
    }
}
