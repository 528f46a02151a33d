//! Palette weights in the RP2040 C: convs (k×k, depthwise, pointwise, grouped,
//! strided/dilated) and fully connected layers whose 8-bit codes are an IR palette
//! keep codebooks and packed indices in flash (`PARE_PALETTE`) and stay bit-exact
//! with the integer interpreter at every index width 1..8 (the 2/4/8-bit fast paths
//! and the bit buffer of the odd widths), per tensor and per channel codebooks,
//! both roundings, gcc and clang under ASan/UBSan; the palette is taken only where
//! smaller, the report states what is stored, the C is deterministic; and the
//! digits CNN palettized is bit-exact on the whole test split.

mod common;
mod palette_support;
mod rp2040_support;

use common::{digits, quantized_fixture, test_split};
use palette_support::{palettize, products, quantize, Books};
use pare_ir::quant::Rounding;
use pare_ir::Graph;
use pare_targets::rp2040::{emit, EmitOptions, Emitted, WeightEncoding, WeightStorage};
use rp2040_support::{check_bit_exact, quantize_input, random_codes, reference};

fn emit_with(q: &Graph, name: &str, rounding: Rounding, force_palette: bool) -> Emitted {
    emit(
        q,
        &EmitOptions {
            name: name.to_string(),
            rounding,
            model: None,
            force_palette,
        },
    )
    .unwrap_or_else(|err| panic!("{name}: {err}"))
}

/// Emits `q` with both roundings, checks 32 random samples bit for bit; returns
/// the last emission.
fn check_both_roundings(q: &Graph, name: &str, force_palette: bool) -> Emitted {
    let mut last = None;
    for (k, rounding) in [Rounding::Gemmlowp, Rounding::Single]
        .into_iter()
        .enumerate()
    {
        let e = emit_with(q, &format!("{name}_{k}"), rounding, force_palette);
        let n = check_bit_exact(&e, rounding, &random_codes(&e, 32, 21 + k as u64));
        eprintln!("{name} ({rounding}): {n} random samples bit-exact");
        last = Some(e);
    }
    last.expect("emitted")
}

/// (node, kernel, storage) of each layer that reports its weights.
fn weighted(e: &Emitted) -> Vec<(String, &'static str, WeightStorage)> {
    e.layers
        .iter()
        .filter_map(|l| l.weights.map(|w| (l.node.clone(), l.kernel, w)))
        .collect()
}

/// The products graph palettized to `k` entries, every weight forced to the
/// palette kernels: bit-exact, and each layer stores what its report says.
fn check_width(k: usize, books: Books, bits: u8) {
    let mut q = quantize(products(k as u64));
    assert_eq!(palettize(&mut q, k, books), 8);
    let e = check_both_roundings(&q, &format!("pal_{k}_{books:?}").to_lowercase(), true);
    let layers = weighted(&e);
    assert_eq!(
        layers.len(),
        8,
        "seven products and a depthwise conv: {layers:?}"
    );
    for (node, kernel, w) in &layers {
        assert_eq!(w.encoding, WeightEncoding::Palette, "{node}: {w:?}");
        assert!(kernel.ends_with("_palette"), "{node}: {kernel}");
        let pal = w.palette.expect("palette shape");
        assert_eq!(
            w.stored_bytes,
            pal.codebook_bytes + pal.index_bytes,
            "{node}"
        );
        assert_eq!(pal.codebook_bytes, (pal.k * pal.books) as u64, "{node}");
        // The [k, n] operands' codebooks run along the reduction: per channel ones
        // are rebuilt per output unit, as wide as the widest unit needs.
        let along_reduction = books == Books::PerChannel
            && (node.starts_with("gemm") || node.starts_with("matmul"))
            && pal.books != 21;
        if !along_reduction {
            assert_eq!((w.bits, pal.k), (bits, k), "{node}: {w:?}");
        }
        eprintln!("  {node}: {kernel} {w:?}");
    }
    assert!(e.source.contains("PARE_PALETTE"));
    assert!(e.weights.contains("_codebooks[") && e.weights.contains("_indices["));
}

#[test]
fn one_bit_per_channel_palettes_are_bit_exact() {
    check_width(2, Books::PerChannel, 1);
}

#[test]
fn two_bit_per_channel_palettes_are_bit_exact() {
    check_width(4, Books::PerChannel, 2);
}

#[test]
fn three_bit_per_tensor_palettes_are_bit_exact() {
    check_width(5, Books::PerTensor, 3);
}

#[test]
fn four_bit_palettes_are_bit_exact_per_tensor_and_per_channel() {
    check_width(16, Books::PerTensor, 4);
    check_width(16, Books::PerChannel, 4);
}

#[test]
fn five_and_six_bit_palettes_are_bit_exact() {
    check_width(32, Books::PerChannel, 5);
    check_width(40, Books::PerTensor, 6);
}

#[test]
fn seven_and_eight_bit_per_tensor_palettes_are_bit_exact() {
    check_width(100, Books::PerTensor, 7);
    check_width(256, Books::PerTensor, 8);
}

