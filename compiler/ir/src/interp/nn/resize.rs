//! Resize: nearest, linear and cubic interpolation with every coordinate
//! transformation mode, nearest rounding mode, exclude_outside, extrapolation,
//! antialias, axes and keep_aspect_ratio_policy, following the ONNX reference
//! implementation. Applied one axis at a time (the interpolation is separable),
//! computing in f64.

use super::norm::norm_axis;
use super::util::{count, opt, req, Res};
use crate::interp::InterpError;
use crate::ops::{CoordTransform, KeepAspect, NearestMode, ResizeMode};
use crate::{Op, Tensor};

/// The attributes that shape one axis's taps.
struct AxisCtx<'a> {
    op: &'a Op,
    input: usize,
    out: usize,
    scale: f64,
    roi: (f64, f64),
}

/// Source taps `(index, weight)` of output `o` along one axis; `None` means the
/// coordinate falls outside the crop (tf_crop_and_resize) and takes the extrapolation value.
fn taps(a: &AxisCtx<'_>, o: usize) -> Option<Vec<(usize, f64)>> {
    let Op::Resize {
        mode,
        coordinate_transformation_mode: ct,
        nearest_mode,
        cubic_coeff_a,
        exclude_outside,
        antialias,
        ..
    } = a.op
    else {
        return None;
    };
    let (x, inw, s) = (o as f64, a.input as f64, a.scale);
    let outw = s * inw;
    let xo = match ct {
        CoordTransform::AlignCorners => {
            if outw == 1.0 {
                0.0
            } else {
                x * (inw - 1.0) / (outw - 1.0)
            }
        }
        CoordTransform::Asymmetric => x / s,
        CoordTransform::TfCropAndResize => {
            let (r0, r1) = a.roi;
            let v = if outw == 1.0 {
                (r1 - r0) * (inw - 1.0) / 2.0
            } else {
                x * (r1 - r0) * (inw - 1.0) / (outw - 1.0)
            } + r0 * (inw - 1.0);
            if v < 0.0 || v > inw - 1.0 {
                return None;
            }
            v
        }
        CoordTransform::PytorchHalfPixel => {
            if outw == 1.0 {
                -0.5
            } else {
                (x + 0.5) / s - 0.5
            }
        }
        CoordTransform::HalfPixel => (x + 0.5) / s - 0.5,
        CoordTransform::HalfPixelSymmetric => {
            let adjustment = a.out as f64 / outw;
            let offset = inw / 2.0 * (1.0 - adjustment);
            offset + (x + 0.5) / s - 0.5
        }
    };
    let last = a.input as i64 - 1;
    let clamp = |i: i64| i.clamp(0, last.max(0)) as usize;
    // base = ceil(xo) - 1 and r in (0, 1], as the reference's neighbour search gives.
    let base = xo.ceil() as i64 - 1;
    let r = xo - base as f64;
    let raw: Vec<(i64, f64)> = match mode {
        ResizeMode::Nearest => {
            let up = match nearest_mode {
                NearestMode::RoundPreferFloor => r > 0.5,
                NearestMode::RoundPreferCeil => r >= 0.5,
                NearestMode::Floor => r == 1.0,
                NearestMode::Ceil => true,
            };
            return Some(vec![(clamp(if up { base + 1 } else { base }), 1.0)]);
        }
        ResizeMode::Linear => {
            let sc = if *antialias { s.min(1.0) } else { 1.0 };
            let start = (-1.0 / sc).floor() as i64 + 1;
            let n = 2 - 2 * start;
            (start..start + n)
                .map(|i| {
                    (
                        base + i,
                        (1.0 - ((i as f64 - r) * sc).abs()).clamp(0.0, 1.0),
                    )
                })
                .collect()
        }
        ResizeMode::Cubic => {
            let aa = *cubic_coeff_a as f64;
            let sc = if *antialias { s.min(1.0) } else { 1.0 };
            let start = (-2.0 / sc).floor() as i64 + 1;
            let cubic = |x: f64| {
                let x = x.abs();
                if x <= 1.0 {
                    (aa + 2.0) * x * x * x - (aa + 3.0) * x * x + 1.0
                } else if x < 2.0 {
                    aa * x * x * x - 5.0 * aa * x * x + 8.0 * aa * x - 4.0 * aa
                } else {
                    0.0
                }
            };
            (start..2 - start)
                .map(|i| (base + i, cubic(sc * (i as f64 - r))))
                .collect()
        }
    };
    let mut w: Vec<(i64, f64)> = raw;
    if *exclude_outside {
        for t in &mut w {
            if t.0 < 0 || t.0 > last {
                t.1 = 0.0;
            }
        }
    }
    let sum: f64 = w.iter().map(|t| t.1).sum();
    let norm = if *antialias || *exclude_outside {
        sum
    } else {
        1.0
    };
    Some(
        w.into_iter()
            .filter(|t| t.1 != 0.0)
            .map(|(i, v)| (clamp(i), if norm != 0.0 { v / norm } else { v }))
            .collect(),
    )
}

