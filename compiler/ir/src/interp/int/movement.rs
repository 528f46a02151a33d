//! Integer data movement: ops that only select, copy or rearrange elements run the
//! shared kernels directly on the codes.
//!
//! Spec: Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Slice, Gather, Split,
//! Expand, Tile, Identity, DepthToSpace, SpaceToDepth, Concat, Pad and Resize
//! (nearest mode only, not `tf_crop_and_resize`, whose extrapolation value is a
//! real number) require every data input and data output (Concat: all inputs;
//! Split: all outputs) to carry the same quantization parameters — then moving
//! codes is moving real values — and copy codes unchanged. Per-axis parameters are
//! accepted only by Identity (the others could move the axis). Auxiliary inputs
//! (shapes, axes, indices, pads, scales) pass through unchanged.
//!
//! Pad in `constant` mode fills with the output code of the pad value:
//! `quantize_f32(v, s_o, z_o)` for a float `constant_value` `v`, the requantized
//! code for a quantized one, `z_o` (the code of 0.0) when it is absent; the
//! other modes copy existing codes.
//!
//! Shape and Size read only the shape, so they run unchanged on quantized input.

use super::ctx::{Ctx, Res};
use crate::interp::eval_op;
use crate::ops::{CoordTransform, PadMode, ResizeMode};
use crate::quant::{dequantize_tensor, qrange, quantize_f32};
use crate::{Op, Tensor};

/// Whether `op` is handled here.
pub fn is_movement(op: &Op) -> bool {
    use Op::*;
    matches!(
        op,
        Reshape { .. }
            | Flatten { .. }
            | Squeeze {}
            | Unsqueeze {}
            | Transpose { .. }
            | Slice {}
            | Gather { .. }
            | Split { .. }
            | Expand {}
            | Tile {}
            | Identity {}
            | DepthToSpace { .. }
            | SpaceToDepth { .. }
            | Resize { .. }
            | Concat { .. }
            | Pad { .. }
            | Shape { .. }
            | Size {}
    )
}

/// Checks that the data inputs `ins` and data outputs `outs` are quantized alike
/// (and per tensor unless the op is Identity), and that the data has its type's dtype.
pub(super) fn same_params(cx: &Ctx, ins: &[usize], outs: &[usize]) -> Res<()> {
    let first = cx
        .in_quant(ins[0])
        .ok_or_else(|| cx.err(format!("{} is not quantized", cx.in_name(ins[0]))))?;
    if first.axis.is_some() && !matches!(cx.op, Op::Identity {}) {
        return Err(cx.err(format!(
            "{} is quantized per channel (axis {:?}); moving its data needs per-tensor parameters",
            cx.in_name(ins[0]),
            first.axis
        )));
    }
    for &i in ins {
        cx.check_dtype(i)?;
        if cx.in_quant(i) != Some(first) {
            return Err(cx.err(format!(
                "{} must have the quantization of {} ({first:?}), got {:?}",
                cx.in_name(i),
                cx.in_name(ins[0]),
                cx.in_quant(i)
            )));
        }
    }
    for &j in outs {
        if cx.out_quant(j) != Some(first) {
            return Err(cx.err(format!(
                "output {j} must have the quantization of its input ({first:?}), got {:?}",
                cx.out_quant(j)
            )));
        }
        if cx.out_types[j].dtype != cx.req(ins[0])?.dtype() {
            return Err(cx.err(format!(
                "output {j} has dtype {}, its input holds {}",
                cx.out_types[j].dtype,
                cx.req(ins[0])?.dtype()
            )));
        }
    }
    Ok(())
}

/// A data movement op on codes.
pub(super) fn eval(cx: &Ctx) -> Res<Vec<Tensor>> {
    let n_out = cx.out_types.len();
    let all_in: Vec<usize> = (0..cx.inputs.len()).collect();
    let all_out: Vec<usize> = (0..n_out).collect();
    match cx.op {
        Op::Shape { .. } | Op::Size {} => {
            return eval_op(cx.op, cx.inputs, n_out);
        }
        Op::Concat { .. } => same_params(cx, &all_in, &all_out)?,
        _ => same_params(cx, &[0], &all_out)?,
    }
    match cx.op {
        Op::Resize {
            mode,
            coordinate_transformation_mode: ct,
            ..
        } => {
            if *mode != ResizeMode::Nearest || *ct == CoordTransform::TfCropAndResize {
                return Err(cx.err(format!(
                    "the integer Resize supports nearest mode without tf_crop_and_resize, got {mode} with {ct}"
                )));
            }
            eval_op(cx.op, cx.inputs, n_out)
        }
        Op::Pad {
            mode: PadMode::Constant,
        } => {
            let fill = pad_code(cx)?;
            let mut inputs: Vec<Option<&Tensor>> = cx.inputs.to_vec();
            while inputs.len() < 3 {
                inputs.push(None);
            }
            inputs[2] = Some(&fill);
            eval_op(cx.op, &inputs, n_out)
        }
        _ => eval_op(cx.op, cx.inputs, n_out),
    }
}

/// The code Pad fills with, as a scalar of the data's dtype.
fn pad_code(cx: &Ctx) -> Res<Tensor> {
    let Some(q) = cx.out_quant(0) else {
        return Err(cx.err("output 0 is not quantized"));
    };
    let (lo, hi) = qrange(q);
    let (s, z) = (q.scale[0], q.zero_point[0]);
    let code = match cx.opt(2).filter(|t| !t.is_empty()) {
        None => z.clamp(lo, hi),
        Some(t) => {
            let real = match cx.in_quant(2) {
                Some(tq) => dequantize_tensor(t, tq)?,
                None if t.dtype().is_float() => t.clone(),
                None => {
                    return Err(cx.err(format!(
                        "constant_value of a quantized Pad must be a float or quantized, got {}",
                        t.dtype()
                    )))
                }
            };
            let v = real.to_f32_vec();
            match v.as_slice() {
                [v] => quantize_f32(*v, s, z, lo, hi),
                _ => {
                    return Err(cx.err(format!(
                        "constant_value must hold one value, got shape {:?}",
                        t.shape()
                    )))
                }
            }
        }
    };
    let dtype = cx.req(0)?.dtype();
    Ok(Tensor::scalar(code as i64).cast(dtype))
}
