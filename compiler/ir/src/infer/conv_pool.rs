//! Convolution, transposed convolution and pooling (auto_pad, ceil_mode,
//! dilations, groups, output_padding/output_shape), and global pooling.

use super::{dims, dt, Cx, R};
use crate::geometry;
use crate::ops::AutoPad;
use crate::{DType, Dim, Op, TensorType};

/// Spatial window attributes shared by conv and pooling.
struct Window {
    auto_pad: AutoPad,
    kernel: Vec<i64>,
    strides: Vec<i64>,
    pads: Vec<i64>,
    dilations: Vec<i64>,
    ceil_mode: bool,
}

pub(super) fn infer(cx: &Cx) -> R<Vec<TensorType>> {
    match cx.op() {
        Op::Conv {
            auto_pad,
            kernel_shape,
            strides,
            pads,
            dilations,
            group,
        } => {
            let (x, w) = image_and_weight(cx)?;
            let sp = x.rank() - 2;
            let kernel = kernel_from(cx, kernel_shape, w, sp)?;
            let win = window(cx, *auto_pad, kernel, strides, pads, dilations, false, sp)?;
            let g = groups(cx, *group)?;
            let (c_in, m) = (&x.shape[1], &w.shape[0]);
            if let (Some(c), Some(wc)) = (c_in.fixed(), w.shape[1].fixed()) {
                if Some(c) != wc.checked_mul(g) {
                    return Err(cx.in_err(
                        1,
                        format!("has {wc} input channels per group; input 0 (x) has {c} channels and group is {g}"),
                    ));
                }
            }
            if let Some(m) = m.fixed() {
                if m % g != 0 {
                    return Err(cx.in_err(
                        1,
                        format!("has {m} output channels, not divisible by group {g}"),
                    ));
                }
            }
            check_bias(cx, m)?;
            let mut out = vec![x.shape[0].clone(), m.clone()];
            for k in 0..sp {
                out.push(window_out(cx, &x.shape[2 + k], &win, k)?);
            }
            Ok(vec![TensorType::new(x.dtype, out)])
        }
        Op::ConvTranspose {
            auto_pad,
            kernel_shape,
            strides,
            pads,
            dilations,
            group,
            output_padding,
            output_shape,
        } => {
            let (x, w) = image_and_weight(cx)?;
            let sp = x.rank() - 2;
            let kernel = kernel_from(cx, kernel_shape, w, sp)?;
            let win = window(cx, *auto_pad, kernel, strides, pads, dilations, false, sp)?;
            let g = groups(cx, *group)?;
            if let (Some(c), Some(wc)) = (x.shape[1].fixed(), w.shape[0].fixed()) {
                if c != wc {
                    return Err(
                        cx.in_err(1, format!("has {wc} input channels; input 0 (x) has {c}"))
                    );
                }
            }
            let m = dims::mul(cx, &w.shape[1], &Dim::Fixed(g))?;
            check_bias(cx, &m)?;
            let out_pad = list(cx, "output_padding", output_padding, sp, 0, 0)?;
            let mut out = vec![x.shape[0].clone(), m];
            let tail = geometry::output_shape_spatial(output_shape, sp).map_err(|n| {
                cx.err(format!(
                    "attribute `output_shape` has {n} entries, expected {sp}"
                ))
            })?;
            if let Some(tail) = tail {
                for &s in tail {
                    out.push(dims::fixed(cx, s, "output_shape entry")?);
                }
            } else {
                for (k, (d, &op)) in x.shape[2..].iter().zip(&out_pad).enumerate() {
                    out.push(transpose_out(cx, d, &win, op, k)?);
                }
            }
            Ok(vec![TensorType::new(x.dtype, out)])
        }
        Op::MaxPool {
            auto_pad,
            kernel_shape,
            strides,
            pads,
            dilations,
            ceil_mode,
            ..
        }
        | Op::AveragePool {
            auto_pad,
            kernel_shape,
            strides,
            pads,
            dilations,
            ceil_mode,
            ..
        }
        | Op::LpPool {
            auto_pad,
            kernel_shape,
            strides,
            pads,
            dilations,
            ceil_mode,
            ..
        } => {
            let x = cx.input(0)?;
            let is_max = matches!(cx.op(), Op::MaxPool { .. });
            let ok: fn(DType) -> bool = if is_max {
                |d| d.is_float() || matches!(d, DType::I8 | DType::U8)
            } else {
                dt::float
            };
            cx.want_dtype(
                0,
                x,
                ok,
                if is_max {
                    "a float type, i8 or u8"
                } else {
                    "a float type"
                },
            )?;
            if x.rank() < 3 {
                return Err(cx.in_err(0, format!("has rank {}, expected at least 3", x.rank())));
            }
            let sp = x.rank() - 2;
            if kernel_shape.len() != sp {
                return Err(cx.err(format!(
                    "attribute `kernel_shape` has {} entries, expected {sp}",
                    kernel_shape.len()
                )));
            }
            let win = window(
                cx,
                *auto_pad,
                kernel_shape.clone(),
                strides,
                pads,
                dilations,
                *ceil_mode,
                sp,
            )?;
            let mut out = x.shape[..2].to_vec();
            for k in 0..sp {
                out.push(window_out(cx, &x.shape[2 + k], &win, k)?);
            }
            let mut res = vec![TensorType::new(x.dtype, out.clone())];
            if cx.n_outputs() > 1 {
                res.push(TensorType::new(DType::I64, out));
            }
            Ok(res)
        }
        Op::GlobalAveragePool {} | Op::GlobalMaxPool {} | Op::GlobalLpPool { .. } => {
            let x = cx.input(0)?;
            cx.want_dtype(0, x, dt::float, "a float type")?;
            if x.rank() < 2 {
                return Err(cx.in_err(0, format!("has rank {}, expected at least 2", x.rank())));
            }
            let mut out = x.shape[..2].to_vec();
            out.resize(x.rank(), Dim::Fixed(1));
            Ok(vec![TensorType::new(x.dtype, out)])
        }
        other => Err(cx.err(format!("no conv/pool rule for `{}`", other.name()))),
    }
}

