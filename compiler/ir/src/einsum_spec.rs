//! The Einsum equation grammar, parsed once for both shape inference and the
//! interpreter so that the two can never read an equation differently.
//!
//! An equation is `term,term,...` optionally followed by `->term`; a term is ASCII
//! letters with at most one `...`. Whitespace is ignored. Without `->` the output
//! is implicit: the ellipsis dims, then every letter used exactly once across the
//! inputs, in alphabetical order.

use std::collections::BTreeMap;

/// One term: letters before the ellipsis, whether it has one, letters after.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Term {
    pub before: Vec<char>,
    pub ellipsis: bool,
    pub after: Vec<char>,
}

impl Term {
    /// Number of dims the term names with letters.
    pub fn letters(&self) -> usize {
        self.before.len() + self.after.len()
    }

    fn chars(&self) -> impl Iterator<Item = char> + '_ {
        self.before.iter().chain(&self.after).copied()
    }
}

/// A parsed equation: one term per input and the (explicit or implicit) output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Equation {
    pub inputs: Vec<Term>,
    pub output: Term,
}

/// Why an equation is not well formed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum EquationError {
    #[error("bad einsum term `{0}`: expected letters with at most one `...`")]
    BadTerm(String),
    #[error("output label `{0}` appears in no input")]
    UnknownOutput(char),
    #[error("output label `{0}` is repeated")]
    RepeatedOutput(char),
}

/// Parses `equation`, checking that every output letter comes from an input and
/// appears once.
pub(crate) fn parse(equation: &str) -> Result<Equation, EquationError> {
    let eq: String = equation.chars().filter(|c| !c.is_whitespace()).collect();
    let (lhs, rhs) = match eq.split_once("->") {
        Some((l, r)) => (l, Some(r)),
        None => (eq.as_str(), None),
    };
    let inputs: Vec<Term> = lhs.split(',').map(parse_term).collect::<Result<_, _>>()?;
    let mut counts: BTreeMap<char, usize> = BTreeMap::new();
    for c in inputs.iter().flat_map(Term::chars) {
        *counts.entry(c).or_default() += 1;
    }
    let output = match rhs {
        Some(r) => {
            let t = parse_term(r)?;
            let out: Vec<char> = t.chars().collect();
            for (i, &c) in out.iter().enumerate() {
                if !counts.contains_key(&c) {
                    return Err(EquationError::UnknownOutput(c));
                }
                if out[..i].contains(&c) {
                    return Err(EquationError::RepeatedOutput(c));
                }
            }
            t
        }
        None => Term {
            before: Vec::new(),
            ellipsis: true,
            after: counts
                .iter()
                .filter(|(_, &n)| n == 1)
                .map(|(&c, _)| c)
                .collect(),
        },
    };
    Ok(Equation { inputs, output })
}

fn parse_term(s: &str) -> Result<Term, EquationError> {
    let (before, after, ellipsis) = match s.find("...") {
        Some(p) => (&s[..p], &s[p + 3..], true),
        None => (s, "", false),
    };
    let letters = |t: &str| -> Result<Vec<char>, EquationError> {
        t.chars()
            .map(|c| {
                if c.is_ascii_alphabetic() {
                    Ok(c)
                } else {
                    Err(EquationError::BadTerm(s.to_string()))
                }
            })
            .collect()
    };
    Ok(Term {
        before: letters(before)?,
        ellipsis,
        after: letters(after)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(before: &str, ellipsis: bool, after: &str) -> Term {
        Term {
            before: before.chars().collect(),
            ellipsis,
            after: after.chars().collect(),
        }
    }

    #[test]
    fn explicit_and_implicit_outputs() {
        let e = parse(" bij , bjk -> bik ").unwrap();
        assert_eq!(e.inputs, vec![t("bij", false, ""), t("bjk", false, "")]);
        assert_eq!(e.output, t("bik", false, ""));
        // Implicit: ellipsis, then letters used once, alphabetically.
        let e = parse("...ji,ik").unwrap();
        assert_eq!(e.inputs[0], t("", true, "ji"));
        assert_eq!(e.output, t("", true, "jk"));
        // A repeated letter inside one term is a diagonal, not an output.
        assert_eq!(parse("ii").unwrap().output, t("", true, ""));
    }

    #[test]
    fn malformed_equations() {
        assert_eq!(
            parse("i1->i"),
            Err(EquationError::BadTerm("i1".to_string()))
        );
        assert_eq!(
            parse("i.j->i"),
            Err(EquationError::BadTerm("i.j".to_string()))
        );
        assert_eq!(parse("ij->ik"), Err(EquationError::UnknownOutput('k')));
        assert_eq!(parse("ij->ii"), Err(EquationError::RepeatedOutput('i')));
    }
}
