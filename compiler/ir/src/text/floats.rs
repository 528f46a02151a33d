//! Exact float text for the textual IR: shortest round-trip decimals, hex floats
//! (`0x1.8p-3`), `inf`/`-inf`, and `nan` with an optional bit pattern.
//!
//! Every printed float parses back to the same bits. Decimals are Rust's shortest
//! round-trip form (`{:?}`), which is exact for the width it was printed at; hex floats
//! are exact f64 values; NaNs other than the canonical quiet NaN carry their bits
//! (`nan(0x7fc00001)`), at the width of the context (16, 32 or 64 bits).

use half::f16;

/// A float literal as written, converted once its context (element type) is known.
#[derive(Clone, Copy, PartialEq, Debug)]
pub(crate) enum FloatLit<'a> {
    /// Decimal text such as `0.1`, `-3.0` or `1e-5`.
    Dec(&'a str),
    /// A hex float, already decoded exactly.
    Hex(f64),
    Inf {
        neg: bool,
    },
    /// `nan` (canonical quiet NaN) or `nan(0x...)` with explicit bits.
    Nan {
        neg: bool,
        bits: Option<u64>,
    },
}

/// `f32` as text that parses back bit-exactly.
pub(crate) fn fmt_f32(x: f32) -> String {
    if x.is_nan() {
        if x.to_bits() == f32::NAN.to_bits() {
            "nan".to_string()
        } else {
            format!("nan(0x{:08x})", x.to_bits())
        }
    } else if x.is_infinite() {
        inf_text(x < 0.0)
    } else {
        // Debug is the shortest decimal that round-trips and always shows a `.` or `e`.
        format!("{x:?}")
    }
}

/// `f64` element (of an f64 tensor) as text that parses back bit-exactly as f64.
pub(crate) fn fmt_f64(x: f64) -> String {
    if x.is_nan() {
        if x.to_bits() == f64::NAN.to_bits() {
            "nan".to_string()
        } else {
            format!("nan(0x{:016x})", x.to_bits())
        }
    } else if x.is_infinite() {
        inf_text(x < 0.0)
    } else {
        format!("{x:?}")
    }
}

/// `f16` as text: the shortest decimal of its exact f32 widening.
pub(crate) fn fmt_f16(x: f16) -> String {
    if x.is_nan() {
        if x.to_bits() == f16::NAN.to_bits() {
            "nan".to_string()
        } else {
            format!("nan(0x{:04x})", x.to_bits())
        }
    } else {
        fmt_f32(x.to_f32())
    }
}

/// A scalar float attribute (`Attr::Float`, an f64).
///
/// Op fields are almost all f32 (as ONNX attributes are), so a value that is exactly
/// an f32 prints as that f32's shortest decimal and decimals parse as f32. Any other
/// f64 prints as a hex float, which parses exactly as f64. This keeps `epsilon=1e-5`
/// readable without making f64 fields lossy.
pub(crate) fn fmt_attr_float(v: f64) -> String {
    if v.is_nan() {
        if v.to_bits() == f64::NAN.to_bits() {
            "nan".to_string()
        } else {
            format!("nan(0x{:016x})", v.to_bits())
        }
    } else if v.is_infinite() {
        inf_text(v < 0.0)
    } else {
        let f = v as f32;
        if (f as f64).to_bits() == v.to_bits() {
            format!("{f:?}")
        } else {
            hex_f64(v)
        }
    }
}

fn inf_text(neg: bool) -> String {
    if neg { "-inf" } else { "inf" }.to_string()
}

/// Exact hex form of an f64: `0x1.8p-3`, `-0x1p0`, `0x0p0` (subnormals are normalized).
pub(crate) fn hex_f64(v: f64) -> String {
    let bits = v.to_bits();
    let sign = if bits >> 63 != 0 { "-" } else { "" };
    let exp = ((bits >> 52) & 0x7ff) as i64;
    let frac = bits & ((1u64 << 52) - 1);
    // value = m * 2^e
    let (m, e) = if exp == 0 {
        (frac, -1074)
    } else {
        (frac | (1u64 << 52), exp - 1075)
    };
    if m == 0 {
        return format!("{sign}0x0p0");
    }
    let lead = 63 - m.leading_zeros() as i64; // bit index of the leading 1
    let rest = m & ((1u64 << lead) - 1);
    let pad = (4 - lead % 4) % 4;
    let ndigits = ((lead + pad) / 4) as usize;
    let digits = if ndigits == 0 {
        String::new()
    } else {
        format!("{:0width$x}", rest << pad, width = ndigits)
    };
    let digits = digits.trim_end_matches('0');
    let p = e + lead;
    if digits.is_empty() {
        format!("{sign}0x1p{p}")
    } else {
        format!("{sign}0x1.{digits}p{p}")
    }
}

