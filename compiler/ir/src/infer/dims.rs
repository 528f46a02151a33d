//! Checked arithmetic on dims and axis normalization shared by the family rules.

use super::{Cx, R};
use crate::{Dim, TensorType};

/// Largest dim inference accepts: far above any real tensor, low enough that sums
/// and products of a few dims cannot overflow `u64` unnoticed.
pub const MAX_DIM: u64 = 1 << 40;

/// Largest output rank a rule makes up from a length alone (e.g. `Unsqueeze`
/// with axes known only at run time): far above any real model.
pub const MAX_RANK: usize = 1 << 12;

/// The length of 1-D operand `i` of type `t`, which gives an output rank (a shape
/// whose values are unknown): it must be fixed and at most [`MAX_RANK`], so that a
/// declared length of 2^32 is an error rather than a 2^32-dim shape in memory.
pub fn rank_from_len(cx: &Cx, i: usize, t: &TensorType) -> R<usize> {
    let Some(len) = t.shape.first().and_then(Dim::fixed) else {
        return Err(cx.in_err(i, "has a symbolic length; the output rank depends on it"));
    };
    match usize::try_from(len).ok().filter(|&n| n <= MAX_RANK) {
        Some(n) => Ok(n),
        None => Err(cx.in_err(
            i,
            format!("has {len} elements: an output rank above the {MAX_RANK} pare accepts"),
        )),
    }
}

/// `axis` in `[-rank, rank)` mapped to `[0, rank)`.
pub fn norm_axis(axis: i64, rank: usize) -> Option<usize> {
    let r = i64::try_from(rank).ok()?;
    let a = if axis < 0 { axis.checked_add(r)? } else { axis };
    (0..r).contains(&a).then_some(a as usize)
}

/// A fixed dim from a computed `i64`, refusing negatives and absurd sizes.
pub fn fixed(cx: &Cx, n: i64, what: &str) -> R<Dim> {
    if n < 0 {
        return Err(cx.err(format!("{what} would be negative ({n})")));
    }
    if n as u64 > MAX_DIM {
        return Err(cx.err(format!("{what} is absurdly large ({n})")));
    }
    Ok(Dim::Fixed(n as u64))
}

/// `a * b` for fixed dims, an unknown otherwise (a dim times 1 stays itself).
pub fn mul(cx: &Cx, a: &Dim, b: &Dim) -> R<Dim> {
    Ok(match (a, b) {
        (Dim::Fixed(1), d) | (d, Dim::Fixed(1)) => d.clone(),
        (Dim::Fixed(0), _) | (_, Dim::Fixed(0)) => Dim::Fixed(0),
        (Dim::Fixed(x), Dim::Fixed(y)) => match x.checked_mul(*y).filter(|p| *p <= MAX_DIM) {
            Some(p) => Dim::Fixed(p),
            None => return Err(cx.err(format!("dim product {x} * {y} is absurdly large"))),
        },
        _ => cx.fresh(),
    })
}

/// Product of dims: fixed when all are, the lone symbol when the rest are 1.
pub fn product(cx: &Cx, ds: &[Dim]) -> R<Dim> {
    let mut acc = Dim::Fixed(1);
    let mut syms = 0;
    for d in ds {
        if d.is_sym() {
            syms += 1;
        }
        acc = mul(cx, &acc, d)?;
    }
    // A product of two or more symbols is not one of them.
    if syms > 1 && acc.is_sym() {
        acc = cx.fresh();
    }
    Ok(acc)
}

/// `d + delta` (delta may be negative); a symbol plus 0 stays itself.
pub fn add(cx: &Cx, d: &Dim, delta: i64, what: &str) -> R<Dim> {
    match d {
        _ if delta == 0 => Ok(d.clone()),
        Dim::Fixed(n) => {
            let n = i64::try_from(*n).map_err(|_| cx.err(format!("{what} too large")))?;
            let s = n
                .checked_add(delta)
                .ok_or_else(|| cx.err(format!("{what} overflows")))?;
            fixed(cx, s, what)
        }
        Dim::Sym(_) => Ok(cx.fresh()),
    }
}

/// Fixed value of a dim as `i64`.
pub fn as_i64(d: &Dim) -> Option<i64> {
    d.fixed().and_then(|n| i64::try_from(n).ok())
}

/// Unifies two dims that must be equal (e.g. a contraction dim): a fixed size
/// beats a symbol, two different fixed sizes are `None`.
pub fn unify(a: &Dim, b: &Dim) -> Option<Dim> {
    match (a, b) {
        (Dim::Fixed(x), Dim::Fixed(y)) => (x == y).then(|| a.clone()),
        (Dim::Fixed(_), Dim::Sym(_)) => Some(a.clone()),
        (Dim::Sym(_), Dim::Fixed(_)) => Some(b.clone()),
        (Dim::Sym(_), Dim::Sym(_)) => Some(a.clone()),
    }
}

/// Refuses output types whose element count overflows or is absurd.
pub fn check_type_size(cx: &Cx, t: &TensorType) -> R<()> {
    let mut n: u64 = 1;
    for d in &t.shape {
        if let Dim::Fixed(x) = d {
            if *x > MAX_DIM {
                return Err(cx.err(format!("output dim {x} is absurdly large")));
            }
            n = n.saturating_mul(*x);
        }
    }
    if n > (1u64 << 48) {
        return Err(cx.err(format!("output type {t} has an absurd element count")));
    }
    Ok(())
}
