//! Tokens of the textual IR (whitespace and `;` comments, identifiers, value
//! references, strings, numbers, literals) and the nom error type that carries an
//! "expected ..." message with the position it failed at.

use super::floats::{parse_hex_f64, FloatLit};
use crate::DType;
use nom::branch::alt;
use nom::bytes::complete::{tag, take_while, take_while1};
use nom::character::complete::{char, digit1, multispace1, one_of, satisfy};
use nom::combinator::{opt, recognize, value};
use nom::error::{ErrorKind, ParseError as NomParseError};
use nom::multi::many0_count;
use nom::{IResult, Parser};
use std::borrow::Cow;

/// Why a parser stopped, and where (`at` is the unparsed rest of the source).
#[derive(Debug)]
pub(super) struct PErr<'a> {
    pub at: &'a str,
    pub msg: Msg,
}

#[derive(Debug)]
pub(super) enum Msg {
    /// A nom primitive failed; only seen if no `expect` wrapped it.
    Nom,
    /// "expected {0}, found ..." (the found part is taken from `at`).
    Expected(Cow<'static, str>),
    /// A complete message.
    Custom(String),
}

impl<'a> NomParseError<&'a str> for PErr<'a> {
    fn from_error_kind(at: &'a str, _: ErrorKind) -> Self {
        PErr { at, msg: Msg::Nom }
    }
    fn append(_: &'a str, _: ErrorKind, other: Self) -> Self {
        other
    }
}

pub(super) type PResult<'a, T> = IResult<&'a str, T, PErr<'a>>;

/// A hard error with a complete message at `at`.
pub(super) fn fail<'a, T>(at: &'a str, msg: impl Into<String>) -> PResult<'a, T> {
    Err(nom::Err::Failure(PErr {
        at,
        msg: Msg::Custom(msg.into()),
    }))
}

/// Skips whitespace, then runs `p`; if `p` does not match, fails hard with
/// "expected {what}" at the first non-blank character. The grammar is LL(1), so a
/// mismatch after this point is always an error (no backtracking).
pub(super) fn expect<'a, O>(
    what: &'static str,
    mut p: impl Parser<&'a str, Output = O, Error = PErr<'a>>,
) -> impl FnMut(&'a str) -> PResult<'a, O> {
    move |i| {
        let (i, _) = ws(i)?;
        match p.parse(i) {
            Err(nom::Err::Error(_)) => Err(nom::Err::Failure(PErr {
                at: i,
                msg: Msg::Expected(Cow::Borrowed(what)),
            })),
            r => r,
        }
    }
}

/// Whitespace and `;` comments (to end of line).
pub(super) fn ws(i: &str) -> PResult<'_, ()> {
    value(
        (),
        many0_count(alt((
            multispace1,
            recognize((char(';'), take_while(|c| c != '\n'))),
        ))),
    )
    .parse(i)
}

/// `p` after optional whitespace; a mismatch stays recoverable.
pub(super) fn tok<'a, O>(
    mut p: impl Parser<&'a str, Output = O, Error = PErr<'a>>,
) -> impl FnMut(&'a str) -> PResult<'a, O> {
    move |i| {
        let (i, _) = ws(i)?;
        p.parse(i)
    }
}

pub(super) fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

pub(super) fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Whether `s` can be written bare (as an identifier) rather than quoted.
pub(crate) fn is_ident(s: &str) -> bool {
    let mut cs = s.chars();
    cs.next().is_some_and(is_ident_start) && cs.all(is_ident_char)
}

/// `[A-Za-z_][A-Za-z0-9_]*`
pub(super) fn ident(i: &str) -> PResult<'_, &str> {
    recognize((satisfy(is_ident_start), take_while(is_ident_char))).parse(i)
}

/// Exactly the identifier `word` (not a prefix of a longer one).
pub(super) fn keyword<'a>(word: &'static str) -> impl FnMut(&'a str) -> PResult<'a, &'a str> {
    move |i| {
        let (rest, w) = ident(i)?;
        if w == word {
            Ok((rest, w))
        } else {
            Err(nom::Err::Error(PErr::from_error_kind(i, ErrorKind::Tag)))
        }
    }
}

/// A value reference: `%name` or `$name` with `name` in `[A-Za-z0-9_.]+`.
pub(super) fn reference<'a>(sigil: char) -> impl FnMut(&'a str) -> PResult<'a, &'a str> {
    move |i| {
        recognize((
            char(sigil),
            take_while1(|c: char| is_ident_char(c) || c == '.'),
        ))
        .parse(i)
    }
}

