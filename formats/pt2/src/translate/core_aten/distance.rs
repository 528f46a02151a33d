//! Pairwise distances: `_cdist_forward` (between two point sets) and
//! `_pdist_forward` (within one, the upper triangle), as p-norms of broadcast
//! differences.

use super::super::args::NodeCtx;
use super::super::emit::*;
use super::super::Translator;
use super::static_sizes;
use pare_ir::{Op, ValueId};

/// ‖a[..., i, :] − b[..., j, :]‖_p for all i, j: `[..., P, R]`.
fn pairwise(
    t: &mut Translator<'_>,
    c: &NodeCtx<'_>,
    a: ValueId,
    b: ValueId,
    rank: i64,
    p: f64,
) -> R<ValueId> {
    let axes_a = i64s(t, c, "axes_a", &[rank - 1])?;
    let axes_b = i64s(t, c, "axes_b", &[rank - 2])?;
    let ua = tmp(t, c, "a", Op::Unsqueeze {}, vec![Some(a), Some(axes_a)])?;
    let ub = tmp(t, c, "b", Op::Unsqueeze {}, vec![Some(b), Some(axes_b)])?;
    let d = tmp(t, c, "difference", Op::Sub {}, vec![Some(ua), Some(ub)])?;
    let last = i64s(t, c, "last_axis", &[rank])?;
    let (keepdims, noop_with_empty_axes) = (false, false);
    let abs = tmp(t, c, "abs", Op::Abs {}, vec![Some(d)])?;
    let inputs = |x: ValueId| vec![Some(x), Some(last)];
    if p == 1.0 {
        return tmp(
            t,
            c,
            "norm",
            Op::ReduceSum {
                keepdims,
                noop_with_empty_axes,
            },
            inputs(abs),
        );
    }
    if p == 2.0 {
        return tmp(
            t,
            c,
            "norm",
            Op::ReduceL2 {
                keepdims,
                noop_with_empty_axes,
            },
            inputs(d),
        );
    }
    if p == f64::INFINITY {
        return tmp(
            t,
            c,
            "norm",
            Op::ReduceMax {
                keepdims,
                noop_with_empty_axes,
            },
            inputs(abs),
        );
    }
    if p <= 0.0 || !p.is_finite() {
        return Err(format!("distance with p = {p} is not supported (p > 0 or inf)").into());
    }
    let pv = scalar(t, c, "p", p)?;
    let inv = scalar(t, c, "inv_p", 1.0 / p)?;
    let pw = tmp(t, c, "powered", Op::Pow {}, vec![Some(abs), Some(pv)])?;
    let s = tmp(
        t,
        c,
        "sum",
        Op::ReduceSum {
            keepdims,
            noop_with_empty_axes,
        },
        inputs(pw),
    )?;
    tmp(t, c, "norm", Op::Pow {}, vec![Some(s), Some(inv)])
}

/// `_cdist_forward(x1, x2, p, compute_mode)`.
pub(super) fn cdist(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let n1 = c.tensor("x1")?;
    let rank = t.sizes(n1)?.len() as i64;
    if rank < 2 {
        return Err(format!("cdist of a rank-{rank} tensor").into());
    }
    let p = c.float("p", Some(2.0))?;
    let a = t.value(n1)?;
    let b = t.value(c.tensor("x2")?)?;
    let d = pairwise(t, c, a, b, rank, p)?;
    finish(t, c, Op::Identity {}, vec![Some(d)])
}

/// `_pdist_forward(self, p)`: distances of rows i < j, in row-major pair order.
pub(super) fn pdist(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let name = c.tensor("self")?;
    let sizes = static_sizes(t, name)?;
    let [n, _] = sizes[..] else {
        return Err(format!("pdist of sizes {sizes:?} (expected [N, M])").into());
    };
    let p = c.float("p", Some(2.0))?;
    let x = t.value(name)?;
    let d = pairwise(t, c, x, x, 2, p)?;
    let flat = super::reshape_const(t, c, "flat", d, &[super::count(&[n, n])?])?;
    super::count(&[n, n])?;
    let pairs: Vec<i64> = (0..n)
        .flat_map(|i| (i + 1..n).map(move |j| i * n + j))
        .collect();
    let idx = i64s(t, c, "pairs", &pairs)?;
    finish(t, c, Op::Gather { axis: 0 }, vec![Some(flat), Some(idx)])
}
