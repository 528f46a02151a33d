//! The calibration methods by name: `minmax`, `percentile[:P]`, `mse`,
//! `entropy`, `auto` for activations; `minmax`, `mse` for weights.

use std::fmt;
use std::str::FromStr;

/// How an activation's clipping range is chosen from its observed statistics.
/// Each algorithm is documented in full on its function in `calibrate/select/`.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum CalibMethod {
    /// The observed `[min, max]` (widened to contain 0). One pass over the data.
    MinMax,
    /// Two-sided percentile: clips `(100 - p) / 2` % of the values off each end.
    Percentile(f64),
    /// The range minimising the histogram-estimated quantization MSE.
    Mse,
    /// The range minimising the KL divergence between the histogram and its
    /// quantized form (TensorRT's entropy calibration, adapted to asymmetric ranges).
    Entropy,
    /// Per value, the candidate of [`CalibMethod::AUTO_CANDIDATES`] whose range
    /// has the lowest simulated quantization MSE; so for every value, `auto`'s
    /// simulated MSE is ≤ that of each candidate.
    Auto,
}

impl CalibMethod {
    /// The percentile `percentile` alone means.
    pub const DEFAULT_PERCENTILE: f64 = 99.99;

    /// The methods `auto` evaluates for each value, in tie-break order (the first
    /// of equally good ranges wins, so min-max is kept when clipping buys nothing).
    pub const AUTO_CANDIDATES: [CalibMethod; 6] = [
        CalibMethod::MinMax,
        CalibMethod::Percentile(99.9),
        CalibMethod::Percentile(99.99),
        CalibMethod::Percentile(99.999),
        CalibMethod::Mse,
        CalibMethod::Entropy,
    ];

    /// Whether the method needs the histogram pass (all but min-max).
    pub fn needs_histogram(self) -> bool {
        !matches!(self, CalibMethod::MinMax)
    }
}

impl fmt::Display for CalibMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CalibMethod::MinMax => f.write_str("minmax"),
            // `{}` of an f64 is the shortest text that parses back to it.
            CalibMethod::Percentile(p) => write!(f, "percentile:{p}"),
            CalibMethod::Mse => f.write_str("mse"),
            CalibMethod::Entropy => f.write_str("entropy"),
            CalibMethod::Auto => f.write_str("auto"),
        }
    }
}

/// A method name that does not parse, with what was expected.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("unknown calibration method `{given}`: expected {expected}")]
pub struct ParseMethodError {
    pub given: String,
    pub expected: &'static str,
}

impl FromStr for CalibMethod {
    type Err = ParseMethodError;

    fn from_str(s: &str) -> Result<CalibMethod, ParseMethodError> {
        const EXPECTED: &str =
            "minmax, percentile, percentile:P (0 < P <= 100, e.g. percentile:99.9), mse, entropy or auto";
        let err = || ParseMethodError {
            given: s.to_string(),
            expected: EXPECTED,
        };
        match s {
            "minmax" => Ok(CalibMethod::MinMax),
            "percentile" => Ok(CalibMethod::Percentile(CalibMethod::DEFAULT_PERCENTILE)),
            "mse" => Ok(CalibMethod::Mse),
            "entropy" => Ok(CalibMethod::Entropy),
            "auto" => Ok(CalibMethod::Auto),
            _ => {
                let p: f64 = s
                    .strip_prefix("percentile:")
                    .and_then(|p| p.parse().ok())
                    .ok_or_else(err)?;
                if p > 0.0 && p <= 100.0 {
                    Ok(CalibMethod::Percentile(p))
                } else {
                    Err(err())
                }
            }
        }
    }
}

/// How a symmetric weight scale is chosen (see [`super::weight_scale`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum WeightMethod {
    /// `max |w| / qmax`.
    MinMax,
    /// The clipping ratio of `max |w|` with the lowest exact quantization MSE.
    Mse,
}

impl fmt::Display for WeightMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WeightMethod::MinMax => "minmax",
            WeightMethod::Mse => "mse",
        })
    }
}

impl FromStr for WeightMethod {
    type Err = ParseMethodError;

    fn from_str(s: &str) -> Result<WeightMethod, ParseMethodError> {
        match s {
            "minmax" => Ok(WeightMethod::MinMax),
            "mse" => Ok(WeightMethod::Mse),
            _ => Err(ParseMethodError {
                given: s.to_string(),
                expected: "minmax or mse",
            }),
        }
    }
}