/// Decodes a hex float (`[-]0x<hex>[.<hex>]p[+-]<dec>`) exactly; values that an f64
/// cannot hold exactly are rejected rather than rounded, since hex exists for exactness.
pub(crate) fn parse_hex_f64(text: &str) -> Result<f64, String> {
    let bad = || format!("malformed hex float `{text}`");
    let inexact = || format!("hex float `{text}` is not exactly representable as f64");
    let (neg, body) = match text.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, text),
    };
    let body = body
        .strip_prefix("0x")
        .or_else(|| body.strip_prefix("0X"))
        .ok_or_else(bad)?;
    let (mant, exp) = body.split_once(['p', 'P']).ok_or_else(bad)?;
    let (int_part, frac_part) = mant.split_once('.').unwrap_or((mant, ""));
    let all_hex = |s: &str| s.chars().all(|c| c.is_ascii_hexdigit());
    if !all_hex(int_part) || !all_hex(frac_part) || int_part.len() + frac_part.len() == 0 {
        return Err(bad());
    }
    let exp: i64 = exp.parse().map_err(|_| bad())?;
    // Exponents beyond this range cannot give a finite nonzero f64 from <= 16 digits.
    if !(-100_000..=100_000).contains(&exp) {
        return Err(inexact());
    }
    let digits: String = format!("{int_part}{frac_part}");
    let digits = digits.trim_start_matches('0');
    let trimmed = digits.trim_end_matches('0');
    let sign_bit = if neg { 1u64 << 63 } else { 0 };
    if trimmed.is_empty() {
        return Ok(f64::from_bits(sign_bit));
    }
    if trimmed.len() > 16 {
        return Err(inexact());
    }
    let mut m = u64::from_str_radix(trimmed, 16).map_err(|_| bad())?;
    let dropped = (digits.len() - trimmed.len()) as i64;
    let mut e = exp + 4 * dropped - 4 * frac_part.len() as i64;
    let tz = m.trailing_zeros();
    m >>= tz;
    e += tz as i64;
    let bitlen = 64 - m.leading_zeros() as i64;
    if bitlen > 53 {
        return Err(inexact());
    }
    let top = e + bitlen - 1;
    if top > 1023 {
        return Err(inexact());
    }
    let bits = if top >= -1022 {
        let biased = (top + 1023) as u64;
        let frac = (m << (53 - bitlen)) & ((1u64 << 52) - 1);
        (biased << 52) | frac
    } else {
        if e < -1074 {
            return Err(inexact());
        }
        m << (e + 1074)
    };
    Ok(f64::from_bits(sign_bit | bits))
}

