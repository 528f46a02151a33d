//! Quantization in QDQ form: `QuantizeLinear`, `DequantizeLinear`,
//! `DynamicQuantizeLinear`.

use super::{dims, dt, Cx, R};
use crate::{DType, Op, TensorType};

pub(super) fn infer(cx: &Cx) -> R<Vec<TensorType>> {
    let x = cx.input(0)?;
    match cx.op() {
        Op::QuantizeLinear {
            axis, block_size, ..
        } => {
            cx.want_dtype(0, x, dt::float, "a float type")?;
            let scale = cx.input(1)?;
            cx.want_dtype(1, scale, dt::float, "a float type")?;
            check_params(cx, x, *axis, *block_size)?;
            let dtype = match cx.opt_input(2)? {
                Some(zp) => {
                    cx.want_dtype(
                        2,
                        zp,
                        |d| {
                            matches!(
                                d,
                                DType::I8 | DType::U8 | DType::I16 | DType::U16 | DType::I32
                            )
                        },
                        "i8, u8, i16, u16 or i32",
                    )?;
                    zp.dtype
                }
                None => DType::U8,
            };
            Ok(vec![TensorType::new(dtype, x.shape.clone())])
        }
        Op::DequantizeLinear { axis, block_size } => {
            cx.want_dtype(0, x, dt::int, "an integer type")?;
            let scale = cx.input(1)?;
            cx.want_dtype(1, scale, dt::float, "a float type")?;
            if let Some(zp) = cx.opt_input(2)? {
                cx.same_dtype(0, x, 2, zp)?;
            }
            check_params(cx, x, *axis, *block_size)?;
            Ok(vec![TensorType::new(scale.dtype, x.shape.clone())])
        }
        Op::DynamicQuantizeLinear {} => {
            cx.want_dtype(0, x, |d| d == DType::F32, "f32")?;
            Ok(vec![
                TensorType::new(DType::U8, x.shape.clone()),
                TensorType::scalar(DType::F32),
                TensorType::scalar(DType::U8),
            ])
        }
        other => Err(cx.err(format!("no quantization rule for `{}`", other.name()))),
    }
}

/// Scale (input 1) and zero point (input 2): scalars or 1-D per-axis vectors whose
/// length is the size of `axis`; with blocks, the same rank as `x`.
fn check_params(cx: &Cx, x: &TensorType, axis: i64, block_size: i64) -> R<()> {
    let scale = cx.input(1)?;
    for i in 1..3 {
        let Some(t) = cx.opt_input(i)? else { continue };
        // A scalar with a one-element vector is one parameter either way
        // (onnxruntime's quantizer writes such pairs for one-channel biases).
        let one =
            |t: &TensorType| t.rank() <= 1 && t.shape.iter().all(|d| *d == crate::Dim::Fixed(1));
        if i == 2 && t.shape != scale.shape && !(block_size <= 0 && one(t) && one(scale)) {
            return Err(cx.in_err(2, format!("has shape {t}, but input 1 has {scale}")));
        }
        if block_size > 0 {
            cx.want_rank(i, t, x.rank())?;
            continue;
        }
        match t.rank() {
            0 => {}
            // A one-element vector is per-tensor (as onnxruntime accepts).
            1 if t.shape[0] == crate::Dim::Fixed(1) => {}
            1 => {
                let a = cx.axis(axis, x.rank(), "attribute `axis`")?;
                if dims::unify(&t.shape[0], &x.shape[a]).is_none() {
                    return Err(cx.in_err(
                        i,
                        format!(
                            "has {} entries, expected {} (size of axis {a})",
                            t.shape[0], x.shape[a]
                        ),
                    ));
                }
            }
            r => return Err(cx.in_err(i, format!("has rank {r}, expected 0 or 1"))),
        }
    }
    Ok(())
}
