//! Integer ConvTranspose (1-D to 3-D; groups, strides, pads, dilations,
//! output_padding, output_shape, auto_pad — the same attribute reading and
//! geometry as the float kernel, [`crate::interp::nn::conv_transpose`]).
//!
//! Spec, for input `x` `[N, C, i...]` (per-tensor `s_x`, `z_x`), weight `w`
//! `[C, M/group, k...]` and output `y` `[N, M, o...]` (per-tensor `s_o`, `z_o`).
//! Input channel `ci` belongs to group `g = ci / (C/group)`; weight entry
//! `w[ci, j, k...]` feeds output channel `c = g·(M/group) + j`.
//!
//! The weight is quantized per tensor or per channel on axis 1, ONNX's and
//! onnxruntime's per-channel axis for ConvTranspose: axis 1 has `M/group`
//! entries, so output channel `c` uses the weight parameters at index
//! `j = c mod (M/group)` (`s_w[c]`, `z_w[c]` below are those; with `group` = 1,
//! `j = c`). Channels `j` of different groups share one scale. The optional bias
//! `b` is i32 `[M]`, one value per output channel `c`, in accumulator units:
//! scale `s_x·s_w[c]`, zero point 0.
//!
//! ```text
//! acc[n, c, o...] : i32, wrapping = b[c] + Σ (x[n, ci, i...] − z_x) · (w[ci, j, k...] − z_w[c])
//!     over ci in c's group and every (i..., k...) with o_d = i_d·stride_d + k_d·dilation_d − pad_begin_d
//!     (taps landing outside the output are dropped; output positions no tap reaches get b[c])
//! M_c = quantize_multiplier(f64(s_x) · f64(s_w[c]) / f64(s_o))
//! y   = clamp(z_o + MBQM(acc, M_c), qmin_o, qmax_o)
//! ```
//!
//! `pad_begin` may be negative (an `output_shape` larger than the natural size),
//! exactly as in the float kernel. Each product of two 8-bit differences fits in
//! i32; the sum wraps modulo 2^32 (as TFLite's int32 accumulator does; wrapping
//! makes the result independent of summation order).

use super::ctx::{Chan, Ctx, Res};
use crate::interp::nn::conv_transpose::{transpose_shape, TGeom};
use crate::quant::product_multiplier;
use crate::Tensor;

/// For one spatial dim and kernel tap: the input range `lo..hi` whose taps land
/// inside the output, and the output position of input `lo`.
#[derive(Clone, Copy, Debug)]
struct Tap {
    lo: usize,
    hi: usize,
    first: usize,
}

/// The taps of every spatial dim, padded at the front to three dims (a 1-wide
/// dim of kernel 1 maps input 0 to output 0).
fn taps(g: &TGeom) -> [Vec<Tap>; 3] {
    let r = g.input.len();
    let mut out: [Vec<Tap>; 3] = Default::default();
    for (d3, slot) in out.iter_mut().enumerate() {
        let Some(d) = (d3 + r).checked_sub(3) else {
            *slot = vec![Tap {
                lo: 0,
                hi: 1,
                first: 0,
            }];
            continue;
        };
        let (s, dl, pb) = (g.strides[d] as i64, g.dilations[d] as i64, g.pad_begin[d]);
        let (n_in, n_out) = (g.input[d] as i64, g.out[d] as i64);
        *slot = (0..g.kernel[d] as i64)
            .map(|k| {
                // Output position of input i: i·s + off; inside when 0 <= it < n_out.
                let off = k * dl - pb;
                let lo = (-off).div_euclid(s) + i64::from((-off).rem_euclid(s) != 0);
                let lo = lo.max(0);
                let hi = ((n_out - 1 - off).div_euclid(s) + 1).min(n_in);
                if lo >= hi {
                    Tap {
                        lo: 0,
                        hi: 0,
                        first: 0,
                    }
                } else {
                    Tap {
                        lo: lo as usize,
                        hi: hi as usize,
                        first: (lo * s + off) as usize,
                    }
                }
            })
            .collect();
    }
    out
}

