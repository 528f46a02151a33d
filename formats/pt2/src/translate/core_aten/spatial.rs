//! Spatial ops of the Core ATen set: nearest and bilinear upsampling (Resize),
//! 3-D average and max pooling (with torch's per-volume indices), adaptive 3-D
//! average pooling, and group normalization.

use super::super::args::NodeCtx;
use super::super::emit::*;
use super::super::Translator;
use super::static_sizes;
use pare_ir::ops::{AutoPad, CoordTransform, KeepAspect, NearestMode, ResizeMode};
use pare_ir::{DType, Op, Tensor};

/// `upsample_nearest2d.vec` / `upsample_bilinear2d.vec(input, output_size?,
/// [align_corners,] scale_factors?)`. torch maps output pixel `o` to input
/// coordinate `o / scale` (nearest: floored; bilinear: half-pixel centres, clamped
/// at 0) with the given scale, or in/out sizes when only the size is given: ONNX
/// Resize with `asymmetric`+`floor` and `pytorch_half_pixel` computes the same.
pub(super) fn upsample(t: &mut Translator<'_>, c: &NodeCtx<'_>, linear: bool) -> R<()> {
    let name = c.tensor("input")?;
    let rank = t.sizes(name)?.len();
    let align_corners = linear && c.bool("align_corners", false)?;
    let scales = c
        .arg("scale_factors")
        .map(|_| floats(c, "scale_factors"))
        .transpose()?;
    let x = t.value(name)?;
    let (scales_v, sizes_v) = match scales {
        Some(s) if !align_corners => {
            if s.len() > rank {
                return Err(format!("{} scale factors for a rank-{rank} input", s.len()).into());
            }
            let mut all = vec![1.0f32; rank - s.len()];
            all.extend(s.iter().map(|&v| v as f32));
            let tensor = Tensor::from_vec(vec![all.len()], all)?;
            (
                Some(t.constant(&format!("{}/scales", c.name), &tensor)?),
                None,
            )
        }
        _ => {
            let out = static_sizes(t, c.out(0)?)?;
            (None, Some(i64s(t, c, "sizes", &out)?))
        }
    };
    let (mode, coords) = match (linear, align_corners) {
        (false, _) => (ResizeMode::Nearest, CoordTransform::Asymmetric),
        (true, true) => (ResizeMode::Linear, CoordTransform::AlignCorners),
        (true, false) => (ResizeMode::Linear, CoordTransform::PytorchHalfPixel),
    };
    let op = Op::Resize {
        mode,
        coordinate_transformation_mode: coords,
        nearest_mode: NearestMode::Floor,
        cubic_coeff_a: -0.75,
        exclude_outside: false,
        extrapolation_value: 0.0,
        antialias: false,
        axes: None,
        keep_aspect_ratio_policy: KeepAspect::Stretch,
    };
    finish(t, c, op, vec![Some(x), None, scales_v, sizes_v])
}

/// A float list argument (`as_floats`).
fn floats(c: &NodeCtx<'_>, name: &str) -> R<Vec<f64>> {
    match c.arg(name) {
        Some(("as_floats", serde_json::Value::Array(l))) => l
            .iter()
            .map(super::super::args::json_f64)
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| format!("argument `{name}` should be floats").into()),
        _ => Err(format!("argument `{name}` should be a list of floats").into()),
    }
}

/// The pooling attributes of an n-d `avg_pool`/`max_pool` node.
fn pool_op(c: &NodeCtx<'_>, n: usize, max: bool) -> R<Op> {
    let kernel_shape = spatial(c.ints("kernel_size", None)?, n, "kernel_size")?;
    let stride = c.ints("stride", Some(&[]))?;
    let strides = if stride.is_empty() {
        kernel_shape.clone()
    } else {
        spatial(stride, n, "stride")?
    };
    let pad = spatial(c.ints("padding", Some(&[0]))?, n, "padding")?;
    let pads = [pad.clone(), pad].concat();
    let ceil_mode = c.bool("ceil_mode", false)?;
    if max {
        return Ok(Op::MaxPool {
            auto_pad: AutoPad::NotSet,
            kernel_shape,
            strides,
            pads,
            dilations: spatial(c.ints("dilation", Some(&[1]))?, n, "dilation")?,
            ceil_mode,
            storage_order: 0,
        });
    }
    if c.arg("divisor_override").is_some() {
        return Err("avg_pool with divisor_override is not supported".into());
    }
    Ok(Op::AveragePool {
        auto_pad: AutoPad::NotSet,
        kernel_shape,
        strides,
        pads,
        dilations: vec![1; n],
        ceil_mode,
        count_include_pad: c.bool("count_include_pad", true)?,
    })
}

