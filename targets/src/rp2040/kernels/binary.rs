//! Add, Sub, Mul → `pare_add`, `pare_sub`, `pare_mul`
//! (pare_ir::interp::int::binary): TFLite's add scheme (`add_requant`) or one
//! product multiplier, broadcasting as operand strides with runs merged.

use super::mean::MAX_RANK;
use crate::rp2040::cgen::inline_list;
use crate::rp2040::layer::{Layer, NodeCx, Params};
use crate::rp2040::Rp2040Error;
use pare_ir::quant::{add_requant, product_multiplier};
use pare_ir::Op;

/// Row-major strides of `shape` aligned to the last `rank` dims of an output,
/// 0 where the operand broadcasts (size 1 or missing).
fn broadcast_strides(shape: &[usize], rank: usize) -> Vec<i64> {
    let mut out = vec![0i64; rank];
    let mut acc = 1i64;
    for (i, &n) in shape.iter().enumerate().rev() {
        let d = i + rank - shape.len();
        out[d] = if n == 1 { 0 } else { acc };
        acc *= n as i64;
    }
    out
}

/// `(dims, a strides, b strides)` with size-1 dims dropped and adjacent dims
/// merged where both operands are contiguous across them.
pub(crate) fn merged_dims(out: &[usize], a: &[usize], b: &[usize]) -> [Vec<i64>; 3] {
    let (sa, sb) = (
        broadcast_strides(a, out.len()),
        broadcast_strides(b, out.len()),
    );
    let mut dims: Vec<i64> = Vec::new();
    let (mut ma, mut mb): (Vec<i64>, Vec<i64>) = (Vec::new(), Vec::new());
    for d in 0..out.len() {
        let n = out[d] as i64;
        if n == 1 {
            continue;
        }
        if let (Some(pn), Some(pa), Some(pb)) = (dims.last_mut(), ma.last_mut(), mb.last_mut()) {
            // The previous dim steps by its stride; merging needs it to equal n strides of this one.
            if *pa == sa[d] * n && *pb == sb[d] * n {
                *pn *= n;
                *pa = sa[d];
                *pb = sb[d];
                continue;
            }
        }
        dims.push(n);
        ma.push(sa[d]);
        mb.push(sb[d]);
    }
    [dims, ma, mb]
}

pub(super) fn binary(cx: &mut NodeCx) -> Result<Layer, Rp2040Error> {
    let kernel = match cx.node.op {
        Op::Add {} => "pare_add",
        Op::Sub {} => "pare_sub",
        Op::Mul {} => "pare_mul",
        _ => return Err(cx.err("not an add, sub or mul")),
    };
    let (out, a, b) = (cx.out_shape(0)?, cx.in_shape(0)?, cx.in_shape(1)?);
    if a.len() > out.len() || b.len() > out.len() {
        return Err(cx.err(format!(
            "shapes {a:?} and {b:?} do not broadcast to {out:?}"
        )));
    }
    let [dims, sa, sb] = merged_dims(&out, &a, &b);
    if dims.len() > MAX_RANK {
        return Err(cx.err(format!(
            "broadcasting needs {} dims; the C kernel takes at most {MAX_RANK}",
            dims.len()
        )));
    }
    let (s1, z1) = cx.act_in(0)?;
    let (s2, z2) = cx.act_in(1)?;
    let (so, zo) = cx.act_out(0)?;
    let ((am, ash), (bm, bsh), (om, osh)) = if kernel == "pare_mul" {
        ((0, 0), (0, 0), product_multiplier(s1, s2, so))
    } else {
        let p = add_requant(s1, s2, so);
        (p.input1, p.input2, p.output)
    };
    let params = Params::new("pare_binary_params")
        .row(&[
            ("rank", dims.len().to_string()),
            ("shape", inline_list(&dims)),
        ])
        .row(&[
            ("a_strides", inline_list(&sa)),
            ("b_strides", inline_list(&sb)),
        ])
        .row(&[
            ("a_zero_point", z1),
            ("b_zero_point", z2),
            ("out_zero_point", zo),
        ])
        .row(&[("a_multiplier", am), ("a_shift", ash)])
        .row(&[("b_multiplier", bm), ("b_shift", bsh)])
        .row(&[("out_multiplier", om), ("out_shift", osh)])
        .row(&[("rounding", cx.rounding_macro())]);
    let operands = vec![cx.operand(0)?, cx.operand(1)?];
    cx.single_call(kernel, params, operands, None)
}

#[cfg(test)]
mod tests {
    use super::merged_dims;

    #[test]
    fn same_shapes_merge_to_one_dim() {
        let [d, a, b] = merged_dims(&[1, 16, 8, 8], &[1, 16, 8, 8], &[1, 16, 8, 8]);
        assert_eq!((d, a, b), (vec![1024], vec![1], vec![1]));
    }

    #[test]
    fn per_channel_broadcast_keeps_two_dims() {
        let [d, a, b] = merged_dims(&[1, 16, 8, 8], &[1, 16, 8, 8], &[1, 16, 1, 1]);
        assert_eq!((d, a, b), (vec![16, 64], vec![64, 1], vec![1, 0]));
    }
}
