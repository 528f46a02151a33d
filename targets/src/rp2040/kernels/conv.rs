//! Conv → `pare_conv2d` (or `pare_depthwise_conv2d`) and ConvTranspose →
//! `pare_conv_transpose2d` (pare_ir::interp::int::conv / conv_transpose): the input
//! zero point folded into the bias, per-channel multipliers.

use super::geometry::{bias, fold_zero_point, plane, weight_scales, window_rows, Plane};
use super::palette::{palette_of, palette_request, smallest, KernelPalette};
use super::product::{
    depthwise_scratch, is_depthwise, padded_depth, padded_plane, palette_rows, product_kernel,
    product_rows, product_scratch, scratch_ptr, weight_bits, Product,
};
use super::sparse::{WeightEncoding, WeightStorage};
use crate::rp2040::cgen::shape_text;
use crate::rp2040::data::{CType, DataKind};
use crate::rp2040::layer::{int_values, Layer, NodeCx, Params};
use crate::rp2040::Rp2040Error;
use pare_ir::quant::product_multiplier;
use pare_ir::Op;

/// The geometry rows shared by both params structs.
fn geometry_rows(p: Params, pl: &Plane, c: usize, m: usize, group: i64) -> Params {
    p.row(&[("in_c", c as i64), ("in_h", pl.in_h), ("in_w", pl.in_w)])
        .row(&[
            ("out_c", m as i64),
            ("out_h", pl.out_h),
            ("out_w", pl.out_w),
        ])
        .row(&[("kernel_h", pl.k_h), ("kernel_w", pl.k_w)])
        .row(&[("stride_h", pl.s_h), ("stride_w", pl.s_w)])
        .row(&[("dilation_h", pl.d_h), ("dilation_w", pl.d_w)])
        .row(&[("pad_top", pl.pad_top), ("pad_left", pl.pad_left)])
        .row(&[("groups", group)])
}

/// The weight codes of input 1 (4-bit weights unpacked to one code a byte).
fn weight_codes(cx: &NodeCx) -> Result<Vec<i64>, Rp2040Error> {
    let w = cx.constant(1)?;
    int_values(&w).ok_or_else(|| cx.err(format!("weights must be int8 codes, got {}", w.dtype())))
}

/// ONNX's `[O, C/g, kh, kw]` weights (or `[O, C/g, k]`) reordered to
/// `[O, kh, kw, C/g]`: the kernel's im2col column gathers a tap's channels together.
fn channels_last(w: &[i64], shape: &[usize]) -> Vec<i64> {
    let (o, c) = (shape[0], shape[1]);
    let taps: usize = shape[2..].iter().product();
    let mut out = vec![0; w.len()];
    for oc in 0..o {
        for ci in 0..c {
            for t in 0..taps {
                out[(oc * taps + t) * c + ci] = w[(oc * c + ci) * taps + t];
            }
        }
    }
    out
}

/// Conv: inputs x, w, b?. Depthwise convs run on `pare_depthwise_conv2d`, the rest
/// on `pare_conv2d` (im2col columns times blocked weights).
pub(super) fn conv(cx: &mut NodeCx) -> Result<Layer, Rp2040Error> {
    let Op::Conv { group, .. } = cx.node.op else {
        return Err(cx.err("not a conv"));
    };
    let (xs, ws) = (cx.in_shape(0)?, cx.in_shape(1)?);
    if is_depthwise(&cx.node.op, &xs, &ws) {
        return depthwise(cx);
    }
    let pl = plane(cx, true)?;
    let (c, m) = (xs[1], ws[0]);
    let g = usize::try_from(group).unwrap_or(1).max(1);
    let scales = weight_scales(cx, 1, m, 0)?;
    let w = channels_last(&weight_codes(cx)?, &ws);
    let b = bias(cx, 2, m)?;
    let depth: usize = ws[1..].iter().product();
    let (_, zx) = cx.act_in(0)?;
    let params = geometry_rows(Params::new("pare_conv2d_params"), &pl, c, m, group)
        .row(&[("in_zero_point", zx)]);
    let prod = Product {
        groups: g,
        channels: m / g,
        depth,
        bits: weight_bits(cx, 1)?,
        weights: &w,
        bias: &b,
        weight_scales: &scales,
        layout: format!(
            "{} [out_c][in_c/groups][kh][kw] as [out_c][kh][kw][in_c/groups]",
            shape_text(&ws)
        ),
        palette: palette_request(cx.g, cx.input(1)?, m, true),
    };
    let params = product_rows(cx, params, &prod)?;
    let scratch = scratch_ptr(
        cx,
        product_scratch(cx, padded_depth(depth, weight_bits(cx, 1)?)),
    )?;
    let operands = vec![cx.operand(0)?];
    let kernel = product_kernel(
        cx,
        "pare_conv2d",
        "pare_conv2d_sparse",
        "pare_conv2d_palette",
    );
    cx.single_call(kernel, params, operands, Some(scratch))
}

