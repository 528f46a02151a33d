//! The digits CNN int8 dense, then its weights palettized (16 levels per output
//! channel, 16 and 4 per tensor), cross-built for the Cortex-M0+ and run under QEMU
//! on all 500 test digits: every palette model bit-exact with the integer
//! interpreter, its palette layers smaller in flash than the dense model's. Prints,
//! per model, flash (the model's share of the image, from `arm-none-eabi-size`),
//! weight bytes, emulated instructions per inference and per MAC, and the ratios
//! to the dense int8 build. Needs arm-none-eabi-gcc, arm-none-eabi-size and
//! qemu-system-arm: fails (never skips) without them.

mod common;
mod palette_support;
mod rp2040_support;

use common::{digits, quantized_fixture};
use palette_support::{palettize, Books};
use pare_ir::quant::Rounding;
use pare_targets::rp2040::toolchain::{ARM_GCC, ARM_SIZE, QEMU};
use pare_targets::rp2040::{
    build_firmware, emit, profile_instructions, run_qemu, Device, EmitOptions, WeightEncoding,
};
use rp2040_support::{quantize_input, reference};
use std::time::Duration;

const SAMPLES: usize = 500;
const TIMEOUT: Duration = Duration::from_secs(120);

/// What one model measures on the emulated device.
#[derive(Debug)]
struct Figures {
    /// The model's flash (image less the harness): code, constants, initializers.
    flash: u64,
    /// Of `flash`, the model's weights (the const data of NAME_weights.c).
    weights: u64,
    /// The weight arrays of the conv and fully connected layers as emitted.
    product_weights: u64,
    /// Those layers' weights as f32 (4 bytes a weight, no padding).
    f32_weights: u64,
    instructions: u64,
    macs: u64,
    accuracy: f64,
}

fn measure(what: &str, palette: Option<(usize, Books)>) -> Figures {
    for tool in [ARM_GCC, ARM_SIZE, QEMU] {
        if let Err(e) = tool.check() {
            panic!("{e}");
        }
    }
    let mut g = quantized_fixture("digits_cnn.onnx", &digits(256));
    if let Some((k, books)) = palette {
        palettize(&mut g, k, books);
    }
    let e = emit(&g, &EmitOptions::default()).expect("emits");
    let palettes = e
        .layers
        .iter()
        .filter(|l| {
            l.weights
                .is_some_and(|w| w.encoding == WeightEncoding::Palette)
        })
        .count();
    assert_eq!(palettes > 0, palette.is_some(), "{what}: {:?}", e.layers);
    let (xs, ys) = common::test_split();
    let codes: Vec<Vec<i8>> = xs
        .iter()
        .take(SAMPLES)
        .map(|x| quantize_input(&e, x))
        .collect();
    let samples: Vec<Vec<Vec<i8>>> = codes.iter().map(|c| vec![c.clone()]).collect();
    let want = reference(&e, Rounding::Gemmlowp, &samples);
    let dir = tempfile::tempdir().expect("temp dir");
    let device = Device::by_name("rp2040").expect("the rp2040 profile");
    let built = build_firmware(&e.sources(), &codes, device, dir.path())
        .unwrap_or_else(|err| panic!("{what} firmware: {err}"));
    let run = run_qemu(&built, TIMEOUT).expect("QEMU runs the image");
    assert_eq!(
        run.exit_code, 0,
        "{what}: the firmware exits {}:\n{}\n{}",
        run.exit_code, run.stdout, run.stderr
    );
    let got = run.outputs().expect("the firmware prints its outputs");
    assert_eq!(got.len(), SAMPLES, "{what}: one output per sample");
    for (s, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(
            g, w,
            "{what}, sample {s}: the emulated Cortex-M0 differs from the interpreter"
        );
    }
    let correct = got
        .iter()
        .zip(&ys)
        .filter(|(out, &y)| {
            let best = (0..out.len()).fold(0, |b, i| if out[i] > out[b] { i } else { b });
            best as i64 == y
        })
        .count();
    let profile = profile_instructions(&built, TIMEOUT).expect("instruction count");
    let macs: u64 = e.layers.iter().map(|l| l.macs).sum();
    let f = Figures {
        flash: built.footprint.flash,
        weights: built.footprint.weights,
        product_weights: e
            .layers
            .iter()
            .filter_map(|l| l.weights)
            .map(|w| w.stored_bytes)
            .sum(),
        f32_weights: e
            .layers
            .iter()
            .filter_map(|l| l.weights)
            .map(|w| 4 * w.weights)
            .sum(),
        instructions: profile.per_inference,
        macs,
        accuracy: correct as f64 / SAMPLES as f64,
    };
    let layers: Vec<String> = e
        .layers
        .iter()
        .filter_map(|l| {
            l.weights.map(|w| {
                format!(
                    "{} {} {}b {} B (dense {} B){}",
                    l.node,
                    w.encoding.name(),
                    w.bits,
                    w.stored_bytes,
                    w.dense_bytes,
                    w.palette
                        .map(|p| format!(" k={} codebooks={}", p.k, p.books))
                        .unwrap_or_default()
                )
            })
        })
        .collect();
    eprintln!(
        "digits_cnn {what}: {SAMPLES} test digits bit-exact under QEMU, accuracy {:.3}; flash {} B (code {} B, weights {} B, conv/fc weight arrays {} B); {} instructions per inference, {:.2} per MAC; layers {layers:?}; top functions {:?}",
        f.accuracy,
        f.flash,
        f.flash - f.weights,
        f.weights,
        f.product_weights,
        f.instructions,
        f.instructions as f64 / macs as f64,
        &profile.by_function[..profile.by_function.len().min(5)]
    );
    f
}

#[test]
fn palettized_digits_cnn_under_qemu_is_bit_exact_and_smaller() {
    let dense = measure("int8 dense", None);
    for (what, k, books) in [
        ("int8 16-level palettes per channel", 16, Books::PerChannel),
        ("int8 16-level palettes per tensor", 16, Books::PerTensor),
        ("int8 4-level palettes per tensor", 4, Books::PerTensor),
    ] {
        let f = measure(what, Some((k, books)));
        let ratio = |a: u64, b: u64| a as f64 / b as f64;
        eprintln!(
            "digits_cnn {what} vs int8 dense: flash {} vs {} B ({:.3}x), weights {:.3}x, conv/fc weight arrays {} vs {} B ({:.3}x; {:.2}x smaller than their {} B as f32), instructions {} vs {} ({:.3}x), accuracy {:.3} vs {:.3}",
            f.flash,
            dense.flash,
            ratio(f.flash, dense.flash),
            ratio(f.weights, dense.weights),
            f.product_weights,
            dense.product_weights,
            ratio(f.product_weights, dense.product_weights),
            ratio(f.f32_weights, f.product_weights),
            f.f32_weights,
            f.instructions,
            dense.instructions,
            ratio(f.instructions, dense.instructions),
            f.accuracy,
            dense.accuracy
        );
        assert_eq!(f.macs, dense.macs);
        // 4-bit indices (and codebooks) where the layers take them: well under
        // the int8 codes' bytes.
        assert!(
            f.product_weights * 100 <= dense.product_weights * 70,
            "{what}: {f:?} vs {dense:?}"
        );
        assert!(f.flash < dense.flash, "{what}: {f:?} vs {dense:?}");
        // An index decoded a tap (for three output positions in a conv): about a
        // quarter more instructions than the dense kernels, kept under half.
        assert!(
            f.instructions * 10 <= dense.instructions * 15,
            "{what}: {f:?} vs {dense:?}"
        );
    }
}
