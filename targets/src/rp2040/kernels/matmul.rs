//! Gemm and MatMul (pare_ir::interp::int::matmul): a constant right operand
//! becomes `pare_fully_connected` (weights stored [units][depth], the input zero
//! point folded into the bias), or `pare_fully_connected_s4` when the weights are
//! 4-bit (two codes a byte, low nibble first); two activations run on `pare_matmul`.

use super::geometry::{fold_zero_point, weight_scales};
use crate::rp2040::cgen::shape_text;
use crate::rp2040::data::{CType, DataKind};
use crate::rp2040::layer::{c_int, int_values, Layer, NodeCx, Params};
use crate::rp2040::Rp2040Error;
use pare_ir::quant::product_multiplier;
use pare_ir::{Graph, Node, Op};

/// Whether `node` (float or quantized) lowers to a fully connected layer, the one
/// kernel that keeps 4-bit weights packed in flash: a Gemm without `trans_a` or a
/// MatMul of rank >= 1 by a constant [k, n] right operand. Conv weights
/// stay one code a byte. The mixed-precision chooser offers 4 bits only to these.
pub fn packs_4bit_weights(g: &Graph, node: &Node) -> bool {
    let Some(b) = node.input(1) else { return false };
    if g.weight_of(b).is_none() {
        return false;
    }
    match node.op {
        Op::Gemm { trans_a, .. } => !trans_a,
        Op::MatMul {} => {
            let a_rank = node.input(0).map_or(0, |a| g.ty(a).rank());
            a_rank >= 1 && g.ty(b).rank() == 2
        }
        _ => false,
    }
}

/// The width of constant input `i`'s codes (8 unless its type says `bits=4`).
fn weight_bits(cx: &NodeCx, i: usize) -> Result<u8, Rp2040Error> {
    Ok(cx.g.ty(cx.input(i)?).quant.as_ref().map_or(8, |q| q.bits))
}

/// `[units][depth]` codes in [-8, 7] packed two a byte, low nibble first, each
/// unit's row starting on a byte (an odd depth pads with a 0 nibble).
fn pack_rows(cx: &NodeCx, codes: &[i64], depth: usize) -> Result<Vec<i64>, Rp2040Error> {
    if let Some(v) = codes.iter().find(|v| !(-8..=7).contains(*v)) {
        return Err(cx.err(format!(
            "a 4-bit weight holds the code {v}, outside [-8, 7]"
        )));
    }
    Ok(codes
        .chunks(depth.max(1))
        .flat_map(|row| row.chunks(2))
        .map(|pair| (pair[0] & 15) | (pair.get(1).map_or(0, |h| h & 15) << 4))
        .collect())
}

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

/// `pare_fully_connected` over `rows` rows of `depth` inputs, `units` outputs.
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
) -> Result<Layer, Rp2040Error> {
    let packed = weight_bits(cx, 1)? == 4;
    let (sa, za) = cx.act_in(0)?;
    let (so, zo) = cx.act_out(0)?;
    let folded = fold_zero_point(bias, &weights, za);
    let mult: Vec<(i32, i32)> = scales
        .iter()
        .map(|&s| product_multiplier(sa, s, so))
        .collect();
    let what = cx.what();
    let wn = if packed {
        let bytes = pack_rows(cx, &weights, depth)?;
        cx.array(
            "weights",
            CType::U8,
            bytes,
            DataKind::Weights,
            format!(
                "{what}: 4-bit weights [units][(depth + 1) / 2] ({layout}), two codes a byte, low nibble first, symmetric per unit"
            ),
        )
    } else {
        cx.array(
            "weights",
            CType::I8,
            weights,
            DataKind::Weights,
            format!("{what}: weights [units][depth] ({layout}), symmetric per unit"),
        )
    };
    let bn = cx.array(
        "bias",
        CType::I32,
        folded,
        DataKind::Weights,
        format!("{what}: bias - input zero point ({za}) x sum of each unit's weights"),
    );
    let (mn, sn) = cx.requant_arrays(&mult, "per unit");
    let (kernel, ctype) = if packed {
        ("pare_fully_connected_s4", "pare_fully_connected_s4_params")
    } else {
        ("pare_fully_connected", "pare_fully_connected_params")
    };
    let params = Params::new(ctype)
        .row(&[
            ("rows", c_int(cx, rows, "rows")?),
            ("depth", c_int(cx, depth, "depth")?),
            ("units", c_int(cx, units, "units")?),
        ])
        .row(&[("in_zero_point", za), ("out_zero_point", zo)])
        .row(&[("rounding", cx.rounding_macro())])
        .row(&[("weights", wn), ("bias", bn)])
        .row(&[("multiplier", mn), ("shift", sn)]);
    let call = format!(
        "{kernel}(&{}, {}, {});",
        cx.params_name(),
        cx.operand(0)?,
        cx.out_ptr(0)?
    );
    Ok(Layer {
        kernel,
        params: vec![(cx.params_name(), params)],
        call: vec![call],
    })
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
    fully_connected(cx, m, k, n, rows, &bias, &scales, layout)
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
        return fully_connected(cx, rows, k, n, w, &vec![0; n], &scales, layout);
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
        offsets_of(s, &batch)
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
    let call = format!(
        "pare_matmul(&{}, {}, {b_expr}, {});",
        cx.params_name(),
        cx.operand(0)?,
        cx.out_ptr(0)?
    );
    Ok(Layer {
        kernel: "pare_matmul",
        params: vec![(cx.params_name(), params)],
        call: vec![call],
    })
}

/// Batch index (in matrices) of an operand with batch dims `shape` for every
/// batch of the broadcast `out` dims, row-major (the interpreter's rule).
fn offsets_of(shape: &[usize], out: &[usize]) -> Vec<usize> {
    let n: usize = out.iter().product();
    let r = out.len();
    let mut strides = vec![0usize; r];
    let mut acc = 1;
    for i in (0..shape.len()).rev() {
        let oi = i + r - shape.len();
        strides[oi] = if shape[i] == 1 { 0 } else { acc };
        acc *= shape[i];
    }
    let mut offs = Vec::with_capacity(n);
    let mut idx = vec![0usize; r];
    for _ in 0..n {
        offs.push(idx.iter().zip(&strides).map(|(i, s)| i * s).sum());
        for d in (0..r).rev() {
            idx[d] += 1;
            if idx[d] < out[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    offs
}