/// A depthwise Conv → `pare_depthwise_conv2d`: int8 weights `[channels][kh][kw]`
/// widened to int32, the bias folded for the offset-binary padded plane; a palette
/// weight where smaller → `pare_depthwise_conv2d_palette` (codebooks and packed
/// indices, each channel's taps decoded into the workspace).
fn depthwise(cx: &mut NodeCx) -> Result<Layer, Rp2040Error> {
    let pl = plane(cx, true)?;
    let c = cx.in_shape(0)?[1];
    let (_, zx) = cx.act_in(0)?;
    let (so, zo) = cx.act_out(0)?;
    let (sx, _) = cx.act_in(0)?;
    let scales = weight_scales(cx, 1, c, 0)?;
    let w = weight_codes(cx)?;
    let b = bias(cx, 2, c)?;
    let folded = fold_zero_point(&b, &w, zx + 128);
    let mult: Vec<(i32, i32)> = scales
        .iter()
        .map(|&s| product_multiplier(sx, s, so))
        .collect();
    let (pad_h, pad_w) = padded_plane(&pl);
    let taps = (pl.k_h * pl.k_w).max(0) as usize;
    let palette = palette_request(cx.g, cx.input(1)?, c, true)
        .and_then(|req| palette_of(&w, c, taps, taps, req));
    let dense_bytes = 4 * w.len();
    let encoding = smallest(
        dense_bytes,
        None,
        palette.as_ref().map(KernelPalette::stored_bytes),
        cx.force_palette,
    );
    let what = cx.what();
    let ws = cx.in_shape(1)?;
    let layout = format!(
        "depthwise weights {} [channels][1][kh][kw]",
        shape_text(&ws)
    );
    let (weight_rows, kernel, scratch) = match (&palette, encoding) {
        (Some(pal), WeightEncoding::Palette) => {
            cx.weight_storage = Some(WeightStorage {
                encoding,
                bits: pal.bits,
                stored_bytes: pal.stored_bytes() as u64,
                dense_bytes: dense_bytes.max(1) as u64,
                weights: w.len() as u64,
                nonzeros: w.iter().filter(|&&x| x != 0).count() as u64,
                palette: Some(pal.shape()),
            });
            let rows = palette_rows(cx, pal, &layout, taps, false);
            let scratch = depthwise_scratch(&pl) + 4 * taps as u64;
            (rows, "pare_depthwise_conv2d_palette", scratch)
        }
        _ => {
            let wn = cx.array(
                "weights",
                CType::I32,
                w,
                DataKind::Weights,
                format!("{what}: {layout} as int32 (one load a tap), symmetric per channel"),
            );
            (
                vec![("weights", wn)],
                "pare_depthwise_conv2d",
                depthwise_scratch(&pl),
            )
        }
    };
    let scratch = scratch_ptr(cx, scratch)?;
    let bn = cx.array(
        "bias",
        CType::I32,
        folded,
        DataKind::Weights,
        format!("{what}: bias - (input zero point {zx} + 128) x sum of each channel's weights"),
    );
    let (mn, sn) = cx.requant_arrays(&mult, "per channel");
    let mut params = window_rows(Params::new("pare_depthwise_params"), c as i64, &pl)
        .row(&[("pad_top", pl.pad_top), ("pad_left", pl.pad_left)])
        .row(&[("pad_h", pad_h), ("pad_w", pad_w)])
        .row(&[("in_zero_point", zx), ("out_zero_point", zo)])
        .row(&[("rounding", cx.rounding_macro())]);
    // Dense: weights and bias on one line; a palette's sizes and arrays on their own.
    if weight_rows.len() == 1 {
        let mut row = weight_rows;
        row.push(("bias", bn));
        params = params.row(&row);
    } else {
        for row in weight_rows.chunks(3) {
            params = params.row(row);
        }
        params = params.row(&[("bias", bn)]);
    }
    let params = params.row(&[("multiplier", mn), ("shift", sn)]);
    let operands = vec![cx.operand(0)?];
    cx.single_call(kernel, params, operands, Some(scratch))
}

/// ConvTranspose: inputs x, w, b?. Weights are quantized per tensor or per
/// channel on axis 1 (the M/group channels of a group; groups share them).
pub(super) fn conv_transpose(cx: &mut NodeCx) -> Result<Layer, Rp2040Error> {
    let Op::ConvTranspose { group, .. } = cx.node.op else {
        return Err(cx.err("not a conv_transpose"));
    };
    let pl = plane(cx, true)?;
    let (xs, ws) = (cx.in_shape(0)?, cx.in_shape(1)?);
    let g = usize::try_from(group).unwrap_or(1).max(1);
    let (c, mg) = (xs[1], ws[1]);
    let m = mg * g;
    let (sx, zx) = cx.act_in(0)?;
    let (so, zo) = cx.act_out(0)?;
    let scales = weight_scales(cx, 1, mg, 1)?;
    let w = weight_codes(cx)?;
    let mult: Vec<(i32, i32)> = (0..m)
        .map(|oc| product_multiplier(sx, scales[oc % mg], so))
        .collect();
    let what = cx.what();
    let wn = cx.array(
        "weights",
        CType::I8,
        w,
        DataKind::Weights,
        format!(
            "{what}: weights {} [in_c][out_c/groups][kh][kw], symmetric per channel",
            shape_text(&ws)
        ),
    );
    let bn = match cx.node.input(2) {
        None => "NULL".to_string(),
        Some(_) => {
            let b = bias(cx, 2, m)?;
            cx.array(
                "bias",
                CType::I32,
                b.into_iter().map(i64::from).collect(),
                DataKind::Weights,
                format!("{what}: bias (scale s_x * s_w)"),
            )
        }
    };
    let (mn, sn) = cx.requant_arrays(&mult, "per output channel");
    let params = geometry_rows(
        Params::new("pare_conv_transpose2d_params"),
        &pl,
        c,
        m,
        group,
    )
    .row(&[("in_zero_point", zx), ("out_zero_point", zo)])
    .row(&[("rounding", cx.rounding_macro())])
    .row(&[("weights", wn), ("bias", bn)])
    .row(&[("multiplier", mn), ("shift", sn)]);
    let operands = vec![cx.operand(0)?];
    cx.single_call("pare_conv_transpose2d", params, operands, None)
}
