//! The RP2040 C of the fixture CNNs (micro_cnn, digits_cnn), quantized from
//! digits.npz's x_train, compiled on the host with gcc and clang under
//! -Werror -pedantic and ASan/UBSan and run over the whole test split: every
//! sample's int8 outputs must equal the integer interpreter's byte for byte,
//! and the float API must equal the interpreter on the Q/DQ graph. Prints
//! accuracy, arena vs lower bound and constant-data sizes.

mod common;
mod rp2040_support;

use common::{digits, quantized_fixture, quantized_fixture_bits, random_input, test_split};
use pare_ir::interp::{run_with, QuantExec, RunOptions};
use pare_ir::quant::Rounding;
use pare_ir::{Graph, Tensor};
use pare_targets::rp2040::{emit, EmitOptions};
use rp2040_support::{
    build, check_bit_exact, compilers, quantize_input, random_codes, reference, run_codes, run_f32,
};

/// The model, quantized on the first 256 training samples.
fn quantized(name: &str) -> Graph {
    quantized_fixture(name, &digits(256))
}

fn argmax(v: &[f32]) -> i64 {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best as i64
}

fn check_model(file: &str, min_accuracy: f64) {
    let g = quantized(file);
    let (xs, ys) = test_split();
    for rounding in [Rounding::Gemmlowp, Rounding::Single] {
        let e = emit(
            &g,
            &EmitOptions {
                rounding,
                ..EmitOptions::default()
            },
        )
        .unwrap_or_else(|err| panic!("{file}: {err}"));
        // Bit-exact int8 path over the whole test split.
        let samples: Vec<Vec<Vec<i8>>> = xs.iter().map(|x| vec![quantize_input(&e, x)]).collect();
        let want = reference(&e, rounding, &samples);
        // The float path: the interpreter on the full graph (quantize → int → dequantize).
        let opts = RunOptions {
            quant: QuantExec::Integer(rounding),
        };
        let float_want: Vec<Vec<f32>> = xs
            .iter()
            .map(|x| {
                let t = Tensor::from_vec(vec![1, 1, 8, 8], x.clone()).expect("sample");
                run_with(&g, &[t], &opts, &mut |_, _| {}).expect("interpreter")[0].to_f32_vec()
            })
            .collect();
        for cc in compilers() {
            let b = build(&e, cc);
            let got = run_codes(&b, &e, &samples);
            let same = got.iter().zip(&want).filter(|(a, b)| a == b).count();
            let fsamples: Vec<Vec<Vec<f32>>> = xs.iter().map(|x| vec![x.clone()]).collect();
            let fgot = run_f32(&b, &e, &fsamples);
            let fsame = fgot
                .iter()
                .zip(&float_want)
                .filter(|(a, b)| {
                    a.iter()
                        .map(|v| v.to_bits())
                        .eq(b.iter().map(|v| v.to_bits()))
                })
                .count();
            let correct = fgot
                .iter()
                .zip(&ys)
                .filter(|(out, &y)| argmax(out) == y)
                .count();
            let accuracy = correct as f64 / ys.len() as f64;
            eprintln!(
                "{file} ({rounding}, {cc}): int8 outputs bit-exact on {same}/{} test samples, float API identical on {fsame}/{}; accuracy {accuracy:.4}; arena {} bytes (lower bound {}, naive {}); const data {} bytes (weights {}, tables {})",
                samples.len(),
                fsamples.len(),
                e.plan.arena_bytes,
                e.plan.lower_bound,
                e.plan.naive_bytes(),
                e.const_bytes(),
                e.weight_bytes,
                e.table_bytes
            );
            assert_eq!(
                same,
                samples.len(),
                "{file} {rounding} {cc}: int8 outputs differ from the interpreter"
            );
            assert_eq!(
                fsame,
                fsamples.len(),
                "{file} {rounding} {cc}: float API differs from the interpreter"
            );
            assert!(
                accuracy >= min_accuracy,
                "{file}: accuracy {accuracy} < {min_accuracy}"
            );
        }
        assert_eq!(
            e.plan.arena_bytes, e.plan.lower_bound,
            "{file}: arena above its lower bound"
        );
    }
}

#[test]
fn micro_cnn_c_is_bit_exact_on_the_test_split() {
    check_model("micro_cnn.onnx", 0.95);
}

#[test]
fn digits_cnn_c_is_bit_exact_on_the_test_split() {
    check_model("digits_cnn.onnx", 0.98);
}

#[test]
fn emission_is_deterministic() {
    let g = quantized("digits_cnn.onnx");
    let a = emit(&g, &EmitOptions::default()).expect("emits");
    let b = emit(&quantized("digits_cnn.onnx"), &EmitOptions::default()).expect("emits again");
    assert_eq!(a.files(), b.files(), "re-emitting gives other bytes");
}

#[test]
fn int4_weights_stay_bit_exact() {
    let g = quantized_fixture_bits("digits_cnn.onnx", &digits(256), 4);
    let e = emit(&g, &EmitOptions::default()).expect("emits");
    // Convs and Linear layers keep their 4-bit codes packed; the depthwise conv's
    // kernel widens its weights.
    assert!(e
        .weights
        .contains("4-bit weights of convolutions and fully connected layers are packed"));
    assert!(e.weights.contains("other 4-bit weights are widened"));
    assert_eq!(
        e.layers
            .iter()
            .filter(|l| l.kernel == "pare_depthwise_conv2d")
            .count(),
        1
    );
    let (xs, _) = test_split();
    let samples: Vec<Vec<Vec<i8>>> = xs
        .iter()
        .take(100)
        .map(|x| vec![quantize_input(&e, x)])
        .collect();
    let n = check_bit_exact(&e, Rounding::Gemmlowp, &samples);
    eprintln!(
        "digits_cnn int4: {n} test samples bit-exact; const data {} bytes",
        e.const_bytes()
    );
}

/// A MobileNet-class network (random init: structure only): depthwise and
/// pointwise convs, hard-swish/hard-sigmoid tables, squeeze-excite Mul with
/// broadcasting, residual Adds, global pooling — bit-exact on random inputs.
#[test]
fn mobilenet_v3_small_c_is_bit_exact() {
    let g = quantized_fixture(
        "mobilenet_v3_small.onnx",
        &random_input(&[1, 3, 224, 224], 1),
    );
    let e = emit(&g, &EmitOptions::default()).expect("emits");
    let samples = random_codes(&e, 3, 5);
    let n = check_bit_exact(&e, Rounding::Gemmlowp, &samples);
    let macs: u64 = e.layers.iter().map(|l| l.macs).sum();
    eprintln!(
        "mobilenet_v3_small 224x224: {n} random samples bit-exact; {} layers, {macs} MACs; arena {} bytes (lower bound {}, naive {}); const data {} bytes",
        e.layers.len(),
        e.plan.arena_bytes,
        e.plan.lower_bound,
        e.plan.naive_bytes(),
        e.const_bytes()
    );
    assert_eq!(e.plan.arena_bytes, e.plan.lower_bound);
}
