//! Symmetric ranges (zero point 0, codes in [−(2^(b−1)−1), 2^(b−1)−1]) as TensorRT's
//! explicit quantization needs: the clipping magnitude `t` that minimises the
//! histogram-estimated quantization MSE of `x ↦ clamp(round(x / Δ), ±q)·Δ`,
//! Δ = t / q, over every value of the histogram on both sides of zero.

use crate::quantize::calibrate::Histogram;

/// Candidate magnitudes tried, evenly spaced up to the largest observed |x|.
const CANDIDATES: usize = 512;

/// The MSE-optimal symmetric clipping magnitude for `bits`-bit codes, given the
/// histogram and how many of its values are exact zeros (free: 0 is a code).
///
/// Per bin of centre `x` and width `w` (values uniform within it), the estimated
/// squared error at magnitude `t` is `(|x| − t)² + w²/12` when `|x| > t` (the code
/// saturates) and `Δ²/12` otherwise (uniform rounding noise). The search is
/// exhaustive over the candidates; ties keep the larger `t` (less clipping).
pub fn symmetric_mse(h: &Histogram, zeros: u64, bits: u8) -> f32 {
    let q = f64::from((1u32 << (bits - 1)) - 1);
    let counts = h.counts();
    let w = h.bin_width();
    let centres: Vec<(f64, f64)> = counts
        .iter()
        .enumerate()
        .filter(|(_, &c)| c > 0)
        .map(|(i, &c)| ((h.edge(i) + w / 2.0).abs(), c as f64))
        .collect();
    let amax = f64::from(h.lo().abs().max(h.hi().abs()));
    if amax <= 0.0 || centres.is_empty() {
        return amax as f32;
    }
    let inside_free = zeros as f64;
    let mut best = (f64::INFINITY, amax);
    for k in (1..=CANDIDATES).rev() {
        let t = amax * k as f64 / CANDIDATES as f64;
        let delta = t / q;
        let mut cost = 0.0;
        let mut inside = 0.0;
        for &(x, c) in &centres {
            if x > t {
                cost += c * ((x - t) * (x - t) + w * w / 12.0);
            } else {
                inside += c;
            }
        }
        cost += (inside - inside_free).max(0.0) * delta * delta / 12.0;
        if cost < best.0 {
            best = (cost, t);
        }
    }
    best.1 as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A heavy-tailed (Laplace) value: the MSE magnitude clips the sparse tail,
    /// below the largest |x| but far beyond the bulk.
    #[test]
    fn clips_a_heavy_tail() {
        let mut rng = fastrand::Rng::with_seed(5);
        let xs: Vec<f32> = (0..100_000)
            .map(|_| {
                let m = -(1.0 - rng.f32()).ln();
                if rng.bool() {
                    m
                } else {
                    -m
                }
            })
            .collect();
        let amax = xs.iter().fold(0f32, |a, x| a.max(x.abs()));
        let mut h = Histogram::new(-amax, amax, 2048);
        h.add(&xs);
        let t = symmetric_mse(&h, 0, 8);
        assert!(t > 4.0 && t < 0.9 * amax, "{t} of {amax}");
    }

    /// Uniform values over [−1, 1] with nothing to clip keep (about) the full range.
    #[test]
    fn keeps_the_range_of_a_uniform_value() {
        let mut h = Histogram::new(-1.0, 1.0, 2048);
        let xs: Vec<f32> = (0..20_001).map(|i| i as f32 / 10_000.0 - 1.0).collect();
        h.add(&xs);
        let t = symmetric_mse(&h, 0, 8);
        assert!(t > 0.97 && t <= 1.0, "{t}");
    }
}
