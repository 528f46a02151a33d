//! Integer Gemm and MatMul.
//!
//! Spec, for `a` (per-tensor `s_a`, `z_a`), `b` (per tensor, or per output column:
//! `s_b[j]`, `z_b[j]`), optional bias (Gemm's `c`: i32 `[N]` or `[1, N]`, scale
//! `s_a·s_b[j]`, zero point 0) and output (per-tensor `s_o`, `z_o`):
//!
//! ```text
//! acc[i, j] : i32, wrapping = bias[j] + Σ_p (a[i, p] − z_a) · (b[p, j] − z_b[j])
//! M_j = quantize_multiplier(f64(s_a) · f64(s_b[j]) / f64(s_o))
//! y[i, j] = clamp(z_o + MBQM(acc[i, j], M_j), qmin_o, qmax_o)
//! ```
//!
//! * Gemm: `alpha` and `beta` must be 1; `trans_a`/`trans_b` as ONNX. `b`'s
//!   per-channel axis is its N axis: 0 when `trans_b`, else 1.
//! * MatMul: numpy semantics (1-D operands, batch broadcasting, as the float
//!   kernel). `a` is per tensor; `b` per tensor or per channel on its last axis.
//!   Both may be activations.

use super::ctx::{Act, Ctx, Res};
use crate::interp::nn::matmul::{batch_offsets, matmul_shape};
use crate::quant::{product_multiplier, Rounding};
use crate::{Op, Tensor};

/// Appends the requantized `m × n` product of row-major `a` (`m × k`) and `b`
/// (`k × n`), both already centered on their zero points, to `y`.
#[allow(clippy::too_many_arguments)]
fn product(
    a: &[i32],
    b: &[i32],
    (m, k, n): (usize, usize, usize),
    bias: Option<&[i32]>,
    mult: &[(i32, i32)],
    out: &Act,
    r: Rounding,
    y: &mut Vec<i32>,
) {
    let mut row = vec![0i32; n];
    for i in 0..m {
        match bias {
            Some(bv) => row.copy_from_slice(bv),
            None => row.fill(0),
        }
        for p in 0..k {
            let av = a[i * k + p];
            if av == 0 {
                continue;
            }
            for (acc, &bv) in row.iter_mut().zip(&b[p * n..(p + 1) * n]) {
                *acc = acc.wrapping_add(av.wrapping_mul(bv));
            }
        }
        y.extend(
            row.iter()
                .zip(mult)
                .map(|(&acc, &mj)| out.requant(acc, mj, r)),
        );
    }
}

/// Gemm: inputs a, b, c?.
pub(super) fn gemm(cx: &Ctx) -> Res<Vec<Tensor>> {
    let Op::Gemm {
        alpha,
        beta,
        trans_a,
        trans_b,
    } = *cx.op
    else {
        return Err(cx.err("not a Gemm"));
    };
    let (a, b) = (cx.req(0)?, cx.req(1)?);
    if alpha != 1.0 || (beta != 1.0 && cx.opt(2).is_some()) {
        return Err(cx.err(format!(
            "the integer Gemm needs alpha = 1 and beta = 1, got alpha = {alpha}, beta = {beta}"
        )));
    }
    for (t, name) in [(a, "a"), (b, "b")] {
        if t.rank() != 2 {
            return Err(cx.err(format!(
                "{name} must have rank 2, got shape {:?}",
                t.shape()
            )));
        }
    }
    let (m, k) = if trans_a {
        (a.shape()[1], a.shape()[0])
    } else {
        (a.shape()[0], a.shape()[1])
    };
    let (kb, n) = if trans_b {
        (b.shape()[1], b.shape()[0])
    } else {
        (b.shape()[0], b.shape()[1])
    };
    if k != kb {
        return Err(cx.err(format!(
            "inner dims differ: a is {:?} (trans_a={trans_a}), b is {:?} (trans_b={trans_b})",
            a.shape(),
            b.shape()
        )));
    }
    if let Some(c) = cx.opt(2) {
        if !(c.shape() == [n] || c.shape() == [1, n]) {
            return Err(cx.err(format!(
                "the integer Gemm takes c as a bias of shape [{n}] or [1, {n}], got {:?}",
                c.shape()
            )));
        }
    }
    let (qa, qo) = (cx.act_in(0)?, cx.act_out(0)?);
    let qb = cx.chan(1, n, if trans_b { 0 } else { 1 })?;
    let bias = cx.bias(2, n, qa.scale, &qb)?;
    let av = cx.centered(0, qa.zp)?;
    let bv = cx.centered(1, 0)?;
    // Row-major [m, k] and [k, n] views, centered on the zero points.
    let a_rows: Vec<i32> = if trans_a {
        (0..m * k).map(|e| av[(e % k) * m + e / k]).collect()
    } else {
        av
    };
    let b_rows: Vec<i32> = (0..k * n)
        .map(|e| {
            let (p, j) = (e / n, e % n);
            let v = if trans_b { bv[j * k + p] } else { bv[e] };
            v - qb.zp[j]
        })
        .collect();
    let mult: Vec<(i32, i32)> = qb
        .scale
        .iter()
        .map(|&s| product_multiplier(qa.scale, s, qo.scale))
        .collect();
    let mut y = Vec::with_capacity(m * n);
    product(
        &a_rows,
        &b_rows,
        (m, k, n),
        bias.as_deref(),
        &mult,
        &qo,
        cx.r,
        &mut y,
    );
    Ok(vec![cx.output(&qo, vec![m, n], y)?])
}

/// MatMul: inputs a, b.
pub(super) fn matmul(cx: &Ctx) -> Res<Vec<Tensor>> {
    let (a, b) = (cx.req(0)?, cx.req(1)?);
    let s = matmul_shape(cx.op, a.shape(), b.shape())?;
    let (qa, qo) = (cx.act_in(0)?, cx.act_out(0)?);
    let qb = cx.chan(1, s.n, b.rank().saturating_sub(1))?;
    let av = cx.centered(0, qa.zp)?;
    let mut bv = cx.centered(1, 0)?;
    // b's last axis is the output column: element e sits in column e % n.
    for (e, v) in bv.iter_mut().enumerate() {
        *v -= qb.zp[e % s.n.max(1)];
    }
    let mult: Vec<(i32, i32)> = qb
        .scale
        .iter()
        .map(|&sb| product_multiplier(qa.scale, sb, qo.scale))
        .collect();
    let (m, k, n) = (s.m, s.k, s.n);
    let ao = batch_offsets(&s.a_batch, &s.batch);
    let bo = batch_offsets(&s.b_batch, &s.batch);
    let mut y = Vec::with_capacity(ao.len() * m * n);
    for (oa, ob) in ao.iter().zip(&bo) {
        product(
            &av[oa * m * k..(oa + 1) * m * k],
            &bv[ob * k * n..(ob + 1) * k * n],
            (m, k, n),
            None,
            &mult,
            &qo,
            cx.r,
            &mut y,
        );
    }
    Ok(vec![cx.output(&qo, s.out.clone(), y)?])
}
