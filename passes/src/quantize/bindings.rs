//! The one parser of data bindings, shared by the pass options (`calib=`,
//! `calib-fixed=`) and the CLI (`--calib`, `--calib-fixed`, `pare eval
//! --data`/`--fixed`): which array feeds which model input, and which inputs
//! are held at a fixed value.
//!
//! * `FILE.npz`: arrays bound to inputs by name (a one-input model also takes
//!   an archive's only array, whatever its name).
//! * `FILE.npz:KEY`: one array, for a one-input model (a key holds no `=`).
//! * `FILE.npz:input=x_train,mask=m_train`: input `input` reads array
//!   `x_train`, …; inputs left out bind by name.
//! * `FILE.npy`: one input. `DIR/`: `.npy` files (one input) or per-sample
//!   `.npz` files (every input by name), in file-name order.
//! * Fixed inputs: `h=zeros,c=ones,t=0.5,s=state.npz[:KEY]` (or `.npy`).
//!
//! Lists are separated by `,` or `;`: a pass spec splits its options at
//! commas, so inside `quantize{...}` write `calib=d.npz:input=x;mask=m` and
//! `calib-fixed=h=zeros;c=zeros`.

use std::fmt;
use std::path::PathBuf;

/// How the arrays of a data file map onto model inputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Binds {
    /// Every input reads the array of its own name (or the only array).
    ByName,
    /// One named array feeds the model's only input (`FILE.npz:KEY`).
    Key(String),
    /// `(input, array)` pairs; inputs not listed bind by name.
    Renamed(Vec<(String, String)>),
}

/// What a data file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Npz,
    Npy,
    Dir,
}

/// A parsed `--calib`/`--data` file spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileBinding {
    pub path: PathBuf,
    pub kind: FileKind,
    pub binds: Binds,
}

/// The value a fixed input is held at.
#[derive(Clone, Debug, PartialEq)]
pub enum FixedValue {
    Zeros,
    Ones,
    /// Every element this value.
    Scalar(f32),
    /// One sample's tensor from `FILE.npz[:KEY]` or `FILE.npy`.
    File(String),
}

/// `NAME=VALUE` pairs, in the order given.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FixedInputs(pub Vec<(String, FixedValue)>);

/// A binding list that cannot be parsed: the text and what was expected.
#[derive(Debug, thiserror::Error)]
#[error("`{text}`: {msg}")]
pub struct BindingError {
    pub text: String,
    pub msg: String,
}

/// Splits a binding list at `,` or `;` (empty items are an error).
fn split_list(s: &str) -> Vec<&str> {
    s.split([',', ';']).map(str::trim).collect()
}

/// Splits `NAME=VALUE`; both sides must be non-empty.
fn name_value(item: &str) -> Option<(&str, &str)> {
    let (n, v) = item.split_once('=')?;
    let (n, v) = (n.trim(), v.trim());
    (!n.is_empty() && !v.is_empty()).then_some((n, v))
}

impl FileBinding {
    /// Parses `FILE.npz[:KEY | :IN=KEY,...]`, `FILE.npy` or `DIR/`.
    pub fn parse(s: &str) -> Result<FileBinding, BindingError> {
        let bad = |msg: &str| BindingError {
            text: s.to_string(),
            msg: msg.to_string(),
        };
        if s.is_empty() {
            return Err(bad("empty data path"));
        }
        let lower = s.to_ascii_lowercase();
        // `.npz:` first: an archive whose path merely contains `/` is no folder.
        if let Some(i) = lower.find(".npz:") {
            let (path, rest) = (&s[..i + 4], &s[i + 5..]);
            let binds = if rest.contains('=') {
                let mut pairs: Vec<(String, String)> = Vec::new();
                for item in split_list(rest) {
                    let (input, key) = name_value(item).ok_or_else(|| {
                        bad(&format!(
                            "`{item}` is not INPUT=ARRAY (bindings are separated by `,` or `;`)"
                        ))
                    })?;
                    if pairs.iter().any(|(i, _)| i == input) {
                        return Err(bad(&format!("input `{input}` is bound twice")));
                    }
                    pairs.push((input.to_string(), key.to_string()));
                }
                Binds::Renamed(pairs)
            } else if rest.is_empty() {
                return Err(bad("nothing after `:` (expected KEY or INPUT=ARRAY,...)"));
            } else {
                Binds::Key(rest.to_string())
            };
            return Ok(FileBinding {
                path: path.into(),
                kind: FileKind::Npz,
                binds,
            });
        }
        let kind = if s.ends_with('/')
            || s.ends_with(std::path::MAIN_SEPARATOR)
            || std::path::Path::new(s).is_dir()
        {
            FileKind::Dir
        } else if lower.ends_with(".npz") {
            FileKind::Npz
        } else if lower.ends_with(".npy") {
            FileKind::Npy
        } else {
            return Err(bad(
                "expected FILE.npz, FILE.npz:KEY, FILE.npz:INPUT=ARRAY,..., FILE.npy or a directory",
            ));
        };
        Ok(FileBinding {
            path: s.into(),
            kind,
            binds: Binds::ByName,
        })
    }
}