/// Resizes axis `d` of `x` (shape `shape`) to `a.out`.
fn resize_axis(x: &[f64], shape: &[usize], d: usize, a: &AxisCtx<'_>, extrap: f64) -> Vec<f64> {
    let outer: usize = shape[..d].iter().product();
    let inner: usize = shape[d + 1..].iter().product();
    let (n_in, n_out) = (shape[d], a.out);
    let mut y = vec![0.0; outer * n_out * inner];
    let table: Vec<Option<Vec<(usize, f64)>>> = (0..n_out).map(|o| taps(a, o)).collect();
    for b in 0..outer {
        for (o, t) in table.iter().enumerate() {
            let dst = &mut y[(b * n_out + o) * inner..(b * n_out + o + 1) * inner];
            match t {
                None => dst.fill(extrap),
                Some(t) => {
                    for &(i, w) in t {
                        let src = &x[(b * n_in + i) * inner..(b * n_in + i + 1) * inner];
                        for (dv, sv) in dst.iter_mut().zip(src) {
                            *dv += w * sv;
                        }
                    }
                }
            }
        }
    }
    y
}

/// Resize: inputs x, roi?, scales?, sizes?.
pub(crate) fn resize(op: &Op, inputs: &[Option<&Tensor>]) -> Res<Vec<Tensor>> {
    let Op::Resize {
        coordinate_transformation_mode: ct,
        extrapolation_value,
        axes,
        keep_aspect_ratio_policy: keep,
        ..
    } = op
    else {
        return Err(InterpError::op(op, "not a Resize"));
    };
    let x = req(op, inputs, 0, "x")?;
    let rank = x.rank();
    let shape = x.shape().to_vec();
    let axes: Vec<usize> = match axes {
        Some(a) => {
            let v: Vec<usize> = a
                .iter()
                .map(|&ax| norm_axis(op, ax, rank, false))
                .collect::<Res<_>>()?;
            if (1..v.len()).any(|i| v[..i].contains(&v[i])) {
                return Err(InterpError::op(
                    op,
                    format!("axes {a:?} has a repeated axis"),
                ));
            }
            v
        }
        None => (0..rank).collect(),
    };
    let given = |i: usize| opt(inputs, i).filter(|t| !t.is_empty());
    let (scales_t, sizes_t) = (given(2), given(3));
    let mut scale = vec![1.0f64; rank];
    let mut out = shape.clone();
    match (scales_t, sizes_t) {
        (Some(s), None) => {
            if !s.dtype().is_float() || s.len() != axes.len() {
                return Err(InterpError::op(
                    op,
                    format!(
                        "scales must be a float tensor of {} entries, got {} {:?}",
                        axes.len(),
                        s.dtype(),
                        s.shape()
                    ),
                ));
            }
            for (&ax, v) in axes.iter().zip(s.to_f64_vec()) {
                if !(v > 0.0 && v.is_finite()) {
                    return Err(InterpError::op(
                        op,
                        format!("scales must be positive, got {v}"),
                    ));
                }
                scale[ax] = v;
                let o = (v * shape[ax] as f64).floor();
                if o > u32::MAX as f64 {
                    return Err(InterpError::op(op, format!("output size {o} is too large")));
                }
                out[ax] = o as usize;
            }
        }
        (None, Some(s)) => {
            if s.dtype() != crate::DType::I64 || s.len() != axes.len() {
                return Err(InterpError::op(
                    op,
                    format!(
                        "sizes must be an i64 tensor of {} entries, got {} {:?}",
                        axes.len(),
                        s.dtype(),
                        s.shape()
                    ),
                ));
            }
            let sz = s.to_i64_vec();
            if sz.iter().any(|&v| v < 0) {
                return Err(InterpError::op(
                    op,
                    format!("sizes must be non-negative, got {sz:?}"),
                ));
            }
            for (&ax, &v) in axes.iter().zip(&sz) {
                out[ax] = v as usize;
                scale[ax] = v as f64 / shape[ax] as f64;
            }
            if *keep != KeepAspect::Stretch {
                let it = axes.iter().map(|&ax| scale[ax]);
                let s = if *keep == KeepAspect::NotLarger {
                    it.fold(f64::INFINITY, f64::min)
                } else {
                    it.fold(f64::NEG_INFINITY, f64::max)
                };
                for &ax in &axes {
                    scale[ax] = s;
                    out[ax] = (s * shape[ax] as f64 + 0.5) as usize;
                }
            }
        }
        _ => {
            return Err(InterpError::op(
                op,
                "exactly one of scales and sizes must be given",
            ));
        }
    }
    count(op, &out)?;
    // roi: [start per axis..., end per axis...], over `axes`.
    let mut roi = vec![(0.0, 1.0); rank];
    if *ct == CoordTransform::TfCropAndResize {
        if let Some(r) = given(1) {
            let v = r.to_f64_vec();
            if v.len() != 2 * axes.len() {
                return Err(InterpError::op(
                    op,
                    format!("roi must have {} entries, got {}", 2 * axes.len(), v.len()),
                ));
            }
            for (i, &ax) in axes.iter().enumerate() {
                roi[ax] = (v[i], v[axes.len() + i]);
            }
        }
    }
    let mut data = x.to_f64_vec();
    let mut cur = shape.clone();
    for d in 0..rank {
        if shape[d] == 0 && out[d] != 0 {
            return Err(InterpError::op(
                op,
                format!("cannot resize empty axis {d} to {}", out[d]),
            ));
        }
        let identity =
            scale[d] == 1.0 && out[d] == shape[d] && *ct != CoordTransform::TfCropAndResize;
        if identity {
            continue;
        }
        let a = AxisCtx {
            op,
            input: shape[d],
            out: out[d],
            scale: scale[d],
            roi: roi[d],
        };
        data = resize_axis(&data, &cur, d, &a, *extrapolation_value as f64);
        cur[d] = out[d];
    }
    let t = Tensor::from_vec(out, data).map_err(|e| InterpError::op(op, e.to_string()))?;
    Ok(vec![t.cast(x.dtype())])
}
