//! The pass spec syntax shared by `pare opt --passes`, `pare compile` and
//! filetest headers: a list of `name` or `name{key=value,key=value}` separated
//! by top-level commas, e.g. `fold-constants,quantize{scheme=int8,calib=c.npz:x}`.
//!
//! Values are taken verbatim up to the next top-level `,` or the closing `}`;
//! braces nest so a value may itself hold a braced list. Whitespace around
//! names, keys and values is ignored.

use crate::PassError;

/// One `name{key=value,...}` of a spec, as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PassSpec {
    pub name: String,
    /// `(key, value)` in the order written.
    pub args: Vec<(String, String)>,
}

impl std::fmt::Display for PassSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)?;
        if !self.args.is_empty() {
            let args: Vec<String> = self.args.iter().map(|(k, v)| format!("{k}={v}")).collect();
            write!(f, "{{{}}}", args.join(","))?;
        }
        Ok(())
    }
}

/// Parses a whole spec into its passes.
pub fn parse_spec(spec: &str) -> Result<Vec<PassSpec>, PassError> {
    let bad = |msg: String| PassError::BadSpec {
        spec: spec.to_string(),
        msg,
    };
    let items = split_top_level(spec, ',').map_err(bad)?;
    if items.iter().all(|s| s.trim().is_empty()) {
        return Err(bad("no passes named".into()));
    }
    items
        .iter()
        .map(|item| parse_one(item).map_err(bad))
        .collect()
}

fn parse_one(item: &str) -> Result<PassSpec, String> {
    let item = item.trim();
    if item.is_empty() {
        return Err("an empty pass name (two commas in a row?)".into());
    }
    let (name, body) = match item.find('{') {
        None => (item, None),
        Some(open) => {
            let Some(inner) = item[open + 1..].strip_suffix('}') else {
                return Err(format!("`{item}`: options must end with `}}`"));
            };
            (item[..open].trim(), Some(inner))
        }
    };
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(format!(
            "`{name}` is not a pass name (letters, digits and `-`)"
        ));
    }
    let mut args = Vec::new();
    if let Some(body) = body {
        for kv in split_top_level(body, ',')? {
            let kv = kv.trim();
            if kv.is_empty() {
                continue;
            }
            let Some((k, v)) = kv.split_once('=') else {
                return Err(format!("`{name}`: option `{kv}` is not `key=value`"));
            };
            let k = k.trim();
            if args.iter().any(|(seen, _): &(String, String)| seen == k) {
                return Err(format!("`{name}`: option `{k}` given twice"));
            }
            args.push((k.to_string(), v.trim().to_string()));
        }
    }
    Ok(PassSpec {
        name: name.to_string(),
        args,
    })
}

/// Splits `s` at every `sep` outside braces; unbalanced braces are an error.
fn split_top_level(s: &str, sep: char) -> Result<Vec<&str>, String> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| format!("unmatched `}}` at byte {i}"))?;
            }
            c if c == sep && depth == 0 => {
                parts.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err("unmatched `{`".into());
    }
    parts.push(&s[start..]);
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, args: &[(&str, &str)]) -> PassSpec {
        PassSpec {
            name: name.into(),
            args: args
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn names_and_braced_options() {
        let got = parse_spec("fold-constants, quantize{scheme=int8,calib=c.npz:x, samples=64},dce")
            .unwrap();
        assert_eq!(
            got,
            vec![
                spec("fold-constants", &[]),
                spec(
                    "quantize",
                    &[("scheme", "int8"), ("calib", "c.npz:x"), ("samples", "64")]
                ),
                spec("dce", &[]),
            ]
        );
        assert_eq!(
            got[1].to_string(),
            "quantize{scheme=int8,calib=c.npz:x,samples=64}"
        );
    }

    #[test]
    fn broken_specs_are_errors_naming_the_problem() {
        for (s, want) in [
            ("", "no passes"),
            ("a,,b", "empty pass name"),
            ("quantize{scheme=int8", "unmatched `{`"),
            ("quantize}", "unmatched `}`"),
            ("quantize{scheme}", "not `key=value`"),
            ("quantize{a=1,a=2}", "given twice"),
            ("q{a=1}x", "must end with `}`"),
            ("bad name", "not a pass name"),
        ] {
            let e = parse_spec(s).unwrap_err().to_string();
            assert!(e.contains(want), "{s:?}: {e}");
        }
    }
}