impl FloatLit<'_> {
    /// The value as an f32 element or list entry.
    pub(crate) fn to_f32(self) -> Result<f32, String> {
        match self {
            FloatLit::Dec(s) => {
                let v: f32 = s.parse().map_err(|_| format!("malformed float `{s}`"))?;
                if v.is_infinite() {
                    return Err(format!("float `{s}` is out of range for f32"));
                }
                Ok(v)
            }
            FloatLit::Hex(v) => {
                let f = v as f32;
                if (f as f64).to_bits() != v.to_bits() {
                    return Err(format!(
                        "hex float `{}` is not exactly representable as f32",
                        hex_f64(v)
                    ));
                }
                Ok(f)
            }
            FloatLit::Inf { neg } => Ok(if neg {
                f32::NEG_INFINITY
            } else {
                f32::INFINITY
            }),
            FloatLit::Nan { neg, bits } => {
                let b = match bits {
                    Some(b) => u32::try_from(b)
                        .ok()
                        .filter(|&b| f32::from_bits(b).is_nan())
                        .ok_or_else(|| format!("nan(0x{b:x}) is not a 32-bit NaN pattern"))?,
                    None => f32::NAN.to_bits(),
                };
                Ok(f32::from_bits(if neg { b ^ (1 << 31) } else { b }))
            }
        }
    }

    /// The value as an f64 element.
    pub(crate) fn to_f64(self) -> Result<f64, String> {
        match self {
            FloatLit::Dec(s) => {
                let v: f64 = s.parse().map_err(|_| format!("malformed float `{s}`"))?;
                if v.is_infinite() {
                    return Err(format!("float `{s}` is out of range for f64"));
                }
                Ok(v)
            }
            FloatLit::Hex(v) => Ok(v),
            FloatLit::Inf { neg } => Ok(if neg {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            }),
            FloatLit::Nan { neg, bits } => nan64(neg, bits),
        }
    }

    /// The value as an f16 element (decimals are read as f32, then narrowed).
    pub(crate) fn to_f16(self) -> Result<f16, String> {
        match self {
            FloatLit::Nan { neg, bits: Some(b) } => {
                let b = u16::try_from(b)
                    .ok()
                    .filter(|&b| f16::from_bits(b).is_nan())
                    .ok_or_else(|| format!("nan(0x{b:x}) is not a 16-bit NaN pattern"))?;
                Ok(f16::from_bits(if neg { b ^ (1 << 15) } else { b }))
            }
            FloatLit::Nan { neg, bits: None } => {
                let b = f16::NAN.to_bits();
                Ok(f16::from_bits(if neg { b ^ (1 << 15) } else { b }))
            }
            other => {
                let v = other.to_f32()?;
                let h = f16::from_f32(v);
                if h.is_infinite() && !v.is_infinite() {
                    return Err(format!("float {v} is out of range for f16"));
                }
                Ok(h)
            }
        }
    }

    /// The value of a scalar float attribute: decimals are f32 (see [`fmt_attr_float`]),
    /// hex floats and NaN bits are exact f64.
    pub(crate) fn to_attr(self) -> Result<f64, String> {
        match self {
            FloatLit::Dec(_) => self.to_f32().map(f64::from),
            FloatLit::Hex(v) => Ok(v),
            FloatLit::Inf { neg } => Ok(if neg {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            }),
            FloatLit::Nan { neg, bits } => nan64(neg, bits),
        }
    }
}

fn nan64(neg: bool, bits: Option<u64>) -> Result<f64, String> {
    let b = match bits {
        Some(b) if f64::from_bits(b).is_nan() => b,
        Some(b) => return Err(format!("nan(0x{b:x}) is not a 64-bit NaN pattern")),
        None => f64::NAN.to_bits(),
    };
    Ok(f64::from_bits(if neg { b ^ (1 << 63) } else { b }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_edge_values() {
        let vals = [
            0.0,
            -0.0,
            1.0,
            -1.5,
            0.1,
            f64::MAX,
            f64::MIN_POSITIVE,
            f64::MIN_POSITIVE / 3.0,
            f64::from_bits(1),
            0.1f32 as f64,
            1e300,
            -1e-300,
        ];
        for v in vals {
            let t = hex_f64(v);
            assert_eq!(parse_hex_f64(&t).unwrap().to_bits(), v.to_bits(), "{t}");
        }
        assert_eq!(hex_f64(0.1875), "0x1.8p-3");
        assert_eq!(hex_f64(-2.0), "-0x1p1");
    }

    #[test]
    fn hex_parse_rejects_inexact_and_malformed() {
        assert!(parse_hex_f64("0x1.00000000000001p0").is_err());
        assert!(parse_hex_f64("0x1p1024").is_err());
        assert!(parse_hex_f64("0x1p-1075").is_err());
        assert!(parse_hex_f64("0x.p0").is_err());
        assert!(parse_hex_f64("0x1").is_err());
        assert!(parse_hex_f64("0x1p99999999999999999999").is_err());
        assert_eq!(parse_hex_f64("0x10p-4").unwrap(), 1.0);
        assert_eq!(parse_hex_f64("0x0.0008p0").unwrap(), 2f64.powi(-13));
    }

    #[test]
    fn attr_floats_prefer_f32_decimals() {
        assert_eq!(fmt_attr_float(1e-5f32 as f64), "1e-5");
        assert_eq!(fmt_attr_float(0.1), "0x1.999999999999ap-4");
        assert_eq!(fmt_attr_float(-0.0), "-0.0");
        assert_eq!(FloatLit::Dec("1e-5").to_attr().unwrap(), 1e-5f32 as f64);
    }
}