fn image_and_weight<'a>(cx: &Cx<'a>) -> R<(&'a TensorType, &'a TensorType)> {
    let (x, w) = (cx.input(0)?, cx.input(1)?);
    cx.want_dtype(0, x, dt::float, "a float type")?;
    cx.same_dtype(0, x, 1, w)?;
    if x.rank() < 3 {
        return Err(cx.in_err(0, format!("has rank {}, expected at least 3", x.rank())));
    }
    cx.want_rank(1, w, x.rank())?;
    Ok((x, w))
}

fn groups(cx: &Cx, group: i64) -> R<u64> {
    u64::try_from(group)
        .ok()
        .filter(|&g| g >= 1)
        .ok_or_else(|| cx.err(format!("attribute `group` is {group}, expected >= 1")))
}

fn check_bias(cx: &Cx, m: &Dim) -> R<()> {
    if let Some(b) = cx.opt_input(2)? {
        cx.want_rank(2, b, 1)?;
        if dims::unify(&b.shape[0], m).is_none() {
            return Err(cx.in_err(
                2,
                format!("has {} entries, expected {m} (output channels)", b.shape[0]),
            ));
        }
    }
    Ok(())
}

/// `kernel_shape` if given, else the weight's spatial dims (must be known).
fn kernel_from(cx: &Cx, attr: &[i64], w: &TensorType, sp: usize) -> R<Vec<i64>> {
    let from_w: Option<Vec<i64>> = w.shape[2..].iter().map(dims::as_i64).collect();
    if attr.is_empty() {
        return from_w.ok_or_else(|| {
            cx.in_err(
                1,
                "has symbolic spatial dims and `kernel_shape` is not given",
            )
        });
    }
    if attr.len() != sp {
        return Err(cx.err(format!(
            "attribute `kernel_shape` has {} entries, expected {sp}",
            attr.len()
        )));
    }
    if let Some(fw) = from_w {
        if fw != attr {
            return Err(cx.in_err(
                1,
                format!("has kernel {fw:?} but `kernel_shape` is {attr:?}"),
            ));
        }
    }
    Ok(attr.to_vec())
}

