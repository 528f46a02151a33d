//! Byte-level mutations for any format: bit flips, overwrites, interesting integers at
//! random places (sizes and counts live in varints, headers and zip records),
//! truncation, chunk deletion and duplication, and splices from another seed.

use fastrand::Rng;

/// Byte patterns that make length and count fields extreme: a huge varint, a zero,
/// an unterminated varint, a negative 32-bit and 64-bit integer, the largest i32.
const INTERESTING: [&[u8]; 7] = [
    &[0xff, 0xff, 0xff, 0xff, 0x0f],
    &[0x00],
    &[0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
    &[0xff, 0xff, 0xff, 0xff],
    &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    &[0xff, 0xff, 0xff, 0x7f],
    &[0x7f],
];

/// One byte-level edit of `b`; `other` is another seed to splice from.
pub fn mutate(rng: &mut Rng, b: &mut Vec<u8>, other: &[u8]) {
    if b.is_empty() {
        b.extend_from_slice(&other[..other.len().min(64)]);
        return;
    }
    match rng.u8(0..9) {
        0 => b.truncate(rng.usize(0..b.len())),
        1 => {
            for _ in 0..rng.usize(1..8) {
                let i = rng.usize(0..b.len());
                b[i] ^= 1 << rng.u8(0..8);
            }
        }
        2 => {
            for _ in 0..rng.usize(1..4) {
                let i = rng.usize(0..b.len());
                b[i] = rng.u8(..);
            }
        }
        3 => {
            let i = rng.usize(0..b.len());
            let patch = INTERESTING[rng.usize(0..INTERESTING.len())];
            for (k, &p) in patch.iter().enumerate() {
                if let Some(slot) = b.get_mut(i + k) {
                    *slot = p;
                }
            }
        }
        4 => {
            let (start, end) = span(rng, b.len(), 64);
            let chunk = b[start..end].to_vec();
            let at = rng.usize(0..=b.len());
            b.splice(at..at, chunk);
        }
        5 => {
            let (start, end) = span(rng, b.len(), 256);
            b.drain(start..end);
        }
        6 if !other.is_empty() => {
            // Splice: our head, the other seed's tail (or a chunk of it).
            let cut = rng.usize(0..=b.len());
            let from = rng.usize(0..other.len());
            let len = rng.usize(1..=(other.len() - from).min(4096));
            b.truncate(cut);
            b.extend_from_slice(&other[from..from + len]);
        }
        7 => {
            // Overwrite a run with one byte value (zeros or 0xff are common extremes).
            let (start, end) = span(rng, b.len(), 32);
            let v = [0u8, 0xff, rng.u8(..)][rng.usize(0..3)];
            b[start..end].fill(v);
        }
        _ => {
            let (start, end) = span(rng, b.len(), 64);
            let v = b[start..end].to_vec();
            let at = rng.usize(0..b.len());
            let n = v.len().min(b.len() - at);
            b[at..at + n].copy_from_slice(&v[..n]);
        }
    }
}

/// A random non-empty range of at most `max` bytes inside `len` (> 0) bytes.
fn span(rng: &mut Rng, len: usize, max: usize) -> (usize, usize) {
    let start = rng.usize(0..len);
    let end = (start + rng.usize(1..=max)).min(len);
    (start, end)
}

/// An integer that tends to break size arithmetic.
pub fn interesting_i64(rng: &mut Rng) -> i64 {
    const VALUES: [i64; 16] = [
        0,
        1,
        -1,
        2,
        3,
        -2,
        7,
        255,
        65_536,
        i32::MAX as i64,
        i32::MIN as i64,
        1 << 31,
        1 << 32,
        1 << 40,
        i64::MAX,
        i64::MIN,
    ];
    if rng.bool() {
        VALUES[rng.usize(0..VALUES.len())]
    } else {
        rng.i64(-8..64)
    }
}

/// A float that tends to break numeric code.
pub fn interesting_f64(rng: &mut Rng) -> f64 {
    const VALUES: [f64; 10] = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        1e-45,
        1e38,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        0.5,
    ];
    if rng.bool() {
        VALUES[rng.usize(0..VALUES.len())]
    } else {
        rng.f64() * 20.0 - 10.0
    }
}