/// Pads a per-dim list at the front to three dims with `fill`.
fn three(v: &[usize], fill: usize) -> [usize; 3] {
    let mut a = [fill; 3];
    a[3 - v.len()..].copy_from_slice(v);
    a
}

/// ConvTranspose: inputs x, w, b?.
pub(super) fn conv_transpose(cx: &Ctx) -> Res<Vec<Tensor>> {
    let (x, w, b) = (cx.req(0)?, cx.req(1)?, cx.opt(2));
    let s = transpose_shape(cx.op, x, w, b)?;
    let g = &s.geom;
    if g.input.len() > 3 {
        return Err(cx.err(format!(
            "the integer kernel takes 1 to 3 spatial dims, got {}",
            g.input.len()
        )));
    }
    let (ax, ao) = (cx.act_in(0)?, cx.act_out(0)?);
    let (cg, mg) = (s.c / s.group, s.m / s.group);
    // Axis 1 holds the M/group channels within a group; spread to all M outputs.
    let wq = cx.chan(1, mg, 1)?;
    let per_out = Chan {
        scale: (0..s.m).map(|c| wq.scale[c % mg]).collect(),
        zp: (0..s.m).map(|c| wq.zp[c % mg]).collect(),
    };
    let bias = cx.bias(2, s.m, ax.scale, &per_out)?;
    let xv = cx.centered(0, ax.zp)?;
    let ksz: usize = g.kernel.iter().product();
    let mut wv = cx.centered(1, 0)?;
    // Rows of ksz taps in [C, M/group] order: row r is channel j = r mod M/group.
    for (row, chunk) in wv.chunks_mut(ksz.max(1)).enumerate() {
        let z = wq.zp[row % mg.max(1)];
        chunk.iter_mut().for_each(|v| *v -= z);
    }
    let mult: Vec<(i32, i32)> = per_out
        .scale
        .iter()
        .map(|&sw| product_multiplier(ax.scale, sw, ao.scale))
        .collect();

    let [td, th, tw] = taps(g);
    let [_, ih_n, iw_n] = three(&g.input, 1);
    let [_, oh_n, ow_n] = three(&g.out, 1);
    let [sd, sh, sw] = three(&g.strides, 1);
    let (in_sp, out_sp): (usize, usize) = (g.input.iter().product(), g.out.iter().product());
    let mut acc = vec![0i32; out_sp];
    let mut y = Vec::with_capacity(s.n * s.m * out_sp);
    for bi in 0..s.n {
        for oc in 0..s.m {
            let (gi, j) = (oc / mg, oc % mg);
            acc.fill(bias.as_ref().map_or(0, |b| b[oc]));
            for ci in gi * cg..(gi + 1) * cg {
                let plane = bi * s.c + ci;
                let xc = &xv[plane * in_sp..(plane + 1) * in_sp];
                let wk = &wv[(ci * mg + j) * ksz..(ci * mg + j + 1) * ksz];
                let mut taps_k = wk.iter();
                for d in &td {
                    for h in &th {
                        for t in &tw {
                            let Some(&wt) = taps_k.next() else { continue };
                            if wt == 0 || d.lo >= d.hi || h.lo >= h.hi || t.lo >= t.hi {
                                continue;
                            }
                            for (a, id) in (d.lo..d.hi).enumerate() {
                                let od = d.first + a * sd;
                                for (b, ih) in (h.lo..h.hi).enumerate() {
                                    let oh = h.first + b * sh;
                                    let xrow = &xc[(id * ih_n + ih) * iw_n..][t.lo..t.hi];
                                    let arow = &mut acc[(od * oh_n + oh) * ow_n..][t.first..];
                                    for (&xq, a) in xrow.iter().zip(arow.iter_mut().step_by(sw)) {
                                        *a = a.wrapping_add(wt.wrapping_mul(xq));
                                    }
                                }
                            }
                        }
                    }
                }
            }
            y.extend(acc.iter().map(|&a| ao.requant(a, mult[oc], cx.r)));
        }
    }
    Ok(vec![cx.output(&ao, s.out_shape.clone(), y)?])
}
