//! Integer Softmax along any axis (and the opset < 13 `coerce_2d` form, whose rows
//! are the input flattened at `axis`).
//!
//! Spec: the output must be int8 with scale exactly 1/256 and zero point −128 (the
//! TFLite convention; anything else is refused). The input is any per-tensor 8-bit
//! type with scale `s_in`. `E = softmax_exp_table(s_in, 2^bits)`, so
//! `E[d] = round(exp(−s_in·d) · 2^16)` built in f64 (see
//! [`crate::quant::softmax_exp_table`]). Per row:
//!
//! ```text
//! m = max q;  e_k = E[m − q_k];  sum : u64 = Σ e_k
//! y_k = clamp((e_k · 256 + sum / 2) / sum − 128, −128, 127)      (integer division)
//! ```
//!
//! `sum ≥ E[0] = 2^16 > 0`, so the division is always defined.

use super::ctx::{Ctx, Res};
use crate::interp::util::around_axis;
use crate::quant::softmax_exp_table;
use crate::{DType, Op, Tensor};

/// Output scale the integer softmax requires: 1/256.
const OUT_SCALE: f32 = 1.0 / 256.0;
/// Output zero point the integer softmax requires.
const OUT_ZP: i32 = -128;

/// Softmax: input x.
pub(super) fn softmax(cx: &Ctx) -> Res<Vec<Tensor>> {
    let Op::Softmax { axis, coerce_2d } = *cx.op else {
        return Err(cx.err("not a Softmax"));
    };
    let x = cx.req(0)?;
    let (qi, qo) = (cx.act_in(0)?, cx.act_out(0)?);
    if qo.dtype != DType::I8 || qo.scale != OUT_SCALE || qo.zp != OUT_ZP || qo.lo != -128 {
        return Err(cx.err(format!(
            "the integer softmax writes int8 with scale 1/256 and zero point -128, the output is {} with scale {} and zero point {}",
            qo.dtype, qo.scale, qo.zp
        )));
    }
    // A scalar is a one-element row.
    let shape: Vec<usize> = if x.rank() == 0 {
        vec![1]
    } else {
        x.shape().to_vec()
    };
    let a = crate::interp::util::norm_axis(axis, shape.len()).ok_or_else(|| {
        cx.err(format!(
            "axis {axis} is out of range for rank {}",
            shape.len()
        ))
    })?;
    let (outer, len, inner) = if coerce_2d {
        (shape[..a].iter().product(), shape[a..].iter().product(), 1)
    } else {
        around_axis(&shape, a)
    };
    let table = softmax_exp_table(qi.scale, (qi.hi - qi.lo + 1) as usize);
    let xv = cx.centered(0, qi.lo)?;
    cx.check_range(0, &xv, table.len())?;
    let mut y = vec![0i32; xv.len()];
    let mut e = vec![0u64; len];
    for o in 0..outer {
        for i in 0..inner {
            let at = |k: usize| (o * len + k) * inner + i;
            let m = (0..len).map(|k| xv[at(k)]).max().unwrap_or(0);
            let mut sum = 0u64;
            for (k, ek) in e.iter_mut().enumerate() {
                *ek = u64::from(table[(m - xv[at(k)]) as usize]);
                sum += *ek;
            }
            for (k, &ek) in e.iter().enumerate() {
                let p = ((ek * 256 + sum / 2) / sum) as i64 - 128;
                y[at(k)] = p.clamp(-128, 127) as i32;
            }
        }
    }
    Ok(vec![cx.output(&qo, x.shape().to_vec(), y)?])
}
