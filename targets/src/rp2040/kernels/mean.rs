//! ReduceMean and GlobalAveragePool → `pare_mean` (pare_ir::interp::int::reduce
//! and pool): kept and reduced dims with their strides, adjacent dims of one
//! kind merged, one multiplier for the count.

use crate::rp2040::cgen::inline_list;
use crate::rp2040::layer::{Layer, NodeCx, Params};
use crate::rp2040::Rp2040Error;
use pare_ir::quant::mean_multiplier;

/// Most dims of one kind the C params hold (`PARE_MAX_RANK`).
pub(super) const MAX_RANK: usize = 8;

/// `(kept dims, kept strides, reduced dims, reduced strides)` of a row-major
/// `shape` with `reduced` marking the reduced axes: size-1 dims dropped,
/// adjacent dims of one kind merged.
pub(crate) fn split_dims(shape: &[usize], reduced: &[bool]) -> [Vec<i64>; 4] {
    let mut strides = vec![1usize; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        strides[d] = strides[d + 1] * shape[d + 1];
    }
    let mut out: [Vec<i64>; 4] = Default::default();
    // The kind of the last dim pushed, to merge runs.
    let mut last: Option<bool> = None;
    for d in 0..shape.len() {
        if shape[d] == 1 {
            continue;
        }
        let k = if reduced[d] { 2 } else { 0 };
        if last == Some(reduced[d]) {
            // Row-major: the previous dim of this run has stride shape[d] * strides[d].
            if let Some(dim) = out[k].last_mut() {
                *dim *= shape[d] as i64;
            }
            if let Some(stride) = out[k + 1].last_mut() {
                *stride = strides[d] as i64;
            }
        } else {
            out[k].push(shape[d] as i64);
            out[k + 1].push(strides[d] as i64);
        }
        last = Some(reduced[d]);
    }
    out
}

/// A `pare_mean` layer over input 0 with `reduced` axes.
fn mean(cx: &mut NodeCx, reduced: &[bool]) -> Result<Layer, Rp2040Error> {
    let xs = cx.in_shape(0)?;
    let count: usize = xs
        .iter()
        .zip(reduced)
        .filter(|(_, &r)| r)
        .map(|(d, _)| d)
        .product();
    let [kd, ks, rd, rs] = split_dims(&xs, reduced);
    if kd.len() > MAX_RANK || rd.len() > MAX_RANK {
        return Err(cx.err(format!(
            "the mean needs {} kept and {} reduced dims after merging; the C kernel takes at most {MAX_RANK}",
            kd.len(),
            rd.len()
        )));
    }
    let (si, zi) = cx.act_in(0)?;
    let (so, zo) = cx.act_out(0)?;
    let (m, s) = mean_multiplier(si, so, count.max(1) as u64);
    let params = Params::new("pare_mean_params")
        .row(&[
            ("kept_rank", kd.len().to_string()),
            ("kept_dims", inline_list(&kd)),
            ("kept_strides", inline_list(&ks)),
        ])
        .row(&[
            ("reduced_rank", rd.len().to_string()),
            ("reduced_dims", inline_list(&rd)),
            ("reduced_strides", inline_list(&rs)),
        ])
        .row(&[("in_zero_point", zi), ("out_zero_point", zo)])
        .row(&[("multiplier", m), ("shift", s)])
        .row(&[("rounding", cx.rounding_macro())]);
    let operands = vec![cx.operand(0)?];
    cx.single_call("pare_mean", params, operands, None)
}

/// GlobalAveragePool: the mean over every spatial dim.
pub(super) fn global_average_pool(cx: &mut NodeCx) -> Result<Layer, Rp2040Error> {
    let rank = cx.in_shape(0)?.len();
    let reduced: Vec<bool> = (0..rank).map(|d| d >= 2).collect();
    mean(cx, &reduced)
}

/// ReduceMean: inputs x, axes? (constant); keepdims and noop_with_empty_axes as ONNX.
pub(super) fn reduce_mean(cx: &mut NodeCx) -> Result<Layer, Rp2040Error> {
    let Some((_, noop)) = cx.node.op.reduce_attrs() else {
        return Err(cx.err("not a reduction"));
    };
    let rank = cx.in_shape(0)?.len();
    let axes: Vec<i64> = match cx.opt_constant(1)? {
        None => Vec::new(),
        Some(t) => t.to_i64_vec(),
    };
    let mut reduced = vec![axes.is_empty() && !noop; rank];
    for a in axes {
        let d = if a < 0 { a + rank as i64 } else { a };
        let d = usize::try_from(d)
            .ok()
            .filter(|&d| d < rank)
            .ok_or_else(|| cx.err(format!("axis {a} is out of range for rank {rank}")))?;
        reduced[d] = true;
    }
    mean(cx, &reduced)
}

#[cfg(test)]
mod tests {
    use super::split_dims;

    #[test]
    fn merges_runs_and_drops_unit_dims() {
        // [1, 16, 4, 4] reducing the spatial dims: 16 kept, 16 reduced.
        let [kd, ks, rd, rs] = split_dims(&[1, 16, 4, 4], &[false, false, true, true]);
        assert_eq!((kd, ks, rd, rs), (vec![16], vec![16], vec![16], vec![1]));
        // Alternating kinds stay apart.
        let [kd, ks, rd, rs] = split_dims(&[2, 3, 4], &[true, false, true]);
        assert_eq!(
            (kd, ks, rd, rs),
            (vec![3], vec![4], vec![2, 4], vec![12, 1])
        );
    }
}
