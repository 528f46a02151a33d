//! Typed pass options: each pass declares its options (name, type, default,
//! help); a spec's `key=value` pairs are checked against the declaration and
//! parsed once, so a pass constructor reads typed values and never a string.

use crate::PassError;
use std::collections::BTreeMap;

/// The type of an option's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptionType {
    /// `true` or `false`.
    Bool,
    /// A non-negative integer (`64`, `2000000`).
    Int,
    /// A finite number (`0.05`, `1e-4`).
    Float,
    /// One of the listed words.
    Choice(&'static [&'static str]),
    /// A data source: `FILE.npz[:KEY]`, `FILE.npz:IN=KEY;...`, `FILE.npy`,
    /// `DIR/` or `random:N:SEED[:normal]`.
    Data,
    /// Inputs held at fixed values: `NAME=zeros|ones|NUMBER|FILE;...`.
    Fixed,
    /// Node names separated by `;` (a spec splits options at commas).
    Names,
}

impl OptionType {
    /// The type as `--list` prints it.
    pub fn describe(self) -> String {
        match self {
            OptionType::Bool => "bool".into(),
            OptionType::Int => "int".into(),
            OptionType::Float => "float".into(),
            OptionType::Choice(words) => words.join("|"),
            OptionType::Data => "data".into(),
            OptionType::Fixed => "fixed inputs".into(),
            OptionType::Names => "names".into(),
        }
    }
}

/// One declared option.
#[derive(Clone, Copy, Debug)]
pub struct OptionSpec {
    pub name: &'static str,
    pub ty: OptionType,
    /// The default as it would be written; `None`: no default (the pass says
    /// when it needs the option).
    pub default: Option<&'static str>,
    pub help: &'static str,
}

/// A parsed option value.
#[derive(Clone, Debug, PartialEq)]
pub enum OptionValue {
    Bool(bool),
    Int(u64),
    Float(f64),
    Word(&'static str),
    Text(String),
}

/// A pass's options after parsing: every declared option with a default or a
/// given value, typed.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pass: &'static str,
    values: BTreeMap<&'static str, OptionValue>,
}

impl Options {
    /// Checks `args` against `decl` and parses them; unknown keys and bad
    /// values are errors that list what is accepted.
    pub fn parse(
        pass: &'static str,
        decl: &'static [OptionSpec],
        args: &[(String, String)],
    ) -> Result<Options, PassError> {
        let mut values = BTreeMap::new();
        for o in decl {
            if let Some(d) = o.default {
                values.insert(o.name, parse_value(pass, o, d)?);
            }
        }
        for (k, v) in args {
            let Some(o) = decl.iter().find(|o| o.name == k) else {
                return Err(PassError::UnknownOption {
                    pass: pass.to_string(),
                    option: k.clone(),
                    known: if decl.is_empty() {
                        "none".into()
                    } else {
                        decl.iter().map(|o| o.name).collect::<Vec<_>>().join(", ")
                    },
                });
            };
            values.insert(o.name, parse_value(pass, o, v)?);
        }
        Ok(Options { pass, values })
    }

    fn missing(&self, name: &str) -> PassError {
        PassError::Config {
            pass: self.pass,
            msg: format!("option `{name}` is required (it has no default)"),
        }
    }

    /// The pass these options belong to.
    pub fn pass(&self) -> &'static str {
        self.pass
    }

    pub fn is_set(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    pub fn bool(&self, name: &str) -> Result<bool, PassError> {
        match self.values.get(name) {
            Some(OptionValue::Bool(b)) => Ok(*b),
            _ => Err(self.missing(name)),
        }
    }

    pub fn int(&self, name: &str) -> Result<u64, PassError> {
        match self.values.get(name) {
            Some(OptionValue::Int(n)) => Ok(*n),
            _ => Err(self.missing(name)),
        }
    }

    /// An `Int` option as a count (`usize`).
    pub fn count(&self, name: &str) -> Result<usize, PassError> {
        let n = self.int(name)?;
        usize::try_from(n).map_err(|_| PassError::BadOption {
            pass: self.pass.to_string(),
            option: name.to_string(),
            value: n.to_string(),
            expected: "a count that fits this machine".into(),
        })
    }

    pub fn int_opt(&self, name: &str) -> Option<u64> {
        match self.values.get(name) {
            Some(OptionValue::Int(n)) => Some(*n),
            _ => None,
        }
    }

    pub fn float(&self, name: &str) -> Result<f64, PassError> {
        match self.values.get(name) {
            Some(OptionValue::Float(x)) => Ok(*x),
            _ => Err(self.missing(name)),
        }
    }

    pub fn word(&self, name: &str) -> Result<&'static str, PassError> {
        match self.values.get(name) {
            Some(OptionValue::Word(w)) => Ok(w),
            _ => Err(self.missing(name)),
        }
    }

    pub fn text(&self, name: &str) -> Option<&str> {
        match self.values.get(name) {
            Some(OptionValue::Text(t)) => Some(t),
            _ => None,
        }
    }

    /// A `Names` option as its names (empty when not given).
    pub fn names(&self, name: &str) -> Vec<String> {
        self.text(name)
            .map(|t| t.split(';').map(|n| n.trim().to_string()).collect())
            .unwrap_or_default()
    }
}

