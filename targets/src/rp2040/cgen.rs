//! C text helpers: identifiers, literals, comments and array initializers, all
//! deterministic (same input, same bytes).

use std::fmt::Write;

/// Whether `s` is a C identifier.
pub(crate) fn is_c_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `x` as a C `float` literal that reads back exactly: Rust's shortest
/// round-trip decimal with an `f` suffix (scales are positive and finite).
pub(crate) fn f32_literal(x: f32) -> String {
    let s = format!("{x:?}");
    if s.contains(['.', 'e']) {
        format!("{s}f")
    } else {
        format!("{s}.0f")
    }
}

/// An int literal; negative values are parenthesized so that macros expand safely.
pub(crate) fn int_macro(v: i64) -> String {
    if v < 0 {
        format!("({v})")
    } else {
        v.to_string()
    }
}

/// Text safe inside a `/* ... */` comment (on one line).
pub(crate) fn comment_text(s: &str) -> String {
    s.replace("*/", "* /")
        .replace("/*", "/ *")
        .replace(['\n', '\r'], " ")
}

/// A shape as `[1, 8, 8, 8]`.
pub(crate) fn shape_text(shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    format!("[{}]", dims.join(", "))
}

/// The body of an array initializer: `per_line` values a line, each line
/// indented by four spaces and ended with a comma.
pub(crate) fn array_body(values: &[i64], per_line: usize) -> String {
    let mut s = String::new();
    for chunk in values.chunks(per_line.max(1)) {
        s.push_str("   ");
        for v in chunk {
            let _ = write!(s, " {v},");
        }
        s.push('\n');
    }
    s
}

/// An int64 array as a C `int32_t` list `{a, b, c}` on one line (for params
/// struct fields sized `PARE_MAX_RANK`); `{0}` when empty (C99 has no `{}`).
pub(crate) fn inline_list(values: &[i64]) -> String {
    if values.is_empty() {
        return "{0}".to_string();
    }
    let v: Vec<String> = values.iter().map(i64::to_string).collect();
    format!("{{{}}}", v.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_read_back() {
        assert_eq!(f32_literal(1.0), "1.0f");
        assert_eq!(f32_literal(0.00390625), "0.00390625f");
        assert_eq!(f32_literal(1e-7), "1e-7f");
        assert_eq!(int_macro(-128), "(-128)");
        assert!(is_c_identifier("model_1") && !is_c_identifier("1x") && !is_c_identifier("a-b"));
        assert_eq!(comment_text("a */ b"), "a * / b");
    }
}