/// Unforced, a layer takes the palette only where codebooks and indices are
/// fewer bytes than its dense layout: 4-bit palettes everywhere but where a
/// codebook per channel outweighs the indices' saving, 8-bit ones nowhere.
#[test]
fn the_palette_is_taken_only_where_smaller() {
    let mut q = quantize(products(40));
    palettize(&mut q, 16, Books::PerTensor);
    let e = check_both_roundings(&q, "smaller", false);
    for (node, kernel, w) in weighted(&e) {
        assert_eq!(w.encoding, WeightEncoding::Palette, "{node}: {w:?}");
        assert!(w.stored_bytes < w.dense_bytes, "{node}: {w:?}");
        assert!(kernel.ends_with("_palette"), "{node}: {kernel}");
    }
    // One 4-bit codebook of 16 a channel: the depthwise conv's 9 taps a channel
    // take 5 index bytes + 16 codebook bytes < 36 int32 bytes; a pointwise conv
    // over 20 channels takes 10 + 16 > 20.
    let mut q = quantize(products(41));
    palettize(&mut q, 16, Books::PerChannel);
    let e = emit_with(&q, "per_channel", Rounding::Gemmlowp, false);
    let by_node = weighted(&e);
    let pointwise = &by_node[2];
    assert_eq!(pointwise.2.encoding, WeightEncoding::Dense, "{by_node:?}");
    assert_eq!(pointwise.1, "pare_conv2d");
    let depthwise = &by_node[1];
    assert_eq!(depthwise.1, "pare_depthwise_conv2d_palette", "{by_node:?}");
    assert_eq!(
        depthwise.2.stored_bytes,
        20 * 16 + 20 * 5,
        "{:?}",
        depthwise.2
    );
    assert_eq!(depthwise.2.dense_bytes, 20 * 9 * 4);
    // 8-bit indices and a codebook never beat a product's int8 codes, only the
    // depthwise conv's int32 taps.
    let mut q = quantize(products(42));
    palettize(&mut q, 256, Books::PerTensor);
    let e = emit_with(&q, "wide", Rounding::Gemmlowp, false);
    let layers = weighted(&e);
    for (node, kernel, w) in &layers {
        if *kernel == "pare_depthwise_conv2d_palette" {
            assert_eq!(w.stored_bytes, 256 + 20 * 9, "{node}: {w:?}");
        } else {
            assert_eq!(w.encoding, WeightEncoding::Dense, "{node}: {w:?}");
            assert!(!kernel.ends_with("_palette"), "{node}: {kernel}");
        }
    }
    assert!(!e.source.contains("PARE_PALETTE"));
}

/// The same model gives the same bytes: twice over, and after a trip through the
/// `.pir` text (which prints and parses the palettes).
#[test]
fn palette_c_is_deterministic() {
    let mut q = quantize(products(50));
    palettize(&mut q, 8, Books::PerChannel);
    let a = emit_with(&q, "det", Rounding::Gemmlowp, false);
    let b = emit_with(&q, "det", Rounding::Gemmlowp, false);
    let text = pare_ir::text::print(&q);
    let reparsed = pare_ir::text::parse(&text).expect("the .pir parses");
    let c = emit_with(&reparsed, "det", Rounding::Gemmlowp, false);
    for other in [&b, &c] {
        assert_eq!(a.header, other.header);
        assert_eq!(a.source, other.source);
        assert_eq!(a.weights, other.weights);
    }
    assert!(a.source.contains("PARE_PALETTE"));
}

/// The digits CNN int8, its weights palettized (16 levels per output channel),
/// compiled and run over the whole test split with both roundings.
#[test]
fn palettized_digits_cnn_is_bit_exact_on_the_test_split() {
    let mut g = quantized_fixture("digits_cnn.onnx", &digits(256));
    let dense = emit(&g, &EmitOptions::default()).expect("emits");
    palettize(&mut g, 16, Books::PerChannel);
    let (xs, ys) = test_split();
    for rounding in [Rounding::Gemmlowp, Rounding::Single] {
        let e = emit(
            &g,
            &EmitOptions {
                rounding,
                ..EmitOptions::default()
            },
        )
        .expect("emits");
        let samples: Vec<Vec<Vec<i8>>> = xs.iter().map(|x| vec![quantize_input(&e, x)]).collect();
        let n = check_bit_exact(&e, rounding, &samples);
        let correct = reference(&e, rounding, &samples)
            .iter()
            .zip(&ys)
            .filter(|(out, &y)| {
                let best = (0..out.len()).fold(0, |b, i| if out[i] > out[b] { i } else { b });
                best as i64 == y
            })
            .count();
        let layers = weighted(&e);
        let palettes = layers
            .iter()
            .filter(|(_, _, w)| w.encoding == WeightEncoding::Palette)
            .count();
        eprintln!(
            "digits_cnn 16-level palettes ({rounding}): {n} test samples bit-exact; accuracy {:.3}; {palettes} palette layers; weights {} B vs {} B dense int8; {layers:?}",
            correct as f64 / ys.len() as f64,
            e.weight_bytes,
            dense.weight_bytes,
        );
        assert!(palettes >= 2, "{layers:?}");
        assert!(e.weight_bytes < dense.weight_bytes);
    }
}
