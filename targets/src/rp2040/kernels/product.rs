//! The weight layout of the product kernels (`pare_conv2d`, `pare_fully_connected`):
//! output channels in blocks of three (and one of the rest), each block `[depth][3]`
//! bytes of `w + 128`, the depth padded to a multiple of 4 — what the C inner loop (`pare_dot3`) reads with immediate
//! offsets — and the bias folded for offset-binary inputs. Also the arena workspace
//! (scratch) each product and depthwise layer needs, planned with the activations.

use super::geometry::{fold_zero_point, plane_of, Plane};
use super::palette::{palette_of, palette_request, smallest, KernelPalette};
use super::sparse::{
    nonzeros, prefers_sparse, sparse_stream, WeightEncoding, WeightStorage, CONV_POSITIONS,
};
use crate::rp2040::data::{CType, DataKind};
use crate::rp2040::layer::{NodeCx, Params};
use crate::rp2040::Rp2040Error;
use pare_ir::quant::{product_multiplier, Rounding};
use pare_ir::{Graph, Node, Op, ValueId};

/// Output channels the inner loop computes at once.
const BLOCK: usize = 3;

/// `depth` rounded up to what the inner loop steps by: four taps, eight for 4-bit
/// weights.
pub(super) fn padded_depth(depth: usize, bits: u8) -> usize {
    let step = if bits == 4 { 8 } else { 4 };
    depth.max(1).div_ceil(step) * step
}

/// `weights` (`groups * channels` rows of `depth` codes, in channel order) laid out for
/// the kernel: per group, whole blocks of three channels, each `[padded][3]` bytes
/// `w + 128`, then the one or two channels left as one `[padded][1 or 2]` block; code
/// 128 (weight 0) pads the depth.
pub(super) fn blocked(weights: &[i64], groups: usize, channels: usize, depth: usize) -> Vec<i64> {
    let padded = padded_depth(depth, 8);
    let mut out = Vec::with_capacity(groups * channels * padded);
    for g in 0..groups {
        let mut first = 0;
        while first < channels {
            let width = BLOCK.min(channels - first);
            for k in 0..padded {
                for j in 0..width {
                    let w = if k < depth {
                        weights[(g * channels + first + j) * depth + k]
                    } else {
                        0
                    };
                    out.push(w + 128);
                }
            }
            first += width;
        }
    }
    out
}

/// [`blocked`] for 4-bit weights: per group, pairs of channels, each `[padded]` bytes
/// holding `w + 8` of the first channel in the low nibble and of the second in the
/// high one (weight 0, code 8, for a missing channel or tap).
pub(super) fn blocked_4bit(
    weights: &[i64],
    groups: usize,
    channels: usize,
    depth: usize,
) -> Vec<i64> {
    let padded = padded_depth(depth, 4);
    let code = |g: usize, c: usize, k: usize| -> i64 {
        if c < channels && k < depth {
            weights[(g * channels + c) * depth + k] + 8
        } else {
            8
        }
    };
    let mut out = Vec::with_capacity(groups * channels.div_ceil(2) * padded);
    for g in 0..groups {
        for pair in 0..channels.div_ceil(2) {
            for k in 0..padded {
                out.push(code(g, 2 * pair, k) | code(g, 2 * pair + 1, k) << 4);
            }
        }
    }
    out
}

/// The bits a layer's weights (input `i`) keep in flash: 4 for 4-bit codes, else 8.
pub(super) fn weight_bits(cx: &NodeCx, i: usize) -> Result<u8, Rp2040Error> {
    Ok(stored_bits(cx.g, cx.input(i)?))
}

/// The bits weight `v` keeps in flash: 4 for 4-bit codes, else 8.
fn stored_bits(g: &Graph, v: ValueId) -> u8 {
    match g.ty(v).quant.as_ref() {
        Some(q) if q.bits <= 4 => 4,
        _ => 8,
    }
}

/// What a product layer computes: `groups` groups of `channels` output channels, each
/// from `depth` taps; `weights` row-major `[groups * channels][depth]`.
pub(super) struct Product<'a> {
    pub groups: usize,
    pub channels: usize,
    pub depth: usize,
    /// 8, or 4 for weights kept two to a byte.
    pub bits: u8,
    pub weights: &'a [i64],
    pub bias: &'a [i32],
    /// Per output channel.
    pub weight_scales: &'a [f32],
    /// How the source weights were laid out, for the array's comment.
    pub layout: String,
    /// The IR weight's palette, if it is one: `(k, codebooks over the rows)`.
    pub palette: Option<(usize, usize)>,
}

