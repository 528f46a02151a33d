//! The fidelity floor a quantized model must hold against its float model:
//! top-1 agreement (where output 0 holds class scores, see
//! [`crate::metrics::classes_of`]) and SQNR over all outputs, and how many
//! float islands may be raised to hold it. Parsed from
//! `agreement=A,sqnr=DB,raises=N` or `none`.

use crate::metrics::Fidelity;

/// The least fidelity a compile may write. `None` fields are not checked.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FidelityFloor {
    /// Least top-1 agreement with the float model (0..=1), checked only when
    /// output 0 holds one score vector per sample (`[b, C]` or
    /// `[b, 1, ..., 1, C]`, C ≥ 2): elsewhere top-1 means nothing.
    pub agreement: Option<f64>,
    /// Least SQNR against the float model, in dB, over every output.
    pub sqnr_db: Option<f64>,
    /// Most float islands raised to hold the floor (`None`:
    /// [`DEFAULT_MAX_RAISES`]); 0 fails at once where int8 misses it.
    pub max_raises: Option<usize>,
}

/// Float islands raised at most unless `raises=N` says otherwise: past this
/// many the model is no longer int8 with a few float islands, and each
/// raise costs a full measurement.
pub const DEFAULT_MAX_RAISES: usize = 16;

impl FidelityFloor {
    /// The default: 98 % top-1 agreement and 20 dB SQNR.
    pub const DEFAULT: FidelityFloor = FidelityFloor {
        agreement: Some(0.98),
        sqnr_db: Some(20.0),
        max_raises: None,
    };

    /// No floor: every fidelity passes.
    pub const NONE: FidelityFloor = FidelityFloor {
        agreement: None,
        sqnr_db: None,
        max_raises: None,
    };

    /// The most float islands that may be raised.
    pub fn raises(&self) -> usize {
        self.max_raises.unwrap_or(DEFAULT_MAX_RAISES)
    }

    pub fn is_none(&self) -> bool {
        self.agreement.is_none() && self.sqnr_db.is_none()
    }

    /// Whether `f` holds the floor.
    pub fn holds(&self, f: &Fidelity) -> bool {
        self.misses(f).is_empty()
    }

    /// What `f` misses, one phrase per criterion (empty when it holds).
    pub fn misses(&self, f: &Fidelity) -> Vec<String> {
        let mut out = Vec::new();
        if let (Some(min), Some(a)) = (self.agreement, f.agreement) {
            if a.is_nan() || a < min {
                out.push(format!("top-1 agreement {a:.4} < {min}"));
            }
        }
        if let Some(min) = self.sqnr_db {
            // A NaN SQNR (NaN outputs) never holds.
            if f.sqnr_db.is_nan() || f.sqnr_db < min {
                out.push(format!("SQNR {:.2} dB < {min} dB", f.sqnr_db));
            }
        }
        out
    }
}

impl Default for FidelityFloor {
    fn default() -> Self {
        FidelityFloor::DEFAULT
    }
}

impl std::fmt::Display for FidelityFloor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_none() {
            return f.write_str("none");
        }
        let mut parts = Vec::new();
        if let Some(a) = self.agreement {
            parts.push(format!("agreement={a}"));
        }
        if let Some(s) = self.sqnr_db {
            parts.push(format!("sqnr={s}"));
        }
        if let Some(n) = self.max_raises {
            parts.push(format!("raises={n}"));
        }
        f.write_str(&parts.join(","))
    }
}

impl std::str::FromStr for FidelityFloor {
    type Err = String;

