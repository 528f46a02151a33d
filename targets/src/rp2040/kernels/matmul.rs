//! Gemm and MatMul (pare_ir::interp::int::matmul): a constant right operand
//! becomes `pare_fully_connected` (the product kernel's blocked weights, see
//! `product`); two activations run on `pare_matmul`.

use super::geometry::weight_scales;
use super::palette::palette_request;
use super::product::{
    padded_depth, product_kernel, product_rows, scratch_ptr, weight_bits, Product,
};
use crate::rp2040::cgen::shape_text;
use crate::rp2040::data::{CType, DataKind};
use crate::rp2040::layer::{c_int, int_values, Layer, NodeCx, Params};
use crate::rp2040::Rp2040Error;
use pare_ir::interp::batch_offsets;
use pare_ir::quant::product_multiplier;
use pare_ir::Op;

/// `[k][n]` row-major values as `[n][k]`.
fn transpose(v: &[i64], k: usize, n: usize) -> Vec<i64> {
    (0..n * k).map(|e| v[(e % k) * n + e / k]).collect()
}

/// The constant right operand's codes.
fn codes(cx: &NodeCx, i: usize) -> Result<Vec<i64>, Rp2040Error> {
    let t = cx.constant(i)?;
    int_values(&t)
        .ok_or_else(|| cx.err(format!("input {i} must hold int8 codes, got {}", t.dtype())))
}

/// `pare_fully_connected` over `rows` rows of `depth` inputs, `units` outputs;
/// `weights` are `[units][depth]`, from a constant whose axis 0 is the units when
/// `units_first` (`trans_b`), else the depth.
#[allow(clippy::too_many_arguments)]
fn fully_connected(
    cx: &mut NodeCx,
    rows: usize,
    depth: usize,
    units: usize,
    weights: Vec<i64>,
    bias: &[i32],
    scales: &[f32],
    layout: String,
    units_first: bool,
) -> Result<Layer, Rp2040Error> {
    let scratch = scratch_ptr(cx, padded_depth(depth, weight_bits(cx, 1)?) as u64)?;
    let params = Params::new("pare_fully_connected_params").row(&[
        ("rows", c_int(cx, rows, "rows")?),
        ("depth", c_int(cx, depth, "depth")?),
        ("units", c_int(cx, units, "units")?),
    ]);
    let prod = Product {
        groups: 1,
        channels: units,
        depth,
        bits: weight_bits(cx, 1)?,
        weights: &weights,
        bias,
        weight_scales: scales,
        layout: format!("{layout}, as [units][depth]"),
        palette: palette_request(cx.g, cx.input(1)?, units, units_first),
    };
    let params = product_rows(cx, params, &prod)?;
    let operands = vec![cx.operand(0)?];
    let kernel = product_kernel(
        cx,
        "pare_fully_connected",
        "pare_fully_connected_sparse",
        "pare_fully_connected_palette",
    );
    cx.single_call(kernel, params, operands, Some(scratch))
}

/// Gemm: inputs a, b, c?.
pub(super) fn gemm(cx: &mut NodeCx) -> Result<Layer, Rp2040Error> {
    let Op::Gemm {
        trans_a, trans_b, ..
    } = cx.node.op
    else {
        return Err(cx.err("not a gemm"));
    };
    if trans_a {
        return Err(cx.err("trans_a = 1 has no C kernel (the left operand must be [m, k])"));
    }
    let (a, b) = (cx.in_shape(0)?, cx.in_shape(1)?);
    let (m, k) = (a[0], a[1]);
    let n = if trans_b { b[0] } else { b[1] };
    if !cx.is_const(1) {
        if trans_b || cx.node.input(2).is_some() {
            return Err(
                cx.err("a gemm of two activations needs trans_b = 0 and no bias for the C kernel")
            );
        }
        return matmul_general(cx, &[m, k], &[k, n]);
    }
    let scales = weight_scales(cx, 1, n, if trans_b { 0 } else { 1 })?;
    let w = codes(cx, 1)?;
    let rows = if trans_b { w } else { transpose(&w, k, n) };
    let bias = match cx.opt_constant(2)? {
        None => vec![0; n],
        Some(t) => t
            .as_slice::<i32>()
            .filter(|v| v.len() == n)
            .ok_or_else(|| {
                cx.err(format!(
                    "bias must be {n} int32 values, got {} {:?}",
                    t.dtype(),
                    t.shape()
                ))
            })?
            .to_vec(),
    };
    let layout = format!(
        "b {}{}",
        shape_text(&b),
        if trans_b { "" } else { " transposed" }
    );
    fully_connected(cx, m, k, n, rows, &bias, &scales, layout, trans_b)
}

