//! Multidirectional (numpy-style) broadcasting of shapes with symbolic dims.

use super::{Cx, R};
use crate::Dim;

/// Broadcasts two dims: equal dims stay, 1 yields to the other, a symbol yields to
/// a fixed size above 1, two different symbols give an unknown, and two different
/// fixed sizes above 1 are `Err(())`.
pub fn dim(cx: &Cx, a: &Dim, b: &Dim) -> Result<Dim, ()> {
    Ok(match (a, b) {
        _ if a == b => a.clone(),
        (Dim::Fixed(1), _) => b.clone(),
        (_, Dim::Fixed(1)) => a.clone(),
        (Dim::Fixed(_), Dim::Fixed(_)) => return Err(()),
        (Dim::Fixed(_), Dim::Sym(_)) => a.clone(),
        (Dim::Sym(_), Dim::Fixed(_)) => b.clone(),
        (Dim::Sym(_), Dim::Sym(_)) => cx.fresh(),
    })
}

/// Broadcasts the shapes of inputs `idx` (all present) into one shape.
pub fn shapes(cx: &Cx, shapes: &[(usize, &[Dim])]) -> R<Vec<Dim>> {
    let rank = shapes.iter().map(|(_, s)| s.len()).max().unwrap_or(0);
    let mut out: Vec<Dim> = vec![Dim::Fixed(1); rank];
    // Which input decided each output dim, for error messages.
    let mut from: Vec<Option<usize>> = vec![None; rank];
    for &(i, s) in shapes {
        let off = rank - s.len();
        for (k, d) in s.iter().enumerate() {
            let o = &mut out[off + k];
            match dim(cx, o, d) {
                Ok(m) => {
                    if m != *o {
                        from[off + k] = Some(i);
                    }
                    *o = m;
                }
                Err(()) => {
                    let other = from[off + k]
                        .map(|j| cx.in_label(j))
                        .unwrap_or_else(|| "another input".into());
                    return Err(cx.err(format!(
                        "cannot broadcast {} dim {k} ({d}) with {other} ({o})",
                        cx.in_label(i)
                    )));
                }
            }
        }
    }
    Ok(out)
}

/// Unidirectional broadcasting: `small` must broadcast to `target` without
/// changing it (Gemm's C, PRelu's slope).
pub fn unidirectional(cx: &Cx, i: usize, small: &[Dim], target: &[Dim]) -> R<()> {
    if small.len() > target.len() {
        return Err(cx.in_err(
            i,
            format!(
                "has rank {} above the target rank {}",
                small.len(),
                target.len()
            ),
        ));
    }
    let off = target.len() - small.len();
    for (k, d) in small.iter().enumerate() {
        let t = &target[off + k];
        let ok = match (d, t) {
            (Dim::Fixed(1), _) => true,
            (Dim::Fixed(a), Dim::Fixed(b)) => a == b,
            _ => true,
        };
        if !ok {
            return Err(cx.in_err(i, format!("dim {k} ({d}) does not broadcast to {t}")));
        }
    }
    Ok(())
}