/// A double-quoted string with escapes `\\ \" \n \r \t \u{XXXX}`.
pub(super) fn string_lit(i: &str) -> PResult<'_, String> {
    let (mut rest, _) = char('"').parse(i)?;
    let mut out = String::new();
    loop {
        let Some(c) = rest.chars().next() else {
            return fail(i, "unterminated string (missing closing `\"`)");
        };
        let after = &rest[c.len_utf8()..];
        match c {
            '"' => return Ok((after, out)),
            '\\' => {
                let Some(e) = after.chars().next() else {
                    return fail(i, "unterminated string (missing closing `\"`)");
                };
                let after_e = &after[e.len_utf8()..];
                let simple = match e {
                    'n' => Some('\n'),
                    'r' => Some('\r'),
                    't' => Some('\t'),
                    '\\' => Some('\\'),
                    '"' => Some('"'),
                    _ => None,
                };
                if let Some(s) = simple {
                    out.push(s);
                    rest = after_e;
                } else if e == 'u' {
                    let (r, ch) = unicode_escape(rest, after_e)?;
                    out.push(ch);
                    rest = r;
                } else {
                    return fail(
                        rest,
                        format!(
                            "invalid escape `\\{e}` in string (use \\\\, \\\", \\n, \\r, \\t or \\u{{...}})"
                        ),
                    );
                }
            }
            _ => {
                out.push(c);
                rest = after;
            }
        }
    }
}

/// The `{XXXX}` after `\u`; `esc` is where the escape started, for the message.
fn unicode_escape<'a>(esc: &'a str, i: &'a str) -> PResult<'a, char> {
    let parsed: PResult<'a, &'a str> = (
        char('{'),
        take_while1(|c: char| c.is_ascii_hexdigit()),
        char('}'),
    )
        .map(|(_, h, _)| h)
        .parse(i);
    match parsed {
        Ok((rest, h)) if h.len() <= 6 => {
            match u32::from_str_radix(h, 16).ok().and_then(char::from_u32) {
                Some(c) => Ok((rest, c)),
                None => fail(esc, format!("`\\u{{{h}}}` is not a unicode scalar value")),
            }
        }
        _ => fail(esc, "malformed unicode escape (expected `\\u{XXXX}`)"),
    }
}

/// A literal: number, string, boolean or element type name.
#[derive(Clone, PartialEq, Debug)]
pub(super) enum Lit<'a> {
    Int(i128),
    Float(FloatLit<'a>),
    Bool(bool),
    Str(String),
    DType(DType),
}

impl Lit<'_> {
    /// What kind of literal this is, for messages.
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Lit::Int(_) => "an integer",
            Lit::Float(_) => "a float",
            Lit::Bool(_) => "a boolean",
            Lit::Str(_) => "a string",
            Lit::DType(_) => "an element type",
        }
    }
}

/// A literal after optional whitespace; recoverable if nothing literal-like starts here.
pub(super) fn literal(i: &str) -> PResult<'_, Lit<'_>> {
    let (i, _) = ws(i)?;
    if i.starts_with('"') {
        let (r, s) = string_lit(i)?;
        return Ok((r, Lit::Str(s)));
    }
    match number(i) {
        Err(nom::Err::Error(_)) => {}
        r => return r,
    }
    let (r, w) = ident(i)?;
    let lit = match w {
        "true" => Lit::Bool(true),
        "false" => Lit::Bool(false),
        _ => match DType::from_name(w) {
            Some(d) => Lit::DType(d),
            None => {
                return fail(
                    i,
                    format!(
                        "unknown literal `{w}` (expected a number, string, `true`, `false` or an element type)"
                    ),
                )
            }
        },
    };
    Ok((r, lit))
}

