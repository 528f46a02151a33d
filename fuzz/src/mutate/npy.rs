//! `.npy`/`.npz` mutations: the header dict of an array is edited (dtype descriptor,
//! shape, order, format version, declared header length); in an archive, one entry
//! is edited that way (or by bytes) and the archive is written again.

use super::{bytes, zipio};
use fastrand::Rng;

const DESCRS: [&str; 14] = [
    "<f4", "<f8", "<f2", "<i8", "<i4", "|i1", "|u1", "|b1", "<u8", ">f4", "<c8", "|O", "<U3",
    "<f16",
];

/// Applies one edit; `None` if the bytes are neither an array nor a zip of them.
pub fn mutate(rng: &mut Rng, data: &[u8]) -> Option<Vec<u8>> {
    if data.starts_with(b"PK") {
        let mut entries = zipio::read_entries(data)?;
        if entries.is_empty() {
            return None;
        }
        let i = rng.usize(0..entries.len());
        match rng.u8(0..4) {
            0 => entries[i].0 = ["a.npy", "", "x", "../y.npy"][rng.usize(0..4)].into(),
            1 => {
                let other = entries[rng.usize(0..entries.len())].1.clone();
                bytes::mutate(rng, &mut entries[i].1, &other);
            }
            _ => {
                if let Some(b) = edit_header(rng, &entries[i].1) {
                    entries[i].1 = b;
                }
            }
        }
        Some(zipio::write_entries(
            &entries,
            rng.bool(),
            rng.u8(0..4) == 0,
        ))
    } else {
        edit_header(rng, data)
    }
}

/// Edits the header of one `.npy` array; the data after it is kept as it was.
fn edit_header(rng: &mut Rng, data: &[u8]) -> Option<Vec<u8>> {
    if data.len() < 10 || !data.starts_with(b"\x93NUMPY") {
        return None;
    }
    let major = data[6];
    let (len_at, text_at): (usize, usize) = if major == 1 { (8, 10) } else { (8, 12) };
    let len = if major == 1 {
        u16::from_le_bytes([data[8], data[9]]) as usize
    } else {
        u32::from_le_bytes([*data.get(8)?, *data.get(9)?, *data.get(10)?, *data.get(11)?]) as usize
    };
    let end = text_at.checked_add(len).filter(|&e| e <= data.len())?;
    let text = String::from_utf8_lossy(&data[text_at..end]).into_owned();
    let mut out = data.to_vec();
    let new_text = match rng.u8(0..6) {
        0 => replace_field(
            &text,
            "'descr':",
            &format!("'{}'", DESCRS[rng.usize(0..DESCRS.len())]),
        ),
        1 | 2 => {
            let rank = rng.usize(0..5);
            let dims: Vec<String> = (0..rank)
                .map(|_| bytes::interesting_i64(rng).clamp(-1, i64::MAX).to_string())
                .collect();
            let tuple = match rank {
                1 => format!("({},)", dims[0]),
                _ => format!("({})", dims.join(", ")),
            };
            replace_field(&text, "'shape':", &tuple)
        }
        3 => replace_field(&text, "'fortran_order':", "True"),
        4 => {
            // A wrong format version, or a header length past the end.
            out[6] = [0, 1, 2, 3, 9][rng.usize(0..5)];
            if rng.bool() {
                out[len_at] = out[len_at].wrapping_add(rng.u8(1..=255));
            }
            return Some(out);
        }
        _ => {
            let raw = &data[text_at..end];
            String::from_utf8_lossy(&raw[..rng.usize(0..=raw.len())]).into_owned()
        }
    };
    let mut rebuilt = data[..text_at].to_vec();
    let new_len = new_text.len();
    if major == 1 {
        let l = u16::try_from(new_len).ok()?;
        rebuilt[8..10].copy_from_slice(&l.to_le_bytes());
    } else {
        rebuilt[8..12].copy_from_slice(&(new_len as u32).to_le_bytes());
    }
    rebuilt.extend_from_slice(new_text.as_bytes());
    rebuilt.extend_from_slice(&data[end..]);
    out = rebuilt;
    Some(out)
}

/// `text` with the value after `key` (up to the next `,` outside parentheses, or `}`)
/// replaced by `value`.
fn replace_field(text: &str, key: &str, value: &str) -> String {
    let Some(k) = text.find(key) else {
        return text.to_string();
    };
    let start = k + key.len();
    let mut depth = 0i32;
    let mut end = text.len();
    for (i, c) in text[start..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' | '}' if depth <= 0 => {
                end = start + i;
                break;
            }
            _ => {}
        }
    }
    format!("{} {}{}", &text[..start], value, &text[end..])
}
