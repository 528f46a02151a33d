//! Textual IR (`.pir`): a stable, diffable form of a [`Graph`] that round-trips
//! exactly (`parse(&print(g)) == g`), with its printer and nom parser.
//!
//! ```text
//! graph @digits_cnn(%0 "input": f32[N,1,8,8]) -> (f32[N,10]) {
//!   meta { producer = "pytorch" "2.11", opset = 17, ir_version = 8 }
//!   $w0 "conv.weight": f32[16,1,3,3] = hex "0000803f..."   ; full print
//!   $w0 "conv.weight": f32[16,1,3,3] = hash 9f2c1a0b44d1e2f3  ; elided print
//!   $w1 "shape": i64[2] = [1, -1]                           ; <= 16 elements: inline
//!   $w2 "q": i8[4] !q(bits=8, signed=true, scale=[0.5], zp=[0]) = [1, 2, 3, 4]
//!   $w3 "alias": f32[16,1,3,3] = $w0                        ; shares $w0's stored data
//!   %1 "y": f32[N,16,8,8] = conv(%0, $w0, _) "Conv_0" {auto_pad="NOTSET", group=1, ...}
//!   %2: f32[N,16,8,8], %3: bool[N,16,8,8] = dropout(%1)
//!   return %2
//! }
//! ```
//!
//! * **Canonical numbering.** The printer works on a compacted clone
//!   ([`Graph::compact`]): graph inputs are `%0, %1, ...`, node outputs continue the
//!   count in node order, and weight values are `$w0, $w1, ...` in first-use order. The
//!   parser accepts any `%name` / `$name` (`[A-Za-z0-9_.]+`), defined before use.
//! * **Source names** of values and nodes are kept as quoted strings: after the
//!   reference for values (`%3 "conv1.out": ...`), after the operand list for nodes.
//!   Empty names are not printed.
//! * **Types**: `dtype[dims]`, dims are sizes, identifiers (`N`) or quoted strings for
//!   other symbols; quantization follows as `!q(bits=, signed=, axis=, scale=[], zp=[])`
//!   (`axis` only when per-channel).
//! * **Weights** with at most [`INLINE_MAX_ELEMENTS`] elements are typed literal lists;
//!   larger ones are `hex "<raw little-endian bytes>"` ([`print`]) or `hash <hex>`
//!   ([`print_elided`]: the first 16 hex digits of [`Weight::content_hash`]). When the
//!   stored weight's type differs from its value's type, the stored type precedes the
//!   data (`= i8[4] hex "..."`). A weight stored sparse (see [`crate::sparse`]) says so
//!   first, `= sparse(nnz=K, density=D) ...`, and its full form is two hex strings, the
//!   bitmap then the non-zero values; the parser checks K, D and every size against the
//!   data. A palette weight (see [`crate::palette`]) writes `= palette(k=K, bits=B,
//!   groups=G) ...`, its full form the codebooks then the packed indices.
//! * **Operands**: `%v`, `$w`, or `_` for an absent optional input.
//! * **Attributes** come from the op table ([`Op::attrs`] / [`Op::from_attrs`]), so there
//!   is no per-op code. Values: integers, floats, `true`/`false`, strings, dtype names,
//!   and `[...]` lists of numbers or strings.
//! * **Floats** print exactly. Element floats use the shortest decimal that round-trips
//!   at their width. A scalar float attribute that is exactly an f32 prints as that f32's
//!   decimal (`epsilon=1e-5`) and decimals in attributes read as f32 (ONNX attributes
//!   are f32); other f64 values print as hex floats (`0x1.999999999999ap-4`), which read
//!   exactly. `inf`, `-inf`, `nan`, and `nan(0x7fc00001)` for NaNs with other bits.
//! * **Strings** are double-quoted with `\\ \" \n \r \t \u{...}` escapes. Comments start
//!   with `;` and run to the end of the line. Line breaks are not significant.
//!
//! The parser takes output types as written (it runs no inference) and never panics;
//! errors carry `line:column`, what was expected and what was found.

mod build;
mod floats;
mod lexer;
mod parse;
mod print;

pub use print::{print, print_elided, INLINE_MAX_ELEMENTS};

use crate::{Graph, Weight};

/// A syntax or semantic error in `.pir` text, at a 1-based line and column (in chars).
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl ParseError {
    /// An error at `at`, a suffix of `src` (the unparsed rest when it was detected).
    fn at(src: &str, at: &str, message: impl Into<String>) -> ParseError {
        let (line, column) = line_col(src, at);
        ParseError {
            line,
            column,
            message: message.into(),
        }
    }
}

/// 1-based line and column of the suffix `at` within `src`.
fn line_col(src: &str, at: &str) -> (usize, usize) {
    let mut off = src.len().saturating_sub(at.len());
    while !src.is_char_boundary(off) {
        off -= 1;
    }
    let before = &src[..off];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |p| p + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// Parses `.pir` text. Elided (`hash`) weights are an error here; use
/// [`parse_with_weights`] for those.
pub fn parse(src: &str) -> Result<Graph, ParseError> {
    parse_with_weights(src, &|_| None)
}

/// Parses `.pir` text, asking `resolve` for the weight behind each `hash` (it receives
/// the hash as written). The weight returned must have that hash and the declared type.
pub fn parse_with_weights(
    src: &str,
    resolve: &dyn Fn(&str) -> Option<Weight>,
) -> Result<Graph, ParseError> {
    let ast = match parse::graph(src) {
        Ok((_, ast)) => ast,
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => {
            let msg = match e.msg {
                lexer::Msg::Expected(what) => {
                    format!("expected {what}, found {}", lexer::found(e.at))
                }
                lexer::Msg::Custom(m) => m,
                lexer::Msg::Nom => format!("unexpected {}", lexer::found(e.at)),
            };
            return Err(ParseError::at(src, e.at, msg));
        }
        // Only streaming parsers report `Incomplete`; all parsers here are complete.
        Err(nom::Err::Incomplete(_)) => {
            return Err(ParseError::at(src, "", "unexpected end of input"))
        }
    };
    build::build(src, ast, resolve)
}
