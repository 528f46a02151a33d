//! Symmetric ranges (zero point 0, codes in [−(2^(b−1)−1), 2^(b−1)−1]) as TensorRT's
//! explicit quantization needs: the clipping magnitude `t` that minimises the
//! histogram-estimated quantization MSE of `x ↦ clamp(round(x / Δ), ±q)·Δ`,
//! Δ = t / q, over every value of the histogram on both sides of zero; or the one
//! that minimises the KL divergence of the |x| distribution and its quantized
//! form (TensorRT's entropy calibration).

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

/// TensorRT's entropy calibration on |x|: the histogram is folded onto
/// `[0, max |x|]` in bins of its own width (so no |x| bin is left empty by the
/// folding: a signed value's 2048 bins give about 1024); for every candidate threshold bin
/// `i ≥ 2^(b−1)`, the reference distribution is the first `i` bins with
/// everything beyond added to the last, and its quantized form merges those `i`
/// bins into `2^(b−1)` levels, each spread back evenly over its non-empty bins.
/// The threshold with the least KL(reference ‖ quantized) wins (the first on ties).
/// The zero bin is levelled to its neighbour first (see the body).
pub fn symmetric_entropy(h: &Histogram, bits: u8) -> f32 {
    let levels = 1usize << (bits - 1);
    let amax = f64::from(h.lo().abs().max(h.hi().abs()));
    if amax <= 0.0 {
        return 0.0;
    }
    let w = h.bin_width();
    let abs_bins = ((amax / w).ceil() as usize).clamp(levels + 1, 4096);
    let mut abs = vec![0f64; abs_bins];
    for (i, &c) in h.counts().iter().enumerate() {
        if c > 0 {
            let x = (h.edge(i) + w / 2.0).abs();
            let b = ((x / amax) * abs_bins as f64) as usize;
            abs[b.min(abs_bins - 1)] += c as f64;
        }
    }
    // The first bin holds the exact zeros (half of every ReLU output): left as
    // they are, that spike dominates the divergence and drives the threshold
    // far into the tail's start. Like TensorRT's calibrators, it is levelled to
    // its neighbour.
    abs[0] = abs[1];
    let mut best = (f64::INFINITY, abs_bins);
    let mut p = vec![0f64; abs_bins];
    let mut q = vec![0f64; abs_bins];
    for i in levels..=abs_bins {
        p[..i].copy_from_slice(&abs[..i]);
        p[i - 1] += abs[i..].iter().sum::<f64>();
        // Quantize abs[..i] (without the folded outliers) into `levels` groups.
        let per = i as f64 / levels as f64;
        for j in 0..levels {
            let start = (j as f64 * per) as usize;
            let end = if j + 1 == levels {
                i
            } else {
                ((j + 1) as f64 * per) as usize
            };
            let group = &abs[start..end];
            let total: f64 = group.iter().sum();
            let nonzero = group.iter().filter(|&&c| c > 0.0).count();
            for (k, &c) in group.iter().enumerate() {
                q[start + k] = if c > 0.0 { total / nonzero as f64 } else { 0.0 };
            }
        }
        let (ps, qs): (f64, f64) = (p[..i].iter().sum(), q[..i].iter().sum());
        if ps <= 0.0 || qs <= 0.0 {
            continue;
        }
        let mut kl = 0.0;
        for k in 0..i {
            if p[k] > 0.0 {
                let pk = p[k] / ps;
                // A reference bin the quantized form left empty: smoothed, as
                // TensorRT's calibrator does, rather than an infinite divergence.
                let qk = (q[k] / qs).max(1e-10);
                kl += pk * (pk / qk).ln();
            }
        }
        if kl < best.0 {
            best = (kl, i);
        }
    }
    ((best.1 as f64 + 0.5) * amax / abs_bins as f64).min(amax) as f32
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

    /// Entropy clips a heavy tail too, and keeps a uniform value's range.
    #[test]
    fn entropy_clips_tails_and_keeps_uniform_ranges() {
        let mut rng = fastrand::Rng::with_seed(9);
        let xs: Vec<f32> = (0..200_000)
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
        let t = symmetric_entropy(&h, 8);
        assert!(t > 2.0 && t < 0.9 * amax, "{t} of {amax}");
        let mut u = Histogram::new(-1.0, 1.0, 2048);
        u.add(
            &(0..20_001)
                .map(|i| i as f32 / 10_000.0 - 1.0)
                .collect::<Vec<_>>(),
        );
        let t = symmetric_entropy(&u, 8);
        assert!(t > 0.9, "{t}");
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
