//! `.pt2` archive mutations: one zip entry is edited — a JSON field of `model.json` or
//! of a weights config, a weight file truncated or grown, a small header entry
//! rewritten, an entry dropped or renamed — and the archive is written again, stored
//! or deflated, with or without ZIP64 records.

use super::{json, zipio};
use fastrand::Rng;

/// Applies one entry edit; `None` if the bytes do not read as a zip.
pub fn mutate(rng: &mut Rng, bytes: &[u8]) -> Option<Vec<u8>> {
    let mut entries = zipio::read_entries(bytes)?;
    if entries.is_empty() {
        return None;
    }
    let find = |entries: &[(String, Vec<u8>)], pred: &dyn Fn(&str) -> bool| -> Vec<usize> {
        (0..entries.len())
            .filter(|&i| pred(&entries[i].0))
            .collect()
    };
    let choose = |rng: &mut Rng, idx: Vec<usize>| -> Option<usize> {
        (!idx.is_empty()).then(|| idx[rng.usize(0..idx.len())])
    };
    match rng.u8(0..23) {
        20..=22 => {
            // Bytes of one entry changed, the archive (and its checksums) rebuilt.
            let i = rng.usize(0..entries.len());
            let other = entries[rng.usize(0..entries.len())].1.clone();
            super::bytes::mutate(rng, &mut entries[i].1, &other);
        }
        0..=8 => {
            let i = choose(rng, find(&entries, &|n| n.ends_with("model.json")))?;
            let rounds = rng.usize(1..4);
            entries[i].1 = json::mutate(rng, &entries[i].1, rounds)?;
        }
        9..=11 => {
            let i = choose(rng, find(&entries, &|n| n.ends_with(".json")))?;
            entries[i].1 = json::mutate(rng, &entries[i].1, 1)?;
        }
        12..=14 => {
            let weights = find(&entries, &|n| {
                (n.contains("/weights/") || n.contains("/constants/")) && !n.ends_with(".json")
            });
            let i = choose(rng, weights)?;
            let data = &mut entries[i].1;
            if rng.bool() {
                data.truncate(rng.usize(0..=data.len()));
            } else {
                let grow = rng.usize(1..=data.len().max(1));
                data.extend(std::iter::repeat_n(0x3f, grow));
            }
        }
        15 | 16 => {
            let small = find(&entries, &|n| {
                n.ends_with("archive_format")
                    || n.ends_with("byteorder")
                    || n.ends_with("archive_version")
                    || n.ends_with("version")
            });
            let i = choose(rng, small)?;
            entries[i].1 = [&b"pt2"[..], b"big", b"little", b"0", b"99", b"", b"\xff"]
                [rng.usize(0..7)]
            .to_vec();
        }
        17 => {
            entries.remove(rng.usize(0..entries.len()));
        }
        18 => {
            let i = rng.usize(0..entries.len());
            let name = &mut entries[i].0;
            match rng.u8(0..3) {
                0 => name.push('x'),
                1 => *name = format!("other/{name}"),
                _ => *name = name.replacen('/', "/../", 1),
            }
        }
        _ => {}
    }
    Some(zipio::write_entries(
        &entries,
        rng.u8(0..4) == 0,
        rng.u8(0..4) == 0,
    ))
}
