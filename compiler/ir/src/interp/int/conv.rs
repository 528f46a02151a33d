//! Integer Conv (1-D to 3-D; groups, depthwise included; strides, pads, dilations,
//! auto_pad — the same attribute reading and geometry as the float kernel).
//!
//! Spec, for input `x` (per-tensor `s_x`, `z_x`), weight `w` `[O, C/group, k...]`
//! (per tensor or per output channel on axis 0: `s_w[c]`, `z_w[c]`), optional bias
//! `b` (i32 `[O]`, in accumulator units: scale `s_x·s_w[c]`, zero point 0) and output
//! `y` (per-tensor `s_o`, `z_o`):
//!
//! ```text
//! acc[n, c, o...] : i32, wrapping = b[c] + Σ_{ci, k...} (x[n, ci, i...] − z_x) · (w[c, ci, k...] − z_w[c])
//!     taps falling in the padding are skipped (they contribute x = z_x, i.e. 0)
//! M_c = quantize_multiplier(f64(s_x) · f64(s_w[c]) / f64(s_o))
//! y   = clamp(z_o + MBQM(acc, M_c), qmin_o, qmax_o)
//! ```
//!
//! Each product of two 8-bit differences fits in i32; the sum wraps modulo 2^32
//! (as TFLite's int32 accumulator does; wrapping makes the result independent of
//! summation order).

use super::ctx::{Ctx, Res};
use crate::interp::nn::conv::conv_shape;
use crate::quant::product_multiplier;
use crate::Tensor;

/// Conv: inputs x, w, b?.
pub(super) fn conv(cx: &Ctx) -> Res<Vec<Tensor>> {
    let (x, w, b) = (cx.req(0)?, cx.req(1)?, cx.opt(2));
    let s = conv_shape(cx.op, x, w, b)?;
    let (ax, ao) = (cx.act_in(0)?, cx.act_out(0)?);
    let wq = cx.chan(1, s.m, 0)?;
    let bias = cx.bias(2, s.m, ax.scale, &wq)?;
    let xv = cx.centered(0, ax.zp)?;
    let mut wv = cx.centered(1, 0)?;
    let per_oc = wv.len() / s.m.max(1);
    for (oc, chunk) in wv.chunks_mut(per_oc.max(1)).enumerate() {
        let z = wq.zp[oc];
        chunk.iter_mut().for_each(|v| *v -= z);
    }
    let mult: Vec<(i32, i32)> = wq
        .scale
        .iter()
        .map(|&sw| product_multiplier(ax.scale, sw, ao.scale))
        .collect();

    let g = &s.geom;
    let (cg, mg) = (s.c / s.group, s.m / s.group);
    let (in_sp, out_sp, ksz) = (g.in_size(), g.out_size(), g.kernel_size());
    let [kd_n, kh_n, kw_n] = g.kernel;
    let [_, ih_n, iw_n] = g.input;
    let [od_n, oh_n, ow_n] = g.out;
    let (sw, dw, pw) = (g.strides[2], g.dilations[2], g.pad_begin[2]);
    // Output columns whose tap kw lands inside the input row, per kw.
    let valid_w: Vec<(usize, usize)> = (0..kw_n).map(|kw| g.valid(2, kw)).collect();
    let mut acc = vec![0i32; out_sp];
    let mut y = Vec::with_capacity(s.n * s.m * out_sp);
    for bi in 0..s.n {
        for oc in 0..s.m {
            let gi = oc / mg.max(1);
            acc.fill(bias.as_ref().map_or(0, |b| b[oc]));
            for ci in 0..cg {
                let plane = bi * s.c + gi * cg + ci;
                let xc = &xv[plane * in_sp..(plane + 1) * in_sp];
                let wk = &wv[(oc * cg + ci) * ksz..(oc * cg + ci + 1) * ksz];
                for kd in 0..kd_n {
                    for kh in 0..kh_n {
                        for (kw, &(lo, hi)) in valid_w.iter().enumerate() {
                            let wt = wk[(kd * kh_n + kh) * kw_n + kw];
                            if wt == 0 || lo >= hi {
                                continue;
                            }
                            let first = lo * sw + kw * dw - pw;
                            for od in 0..od_n {
                                let Some(id) = g.src(0, od, kd) else { continue };
                                for oh in 0..oh_n {
                                    let Some(ih) = g.src(1, oh, kh) else { continue };
                                    let xrow = &xc[(id * ih_n + ih) * iw_n..][..iw_n];
                                    let arow = &mut acc[(od * oh_n + oh) * ow_n..][..ow_n];
                                    for (j, a) in arow[lo..hi].iter_mut().enumerate() {
                                        *a = a.wrapping_add(wt.wrapping_mul(xrow[first + j * sw]));
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
