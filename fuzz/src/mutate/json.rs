//! JSON mutations (for `.pt2`'s `model.json` and weight configs): one value somewhere
//! in the document is replaced by an extreme number, another string of the document,
//! an emptied or shortened array, or a missing key.

use super::bytes::{interesting_f64, interesting_i64};
use fastrand::Rng;
use serde_json::Value;

/// Applies `rounds` edits; `None` if the bytes are not JSON.
pub fn mutate(rng: &mut Rng, bytes: &[u8], rounds: usize) -> Option<Vec<u8>> {
    let mut doc: Value = serde_json::from_slice(bytes).ok()?;
    let strings = collect_strings(&doc);
    for _ in 0..rounds {
        let count = count_values(&doc);
        let target = rng.usize(0..count.max(1));
        let mut seen = 0;
        edit_nth(rng, &mut doc, target, &mut seen, &strings);
    }
    serde_json::to_vec(&doc).ok()
}

fn count_values(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(count_values).sum(),
        Value::Object(o) => o.values().map(count_values).sum(),
        _ => 0,
    }
}

fn collect_strings(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::String(s) if out.len() < 4096 => out.push(s.clone()),
            Value::Array(a) => stack.extend(a),
            Value::Object(o) => stack.extend(o.values()),
            _ => {}
        }
    }
    out
}

/// Walks depth first to the `target`-th value and edits it; returns true once done.
fn edit_nth(
    rng: &mut Rng,
    v: &mut Value,
    target: usize,
    seen: &mut usize,
    strings: &[String],
) -> bool {
    if *seen == target {
        edit_value(rng, v, strings);
        return true;
    }
    *seen += 1;
    match v {
        Value::Array(a) => a
            .iter_mut()
            .any(|c| edit_nth(rng, c, target, seen, strings)),
        Value::Object(o) => o
            .values_mut()
            .any(|c| edit_nth(rng, c, target, seen, strings)),
        _ => false,
    }
}

fn edit_value(rng: &mut Rng, v: &mut Value, strings: &[String]) {
    match v {
        Value::Number(n) => {
            *v = if n.is_f64() && rng.bool() {
                let f = interesting_f64(rng);
                serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
            } else {
                Value::from(interesting_i64(rng))
            };
        }
        Value::String(s) => match rng.u8(0..4) {
            0 => s.clear(),
            1 => s.push('x'),
            _ if !strings.is_empty() => *s = strings[rng.usize(0..strings.len())].clone(),
            _ => s.clear(),
        },
        Value::Array(a) => match rng.u8(0..4) {
            0 => a.clear(),
            1 if !a.is_empty() => {
                a.remove(rng.usize(0..a.len()));
            }
            2 if !a.is_empty() => {
                let dup = a[rng.usize(0..a.len())].clone();
                a.insert(rng.usize(0..=a.len()), dup);
            }
            _ => a.push(Value::from(interesting_i64(rng))),
        },
        Value::Object(o) => {
            if o.is_empty() {
                return;
            }
            let k = o.keys().nth(rng.usize(0..o.len())).cloned();
            if let Some(k) = k {
                if rng.bool() {
                    o.remove(&k);
                } else {
                    o.insert(k, Value::Null);
                }
            }
        }
        Value::Bool(b) => *b = !*b,
        Value::Null => *v = Value::from(interesting_i64(rng)),
    }
}
