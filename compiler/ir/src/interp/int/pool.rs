//! Integer pooling: MaxPool, AveragePool and GlobalAveragePool.
//!
//! Spec:
//! * MaxPool: input and output parameters must be equal (a max commutes with a
//!   monotone requantization only then); the output is the largest code among the
//!   window's positions inside the input (padding never wins), computed by the
//!   shared pooling kernel on the codes. The optional indices output is as ONNX.
//! * AveragePool / GlobalAveragePool, for input `(s_in, z_in)` and output
//!   `(s_o, z_o)`: `sum = Σ (q − z_in)` over the window's positions inside the input
//!   (i32), `count` as ONNX (the positions inside the input, plus the padding
//!   positions when `count_include_pad`; positions past the explicit end padding
//!   that `ceil_mode` adds are never counted; GlobalAveragePool: the spatial size),
//!   `M = mean_multiplier(s_in, s_o, count)` (TFLite's MEAN derivation),
//!   `y = clamp(z_o + MBQM(sum, M))`; a window with `count = 0` gives `z_o`. Counts
//!   above 2^23 are refused (the i32 sum of 8-bit differences could overflow), as is
//!   an empty GlobalAveragePool plane.

use super::ctx::{Ctx, Res};
use super::movement::same_params;
use crate::interp::eval_op;
use crate::interp::nn::conv::Geom3;
use crate::interp::nn::util::{window, WindowAttrs};
use crate::quant::mean_multiplier;
use crate::{Op, Tensor};

/// MaxPool: the shared kernel on the codes, once the parameters are checked equal.
pub(super) fn max_pool(cx: &Ctx) -> Res<Vec<Tensor>> {
    same_params(cx, &[0], &[0])?;
    cx.act_in(0)?;
    eval_op(cx.op, cx.inputs, cx.out_types.len())
}

/// Checks `x` has rank >= 3 (`[N, C, spatial...]`).
fn check_rank(cx: &Ctx, x: &Tensor) -> Res<()> {
    if x.rank() < 3 {
        return Err(cx.err(format!(
            "x must have rank >= 3 ([N, C, spatial...]), got shape {:?}",
            x.shape()
        )));
    }
    Ok(())
}

/// AveragePool.
pub(super) fn average_pool(cx: &Ctx) -> Res<Vec<Tensor>> {
    let Op::AveragePool {
        auto_pad,
        kernel_shape,
        strides,
        pads,
        dilations,
        ceil_mode,
        count_include_pad,
    } = cx.op
    else {
        return Err(cx.err("not an AveragePool"));
    };
    let x = cx.req(0)?;
    check_rank(cx, x)?;
    let (qi, qo) = (cx.act_in(0)?, cx.act_out(0)?);
    let spatial = &x.shape()[2..];
    let kernel: Vec<usize> = kernel_shape
        .iter()
        .map(|&k| usize::try_from(k).ok().filter(|&k| k > 0))
        .collect::<Option<Vec<usize>>>()
        .filter(|k| k.len() == spatial.len())
        .ok_or_else(|| {
            cx.err(format!(
                "kernel_shape must have {} positive entries, got {kernel_shape:?}",
                spatial.len()
            ))
        })?;
    let win = window(
        cx.op,
        spatial,
        &kernel,
        &WindowAttrs {
            auto_pad: *auto_pad,
            strides,
            pads,
            dilations,
            ceil_mode: *ceil_mode,
        },
    )?;
    let g = Geom3::new(cx.op, spatial, &win)?;
    let mut out_shape = x.shape()[..2].to_vec();
    out_shape.extend(&win.out);
    let total = crate::checked_count(&out_shape)?;
    let ksz = g.kernel_size();
    super::reduce::check_count(cx, ksz)?;
    let xv = cx.centered(0, qi.zp)?;
    // One multiplier per possible count (1..=kernel size).
    let mult: Vec<(i32, i32)> = (0..=ksz as u64)
        .map(|c| mean_multiplier(qi.scale, qo.scale, c.max(1)))
        .collect();
    let in_sp = g.in_size();
    let [_, ih_n, iw_n] = g.input;
    let planes = x.shape()[0] * x.shape()[1];
    let mut y = Vec::with_capacity(total);
    for p in 0..planes {
        let xp = &xv[p * in_sp..(p + 1) * in_sp];
        for od in 0..g.out[0] {
            for oh in 0..g.out[1] {
                for ow in 0..g.out[2] {
                    let (mut sum, mut n_in, mut n_pad) = (0i32, 0usize, 0usize);
                    for kd in 0..g.kernel[0] {
                        let pd = od * g.strides[0] + kd * g.dilations[0];
                        for kh in 0..g.kernel[1] {
                            let ph = oh * g.strides[1] + kh * g.dilations[1];
                            for kw in 0..g.kernel[2] {
                                let pw = ow * g.strides[2] + kw * g.dilations[2];
                                let pos = [pd, ph, pw];
                                let inside = (0..3).all(|i| {
                                    pos[i] >= g.pad_begin[i] && pos[i] < g.pad_begin[i] + g.input[i]
                                });
                                if !inside {
                                    if (0..3).all(|i| {
                                        pos[i] < g.pad_begin[i] + g.input[i] + g.pad_end[i]
                                    }) {
                                        n_pad += 1;
                                    }
                                    continue;
                                }
                                let (d, h, w) = (
                                    pd - g.pad_begin[0],
                                    ph - g.pad_begin[1],
                                    pw - g.pad_begin[2],
                                );
                                sum = sum.wrapping_add(xp[(d * ih_n + h) * iw_n + w]);
                                n_in += 1;
                            }
                        }
                    }
                    let count = if *count_include_pad {
                        n_in + n_pad
                    } else {
                        n_in
                    };
                    y.push(if count == 0 {
                        qo.zp.clamp(qo.lo, qo.hi)
                    } else {
                        qo.requant(sum, mult[count], cx.r)
                    });
                }
            }
        }
    }
    Ok(vec![cx.output(&qo, out_shape, y)?])
}

/// GlobalAveragePool: the mean over all spatial positions of each plane.
pub(super) fn global_average_pool(cx: &Ctx) -> Res<Vec<Tensor>> {
    let x = cx.req(0)?;
    check_rank(cx, x)?;
    let (qi, qo) = (cx.act_in(0)?, cx.act_out(0)?);
    let in_sp: usize = x.shape()[2..].iter().product();
    super::reduce::check_count(cx, in_sp)?;
    let xv = cx.centered(0, qi.zp)?;
    let mult = mean_multiplier(qi.scale, qo.scale, in_sp as u64);
    let y: Vec<i32> = xv
        .chunks(in_sp)
        .map(|plane| {
            qo.requant(
                plane.iter().fold(0i32, |a, &v| a.wrapping_add(v)),
                mult,
                cx.r,
            )
        })
        .collect();
    let mut shape = x.shape()[..2].to_vec();
    shape.extend(std::iter::repeat_n(1, x.rank() - 2));
    Ok(vec![cx.output(&qo, shape, y)?])
}
