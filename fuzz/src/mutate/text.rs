//! Textual IR (`.pir`) mutations at the token and line level: numbers replaced by
//! extremes, value names swapped (breaking SSA and use-before-def), op names and
//! dtypes exchanged, bracketed lists emptied or stretched, lines dropped, duplicated
//! or swapped.

use super::bytes::interesting_i64;
use fastrand::Rng;

const DTYPES: [&str; 9] = ["f32", "f16", "f64", "i8", "i32", "i64", "u8", "bool", "u64"];

/// Applies one edit; `None` if the bytes are not UTF-8 text.
pub fn mutate(rng: &mut Rng, bytes: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    if lines.is_empty() {
        return None;
    }
    let n = lines.len();
    let i = rng.usize(0..n);
    match rng.u8(0..9) {
        0 => {
            lines.remove(i);
        }
        1 => {
            let dup = lines[i].clone();
            lines.insert(rng.usize(0..=n), dup);
        }
        2 => lines.swap(i, rng.usize(0..n)),
        3 => {
            let line = &mut lines[i];
            let spans = token_spans(line, |c| c.is_ascii_digit());
            if !spans.is_empty() {
                let (a, b) = spans[rng.usize(0..spans.len())];
                line.replace_range(a..b, &interesting_i64(rng).to_string());
            }
        }
        4 => {
            // A `%value` swapped for another name of the text.
            let names: Vec<String> = percent_names(text);
            let line = &mut lines[i];
            let spans = percent_spans(line);
            if !spans.is_empty() && !names.is_empty() {
                let (a, b) = spans[rng.usize(0..spans.len())];
                line.replace_range(a..b, &names[rng.usize(0..names.len())]);
            }
        }
        5 => {
            // An op name (the word before `(` after `= `) exchanged for another one.
            let ops: Vec<String> = lines
                .iter()
                .filter_map(|l| op_name(l).map(|(a, b)| l[a..b].to_string()))
                .collect();
            if let (Some((a, b)), false) = (op_name(&lines[i]), ops.is_empty()) {
                let new = ops[rng.usize(0..ops.len())].clone();
                lines[i].replace_range(a..b, &new);
            }
        }
        6 => {
            let line = &mut lines[i];
            if let Some(from) = DTYPES.iter().find(|d| line.contains(&format!("{d}["))) {
                let to = DTYPES[rng.usize(0..DTYPES.len())];
                *line = line.replacen(&format!("{from}["), &format!("{to}["), 1);
            }
        }
        7 => {
            let line = &mut lines[i];
            if let (Some(a), Some(b)) = (line.find('['), line.find(']')) {
                if a < b {
                    let inner =
                        ["", "0", "-1", "1,1,1,1,1,1,1", "4294967296", "?"][rng.usize(0..6)];
                    line.replace_range(a + 1..b, inner);
                }
            }
        }
        _ => {
            let line = &mut lines[i];
            let mut at = rng.usize(0..=line.len());
            while !line.is_char_boundary(at) {
                at -= 1;
            }
            let junk = [
                "{", "}", "(", ")", ",", "%", "$", "0x1p999", "\"", ";", "->", "=", " ",
            ][rng.usize(0..13)];
            line.insert_str(at, junk);
        }
    }
    Some(lines.concat().into_bytes())
}

/// Byte ranges of maximal runs of chars satisfying `pred`.
fn token_spans(s: &str, pred: impl Fn(char) -> bool) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        match (pred(c), start) {
            (true, None) => start = Some(i),
            (false, Some(a)) => {
                out.push((a, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(a) = start {
        out.push((a, s.len()));
    }
    out
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.'
}

/// Ranges of `%name` tokens (with the `%`).
fn percent_spans(s: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (i, _) in s.match_indices('%') {
        let end = s[i + 1..]
            .char_indices()
            .find(|&(_, c)| !is_name_char(c))
            .map_or(s.len(), |(k, _)| i + 1 + k);
        if end > i + 1 {
            out.push((i, end));
        }
    }
    out
}

fn percent_names(text: &str) -> Vec<String> {
    let mut names: Vec<String> = percent_spans(text)
        .into_iter()
        .map(|(a, b)| text[a..b].to_string())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The range of the op name in `%x: ty = op(...)`.
fn op_name(line: &str) -> Option<(usize, usize)> {
    let eq = line.find(" = ")? + 3;
    let paren = eq + line[eq..].find('(')?;
    let name = &line[eq..paren];
    (!name.is_empty() && name.chars().all(is_name_char)).then_some((eq, paren))
}
