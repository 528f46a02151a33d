//! Integer ReduceMean (axes input, keepdims, noop_with_empty_axes as ONNX).
//!
//! Spec, for input `(s_in, z_in)` and output `(s_o, z_o)`: each output element
//! averages the `count` input elements that reduce into it (`count` = the product
//! of the reduced dims; 1 when `axes` is empty and `noop_with_empty_axes`, which
//! makes the op a requantization):
//!
//! ```text
//! sum : i32 = Σ (q − z_in)
//! M   = mean_multiplier(s_in, s_o, count)   (TFLite's MEAN: count folded in with integers)
//! y   = clamp(z_o + MBQM(sum, M))
//! ```
//!
//! Reducing an empty set, or more than 2^23 elements into one (the i32 sum of
//! 8-bit differences could overflow), is refused.

use super::ctx::{Ctx, Res};
use crate::interp::reduce::fold;
use crate::interp::util::Args;
use crate::quant::mean_multiplier;
use crate::Tensor;

/// Largest element count one integer mean may sum: 2^23 · 255 < 2^31.
const MAX_COUNT: usize = 1 << 23;

/// Refuses means over nothing or over more elements than the i32 sum can hold.
pub(super) fn check_count(cx: &Ctx, count: usize) -> Res<()> {
    if count == 0 {
        return Err(cx.err("the integer mean of an empty set is undefined"));
    }
    if count > MAX_COUNT {
        return Err(cx.err(format!(
            "the integer mean sums at most 2^23 elements per output, got {count}"
        )));
    }
    Ok(())
}

/// ReduceMean: inputs x, axes?.
pub(super) fn reduce_mean(cx: &Ctx) -> Res<Vec<Tensor>> {
    let Some((keepdims, noop)) = cx.op.reduce_attrs() else {
        return Err(cx.err("not a reduction"));
    };
    let args = Args::new(cx.op, cx.inputs);
    let x = cx.req(0)?;
    let axes = match cx.opt(1) {
        Some(t) => args.ints("axes", t)?,
        None => Vec::new(),
    };
    let rank = x.rank();
    // noop: nothing reduced (each output is one element, requantized).
    let mut reduced = vec![axes.is_empty() && !noop; rank];
    for &a in &axes {
        let a = args.axis(a, rank)?;
        if reduced[a] {
            return Err(cx.err(format!("axis {a} is listed twice")));
        }
        reduced[a] = true;
    }
    let out_shape: Vec<usize> = (0..rank)
        .filter_map(|d| match (reduced[d], keepdims) {
            (false, _) => Some(x.shape()[d]),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect();
    let (qi, qo) = (cx.act_in(0)?, cx.act_out(0)?);
    let count: usize = (0..rank)
        .filter(|&d| reduced[d])
        .map(|d| x.shape()[d])
        .product();
    check_count(cx, count)?;
    let xv = cx.centered(0, qi.zp)?;
    let mut sums = vec![0i32; crate::checked_count(&out_shape)?];
    fold(&xv, x.shape(), &reduced, |o, v| {
        sums[o] = sums[o].wrapping_add(v);
    });
    let mult = mean_multiplier(qi.scale, qo.scale, count as u64);
    let y = sums
        .into_iter()
        .map(|s| qo.requant(s, mult, cx.r))
        .collect();
    Ok(vec![cx.output(&qo, out_shape, y)?])
}