impl fmt::Display for FileBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        match &self.binds {
            Binds::ByName => Ok(()),
            Binds::Key(k) => write!(f, ":{k}"),
            Binds::Renamed(pairs) => {
                let list: Vec<String> = pairs.iter().map(|(i, k)| format!("{i}={k}")).collect();
                write!(f, ":{}", list.join(";"))
            }
        }
    }
}

impl FixedInputs {
    /// Parses `NAME=zeros|ones|NUMBER|FILE.npz[:KEY]|FILE.npy`, separated by
    /// `,` or `;`.
    pub fn parse(s: &str) -> Result<FixedInputs, BindingError> {
        let bad = |msg: String| BindingError {
            text: s.to_string(),
            msg,
        };
        let mut out: Vec<(String, FixedValue)> = Vec::new();
        for item in split_list(s) {
            let (name, value) = name_value(item).ok_or_else(|| {
                bad(format!(
                    "`{item}` is not INPUT=VALUE (VALUE: zeros, ones, a number, FILE.npz[:KEY] or FILE.npy)"
                ))
            })?;
            if out.iter().any(|(n, _)| n == name) {
                return Err(bad(format!("input `{name}` is fixed twice")));
            }
            let lower = value.to_ascii_lowercase();
            let v = match lower.as_str() {
                "zeros" | "zero" => FixedValue::Zeros,
                "ones" | "one" => FixedValue::Ones,
                _ if lower.ends_with(".npy") || lower.ends_with(".npz") || lower.contains(".npz:") => {
                    FixedValue::File(value.to_string())
                }
                _ => match value.parse::<f32>() {
                    Ok(x) if x.is_finite() => FixedValue::Scalar(x),
                    _ => {
                        return Err(bad(format!(
                            "input `{name}`: `{value}` is not zeros, ones, a finite number, FILE.npz[:KEY] or FILE.npy"
                        )))
                    }
                },
            };
            out.push((name.to_string(), v));
        }
        Ok(FixedInputs(out))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value input `name` is fixed at.
    pub fn get(&self, name: &str) -> Option<&FixedValue> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

impl fmt::Display for FixedInputs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list: Vec<String> = self
            .0
            .iter()
            .map(|(n, v)| match v {
                FixedValue::Zeros => format!("{n}=zeros"),
                FixedValue::Ones => format!("{n}=ones"),
                FixedValue::Scalar(x) => format!("{n}={x}"),
                FixedValue::File(p) => format!("{n}={p}"),
            })
            .collect();
        f.write_str(&list.join(";"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_forms_parse() {
        let b = FileBinding::parse("d.npz").unwrap();
        assert_eq!((b.kind, b.binds), (FileKind::Npz, Binds::ByName));
        let b = FileBinding::parse("d.npz:x_train").unwrap();
        assert_eq!(b.binds, Binds::Key("x_train".into()));
        for s in [
            "d.npz:input=x,mask=m",
            "d.npz:input=x;mask=m",
            "d.npz:input = x ; mask=m",
        ] {
            let b = FileBinding::parse(s).unwrap();
            assert_eq!(b.path, PathBuf::from("d.npz"));
            assert_eq!(
                b.binds,
                Binds::Renamed(vec![
                    ("input".into(), "x".into()),
                    ("mask".into(), "m".into())
                ])
            );
            assert_eq!(b.to_string(), "d.npz:input=x;mask=m");
        }
        assert_eq!(FileBinding::parse("a.npy").unwrap().kind, FileKind::Npy);
        assert_eq!(FileBinding::parse("dir/").unwrap().kind, FileKind::Dir);
    }

    #[test]
    fn bad_file_forms_say_what_is_expected() {
        for (s, want) in [
            ("", "empty"),
            ("d.npz:", "nothing after"),
            ("d.npz:input=x,mask", "INPUT=ARRAY"),
            ("d.npz:input=x,input=y", "bound twice"),
            ("d.csv", "expected FILE.npz"),
        ] {
            let e = FileBinding::parse(s).unwrap_err().to_string();
            assert!(e.contains(want), "{s}: {e}");
        }
    }

    #[test]
    fn fixed_values_parse() {
        let f = FixedInputs::parse("h=zeros,c=ones;t=0.5,s=st.npz:h0,u=u.npy").unwrap();
        assert_eq!(
            f.0,
            vec![
                ("h".into(), FixedValue::Zeros),
                ("c".into(), FixedValue::Ones),
                ("t".into(), FixedValue::Scalar(0.5)),
                ("s".into(), FixedValue::File("st.npz:h0".into())),
                ("u".into(), FixedValue::File("u.npy".into())),
            ]
        );
        assert_eq!(f.to_string(), "h=zeros;c=ones;t=0.5;s=st.npz:h0;u=u.npy");
        for (s, want) in [
            ("h", "INPUT=VALUE"),
            ("h=", "INPUT=VALUE"),
            ("h=zeros,h=ones", "fixed twice"),
            ("h=lots", "not zeros, ones"),
            ("h=inf", "not zeros, ones"),
        ] {
            let e = FixedInputs::parse(s).unwrap_err().to_string();
            assert!(e.contains(want), "{s}: {e}");
        }
    }
}
