//! The per-value streaming observer: count, min, max and exact zeros from the
//! first pass over the data, a fixed-size histogram from the second.
//!
//! Two passes let the histogram use a fixed interval (the observed `[min, max]`
//! widened to contain 0) without storing any activation: memory is
//! `O(bins)` per value whatever the number of samples.

use super::Histogram;

/// What calibration knows about one value. Non-finite elements (NaN, ±inf) are
/// counted but excluded from everything else: they have no meaningful range.
#[derive(Clone, PartialEq, Debug)]
pub struct Observer {
    count: u64,
    non_finite: u64,
    zeros: u64,
    min: f32,
    max: f32,
    hist: Option<Histogram>,
    /// Finite values the histogram pass saw, to check the data did not change.
    hist_count: u64,
}

impl Default for Observer {
    fn default() -> Observer {
        Observer::new()
    }
}

impl Observer {
    /// An observer that has seen nothing.
    pub fn new() -> Observer {
        Observer {
            count: 0,
            non_finite: 0,
            zeros: 0,
            min: f32::INFINITY,
            max: f32::NEG_INFINITY,
            hist: None,
            hist_count: 0,
        }
    }

    /// Pass 1: folds `xs` into the count, min, max and zero count.
    pub fn record_range(&mut self, xs: &[f32]) {
        for &x in xs {
            if !x.is_finite() {
                self.non_finite += 1;
                continue;
            }
            self.count += 1;
            if x == 0.0 {
                self.zeros += 1;
            }
            // Plain comparisons (not f32::min) so the result is the same
            // whatever the batch split: min/max of finite values is associative.
            if x < self.min {
                self.min = x;
            }
            if x > self.max {
                self.max = x;
            }
        }
    }

    /// Between the passes: allocates a histogram of `bins` bins over the
    /// observed range widened to contain 0 (every quantization range does, so
    /// this interval holds every candidate clipping range). Nothing happens for
    /// a value with no finite element.
    pub fn start_histogram(&mut self, bins: usize) {
        if let Some((lo, hi)) = self.zero_range() {
            self.hist = Some(Histogram::new(lo, hi, bins));
            self.hist_count = 0;
        }
    }

    /// Pass 2: adds `xs` to the histogram (a no-op before [`Self::start_histogram`]).
    pub fn record_histogram(&mut self, xs: &[f32]) {
        if let Some(h) = &mut self.hist {
            self.hist_count += h.add(xs);
        }
    }

    /// Finite elements seen in pass 1.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// NaN and infinite elements seen in pass 1 (ignored by every range).
    pub fn non_finite(&self) -> u64 {
        self.non_finite
    }

    /// Elements exactly 0 seen in pass 1. They quantize without error (the zero
    /// point is exact), which the MSE estimates use.
    pub fn zeros(&self) -> u64 {
        self.zeros
    }

    /// Smallest finite element, if any.
    pub fn min(&self) -> Option<f32> {
        (self.count > 0).then_some(self.min)
    }

    /// Largest finite element, if any.
    pub fn max(&self) -> Option<f32> {
        (self.count > 0).then_some(self.max)
    }

    /// `[min(min, 0), max(max, 0)]`: the min-max quantization range.
    pub fn zero_range(&self) -> Option<(f32, f32)> {
        (self.count > 0).then(|| (self.min.min(0.0), self.max.max(0.0)))
    }

    /// The histogram, once pass 2 has started.
    pub fn histogram(&self) -> Option<&Histogram> {
        self.hist.as_ref()
    }

    /// Finite elements seen in pass 2 (equal to [`Self::count`] when the data
    /// was the same in both passes).
    pub fn histogram_count(&self) -> u64 {
        self.hist_count
    }

    /// Bytes this observer occupies, inline and on the heap: independent of the
    /// number of samples, which is the point.
    pub fn state_bytes(&self) -> usize {
        std::mem::size_of::<Observer>() + self.hist.as_ref().map_or(0, Histogram::heap_bytes)
    }
}
