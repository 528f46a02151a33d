//! MSE-optimal range selection from the histogram.

use super::zero_bin;
use crate::quantize::calibrate::Histogram;

/// MSE-optimal range: over every pair of bin edges `i <= z < j`, minimises the
/// estimated squared quantization error
///
/// ```text
///   Σ_{bins m < i}  c_m ((x_m − a)² + w²/12)        clipping below a = edge(i)
/// + Σ_{bins m ≥ j}  c_m ((x_m − b)² + w²/12)        clipping above b = edge(j)
/// + (values in range − exact zeros) · Δ²/12          rounding, Δ = (b − a) / (2^bits − 1)
/// ```
///
/// with `x_m` a bin's centre and `w` the bin width (a bin's values are taken as
/// uniform within it, hence `w²/12`), rounding noise uniform on `[−Δ/2, Δ/2]`,
/// and exact zeros free (the zero point represents 0 exactly). The tail sums
/// are running totals kept in exact integers (in units of half a bin), so each
/// candidate costs O(1) and the search is exhaustive over the ≈ bins²/4 pairs;
/// ties keep the widest range.
pub(super) fn mse(h: &Histogram, zeros: u64, bits: u8) -> (usize, usize) {
    let counts = h.counts();
    let bins = counts.len();
    let z = zero_bin(h);
    let levels = ((1u64 << bits) - 1) as f64;
    let total = h.total();
    let zeros = zeros.min(counts[z]);

    // below[i] = (values below edge i, Σ c·(2·distance to edge i)²).
    let mut below = Vec::with_capacity(z + 1);
    let mut tail = Tail::default();
    for &c in &counts[..=z] {
        below.push(tail);
        tail.push(c);
    }
    // above[j - (z + 1)] = the same for values at or above edge j.
    let mut above = vec![Tail::default(); bins - z];
    let mut tail = Tail::default();
    for j in (z + 1..=bins).rev() {
        above[j - z - 1] = tail;
        tail.push(counts[j - 1]);
    }

    let mut best = (f64::INFINITY, 0, bins);
    for (i, lo) in below.iter().enumerate() {
        for j in (z + 1..=bins).rev() {
            let hi = &above[j - z - 1];
            let clipped = lo.count + hi.count;
            let inside = (total - clipped).saturating_sub(zeros);
            let span = (j - i) as f64 / levels;
            // Everything times 12 / w²: clip (2d)²·3 + c, rounding inside·span².
            let cost =
                3.0 * (lo.sq2 + hi.sq2) as f64 + clipped as f64 + inside as f64 * span * span;
            if cost < best.0 {
                best = (cost, i, j);
            }
        }
    }
    (best.1, best.2)
}

/// Running sums over the bins beyond an edge, with distances measured in half
/// bins from the edge to each bin's centre (odd integers, so everything is exact).
#[derive(Clone, Copy, Default, Debug)]
struct Tail {
    count: u64,
    /// Σ c · d, d = 2·(distance in bins) = 1, 3, 5, …
    d1: u128,
    /// Σ c · d².
    sq2: u128,
}

impl Tail {
    /// Moves the edge one bin further in, past a bin of `c` values: every
    /// existing distance grows by 2 half-bins and the new bin sits at 1.
    fn push(&mut self, c: u64) {
        let n = u128::from(self.count);
        self.sq2 += 4 * self.d1 + 4 * n + u128::from(c);
        self.d1 += 2 * n + u128::from(c);
        self.count += c;
    }
}
