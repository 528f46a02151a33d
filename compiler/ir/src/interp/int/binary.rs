//! Integer Add, Sub and Mul with ONNX multidirectional broadcasting.
//!
//! Spec, for per-tensor operands `(s1, z1)`, `(s2, z2)` and output `(s_o, z_o)`,
//! with `a = q1 − z1`, `b = q2 − z2`:
//!
//! * Add / Sub (TFLite's int8 Add): `twice_max = 2·max(s1, s2)` in f64,
//!   `M1 = QM(s1 / twice_max)`, `M2 = QM(s2 / twice_max)`,
//!   `Mo = QM(twice_max / (2^20 · s_o))` (`QM` = `quantize_multiplier`), then
//!   `y = clamp(z_o + MBQM(MBQM(a << 20, M1) ± MBQM(b << 20, M2), Mo))`.
//!   See [`crate::quant::add_requant`].
//! * Mul: `y = clamp(z_o + MBQM(a · b, QM(f64(s1) · f64(s2) / f64(s_o))))`.
//!
//! With 8-bit codes `|a|, |b| ≤ 255`, so `a << 20` and `a · b` fit in i32.

use super::ctx::{Ctx, Res};
use crate::interp::strided::{broadcast_shapes, map2};
use crate::quant::{add_requant, multiply_by_quantized_multiplier, product_multiplier};
use crate::{checked_count, Op, Tensor};

/// Add, Sub or Mul: inputs a, b.
pub(super) fn eval(cx: &Ctx) -> Res<Vec<Tensor>> {
    let (a, b) = (cx.req(0)?, cx.req(1)?);
    let shape = broadcast_shapes(a.shape(), b.shape()).ok_or_else(|| {
        cx.err(format!(
            "shapes {:?} and {:?} do not broadcast",
            a.shape(),
            b.shape()
        ))
    })?;
    let n = checked_count(&shape)?;
    let (q1, q2, qo) = (cx.act_in(0)?, cx.act_in(1)?, cx.act_out(0)?);
    let av = cx.centered(0, q1.zp)?;
    let bv = cx.centered(1, q2.zp)?;
    let r = cx.r;
    let y = match cx.op {
        Op::Add {} | Op::Sub {} => {
            let p = add_requant(q1.scale, q2.scale, qo.scale);
            let sub = matches!(cx.op, Op::Sub {});
            map2((&av, a.shape()), (&bv, b.shape()), &shape, n, |x, y| {
                p.apply(x, y, sub, r)
                    .saturating_add(qo.zp)
                    .clamp(qo.lo, qo.hi)
            })
        }
        Op::Mul {} => {
            let (m, sh) = product_multiplier(q1.scale, q2.scale, qo.scale);
            map2((&av, a.shape()), (&bv, b.shape()), &shape, n, |x, y| {
                multiply_by_quantized_multiplier(x * y, m, sh, r)
                    .saturating_add(qo.zp)
                    .clamp(qo.lo, qo.hi)
            })
        }
        _ => return Err(cx.err("not an integer binary op")),
    };
    Ok(vec![cx.output(&qo, shape, y)?])
}