/// MatMul: inputs a, b (numpy semantics).
pub(super) fn matmul(cx: &mut NodeCx) -> Result<Layer, Rp2040Error> {
    let (a, b) = (cx.in_shape(0)?, cx.in_shape(1)?);
    if cx.is_const(1) && (1..=2).contains(&b.len()) && !a.is_empty() {
        let (k, n) = if b.len() == 1 {
            (b[0], 1)
        } else {
            (b[0], b[1])
        };
        let rows = a.iter().product::<usize>() / k.max(1);
        let scales = weight_scales(cx, 1, n, b.len() - 1)?;
        let w = transpose(&codes(cx, 1)?, k, n);
        let layout = format!("b {} transposed", shape_text(&b));
        return fully_connected(cx, rows, k, n, w, &vec![0; n], &scales, layout, false);
    }
    matmul_general(cx, &a, &b)
}

/// `pare_matmul` with numpy broadcasting of the batch dims.
fn matmul_general(cx: &mut NodeCx, a: &[usize], b: &[usize]) -> Result<Layer, Rp2040Error> {
    if a.is_empty() || b.is_empty() {
        return Err(cx.err("matmul operands must have rank >= 1"));
    }
    let a2: Vec<usize> = if a.len() == 1 {
        vec![1, a[0]]
    } else {
        a.to_vec()
    };
    let b2: Vec<usize> = if b.len() == 1 {
        vec![b[0], 1]
    } else {
        b.to_vec()
    };
    let (m, k, n) = (a2[a2.len() - 2], a2[a2.len() - 1], b2[b2.len() - 1]);
    let (ab, bb) = (&a2[..a2.len() - 2], &b2[..b2.len() - 2]);
    let r = ab.len().max(bb.len());
    let dim = |s: &[usize], d: usize| -> usize { (d + s.len()).checked_sub(r).map_or(1, |i| s[i]) };
    let batch: Vec<usize> = (0..r).map(|d| dim(ab, d).max(dim(bb, d))).collect();
    let (sa, za) = cx.act_in(0)?;
    let (so, zo) = cx.act_out(0)?;
    let (b_expr, zb, scales) = if cx.is_const(1) {
        let scales = weight_scales(cx, 1, n, b.len() - 1)?;
        let w = codes(cx, 1)?;
        let name = cx.array(
            "b",
            CType::I8,
            w,
            DataKind::Weights,
            format!("{}: right operand {}", cx.what(), shape_text(b)),
        );
        (name, 0, scales)
    } else {
        let (sb, zb) = cx.act_in(1)?;
        (cx.operand(1)?, zb, vec![sb; n])
    };
    let mult: Vec<(i32, i32)> = scales
        .iter()
        .map(|&s| product_multiplier(sa, s, so))
        .collect();
    let offsets = |s: &[usize], size: usize| -> Vec<i64> {
        batch_offsets(s, &batch)
            .into_iter()
            .map(|o| (o * size) as i64)
            .collect()
    };
    let (ao, bo) = (offsets(ab, m * k), offsets(bb, k * n));
    let batches = ao.len();
    let what = cx.what();
    let aon = cx.array(
        "a_offsets",
        CType::I32,
        ao,
        DataKind::Tables,
        format!("{what}: offset of each batch's left matrix"),
    );
    let bon = cx.array(
        "b_offsets",
        CType::I32,
        bo,
        DataKind::Tables,
        format!("{what}: offset of each batch's right matrix"),
    );
    let (mn, sn) = cx.requant_arrays(&mult, "per output column");
    let params = Params::new("pare_matmul_params")
        .row(&[
            ("batches", c_int(cx, batches, "batches")?),
            ("m", c_int(cx, m, "m")?),
            ("k", c_int(cx, k, "k")?),
            ("n", c_int(cx, n, "n")?),
        ])
        .row(&[
            ("a_zero_point", za),
            ("b_zero_point", zb),
            ("out_zero_point", zo),
        ])
        .row(&[("rounding", cx.rounding_macro())])
        .row(&[("a_offsets", aon), ("b_offsets", bon)])
        .row(&[("multiplier", mn), ("shift", sn)]);
    let operands = vec![cx.operand(0)?, b_expr];
    cx.single_call("pare_matmul", params, operands, None)
}
