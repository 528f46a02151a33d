//! The RP2040 C of graphs with degenerate weight channels (issue 12): all-zero,
//! all-denormal and constant channels of a 1×1 conv and a depthwise conv, of a
//! Gemm and a MatMul, a whole zero weight, and a bias raised past int32 at the
//! min-max weight scale (`tests/data/degenerate/*.pir`). Quantized by pare's
//! int8 pass (8- and 4-bit weights), compiled with gcc (and clang) under
//! ASan/UBSan and run on random int8 codes: every output byte equals the
//! integer interpreter's, with both roundings. The dead channels' tiny
//! multipliers (down to 2^-31) and near-int32-limit biases are exactly the
//! edge the fixed-point code must get right.

mod rp2040_support;

use pare_ir::interp::run_observed;
use pare_ir::quant::Rounding;
use pare_ir::{Graph, Tensor, ValueId};
use pare_passes::quantize::{quantize_int, IntOptions};
use pare_targets::rp2040::{emit, EmitOptions};
use rp2040_support::{check_bit_exact, random_codes};
use std::collections::BTreeMap;

/// The model at batch 1.
fn model(name: &str) -> Graph {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/degenerate")
        .join(name);
    let text = std::fs::read_to_string(&path).expect("read model");
    pare_ir::text::parse(&text.replace("[N,", "[1,")).expect("parses")
}

/// `g` quantized with min-max ranges over 32 samples uniform in [0, 1).
fn quantized(mut g: Graph, weight_bits: u8) -> Graph {
    let mut rng = fastrand::Rng::with_seed(3);
    let mut ranges: BTreeMap<ValueId, (f32, f32)> = BTreeMap::new();
    let shape: Vec<usize> = g
        .ty(g.inputs[0])
        .fixed_shape()
        .expect("fixed input")
        .into_iter()
        .map(|d| d as usize)
        .collect();
    for _ in 0..32 {
        let n = shape.iter().product();
        let x =
            Tensor::from_vec(shape.clone(), (0..n).map(|_| rng.f32()).collect::<Vec<_>>()).unwrap();
        let mut note = |v: ValueId, t: &Tensor| {
            if let Some(s) = t.as_slice::<f32>() {
                let e = ranges
                    .entry(v)
                    .or_insert((f32::INFINITY, f32::NEG_INFINITY));
                for &y in s {
                    e.0 = e.0.min(y);
                    e.1 = e.1.max(y);
                }
            }
        };
        note(g.inputs[0], &x);
        run_observed(&g, &[x], &mut note).expect("float run");
    }
    let opts = IntOptions {
        weight_bits,
        ..Default::default()
    };
    quantize_int(&mut g, &ranges, &opts).expect("quantizes");
    g
}

#[test]
fn dead_denormal_and_constant_channels_are_bit_exact_in_c() {
    for name in ["conv_dead_channels.pir", "gemm_dead_channels.pir"] {
        for bits in [8u8, 4] {
            let q = quantized(model(name), bits);
            for (k, rounding) in Rounding::ALL.into_iter().enumerate() {
                let stem = name.trim_end_matches(".pir");
                let e = emit(
                    &q,
                    &EmitOptions {
                        name: format!("{stem}_w{bits}_{k}"),
                        rounding,
                        model: None,
                        force_palette: false,
                    },
                )
                .unwrap_or_else(|err| panic!("{name}: {err}"));
                let samples = random_codes(&e, 48, 5 + k as u64);
                let n = check_bit_exact(&e, rounding, &samples);
                eprintln!("{name}, {bits}-bit weights ({rounding}): {n} samples bit-exact");
            }
        }
    }
}