/// The `.product.*` fields of a layer's params, with its arrays added to the data.
pub(super) fn product_rows(
    cx: &mut NodeCx,
    p: Params,
    prod: &Product,
) -> Result<Params, Rp2040Error> {
    let (sx, zx) = cx.act_in(0)?;
    let (so, zo) = cx.act_out(0)?;
    let blocked = if prod.bits == 4 {
        blocked_4bit(prod.weights, prod.groups, prod.channels, prod.depth)
    } else {
        blocked(prod.weights, prod.groups, prod.channels, prod.depth)
    };
    let padded = padded_depth(prod.depth, prod.bits);
    let rows = prod.groups * prod.channels;
    let nonzeros = nonzeros(prod.weights);
    // 4-bit weights stay packed: a mask bit and a byte a non-zero would not pay.
    let sparse = (prod.bits == 8 && prefers_sparse(rows, prod.depth, padded, nonzeros))
        .then(|| sparse_stream(prod.weights, rows, prod.depth, padded));
    let palette = prod
        .palette
        .and_then(|req| palette_of(prod.weights, rows, prod.depth, padded, req));
    let encoding = smallest(
        blocked.len(),
        sparse.as_ref().map(Vec::len),
        palette.as_ref().map(KernelPalette::stored_bytes),
        cx.force_palette,
    );
    let dense_bytes = blocked.len().max(1) as u64;
    let what = cx.what();
    let (bits_field, weight_fields, stored_bytes) = match (encoding, sparse, &palette) {
        (WeightEncoding::SparseBitmap, Some(stream), _) => {
            let n = stream.len();
            let wn = cx.array(
                "weights",
                CType::U8,
                stream,
                DataKind::Weights,
                format!(
                    "{what}: sparse weights ({}), per output channel and chunk of 8 of its {} taps: a mask byte (bit j: tap 8 i + j is non-zero), then the chunk's non-zero int8 weights",
                    prod.layout, prod.depth
                ),
            );
            ("PARE_SPARSE".to_string(), vec![("product.weights", wn)], n)
        }
        (WeightEncoding::Palette, _, Some(pal)) => (
            "PARE_PALETTE".to_string(),
            palette_rows(cx, pal, &prod.layout, padded, true),
            pal.stored_bytes(),
        ),
        _ => {
            let n = blocked.len();
            let comment = if prod.bits == 4 {
                format!(
                    "{what}: 4-bit weights + 8 ({}), per group in pairs of output channels (low nibble first) x {padded} taps",
                    prod.layout,
                )
            } else {
                format!(
                    "{what}: weights + 128 ({}), per group in blocks of 3 output channels x {padded} taps",
                    prod.layout,
                )
            };
            let wn = cx.array("weights", CType::U8, blocked, DataKind::Weights, comment);
            (prod.bits.to_string(), vec![("product.weights", wn)], n)
        }
    };
    cx.weight_storage = Some(WeightStorage {
        encoding,
        bits: match &palette {
            Some(pal) if encoding == WeightEncoding::Palette => pal.bits,
            _ => prod.bits,
        },
        stored_bytes: stored_bytes.max(1) as u64,
        dense_bytes,
        weights: (rows * prod.depth) as u64,
        nonzeros,
        palette: palette
            .filter(|_| encoding == WeightEncoding::Palette)
            .map(|pal| pal.shape()),
    });
    // One fold serves every form: the dense kernel's sum less 128 x the column's
    // sum and the sparse and palette kernels' sums are all sum xu * w (see
    // pare_kernels.c).
    let folded = fold_zero_point(prod.bias, prod.weights, zx + 128);
    let mult: Vec<(i32, i32)> = prod
        .weight_scales
        .iter()
        .map(|&s| product_multiplier(sx, s, so))
        .collect();
    // One record a channel (bias', multiplier, shift): the requantizing loop reads it
    // through one pointer.
    let records: Vec<i64> = folded
        .iter()
        .zip(&mult)
        .flat_map(|(&b, &(m, s))| [b, i64::from(m), i64::from(s)])
        .collect();
    let cn = cx.array(
        "channels",
        CType::I32,
        records,
        DataKind::Weights,
        format!(
            "{what}: per output channel: bias - (input zero point {zx} + 128) x sum of its weights, requantization multiplier, shift"
        ),
    );
    // The kernel's loop without per-output tests serves layers whose every channel
    // takes the common requantization case.
    let fast = cx.rounding == Rounding::Gemmlowp
        && mult.iter().all(|&(m, s)| m >= 0 && (-31..=0).contains(&s));
    let p = p.row(&[
        ("product.depth", padded.to_string()),
        ("product.bits", bits_field),
        ("product.out_zero_point", zo.to_string()),
        ("product.rounding", cx.rounding_macro().to_string()),
        ("product.fast", i32::from(fast).to_string()),
    ]);
    // Dense and sparse: the weights and records on one line; a palette's fields
    // (sizes, then its two arrays) on their own.
    Ok(if weight_fields.len() == 1 {
        let mut row = weight_fields;
        row.push(("product.channels", cn));
        p.row(&row)
    } else {
        let (sizes, arrays) = weight_fields.split_at(3);
        p.row(&[("product.channels", cn)]).row(sizes).row(arrays)
    })
}

