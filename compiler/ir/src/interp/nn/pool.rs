//! MaxPool (with Indices), AveragePool, LpPool and their global forms. Not hot:
//! computes in f64 and converts back to the input dtype.

use super::conv::Geom3;
use super::util::{count, from_f64, req, window, Res, WindowAttrs};
use crate::interp::InterpError;
use crate::ops::AutoPad;
use crate::{DType, Op, Tensor};

/// How the values under one window are combined.
#[derive(Clone, Copy)]
enum Kind {
    Max,
    Avg { count_include_pad: bool },
    Lp(f64),
}

/// Shared attributes of the windowed pools.
struct PoolAttrs<'a> {
    auto_pad: AutoPad,
    kernel_shape: &'a [i64],
    strides: &'a [i64],
    pads: &'a [i64],
    dilations: &'a [i64],
    ceil_mode: bool,
}

fn check_input<'a>(op: &Op, inputs: &[Option<&'a Tensor>], ints_ok: bool) -> Res<&'a Tensor> {
    let x = req(op, inputs, 0, "x")?;
    let dt = x.dtype();
    if !(dt.is_float() || (ints_ok && matches!(dt, DType::I8 | DType::U8))) {
        let want = if ints_ok {
            "f32, f16, f64, i8 or u8"
        } else {
            "f32, f16 or f64"
        };
        return Err(InterpError::op(op, format!("x must be {want}, got {dt}")));
    }
    if x.rank() < 3 {
        return Err(InterpError::op(
            op,
            format!(
                "x must have rank >= 3 ([N, C, spatial...]), got shape {:?}",
                x.shape()
            ),
        ));
    }
    Ok(x)
}

/// Runs a windowed pool; returns y and, for max pooling, the flat argmax indices
/// (row-major, or column-major over the spatial dims when `storage_order` is 1).
fn pool(
    op: &Op,
    x: &Tensor,
    a: &PoolAttrs<'_>,
    kind: Kind,
    storage_order: i64,
) -> Res<(Tensor, Tensor)> {
    let xs = x.shape();
    let spatial = &xs[2..];
    let kernel: Vec<usize> = a
        .kernel_shape
        .iter()
        .map(|&k| usize::try_from(k).ok().filter(|&k| k > 0))
        .collect::<Option<_>>()
        .filter(|k: &Vec<usize>| k.len() == spatial.len())
        .ok_or_else(|| {
            InterpError::op(
                op,
                format!(
                    "kernel_shape must have {} positive entries, got {:?}",
                    spatial.len(),
                    a.kernel_shape
                ),
            )
        })?;
    let win = window(
        op,
        spatial,
        &kernel,
        &WindowAttrs {
            auto_pad: a.auto_pad,
            strides: a.strides,
            pads: a.pads,
            dilations: a.dilations,
            ceil_mode: a.ceil_mode,
        },
    )?;
    let g = Geom3::new(op, spatial, &win)?;
    let mut out_shape = xs[..2].to_vec();
    out_shape.extend(&win.out);
    let total = count(op, &out_shape)?;
    let xv = x.to_f64_vec();
    let in_sp = g.in_size();
    let planes = xs[0] * xs[1];
    let mut y = Vec::with_capacity(total);
    let mut idx = Vec::with_capacity(if matches!(kind, Kind::Max) { total } else { 0 });
    // Flat spatial offset of (d, h, w) in the requested storage order.
    let [id_n, ih_n, iw_n] = g.input;
    let flat = |d: usize, h: usize, w: usize| -> usize {
        if storage_order == 1 {
            w * ih_n * id_n + h * id_n + d
        } else {
            (d * ih_n + h) * iw_n + w
        }
    };
    // Reverse dims order for column-major only among the real spatial dims: with
    // leading unit dims, d (and h) are 0 so the formula reduces correctly.
    for p in 0..planes {
        let xp = &xv[p * in_sp..(p + 1) * in_sp];
        for od in 0..g.out[0] {
            for oh in 0..g.out[1] {
                for ow in 0..g.out[2] {
                    let mut best = f64::NEG_INFINITY;
                    let mut best_i = None;
                    let mut sum = 0.0;
                    let mut n_in = 0usize;
                    let mut n_pad = 0usize;
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
                                let v = xp[(d * ih_n + h) * iw_n + w];
                                n_in += 1;
                                match kind {
                                    Kind::Max => {
                                        if best_i.is_none() || v > best {
                                            best = v;
                                            best_i = Some(flat(d, h, w));
                                        }
                                    }
                                    Kind::Avg { .. } => sum += v,
                                    Kind::Lp(pw) => sum += v.abs().powf(pw),
                                }
                            }
                        }
                    }
                    match kind {
                        Kind::Max => {
                            y.push(best);
                            idx.push((p * in_sp + best_i.unwrap_or(0)) as i64);
                        }
                        Kind::Avg { count_include_pad } => {
                            let n = if count_include_pad {
                                n_in + n_pad
                            } else {
                                n_in
                            };
                            y.push(if n == 0 { 0.0 } else { sum / n as f64 });
                        }
                        Kind::Lp(pw) => y.push(sum.powf(1.0 / pw)),
                    }
                }
            }
        }
    }
    let yt = from_f64(op, x.dtype(), out_shape.clone(), y)?;
    let it = if matches!(kind, Kind::Max) {
        Tensor::from_vec(out_shape, idx).map_err(|e| InterpError::op(op, e.to_string()))?
    } else {
        Tensor::scalar(0i64)
    };
    Ok((yt, it))
}