/// A number: integer, decimal float, hex float, `inf` or `nan[(0x...)]`, each with an
/// optional leading `-`.
pub(super) fn number(i: &str) -> PResult<'_, Lit<'_>> {
    let start = i;
    let (r, neg) = opt(char('-')).parse(i)?;
    let neg = neg.is_some();
    if r.starts_with("0x") || r.starts_with("0X") {
        let (rest, _) = recognize((
            tag("0"),
            one_of("xX"),
            take_while(|c: char| c.is_ascii_hexdigit() || c == '.'),
        ))
        .parse(r)?;
        let (rest, exp) = opt((one_of("pP"), opt(one_of("+-")), digit1)).parse(rest)?;
        if exp.is_none() {
            return fail(
                start,
                "hex float needs a `p` exponent (as in `0x1.8p-3`); integers are decimal",
            );
        }
        let text = &start[..start.len() - rest.len()];
        return match parse_hex_f64(text) {
            Ok(v) => Ok((rest, Lit::Float(FloatLit::Hex(v)))),
            Err(m) => fail(start, m),
        };
    }
    if let Ok((rest, w)) = ident(r) {
        return match w {
            "inf" => Ok((rest, Lit::Float(FloatLit::Inf { neg }))),
            "nan" => nan_payload(start, rest, neg),
            _ => Err(nom::Err::Error(PErr::from_error_kind(i, ErrorKind::Float))),
        };
    }
    let (rest, _) = digit1(r)?;
    let (rest, frac) = opt((char('.'), digit1)).parse(rest)?;
    let (rest, exp) = opt((one_of("eE"), opt(one_of("+-")), digit1)).parse(rest)?;
    let text = &start[..start.len() - rest.len()];
    if frac.is_some() || exp.is_some() {
        return Ok((rest, Lit::Float(FloatLit::Dec(text))));
    }
    match text.parse::<i128>() {
        Ok(v) => Ok((rest, Lit::Int(v))),
        Err(_) => fail(start, format!("integer `{text}` is too large")),
    }
}

/// The optional `(0x...)` after `nan`.
fn nan_payload<'a>(start: &'a str, rest: &'a str, neg: bool) -> PResult<'a, Lit<'a>> {
    let Some(r) = rest.strip_prefix('(') else {
        return Ok((rest, Lit::Float(FloatLit::Nan { neg, bits: None })));
    };
    let parsed: PResult<'a, &'a str> = (
        tag("0x"),
        take_while1(|c: char| c.is_ascii_hexdigit()),
        char(')'),
    )
        .map(|(_, h, _)| h)
        .parse(r);
    match parsed {
        Ok((r, h)) => match u64::from_str_radix(h, 16) {
            Ok(bits) => Ok((
                r,
                Lit::Float(FloatLit::Nan {
                    neg,
                    bits: Some(bits),
                }),
            )),
            Err(_) => fail(start, format!("NaN bits `0x{h}` do not fit in 64 bits")),
        },
        Err(_) => fail(start, "malformed NaN (expected `nan` or `nan(0x7fc00001)`)"),
    }
}

/// Text for "found ..." in messages: the token starting at `at`.
pub(super) fn found(at: &str) -> String {
    let Some(c) = at.chars().next() else {
        return "end of input".to_string();
    };
    let word = |s: &str| -> String {
        s.chars()
            .take_while(|&c| is_ident_char(c) || c == '.')
            .take(32)
            .collect()
    };
    if is_ident_char(c) {
        format!("`{}`", word(at))
    } else if c == '%' || c == '$' {
        format!("`{c}{}`", word(&at[1..]))
    } else if c == '"' {
        "a string".to_string()
    } else if c == '\n' || c == '\r' {
        "end of line".to_string()
    } else {
        format!("`{c}`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_lex_by_form() {
        assert_eq!(number("12,").unwrap(), (",", Lit::Int(12)));
        assert_eq!(number("-7]").unwrap(), ("]", Lit::Int(-7)));
        assert_eq!(
            number("1e-5 ").unwrap(),
            (" ", Lit::Float(FloatLit::Dec("1e-5")))
        );
        assert_eq!(
            number("-0x1.8p-3").unwrap().1,
            Lit::Float(FloatLit::Hex(-0.1875))
        );
        assert_eq!(
            number("nan(0x7fc00001)").unwrap().1,
            Lit::Float(FloatLit::Nan {
                neg: false,
                bits: Some(0x7fc00001)
            })
        );
        assert!(matches!(number("info"), Err(nom::Err::Error(_))));
        assert!(matches!(number("0x12"), Err(nom::Err::Failure(_))));
    }

    #[test]
    fn strings_unescape() {
        let (rest, s) = string_lit(r#""a\"b\\c\n\u{e9}" x"#).unwrap();
        assert_eq!(s, "a\"b\\c\né");
        assert_eq!(rest, " x");
        assert!(string_lit("\"abc").is_err());
        assert!(string_lit(r#""\q""#).is_err());
        assert!(string_lit(r#""\u{110000}""#).is_err());
    }

    #[test]
    fn comments_are_whitespace() {
        let (rest, _) = ws("  ; note\n ; more\n  x").unwrap();
        assert_eq!(rest, "x");
    }
}