/// The params fields of a palette, after a prefix: `product.palette.` or `palette.`.
const PRODUCT_PALETTE: [&str; 5] = [
    "product.palette.bits",
    "product.palette.book_size",
    "product.palette.book_channels",
    "product.palette.indices",
    "product.palette.codebooks",
];
const PALETTE: [&str; 5] = [
    "palette.bits",
    "palette.book_size",
    "palette.book_channels",
    "palette.indices",
    "palette.codebooks",
];

/// The codebook and index arrays of a palette layer, and the params fields that
/// point at them (`product.palette.*` for a product, else `palette.*`).
pub(super) fn palette_rows(
    cx: &mut NodeCx,
    pal: &KernelPalette,
    layout: &str,
    taps: usize,
    product: bool,
) -> Vec<(&'static str, String)> {
    let what = cx.what();
    let books = pal.codebooks.len() / pal.k.max(1);
    let ix = cx.array(
        "indices",
        CType::U8,
        pal.indices.clone(),
        DataKind::Weights,
        format!(
            "{what}: palette indices ({layout}), per output channel {taps} taps x {} bits, least significant bit first, each channel on whole bytes",
            pal.bits
        ),
    );
    let cb = cx.array(
        "codebooks",
        CType::I8,
        pal.codebooks.clone(),
        DataKind::Weights,
        format!(
            "{what}: palette weights, {books} codebook(s) of {} int8 weights (one per {} output channels), each ascending",
            pal.k, pal.rows_per_book
        ),
    );
    let names = if product { PRODUCT_PALETTE } else { PALETTE };
    let values = [
        pal.bits.to_string(),
        pal.k.to_string(),
        pal.rows_per_book.to_string(),
        ix,
        cb,
    ];
    names.into_iter().zip(values).collect()
}

/// The kernel of a product layer once [`product_rows`] chose its weights' form:
/// `dense`, `sparse` for the `PARE_SPARSE` stream, `palette` for `PARE_PALETTE`.
pub(super) fn product_kernel(
    cx: &NodeCx,
    dense: &'static str,
    sparse: &'static str,
    palette: &'static str,
) -> &'static str {
    match cx.weight_storage.map(|w| w.encoding) {
        Some(WeightEncoding::SparseBitmap) => sparse,
        Some(WeightEncoding::Palette) => palette,
        _ => dense,
    }
}

/// Whether `node` (float or quantized) lowers to a product kernel, which keeps 4-bit
/// weights packed two a byte in flash: a non-depthwise Conv, a Gemm without `trans_a`,
/// a MatMul by a constant `[k, n]` operand. Depthwise weights are widened to int32 for
/// their kernel, so 4 bits would save no flash there. The mixed-precision chooser
/// offers 4 bits only to these layers.
pub fn packs_4bit_weights(g: &Graph, node: &Node) -> bool {
    let Some(b) = node.input(1) else {
        return false;
    };
    if g.weight_of(b).is_none() {
        return false;
    }
    let shape = |v| -> Vec<usize> {
        g.ty(v)
            .fixed_shape()
            .unwrap_or_default()
            .into_iter()
            .map(|d| d as usize)
            .collect()
    };
    match node.op {
        Op::Conv { .. } => node
            .input(0)
            .is_some_and(|x| !is_depthwise(&node.op, &shape(x), &shape(b))),
        Op::Gemm { trans_a, .. } => !trans_a,
        Op::MatMul {} => node.input(0).is_some_and(|a| g.ty(a).rank() >= 1) && g.ty(b).rank() == 2,
        _ => false,
    }
}

/// A depthwise conv: one input channel per group and one output channel per group.
pub(super) fn is_depthwise(op: &Op, xs: &[usize], ws: &[usize]) -> bool {
    matches!(op, Op::Conv { group, .. } if *group > 1
        && xs.get(1) == Some(&(*group as usize))
        && ws.first() == Some(&(*group as usize))
        && ws.get(1) == Some(&1))
}