/// MaxPool: y and optionally indices.
pub(crate) fn max_pool(
    op: &Op,
    inputs: &[Option<&Tensor>],
    num_outputs: usize,
) -> Res<Vec<Tensor>> {
    let Op::MaxPool {
        auto_pad,
        kernel_shape,
        strides,
        pads,
        dilations,
        ceil_mode,
        storage_order,
    } = op
    else {
        return Err(InterpError::op(op, "not a MaxPool"));
    };
    if !matches!(storage_order, 0 | 1) {
        return Err(InterpError::op(
            op,
            format!("storage_order must be 0 or 1, got {storage_order}"),
        ));
    }
    let x = check_input(op, inputs, true)?;
    let a = PoolAttrs {
        auto_pad: *auto_pad,
        kernel_shape,
        strides,
        pads,
        dilations,
        ceil_mode: *ceil_mode,
    };
    let (y, i) = pool(op, x, &a, Kind::Max, *storage_order)?;
    Ok(if num_outputs >= 2 {
        vec![y, i]
    } else {
        vec![y]
    })
}

/// AveragePool.
pub(crate) fn average_pool(op: &Op, inputs: &[Option<&Tensor>]) -> Res<Vec<Tensor>> {
    let Op::AveragePool {
        auto_pad,
        kernel_shape,
        strides,
        pads,
        dilations,
        ceil_mode,
        count_include_pad,
    } = op
    else {
        return Err(InterpError::op(op, "not an AveragePool"));
    };
    let x = check_input(op, inputs, false)?;
    let a = PoolAttrs {
        auto_pad: *auto_pad,
        kernel_shape,
        strides,
        pads,
        dilations,
        ceil_mode: *ceil_mode,
    };
    let kind = Kind::Avg {
        count_include_pad: *count_include_pad,
    };
    Ok(vec![pool(op, x, &a, kind, 0)?.0])
}

/// LpPool.
pub(crate) fn lp_pool(op: &Op, inputs: &[Option<&Tensor>]) -> Res<Vec<Tensor>> {
    let Op::LpPool {
        auto_pad,
        kernel_shape,
        strides,
        pads,
        dilations,
        ceil_mode,
        p,
    } = op
    else {
        return Err(InterpError::op(op, "not an LpPool"));
    };
    if *p <= 0 {
        return Err(InterpError::op(op, format!("p must be positive, got {p}")));
    }
    let x = check_input(op, inputs, false)?;
    let a = PoolAttrs {
        auto_pad: *auto_pad,
        kernel_shape,
        strides,
        pads,
        dilations,
        ceil_mode: *ceil_mode,
    };
    Ok(vec![pool(op, x, &a, Kind::Lp(*p as f64), 0)?.0])
}

/// GlobalAveragePool, GlobalMaxPool, GlobalLpPool: reduce all spatial dims to 1.
pub(crate) fn global_pool(op: &Op, inputs: &[Option<&Tensor>]) -> Res<Vec<Tensor>> {
    let x = check_input(op, inputs, false)?;
    let xs = x.shape();
    let in_sp: usize = xs[2..].iter().product();
    let planes = xs[0] * xs[1];
    let xv = x.to_f64_vec();
    let mut y = Vec::with_capacity(planes);
    for p in 0..planes {
        let s = &xv[p * in_sp..(p + 1) * in_sp];
        y.push(match op {
            Op::GlobalMaxPool {} => s.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            Op::GlobalLpPool { p } => {
                if *p <= 0 {
                    return Err(InterpError::op(op, format!("p must be positive, got {p}")));
                }
                let pw = *p as f64;
                s.iter()
                    .map(|v| v.abs().powf(pw))
                    .sum::<f64>()
                    .powf(1.0 / pw)
            }
            _ => s.iter().sum::<f64>() / in_sp as f64,
        });
    }
    let mut shape = xs[..2].to_vec();
    shape.extend(std::iter::repeat_n(1, xs.len() - 2));
    Ok(vec![from_f64(op, x.dtype(), shape, y)?])
}
