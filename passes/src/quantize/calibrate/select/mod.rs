//! Choosing a clipping range from an observer's statistics: min-max and `auto`
//! here, the histogram methods one per file.
//!
//! Every histogram method answers with bin edges `(i, j)`, the range
//! `[edge(i), edge(j)]`, with `i <= z < j` where `z` is the bin holding 0: the
//! histogram interval contains 0 (see [`Observer::start_histogram`]), so every
//! candidate range does too, as asymmetric quantization needs.

mod entropy;
mod mse;
mod percentile;
mod simulate;
mod symmetric;

pub use simulate::{asymmetric_params, simulated_mse};
pub use symmetric::{symmetric_entropy, symmetric_mse};

use super::{CalibError, CalibMethod, Histogram, Observer};

/// A chosen range and the method that chose it (under `auto`, the winning candidate).
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct Selected {
    pub range: (f32, f32),
    pub method: CalibMethod,
}

/// The `bits` calibration accepts: 2 to 16.
pub(crate) fn check_bits(bits: u8) -> Result<(), CalibError> {
    if (2..=16).contains(&bits) {
        Ok(())
    } else {
        Err(CalibError::Options(format!(
            "bits must be 2 to 16, got {bits}"
        )))
    }
}

/// The clipping range `method` chooses for a value quantized asymmetrically to
/// `bits` bits; `None` when the value had no finite element. Every method but
/// min-max needs the histogram pass.
pub fn select_range(
    obs: &Observer,
    method: CalibMethod,
    bits: u8,
) -> Result<Option<Selected>, CalibError> {
    check_bits(bits)?;
    let Some(minmax) = minmax(obs) else {
        return Ok(None);
    };
    if method == CalibMethod::MinMax {
        return Ok(Some(Selected {
            range: minmax,
            method,
        }));
    }
    let h = obs.histogram().ok_or(CalibError::NoHistogram { method })?;
    // All elements were 0: nothing to choose (and no bin width to work with).
    if h.lo() == h.hi() {
        return Ok(Some(Selected {
            range: minmax,
            method,
        }));
    }
    let edges = match method {
        CalibMethod::MinMax => {
            return Ok(Some(Selected {
                range: minmax,
                method,
            }))
        }
        CalibMethod::Percentile(p) => {
            if !(p > 0.0 && p <= 100.0) {
                return Err(CalibError::Options(format!(
                    "percentile must be in (0, 100], got {p}"
                )));
            }
            Some(percentile::percentile(h, p))
        }
        CalibMethod::Mse => Some(mse::mse(h, obs.zeros(), bits)),
        CalibMethod::Entropy => entropy::entropy(h, bits),
        CalibMethod::Auto => return auto(obs, bits).map(Some),
    };
    let range = edges.map_or(minmax, |(i, j)| to_range(h, i, j));
    Ok(Some(Selected { range, method }))
}

/// Min-max: the observed `[min, max]` widened to contain 0. No histogram
/// needed, nothing clipped.
pub fn minmax(obs: &Observer) -> Option<(f32, f32)> {
    obs.zero_range()
}

/// Auto: every method of [`CalibMethod::AUTO_CANDIDATES`] proposes a range and
/// the one with the lowest [`simulated_mse`] wins (the first on ties). The
/// simulation quantizes the histogram with the range's real scale and zero
/// point rather than reusing the `mse` method's Δ²/12 model, so `mse` does not
/// win by construction; by construction `auto` is at least as good as every
/// candidate on this metric, for every value.
fn auto(obs: &Observer, bits: u8) -> Result<Selected, CalibError> {
    let h = obs.histogram().ok_or(CalibError::NoHistogram {
        method: CalibMethod::Auto,
    })?;
    let mut best: Option<(f64, Selected)> = None;
    for method in CalibMethod::AUTO_CANDIDATES {
        let Some(s) = select_range(obs, method, bits)? else {
            continue;
        };
        let err = simulated_mse(h, obs.zeros(), s.range, bits);
        if best.as_ref().is_none_or(|(e, _)| err < *e) {
            best = Some((err, s));
        }
    }
    best.map(|(_, s)| s).ok_or(CalibError::NoHistogram {
        method: CalibMethod::Auto,
    })
}

/// The bin holding 0.
fn zero_bin(h: &Histogram) -> usize {
    h.bin_of(0.0)
}

/// Range `[edge(i), edge(j)]`, kept inside the histogram interval and around 0
/// against rounding.
fn to_range(h: &Histogram, i: usize, j: usize) -> (f32, f32) {
    let a = (h.edge(i) as f32).clamp(h.lo(), 0.0);
    let b = (h.edge(j) as f32).clamp(0.0, h.hi());
    (a, b)
}