/// Rows and columns of the padded plane a depthwise layer reads: every position a tap
/// of an output touches.
pub(super) fn padded_plane(pl: &Plane) -> (i64, i64) {
    (
        (pl.out_h - 1) * pl.s_h + (pl.k_h - 1) * pl.d_h + 1,
        (pl.out_w - 1) * pl.s_w + (pl.k_w - 1) * pl.d_w + 1,
    )
}

/// A depthwise layer's workspace: its padded plane (rounded up to 4 bytes), then one
/// output row of int32 sums.
pub(super) fn depthwise_scratch(pl: &Plane) -> u64 {
    let (h, w) = padded_plane(pl);
    let plane = (h.max(0) * w.max(0)) as u64;
    plane.div_ceil(4) * 4 + 4 * pl.out_w.max(0) as u64
}

/// Bytes of arena workspace `node`'s kernel needs while it runs (0 for none): the
/// column of a product layer, the padded plane of a depthwise one. Shapes that do not
/// resolve give 0 here; the layer's builder reports them.
pub(crate) fn scratch_bytes(g: &Graph, node: &Node) -> u64 {
    let shape = |i: usize| -> Option<Vec<usize>> {
        let s = g.ty(node.input(i)?).fixed_shape()?;
        Some(s.into_iter().map(|d| d as usize).collect())
    };
    let is_const = |i: usize| node.input(i).is_some_and(|v| g.weight_of(v).is_some());
    let (Some(xs), Some(ws)) = (shape(0), shape(1)) else {
        return 0;
    };
    let bits = node.input(1).map_or(8, |w| stored_bits(g, w));
    let bytes = match &node.op {
        Op::Conv { .. } if is_depthwise(&node.op, &xs, &ws) => {
            match plane_of(&node.op, &xs, Some(&ws)) {
                // A palette weight may decode a channel's taps into the workspace.
                Ok(pl) => {
                    let palette = node
                        .input(1)
                        .and_then(|v| palette_request(g, v, ws[0], true))
                        .is_some();
                    let taps = (pl.k_h * pl.k_w).max(0) as u64;
                    (depthwise_scratch(&pl) + if palette { 4 * taps } else { 0 }) as usize
                }
                Err(_) => 0,
            }
        }
        Op::Conv { .. } => {
            let depth = ws[1..].iter().product();
            let padded = padded_depth(depth, bits);
            if bits == 8 && conv_reads_three_columns(g, node, ws[0], depth, padded) {
                CONV_POSITIONS * padded
            } else {
                padded
            }
        }
        Op::Gemm { trans_a: false, .. } if is_const(1) && xs.len() == 2 => {
            padded_depth(xs[1], bits)
        }
        Op::MatMul {} if is_const(1) && (1..=2).contains(&ws.len()) => padded_depth(ws[0], bits),
        _ => 0,
    };
    bytes as u64
}

/// Whether conv `node`'s 8-bit weights (`rows` x `depth`) may take a kernel that
/// reads three columns at once: the sparse one, where their non-zero count makes it
/// the smaller form (what [`product_rows`] decides from the same codes), or the
/// palette one, wherever the IR weight is a palette (the workspace does not depend
/// on whether the palette is smaller or forced).
fn conv_reads_three_columns(
    g: &Graph,
    node: &Node,
    rows: usize,
    depth: usize,
    padded: usize,
) -> bool {
    let Some(v) = node.input(1) else {
        return false;
    };
    if palette_request(g, v, rows, true).is_some() {
        return true;
    }
    let Some(codes) = g
        .weight_of(v)
        .and_then(|w| w.tensor().ok())
        .filter(|t| t.dtype().is_int())
    else {
        return false;
    };
    prefers_sparse(rows, depth, padded, nonzeros(&codes.to_i64_vec()))
}

/// The scratch bytes a product layer's kernel needs once [`product_rows`] chose its
/// weights' form: one column (`padded` bytes), or three for a sparse or palette conv.
pub(super) fn product_scratch(cx: &NodeCx, padded: usize) -> u64 {
    let three_columns = matches!(cx.node.op, Op::Conv { .. })
        && cx.weight_storage.is_some_and(|w| {
            matches!(
                w.encoding,
                WeightEncoding::SparseBitmap | WeightEncoding::Palette
            )
        });
    (if three_columns {
        CONV_POSITIONS * padded
    } else {
        padded
    }) as u64
}

/// The scratch expression of a layer that needs one, checked against its size.
pub(super) fn scratch_ptr(cx: &NodeCx, bytes: u64) -> Result<String, Rp2040Error> {
    match cx.storage.scratch(cx.node_id) {
        Some((offset, size)) if size >= bytes => Ok(format!("arena + {offset}")),
        _ => Err(cx.err(format!(
            "the memory plan has no {bytes}-byte workspace for this layer"
        ))),
    }
}
