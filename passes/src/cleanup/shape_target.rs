//! What a `Reshape` or `Expand` with a constant target makes of a shape, told
//! from static types alone (a symbolic dim equals only the same symbol): the
//! proof behind removing a no-op reshape or expand, and behind dropping a
//! reshape that only puts back the dims a reduction removed.

use pare_ir::{Dim, Graph, NodeId, Op, ValueId};

/// The integers a constant holds (a weight of an integer dtype).
pub(crate) fn const_ints(g: &Graph, v: ValueId) -> Option<Vec<i64>> {
    let t = g.weight_of(v)?.tensor().ok()?;
    t.dtype().is_int().then(|| t.to_i64_vec())
}

/// A shape's element count as a formal product: the fixed sizes multiplied
/// out and the symbols sorted. `None` on overflow or a zero size (a `-1` next
/// to a zero size is ambiguous, so nothing is proved there).
fn monomial(dims: &[Dim]) -> Option<(u128, Vec<&str>)> {
    let mut fixed: u128 = 1;
    let mut syms = Vec::new();
    for d in dims {
        match d {
            Dim::Fixed(0) => return None,
            Dim::Fixed(n) => fixed = fixed.checked_mul(u128::from(*n))?,
            Dim::Sym(s) => syms.push(s.as_str()),
        }
    }
    syms.sort_unstable();
    Some((fixed, syms))
}

/// Whether `reshape(x, target)` of an `x` shaped `input` is shaped `want`
/// (ONNX rules: `0` copies the input's dim unless `allowzero`, one `-1` takes
/// what is left).
pub(crate) fn reshape_gives(input: &[Dim], target: &[i64], allowzero: bool, want: &[Dim]) -> bool {
    if target.len() != want.len() {
        return false;
    }
    let mut inferred = 0;
    for (i, (&t, w)) in target.iter().zip(want).enumerate() {
        let ok = match t {
            0 if !allowzero => input.get(i) == Some(w),
            -1 => {
                inferred += 1;
                true
            }
            n if n >= 0 => *w == Dim::Fixed(n as u64),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    // With every other dim pinned, the `-1` is `want`'s dim exactly when the
    // element counts agree; without one, they must agree for the op to run.
    inferred <= 1
        && match (monomial(input), monomial(want)) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        }
}

/// Whether `expand(x, target)` of an `x` shaped `input` is shaped `input`:
/// the target broadcasts into it without raising its rank or any dim.
pub(crate) fn expand_keeps(input: &[Dim], target: &[i64]) -> bool {
    target.len() <= input.len()
        && target
            .iter()
            .rev()
            .zip(input.iter().rev())
            .all(|(&t, d)| t == 1 || u64::try_from(t).is_ok_and(|t| *d == Dim::Fixed(t)))
}

/// Whether node `id`, a `Reshape` or `Expand`, returns its input unchanged:
/// same dtype and quantization, and either the same declared shape or a
/// constant target that provably leaves the shape as it is.
pub(crate) fn is_noop_shape_op(g: &Graph, id: NodeId) -> bool {
    let n = g.node(id);
    let (Some(x), Some(target), Some(&y)) = (n.input(0), n.input(1), n.outputs.first()) else {
        return false;
    };
    let (tx, ty) = (g.ty(x), g.ty(y));
    if tx.dtype != ty.dtype || tx.quant != ty.quant {
        return false;
    }
    if tx.shape == ty.shape {
        return matches!(n.op, Op::Reshape { .. } | Op::Expand {});
    }
    match (&n.op, const_ints(g, target)) {
        (Op::Reshape { allowzero }, Some(t)) => reshape_gives(&tx.shape, &t, *allowzero, &tx.shape),
        (Op::Expand {}, Some(t)) => expand_keeps(&tx.shape, &t),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dims(s: &str) -> Vec<Dim> {
        s.split(',')
            .filter(|d| !d.is_empty())
            .map(|d| match d.parse() {
                Ok(n) => Dim::Fixed(n),
                Err(_) => Dim::Sym(d.to_string()),
            })
            .collect()
    }

    #[test]
    fn reshape_targets_are_resolved_against_the_input() {
        // Magika: [N,256] -> [0,1,256] is [N,1,256]; [a] -> [-1,1] is [a,1].
        assert!(reshape_gives(
            &dims("N,256"),
            &[0, 1, 256],
            false,
            &dims("N,1,256")
        ));
        assert!(reshape_gives(&dims("a"), &[-1, 1], false, &dims("a,1")));
        assert!(reshape_gives(&dims("a,1"), &[-1, 1], false, &dims("a,1")));
        // A 0 copies the input's dim at its own position, not another's.
        assert!(!reshape_gives(
            &dims("N,256"),
            &[1, 0, 256],
            false,
            &dims("1,N,256")
        ));
        // The -1 cannot be told apart from a different symbol.
        assert!(!reshape_gives(&dims("a,b"), &[-1, 1], false, &dims("a,1")));
        // Two -1s, a negative size, a zero size with allowzero, a count mismatch.
        assert!(!reshape_gives(&dims("a,b"), &[-1, -1], false, &dims("a,b")));
        assert!(!reshape_gives(&dims("4"), &[-2, 2], false, &dims("2,2")));
        assert!(!reshape_gives(&dims("N,4"), &[0, 4], true, &dims("N,4")));
        assert!(!reshape_gives(&dims("N,4"), &[0, 8], false, &dims("N,8")));
    }

    #[test]
    fn expands_that_keep_the_shape_are_told_from_those_that_grow_it() {
        assert!(expand_keeps(&dims("N,1,256"), &[1, 1, 256]));
        assert!(expand_keeps(&dims("N,1"), &[1, 1]));
        assert!(expand_keeps(&dims("N,3"), &[3]));
        assert!(!expand_keeps(&dims("N,1"), &[1, 4]));
        assert!(!expand_keeps(&dims("N,1"), &[1, 1, 1]));
        assert!(!expand_keeps(&dims("N,3"), &[5, 3]));
        assert!(!expand_keeps(&dims("N,3"), &[-1, 3]));
    }
}
