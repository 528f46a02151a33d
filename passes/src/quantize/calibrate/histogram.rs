//! A fixed-size histogram over a fixed real interval: the bounded-memory summary
//! that calibration keeps for each observed value.

/// Counts of values in `bins` equal-width bins over `[lo, hi]`. The interval is
/// fixed when the histogram is made (from the first calibration pass), so no
/// value is ever stored: values outside it clamp into the edge bins.
#[derive(Clone, PartialEq, Debug)]
pub struct Histogram {
    lo: f32,
    hi: f32,
    counts: Vec<u64>,
    /// Bins per unit of value, precomputed for the hot loop (0 when `lo == hi`).
    per_unit: f64,
}

impl Histogram {
    /// An empty histogram of `bins` bins over `[lo, hi]`; `lo <= hi` finite and
    /// `bins >= 1` are the caller's to ensure (the observer and tests do).
    pub(crate) fn new(lo: f32, hi: f32, bins: usize) -> Histogram {
        let width = f64::from(hi) - f64::from(lo);
        Histogram {
            lo,
            hi,
            counts: vec![0; bins.max(1)],
            per_unit: if width > 0.0 {
                bins.max(1) as f64 / width
            } else {
                0.0
            },
        }
    }

    /// Lower end of the interval.
    pub fn lo(&self) -> f32 {
        self.lo
    }

    /// Upper end of the interval.
    pub fn hi(&self) -> f32 {
        self.hi
    }

    /// Number of bins.
    pub fn bins(&self) -> usize {
        self.counts.len()
    }

    /// The count in each bin, lowest first.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// Sum of all counts.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Width of one bin (0 for a degenerate interval).
    pub fn bin_width(&self) -> f64 {
        (f64::from(self.hi) - f64::from(self.lo)) / self.bins() as f64
    }

    /// Edge `i` of the bins (`0..=bins`): `lo` and `hi` exactly at the ends, so
    /// a range made of the outer edges is exactly the observed one.
    pub fn edge(&self, i: usize) -> f64 {
        if i == 0 {
            f64::from(self.lo)
        } else if i >= self.bins() {
            f64::from(self.hi)
        } else {
            f64::from(self.lo) + self.bin_width() * i as f64
        }
    }

    /// The bin `x` falls into, clamping values outside the interval (and every
    /// value of a degenerate interval) into the edge bins.
    pub fn bin_of(&self, x: f32) -> usize {
        let t = (f64::from(x) - f64::from(self.lo)) * self.per_unit;
        if t <= 0.0 {
            0
        } else {
            (t as usize).min(self.bins() - 1)
        }
    }

    /// Adds every finite value of `xs` and returns how many there were.
    pub(crate) fn add(&mut self, xs: &[f32]) -> u64 {
        let mut added = 0;
        for &x in xs {
            if x.is_finite() {
                let b = self.bin_of(x);
                self.counts[b] += 1;
                added += 1;
            }
        }
        added
    }

    /// Heap bytes this histogram holds (for the bounded-memory check).
    pub fn heap_bytes(&self) -> usize {
        self.counts.capacity() * std::mem::size_of::<u64>()
    }
}