    /// `none`, or comma-separated `agreement=A` (0..=1), `sqnr=DB` and
    /// `raises=N`; a criterion left out is not checked.
    fn from_str(s: &str) -> Result<FidelityFloor, String> {
        let s = s.trim();
        if s == "none" {
            return Ok(FidelityFloor::NONE);
        }
        let mut floor = FidelityFloor::NONE;
        for part in s.split(',') {
            let (key, value) = part.split_once('=').ok_or_else(|| {
                format!("`{part}` is not KEY=VALUE (agreement=A, sqnr=DB, raises=N, or `none`)")
            })?;
            if key.trim() == "raises" {
                let n: usize = value.trim().parse().map_err(|_| {
                    format!("`{value}` of `raises` is not a count of float islands (0, 1, 2, ...)")
                })?;
                if floor.max_raises.replace(n).is_some() {
                    return Err("`raises` is given twice".into());
                }
                continue;
            }
            let x: f64 = value
                .trim()
                .parse()
                .ok()
                .filter(|x: &f64| x.is_finite())
                .ok_or_else(|| format!("`{value}` of `{key}` is not a finite number"))?;
            let slot = match key.trim() {
                "agreement" => {
                    if !(0.0..=1.0).contains(&x) {
                        return Err(format!(
                            "agreement={x}: a fraction from 0 to 1 (0.98 is 98 %)"
                        ));
                    }
                    &mut floor.agreement
                }
                "sqnr" => &mut floor.sqnr_db,
                other => {
                    return Err(format!(
                        "unknown key `{other}` (expected agreement, sqnr, raises, or `none`)"
                    ))
                }
            };
            if slot.replace(x).is_some() {
                return Err(format!("`{}` is given twice", key.trim()));
            }
        }
        Ok(floor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fid(agreement: Option<f64>, sqnr_db: f64) -> Fidelity {
        Fidelity {
            samples: 8,
            agreement,
            sqnr_db,
            max_abs_error: 0.0,
        }
    }

    #[test]
    fn parses_specs_and_rejects_bad_ones() {
        assert_eq!("none".parse(), Ok(FidelityFloor::NONE));
        assert_eq!(
            "agreement=0.95,sqnr=25".parse(),
            Ok(FidelityFloor {
                agreement: Some(0.95),
                sqnr_db: Some(25.0),
                max_raises: None,
            })
        );
        assert_eq!(
            "sqnr=30".parse(),
            Ok(FidelityFloor {
                agreement: None,
                sqnr_db: Some(30.0),
                max_raises: None,
            })
        );
        let capped: FidelityFloor = "sqnr=30,raises=0".parse().unwrap();
        assert_eq!(
            (capped.raises(), capped.to_string().parse()),
            (0, Ok(capped))
        );
        assert_eq!(FidelityFloor::DEFAULT.raises(), DEFAULT_MAX_RAISES);
        for (bad, why) in [
            ("agreement=95", "fraction"),
            ("sqnr=loud", "finite number"),
            ("sqnr=inf", "finite number"),
            ("psnr=3", "unknown key"),
            ("sqnr", "KEY=VALUE"),
            ("sqnr=1,sqnr=2", "twice"),
            ("raises=-1", "count of float islands"),
            ("raises=1,raises=2", "twice"),
        ] {
            let e = bad.parse::<FidelityFloor>().unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
        let d = FidelityFloor::DEFAULT;
        assert_eq!(d.to_string().parse(), Ok(d));
        assert_eq!(FidelityFloor::NONE.to_string(), "none");
    }

    #[test]
    fn checks_each_criterion_where_it_applies() {
        let d = FidelityFloor::DEFAULT;
        assert!(d.holds(&fid(Some(0.99), 25.0)));
        assert!(d.holds(&fid(Some(0.98), 20.0)), "the floor itself holds");
        assert_eq!(d.misses(&fid(Some(0.45), 2.6)).len(), 2);
        assert!(d.misses(&fid(Some(0.97), 30.0))[0].contains("agreement"));
        // No class scores: only SQNR is checked.
        assert!(d.holds(&fid(None, 21.0)));
        assert!(!d.holds(&fid(None, 19.9)));
        assert!(!d.holds(&fid(None, f64::NAN)));
        assert!(d.holds(&fid(Some(1.0), f64::INFINITY)));
        assert!(FidelityFloor::NONE.holds(&fid(Some(0.0), -10.0)));
    }
}