fn parse_value(pass: &str, o: &OptionSpec, v: &str) -> Result<OptionValue, PassError> {
    let bad = || {
        PassError::BadOption {
        pass: pass.to_string(),
        option: o.name.to_string(),
        value: v.to_string(),
        expected: match o.ty {
            OptionType::Bool => "true or false".into(),
            OptionType::Int => "a non-negative integer".into(),
            OptionType::Float => "a finite number".into(),
            OptionType::Choice(words) => format!("one of {}", words.join(", ")),
            OptionType::Data => {
                "FILE.npz[:KEY | :INPUT=ARRAY;...], FILE.npy, DIR/ or random:N:SEED[:uniform|normal]".into()
            }
            OptionType::Fixed => {
                "INPUT=zeros|ones|NUMBER|FILE.npz[:KEY]|FILE.npy, separated by `;`".into()
            }
            OptionType::Names => "node names separated by `;`".into(),
        },
    }
    };
    Ok(match o.ty {
        OptionType::Bool => match v {
            "true" => OptionValue::Bool(true),
            "false" => OptionValue::Bool(false),
            _ => return Err(bad()),
        },
        OptionType::Int => OptionValue::Int(v.parse().map_err(|_| bad())?),
        OptionType::Float => {
            let x: f64 = v.parse().map_err(|_| bad())?;
            if !x.is_finite() {
                return Err(bad());
            }
            OptionValue::Float(x)
        }
        OptionType::Choice(words) => {
            OptionValue::Word(words.iter().find(|w| **w == v).ok_or_else(bad)?)
        }
        OptionType::Data => {
            crate::quantize::data::DataSource::parse(v).map_err(|_| bad())?;
            OptionValue::Text(v.to_string())
        }
        OptionType::Fixed => {
            crate::quantize::bindings::FixedInputs::parse(v).map_err(|_| bad())?;
            OptionValue::Text(v.to_string())
        }
        OptionType::Names => {
            if v.split(';').any(|n| n.trim().is_empty()) {
                return Err(bad());
            }
            OptionValue::Text(v.to_string())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DECL: &[OptionSpec] = &[
        OptionSpec {
            name: "bits",
            ty: OptionType::Int,
            default: Some("8"),
            help: "",
        },
        OptionSpec {
            name: "scheme",
            ty: OptionType::Choice(&["int8", "int4"]),
            default: Some("int8"),
            help: "",
        },
        OptionSpec {
            name: "tol",
            ty: OptionType::Float,
            default: None,
            help: "",
        },
    ];

    fn args(kv: &[(&str, &str)]) -> Vec<(String, String)> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_and_given_values_are_typed() {
        let o = Options::parse("p", DECL, &args(&[("scheme", "int4"), ("tol", "0.5")])).unwrap();
        assert_eq!(o.int("bits").unwrap(), 8);
        assert_eq!(o.word("scheme").unwrap(), "int4");
        assert_eq!(o.float("tol").unwrap(), 0.5);
        let o = Options::parse("p", DECL, &[]).unwrap();
        assert!(!o.is_set("tol"));
        assert!(o
            .float("tol")
            .unwrap_err()
            .to_string()
            .contains("no default"));
    }

    #[test]
    fn unknown_options_and_bad_values_list_what_is_accepted() {
        let e = Options::parse("p", DECL, &args(&[("bitz", "4")])).unwrap_err();
        assert!(e.to_string().contains("bits, scheme, tol"), "{e}");
        let e = Options::parse("p", DECL, &args(&[("scheme", "int2")])).unwrap_err();
        assert!(e.to_string().contains("one of int8, int4"), "{e}");
        let e = Options::parse("p", DECL, &args(&[("bits", "-1")])).unwrap_err();
        assert!(e.to_string().contains("non-negative integer"), "{e}");
        let e = Options::parse("p", DECL, &args(&[("tol", "inf")])).unwrap_err();
        assert!(e.to_string().contains("finite"), "{e}");
    }
}
