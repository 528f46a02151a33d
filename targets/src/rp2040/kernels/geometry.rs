//! Shared reading of node operands for the kernel builders: 2-D window geometry
//! (1-D ops become 2-D with height 1) and symmetric per-channel weight scales.

use crate::rp2040::layer::{NodeCx, Params};
use crate::rp2040::Rp2040Error;
use pare_ir::interp::window_geometry;
use pare_ir::Op;

/// A 2-D window in C ints.
#[derive(Clone, Copy, Debug)]
pub(super) struct Plane {
    pub in_h: i64,
    pub in_w: i64,
    pub out_h: i64,
    pub out_w: i64,
    pub k_h: i64,
    pub k_w: i64,
    pub s_h: i64,
    pub s_w: i64,
    pub d_h: i64,
    pub d_w: i64,
    pub pad_top: i64,
    pub pad_left: i64,
    pub pad_bottom: i64,
    pub pad_right: i64,
}

/// The rows a per-channel window kernel (pooling, depthwise conv) starts its params
/// with: channels and plane sizes, kernel, strides, dilations.
pub(super) fn window_rows(p: Params, channels: i64, pl: &Plane) -> Params {
    p.row(&[
        ("channels", channels),
        ("in_h", pl.in_h),
        ("in_w", pl.in_w),
        ("out_h", pl.out_h),
        ("out_w", pl.out_w),
    ])
    .row(&[("kernel_h", pl.k_h), ("kernel_w", pl.k_w)])
    .row(&[("stride_h", pl.s_h), ("stride_w", pl.s_w)])
    .row(&[("dilation_h", pl.d_h), ("dilation_w", pl.d_w)])
}

/// The node's window (the interpreter's own geometry) on input 0, with weight
/// input 1 for convolutions.
pub(super) fn plane(cx: &NodeCx, with_weight: bool) -> Result<Plane, Rp2040Error> {
    let xs = cx.in_shape(0)?;
    let ws = if with_weight {
        Some(cx.in_shape(1)?)
    } else {
        None
    };
    plane_of(&cx.node.op, &xs, ws.as_deref()).map_err(|e| cx.err(e))
}

/// [`plane`] from the op and the shapes of its input (and weight).
pub(super) fn plane_of(op: &Op, xs: &[usize], ws: Option<&[usize]>) -> Result<Plane, String> {
    if xs.first() != Some(&1) {
        return Err(format!("expected batch 1, got input shape {xs:?}"));
    }
    let g = window_geometry(op, xs, ws).map_err(|e| e.to_string())?;
    let n = g.input.len();
    if !(1..=2).contains(&n) {
        return Err(format!(
            "the C kernels take 1-D or 2-D windows, got {n} spatial dims"
        ));
    }
    // Dim 0 of the 2-D plane: the height (1 for a 1-D op).
    let at = |v: &[usize], d: usize, one: i64| -> i64 {
        if n == 1 && d == 0 {
            one
        } else {
            v[d + n - 2] as i64
        }
    };
    let at_i = |v: &[i64], d: usize| -> i64 {
        if n == 1 && d == 0 {
            0
        } else {
            v[d + n - 2]
        }
    };
    Ok(Plane {
        in_h: at(&g.input, 0, 1),
        in_w: at(&g.input, 1, 1),
        out_h: at(&g.out, 0, 1),
        out_w: at(&g.out, 1, 1),
        k_h: at(&g.kernel, 0, 1),
        k_w: at(&g.kernel, 1, 1),
        s_h: at(&g.strides, 0, 1),
        s_w: at(&g.strides, 1, 1),
        d_h: at(&g.dilations, 0, 1),
        d_w: at(&g.dilations, 1, 1),
        pad_top: at_i(&g.pad_begin, 0),
        pad_left: at_i(&g.pad_begin, 1),
        pad_bottom: at_i(&g.pad_end, 0),
        pad_right: at_i(&g.pad_end, 1),
    })
}

/// Scales of weight input `i` for `channels` channels along `axis` (a
/// per-tensor scale repeated). The C kernels take symmetric int8 weights:
/// zero points must be 0 and the storage int8 (4-bit weights are unpacked).
pub(super) fn weight_scales(
    cx: &NodeCx,
    i: usize,
    channels: usize,
    axis: usize,
) -> Result<Vec<f32>, Rp2040Error> {
    let v = cx.input(i)?;
    let ty = cx.g.ty(v);
    let q = ty.quant.as_ref().ok_or_else(|| {
        cx.err(format!(
            "weight `{}` is not quantized ({ty})",
            cx.g.value(v).name
        ))
    })?;
    if ty.dtype != pare_ir::DType::I8 || !q.signed || q.bits > 8 {
        return Err(cx.err(format!(
            "weight `{}` must be signed 8-bit or narrower codes stored as int8, got {ty}",
            cx.g.value(v).name
        )));
    }
    if q.zero_point.iter().any(|&z| z != 0) {
        return Err(cx.err(format!(
            "weight `{}` has non-zero zero points; the C kernels take symmetric weights",
            cx.g.value(v).name
        )));
    }
    match q.axis {
        None if q.scale.len() == 1 => Ok(vec![q.scale[0]; channels]),
        Some(a) if a == axis && q.scale.len() == channels => Ok(q.scale.clone()),
        _ => Err(cx.err(format!(
            "weight `{}` must be quantized per tensor or per channel on axis {axis} ({channels} channels), got {} scales on axis {:?}",
            cx.g.value(v).name,
            q.scale.len(),
            q.axis
        ))),
    }
}

/// The optional i32 bias at input `i` with `channels` values (zeros if absent).
pub(super) fn bias(cx: &NodeCx, i: usize, channels: usize) -> Result<Vec<i32>, Rp2040Error> {
    match cx.opt_constant(i)? {
        None => Ok(vec![0; channels]),
        Some(t) => {
            let v = t
                .as_slice::<i32>()
                .ok_or_else(|| cx.err(format!("bias must be int32, got {}", t.dtype())))?;
            if v.len() != channels {
                return Err(cx.err(format!(
                    "bias must hold {channels} values, got shape {:?}",
                    t.shape()
                )));
            }
            Ok(v.to_vec())
        }
    }
}

/// `bias[c] − z · Σ weights of channel c`, wrapping like the i32 accumulator. With
/// `z` the input zero point the kernels then add `x · w` alone for taps inside the
/// input; the product kernels, which read offset-binary inputs, take `z + 128`.
pub(super) fn fold_zero_point(bias: &[i32], weights: &[i64], zx: i32) -> Vec<i64> {
    let per = weights.len() / bias.len().max(1);
    bias.iter()
        .enumerate()
        .map(|(c, &b)| {
            let sum = weights[c * per..(c + 1) * per]
                .iter()
                .fold(0i32, |a, &w| a.wrapping_add(w as i32));
            i64::from(b.wrapping_sub(zx.wrapping_mul(sum)))
        })
        .collect()
}