#[allow(clippy::too_many_arguments)]
fn window(
    cx: &Cx,
    auto_pad: AutoPad,
    kernel: Vec<i64>,
    strides: &[i64],
    pads: &[i64],
    dilations: &[i64],
    ceil_mode: bool,
    sp: usize,
) -> R<Window> {
    let strides = list(cx, "strides", strides, sp, 1, 1)?;
    let dilations = list(cx, "dilations", dilations, sp, 1, 1)?;
    let pads = list(cx, "pads", pads, 2 * sp, 0, 0)?;
    // Far above any real window, low enough that the geometry stays in range.
    for (name, v, min) in [
        ("kernel_shape", &kernel, 1),
        ("strides", &strides, 1),
        ("dilations", &dilations, 1),
        ("pads", &pads, 0),
    ] {
        if let Some(bad) = v.iter().find(|&&x| x < min || x > dims::MAX_DIM as i64) {
            return Err(cx.err(format!("attribute `{name}` has invalid entry {bad}")));
        }
    }
    Ok(Window {
        auto_pad,
        kernel,
        strides,
        pads,
        dilations,
        ceil_mode,
    })
}

impl Window {
    /// Axis `k` for the shared geometry rules (entries were validated by [`window`]).
    fn axis(&self, k: usize) -> geometry::Axis {
        let sp = self.kernel.len();
        let u = |v: i64| u64::try_from(v).unwrap_or(0);
        geometry::Axis {
            kernel: u(self.kernel[k]),
            stride: u(self.strides[k]),
            dilation: u(self.dilations[k]),
            pad_begin: u(self.pads[k]),
            pad_end: u(self.pads[k + sp]),
        }
    }
}

/// A per-axis attribute by the shared rule ([`geometry::spatial_list`]).
fn list(cx: &Cx, name: &str, v: &[i64], n: usize, default: i64, min: i64) -> R<Vec<i64>> {
    geometry::spatial_list(v, n, default, min).map_err(|e| match e {
        geometry::ListError::Len(got) => cx.err(format!(
            "attribute `{name}` has {got} entries, expected {n}"
        )),
        geometry::ListError::Entry(bad) => {
            cx.err(format!("attribute `{name}` has invalid entry {bad}"))
        }
    })
}

/// Output size of a conv/pool window along spatial axis `k`.
fn window_out(cx: &Cx, input: &Dim, w: &Window, k: usize) -> R<Dim> {
    let a = w.axis(k);
    let Some(n) = input.fixed() else {
        // Symbolic input: the output equals it when the window preserves size.
        let keeps = a.stride == 1
            && match w.auto_pad {
                AutoPad::SameUpper | AutoPad::SameLower => true,
                AutoPad::Valid => a.extent() == 1,
                AutoPad::NotSet => {
                    u128::from(a.pad_begin) + u128::from(a.pad_end) + 1 == a.extent()
                }
            };
        return Ok(if keeps { input.clone() } else { cx.fresh() });
    };
    match geometry::window(n, &a, w.auto_pad, w.ceil_mode) {
        Ok(r) => dims::fixed(cx, i64::try_from(r.out).unwrap_or(i64::MAX), "output size"),
        Err(geometry::WindowError::TooLarge { extent, padded }) => Err(cx.err(format!(
            "window {extent} (kernel {}, dilation {}) exceeds padded input size {padded} on spatial axis {k}",
            a.kernel, a.dilation
        ))),
        Err(geometry::WindowError::Overflow) => dims::fixed(cx, i64::MAX, "output size"),
    }
}

/// Output size of a transposed convolution along spatial axis `k`.
fn transpose_out(cx: &Cx, input: &Dim, w: &Window, out_pad: i64, k: usize) -> R<Dim> {
    let Some(n) = input.fixed() else {
        return Ok(cx.fresh());
    };
    let out_pad = u64::try_from(out_pad).map_err(|_| {
        cx.err(format!(
            "attribute `output_padding` has negative entry {out_pad}"
        ))
    })?;
    let out = geometry::transpose_out(n, &w.axis(k), out_pad, w.auto_pad)
        .and_then(|o| i64::try_from(o).ok())
        .unwrap_or(i64::MAX);
    dims::fixed(cx, out, "output size")
}
