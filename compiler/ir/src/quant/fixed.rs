//! Fixed-point requantization, exactly as TFLite defines it.
//!
//! A real multiplier `real > 0` is stored as a Q0.31 significand `m` in
//! `[2^30, 2^31)` and a power-of-two exponent `shift`, `real ≈ m · 2^(shift − 31)`
//! ([`quantize_multiplier`]). Applying it to an `i32` ([`multiply_by_quantized_multiplier`])
//! is integer-only and comes in two [`Rounding`] modes:
//!
//! * [`Rounding::Gemmlowp`] (the default; what LiteRT builds by default):
//!   `RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x · 2^max(shift, 0), m), max(−shift, 0))`,
//!   where `x · 2^left` wraps in 32 bits. Two roundings: the high multiply rounds to
//!   nearest with ties toward +∞ (`floor(2ab / 2^32 + 1/2)`, saturating the one
//!   overflow `i32::MIN · i32::MIN`), the divide rounds to nearest with ties away
//!   from zero.
//! * [`Rounding::Single`] (TFLite built with `TFLITE_SINGLE_ROUNDING`): with
//!   `total = 31 − shift`, `(x · m + 2^(total − 1)) >> total` in 64-bit, arithmetic
//!   shift (so ties round toward +∞), saturated to `i32`.

use std::fmt;
use std::str::FromStr;

/// How [`multiply_by_quantized_multiplier`] rounds. One named setting shared by the
/// interpreter and every target.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum Rounding {
    /// gemmlowp's double rounding (SaturatingRoundingDoublingHighMul, then
    /// RoundingDivideByPOT): TFLite's default reference kernels.
    #[default]
    Gemmlowp,
    /// TFLite's single rounding in 64-bit arithmetic (`TFLITE_SINGLE_ROUNDING`).
    Single,
}

impl Rounding {
    /// Every mode, in a fixed order.
    pub const ALL: [Rounding; 2] = [Rounding::Gemmlowp, Rounding::Single];

    /// The mode's name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Rounding::Gemmlowp => "gemmlowp",
            Rounding::Single => "single",
        }
    }
}

impl fmt::Display for Rounding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A rounding name that is neither `gemmlowp` nor `single`.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("unknown rounding mode `{0}` (expected `gemmlowp` or `single`)")]
pub struct UnknownRounding(pub String);

impl FromStr for Rounding {
    type Err = UnknownRounding;
    fn from_str(s: &str) -> Result<Rounding, UnknownRounding> {
        Rounding::ALL
            .into_iter()
            .find(|r| r.name() == s)
            .ok_or_else(|| UnknownRounding(s.to_string()))
    }
}

/// C's `frexp` for finite non-zero `x`: `(q, e)` with `x = q · 2^e`, `|q|` in `[0.5, 1)`.
fn frexp(x: f64) -> (f64, i32) {
    let bits = x.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    if exp == 0 {
        // Subnormal: scale into the normal range first (exact, a power of two).
        let (q, e) = frexp(x * f64::from_bits(0x4350_0000_0000_0000)); // 2^54
        return (q, e - 54);
    }
    let q = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    (q, exp - 1022)
}

/// TFLite's `QuantizeMultiplier`: `real ≈ m · 2^(shift − 31)` with `m` a Q0.31
/// significand.
///
/// `(q, e) = frexp(real)`, `m = round(q · 2^31)` rounding half away from zero; if
/// that gives `2^31`, halve it and add one to `e`. Then `shift = e`, except that
/// `shift < −31` (a multiplier below about `2^−32`) flushes to `(0, 0)` and
/// `shift > 30` saturates to `(2^31 − 1, 30)`, so both [`Rounding`] modes always
/// see `shift` in `[−31, 30]`. Zero and non-finite inputs give `(0, 0)`; a negative
/// `real` gives a negative `m` (pare's kernels only pass positive multipliers).
pub fn quantize_multiplier(real: f64) -> (i32, i32) {
    if real == 0.0 || !real.is_finite() {
        return (0, 0);
    }
    let (q, mut shift) = frexp(real);
    // q · 2^31 is exact (a power-of-two scaling); `round` is half away from zero.
    let mut q_fixed = (q * 2_147_483_648.0).round() as i64;
    if q_fixed.abs() == 1 << 31 {
        q_fixed /= 2;
        shift += 1;
    }
    if shift < -31 {
        return (0, 0);
    }
    if shift > 30 {
        let m = if q_fixed < 0 { -i32::MAX } else { i32::MAX };
        return (m, 30);
    }
    (q_fixed as i32, shift)
}

/// gemmlowp's `SaturatingRoundingDoublingHighMul`: `2·a·b / 2^32` rounded to nearest,
/// ties toward +∞ (the nudge is `2^30` for a non-negative product and `1 − 2^30`
/// for a negative one, then C's truncating division); `i32::MIN · i32::MIN`
/// saturates to `i32::MAX`.
pub fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    let ab = i64::from(a) * i64::from(b);
    let nudge: i64 = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
    // Division truncates toward zero, as in C.
    ((ab + nudge) / (1i64 << 31)) as i32
}

/// gemmlowp's `RoundingDivideByPOT`: `x / 2^exponent` rounded to nearest, ties away
/// from zero, for `exponent` in `[0, 31]` (clamped to that range).
pub fn rounding_divide_by_pot(x: i32, exponent: i32) -> i32 {
    let e = exponent.clamp(0, 31);
    let mask = ((1i64 << e) - 1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + i32::from(x < 0);
    (x >> e) + i32::from(remainder > threshold)
}

/// TFLite's `MultiplyByQuantizedMultiplier(x, m, shift)`: `x · m · 2^(shift − 31)`
/// rounded as [`Rounding`] says (see the module docs for the exact formulas).
/// `shift` is clamped to `[−31, 30]`, the range [`quantize_multiplier`] produces.
pub fn multiply_by_quantized_multiplier(x: i32, m: i32, shift: i32, r: Rounding) -> i32 {
    let shift = shift.clamp(-31, 30);
    match r {
        Rounding::Gemmlowp => {
            let left = shift.max(0);
            let right = (-shift).max(0);
            // C computes x * (1 << left) in int32; overflow there wraps on every target.
            let shifted = x.wrapping_mul(1i32 << left);
            rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, m), right)
        }
        Rounding::Single => {
            let total = 31 - shift; // 1..=62
            let round = 1i64 << (total - 1);
            // |x·m| < 2^62 and round <= 2^61: no i64 overflow.
            let v = (i64::from(x) * i64::from(m) + round) >> total;
            v.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
        }
    }
}