/// `avg_pool3d` → AveragePool.
pub(super) fn avg_pool3d(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let op = pool_op(c, 3, false)?;
    unary(t, c, "self", op)
}

/// `max_pool3d_with_indices` → MaxPool; torch counts indices within each D·H·W
/// volume, ONNX over the whole tensor, so ONNX's index modulo the volume is torch's.
pub(super) fn max_pool3d(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let op = pool_op(c, 3, true)?;
    let name = c.tensor("self")?;
    let x = t.value(name)?;
    let outs = c.outs();
    let values = Some(c.out(0)?);
    let Some(indices) = outs.get(1).copied().flatten() else {
        return t
            .emit_multi(&c.name, op, vec![Some(x)], &[values])
            .map(|_| ());
    };
    let sizes = static_sizes(t, name)?;
    if sizes.len() < 4 {
        return Err(format!("input sizes {sizes:?} have no D·H·W volume").into());
    }
    let volume = super::count(&sizes[sizes.len() - 3..])?;
    let ids = t.emit_multi(&c.name, op, vec![Some(x)], &[values, None])?;
    let flat = *ids.get(1).ok_or("MaxPool lost its indices output")?;
    let m = scalar_of(t, c, "volume", volume as f64, DType::I64)?;
    let node = format!("{}/volume_index", c.name);
    t.emit(
        &node,
        Op::Mod { fmod: false },
        vec![Some(flat), Some(m)],
        indices,
    )
    .map(|_| ())
}

/// `_adaptive_avg_pool3d(self, output_size)`: global for 1×1×1, else an AveragePool
/// when the sizes divide evenly.
pub(super) fn adaptive_avg_pool3d(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let name = c.tensor("self")?;
    let out = spatial(c.ints("output_size", None)?, 3, "output_size")?;
    let x = t.value(name)?;
    if out == [1, 1, 1] {
        return finish(t, c, Op::GlobalAveragePool {}, vec![Some(x)]);
    }
    let sizes = static_sizes(t, name)?;
    let dhw = &sizes[sizes.len().saturating_sub(3)..];
    if dhw.len() != 3 || out.iter().zip(dhw).any(|(&o, &d)| o <= 0 || d % o != 0) {
        return Err(format!(
            "adaptive pooling of {dhw:?} to {out:?} is only supported when the sizes divide evenly"
        )
        .into());
    }
    let k: Vec<i64> = dhw.iter().zip(&out).map(|(d, o)| d / o).collect();
    let op = Op::AveragePool {
        auto_pad: AutoPad::NotSet,
        kernel_shape: k.clone(),
        strides: k,
        pads: vec![0; 6],
        dilations: vec![1; 3],
        ceil_mode: false,
        count_include_pad: true,
    };
    finish(t, c, op, vec![Some(x)])
}

/// `native_group_norm(input, weight?, bias?, N, C, HxW, group, eps)` → the
/// normalized output (mean and rstd are training-only outputs).
pub(super) fn group_norm(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let name = c.tensor("input")?;
    let channels = c.int("C", None)?;
    let groups = c.int("group", None)?;
    if channels <= 0 || groups <= 0 || channels % groups != 0 {
        return Err(format!("{channels} channels do not split into {groups} groups").into());
    }
    let dtype = t.dtype(name)?;
    let x = t.value(name)?;
    let scale = match c.opt_tensor("weight")? {
        Some(n) => t.value(n)?,
        None => filled(t, c, "scale", channels as usize, 1.0, dtype)?,
    };
    let bias = match c.opt_tensor("bias")? {
        Some(n) => t.value(n)?,
        None => filled(t, c, "bias", channels as usize, 0.0, dtype)?,
    };
    let op = Op::GroupNormalization {
        num_groups: groups,
        epsilon: c.float("eps", Some(1e-5))? as f32,
        stash_type: DType::F32,
    };
    finish(t, c, op, vec![Some(x), Some(scale), Some(bias)])
}
