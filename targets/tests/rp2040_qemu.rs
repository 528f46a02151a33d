//! micro_cnn's and digits_cnn's generated C (int8, quantized from digits.npz's x_train)
//! cross-built for the Cortex-M0+ and run under QEMU on all 500 test digits: every
//! sample's int8 outputs must equal pare's integer interpreter on the lowered graph. Prints
//! the image's flash and RAM (`arm-none-eabi-size`) and the emulated instructions per
//! inference and per MAC; the digits CNN must stay within the targets (at most 7
//! instructions per MAC, code at most 8 KiB) — instruction counts are exact, not timings.
//! Needs arm-none-eabi-gcc, arm-none-eabi-size and qemu-system-arm: fails (never skips)
//! without them.

mod common;
mod rp2040_support;

use common::{digits, quantized_fixture, test_split};
use pare_ir::quant::Rounding;
use pare_targets::rp2040::toolchain::{ARM_GCC, ARM_SIZE, QEMU};
use pare_targets::rp2040::{
    build_firmware, emit, profile_instructions, run_qemu, Device, EmitOptions,
};
use rp2040_support::{quantize_input, reference};
use std::time::Duration;

/// The whole digits test split.
const SAMPLES: usize = 500;
const TIMEOUT: Duration = Duration::from_secs(120);

#[test]
fn micro_cnn_under_qemu_is_bit_exact_with_the_interpreter() {
    under_qemu("micro_cnn");
}

#[test]
fn digits_cnn_under_qemu_is_bit_exact_and_within_the_targets() {
    let (per_mac, code) = under_qemu("digits_cnn");
    assert!(
        per_mac <= 7.0,
        "digits_cnn: {per_mac:.2} instructions per MAC, over 7"
    );
    assert!(code <= 8192, "digits_cnn: {code} bytes of code, over 8 KiB");
}

/// Runs the fixture's C under QEMU on SAMPLES test digits, checks every output against the
/// interpreter; returns the instructions per MAC and the image's code bytes.
fn under_qemu(name: &str) -> (f64, u64) {
    for tool in [ARM_GCC, ARM_SIZE, QEMU] {
        if let Err(e) = tool.check() {
            panic!("{e}");
        }
    }
    let g = quantized_fixture(&format!("{name}.onnx"), &digits(256));
    let e = emit(&g, &EmitOptions::default()).expect("emits");
    let (xs, _) = test_split();
    let codes: Vec<Vec<i8>> = xs
        .iter()
        .take(SAMPLES)
        .map(|x| quantize_input(&e, x))
        .collect();
    assert_eq!(codes.len(), SAMPLES);
    let samples: Vec<Vec<Vec<i8>>> = codes.iter().map(|c| vec![c.clone()]).collect();
    let want = reference(&e, Rounding::Gemmlowp, &samples);

    let dir = tempfile::tempdir().expect("temp dir");
    let device = Device::by_name("rp2040").expect("the rp2040 profile");
    let built = build_firmware(&e.sources(), &codes, device, dir.path())
        .unwrap_or_else(|err| panic!("{name} firmware: {err}"));
    let run = run_qemu(&built, TIMEOUT).expect("QEMU runs the image");
    assert_eq!(
        run.exit_code, 0,
        "the firmware exits {}:\n{}\n{}",
        run.exit_code, run.stdout, run.stderr
    );
    let got = run.outputs().expect("the firmware prints its outputs");
    assert_eq!(got.len(), SAMPLES, "one output per sample:\n{}", run.stdout);
    for (s, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(
            g, w,
            "sample {s}: the emulated Cortex-M0 differs from the interpreter"
        );
    }

    let profile = profile_instructions(&built, TIMEOUT).expect("instruction count");
    let per_inference = profile.per_inference;
    // The functions' shares add up to the whole, and the product loop leads.
    let sum: u64 = profile.by_function.iter().map(|(_, n)| n).sum();
    assert_eq!(sum, per_inference, "{:?}", profile.by_function);
    assert_eq!(
        profile.by_function[0].0, "pare_dot3",
        "{:?}",
        profile.by_function
    );
    let macs: u64 = e.layers.iter().map(|l| l.macs).sum();
    assert!(macs > 0, "{name} has MACs");
    let f = built.footprint;
    eprintln!(
        "{name} on {}: {SAMPLES} test digits bit-exact under QEMU; flash {} B (code {} B, weights {} B); RAM arena {} B (planned {}, lower bound {}) + other static {} B; stack high-water {:?} B; {per_inference} instructions per inference, {macs} MACs, {:.2} instructions per MAC",
        device.name,
        f.flash,
        f.flash - f.weights,
        f.weights,
        f.arena,
        e.plan.arena_bytes,
        e.plan.lower_bound,
        f.static_ram,
        run.stack_bytes(),
        per_inference as f64 / macs as f64
    );
    // The linked arena is the planned one (aligned up to at most 16 bytes).
    assert!(
        f.arena >= e.plan.arena_bytes as u64 && f.arena < e.plan.arena_bytes as u64 + 16,
        "arena in the image {} vs planned {}",
        f.arena,
        e.plan.arena_bytes
    );
    (per_inference as f64 / macs as f64, built.model_code())
}
