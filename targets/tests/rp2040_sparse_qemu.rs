//! The digits CNN int8 dense, 50 % and 75 % unstructured and 2:4 magnitude-pruned (float
//! weights pruned before quantization), cross-built for the Cortex-M0+ and run
//! under QEMU on all 500 test digits: every pruned model bit-exact with the
//! integer interpreter, its sparse layers smaller in flash than the dense model's.
//! Prints, per model, flash (the model's share of the image, from
//! `arm-none-eabi-size`), weight bytes, emulated instructions per inference and
//! per dense MAC. Needs arm-none-eabi-gcc, arm-none-eabi-size and qemu-system-arm:
//! fails (never skips) without them.

mod common;
mod rp2040_support;
mod sparse_support;

use common::{digits, quantized_fixture_edited, test_split};
use pare_ir::quant::Rounding;
use pare_targets::rp2040::toolchain::{ARM_GCC, ARM_SIZE, QEMU};
use pare_targets::rp2040::{
    build_firmware, emit, profile_instructions, run_qemu, Device, EmitOptions, WeightEncoding,
};
use rp2040_support::{quantize_input, reference};
use sparse_support::{prune, Pruning};
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
    /// The whole image (`text + data`, the embedded test digits included).
    image: u64,
    instructions: u64,
    macs: u64,
    /// The planned arena and the stack's high-water mark under QEMU.
    arena: u64,
    stack: Option<u64>,
}

fn measure(what: &str, pruning: Option<Pruning>) -> Figures {
    for tool in [ARM_GCC, ARM_SIZE, QEMU] {
        if let Err(e) = tool.check() {
            panic!("{e}");
        }
    }
    let g = quantized_fixture_edited("digits_cnn.onnx", &digits(256), 8, |g| {
        if let Some(how) = pruning {
            prune(g, how);
        }
    });
    let e = emit(&g, &EmitOptions::default()).expect("emits");
    let sparse = e
        .layers
        .iter()
        .filter(|l| {
            l.weights
                .is_some_and(|w| w.encoding == WeightEncoding::SparseBitmap)
        })
        .count();
    assert_eq!(sparse > 0, pruning.is_some(), "{what}: {:?}", e.layers);
    let (xs, _) = test_split();
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
    let profile = profile_instructions(&built, TIMEOUT).expect("instruction count");
    let macs: u64 = e.layers.iter().map(|l| l.macs).sum();
    let product_weights = e
        .layers
        .iter()
        .filter_map(|l| l.weights)
        .map(|w| w.stored_bytes)
        .sum();
    let f = Figures {
        flash: built.footprint.flash,
        weights: built.footprint.weights,
        product_weights,
        image: built.sizes.flash(),
        instructions: profile.per_inference,
        macs,
        arena: e.plan.arena_bytes,
        stack: run.stack_bytes(),
    };
    eprintln!(
        "digits_cnn {what}: {SAMPLES} test digits bit-exact under QEMU; flash {} B (code {} B, weights {} B, conv/fc weight arrays {} B); whole image text+data {} B; {} instructions per inference, {:.2} per dense MAC ({} MACs); arena {} B, stack high-water {:?} B; top functions {:?}",
        f.flash,
        f.flash - f.weights,
        f.weights,
        f.product_weights,
        f.image,
        f.instructions,
        f.instructions as f64 / macs as f64,
        macs,
        f.arena,
        f.stack,
        &profile.by_function[..profile.by_function.len().min(5)]
    );
    f
}

#[test]
fn pruned_digits_cnn_under_qemu_is_bit_exact_and_smaller() {
    let dense = measure("int8 dense", None);
    for (what, how) in [
        ("int8 50 % unstructured", Pruning::Unstructured(0.5)),
        ("int8 2:4", Pruning::TwoOfFour),
        ("int8 75 % unstructured", Pruning::Unstructured(0.75)),
    ] {
        let f = measure(what, Some(how));
        let ratio = |a: u64, b: u64| a as f64 / b as f64;
        eprintln!(
            "digits_cnn {what} vs dense: flash {:.3}x, weights {:.3}x, conv/fc weight arrays {:.3}x, instructions {:.3}x",
            ratio(f.flash, dense.flash),
            ratio(f.weights, dense.weights),
            ratio(f.product_weights, dense.product_weights),
            ratio(f.instructions, dense.instructions)
        );
        assert_eq!(f.macs, dense.macs);
        // A mask bit a weight and a byte a non-zero: 1/8 + 1/2 of the dense bytes.
        assert!(
            f.product_weights * 1000 <= dense.product_weights * 630,
            "{what}: {f:?} vs {dense:?}"
        );
        assert!(f.flash < dense.flash, "{what}: {f:?} vs {dense:?}");
    }
}
