//! The RP2040 firmware tooling on a stand-in workload (a small C99 model with the generated
//! API's shape): cross build and sizes, QEMU runs against the host build and a Rust
//! reference, exit statuses, exact instruction counts, device fit errors, timeouts.
//! Needs arm-none-eabi-gcc, qemu-system-arm and gcc: fails (never skips) without them.

use pare_targets::rp2040::toolchain::{ARM_GCC, ARM_SIZE, HOST_CC, QEMU};
use pare_targets::rp2040::{
    build_firmware, build_host, count_instructions, count_run, run_host, run_qemu, Built, Device,
    FirmwareError, ModelSources, SourceFile,
};
use std::path::Path;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(60);

fn require_toolchain() {
    for tool in [ARM_GCC, ARM_SIZE, QEMU, HOST_CC] {
        if let Err(e) = tool.check() {
            panic!("{e}");
        }
    }
}

fn rp2040() -> &'static Device {
    Device::by_name("rp2040").unwrap()
}

const WEIGHTS: [[i8; 16]; 4] = [
    [1, 2, 3, 4, 5, 6, 7, 8, -1, -2, -3, -4, -5, -6, -7, -8],
    [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3],
    [-9, 8, -7, 6, -5, 4, -3, 2, -1, 0, 1, -2, 3, -4, 5, -6],
    [2, 7, 1, 8, 2, 8, 1, 8, 2, 8, 4, 5, 9, 0, 4, 5],
];

/// How the stand-in is generated.
struct StandIn {
    rounds: u32,
    arena_bytes: u64,
    /// An extra `const` array in the weights file, to grow the flash image.
    extra_weight_bytes: u64,
    /// Input byte 0 == 127 makes the model spin forever (for the timeout test).
    hang: bool,
}

impl Default for StandIn {
    fn default() -> Self {
        StandIn {
            rounds: 5,
            arena_bytes: 64,
            extra_weight_bytes: 0,
            hang: false,
        }
    }
}

/// A C99 model named `standin` with the generated API's shape: 16 int8 inputs, 4 int8
/// outputs, int32 accumulators in the arena, weights in `standin_weights.c`. Input byte
/// 0 == -128 makes it fail with status 3. The round count is data (in the weights file),
/// so the code is the same whatever it is.
fn standin(cfg: &StandIn) -> ModelSources {
    let header = format!(
        "#ifndef STANDIN_H\n#define STANDIN_H\n#include <stdint.h>\n\
         #define STANDIN_INPUT_SIZE 16\n#define STANDIN_OUTPUT_SIZE 4\n\
         #define STANDIN_ARENA_BYTES {}\n\
         int standin_invoke(const int8_t *input, int8_t *output, uint8_t *arena);\n#endif\n",
        cfg.arena_bytes
    );
    let hang = if cfg.hang {
        "  if (input[0] == 127) { volatile int spin = 1; while (spin) { } }\n"
    } else {
        ""
    };
    let (extra_decl, extra_use, extra_def) = if cfg.extra_weight_bytes > 0 {
        let n = cfg.extra_weight_bytes;
        (
            format!("extern const int8_t standin_extra[{n}];\n"),
            // Referenced, so --gc-sections keeps it.
            "  if (input[1] == 126 && standin_extra[0] == 2) return 4;\n",
            format!("const int8_t standin_extra[{n}] = {{1}};\n"),
        )
    } else {
        (String::new(), "", String::new())
    };
    let code = format!(
        "#include \"standin.h\"\n\
         extern const int8_t standin_w[4][16];\n\
         extern const int32_t standin_rounds;\n\
         {extra_decl}\
         int standin_invoke(const int8_t *input, int8_t *output, uint8_t *arena) {{\n\
         \x20 int32_t *acc = (int32_t *)(void *)arena;\n\
         \x20 int o, i, r;\n\
         \x20 if (input[0] == -128) return 3;\n\
         {hang}{extra_use}\
         \x20 for (o = 0; o < 4; o++) {{\n\
         \x20   acc[o] = 0;\n\
         \x20   for (r = 0; r < standin_rounds; r++)\n\
         \x20     for (i = 0; i < 16; i++) acc[o] += input[i] * standin_w[o][(i + r) % 16];\n\
         \x20   acc[o] /= 64;\n\
         \x20   output[o] = (int8_t)(acc[o] > 127 ? 127 : acc[o] < -128 ? -128 : acc[o]);\n\
         \x20 }}\n\
         \x20 return 0;\n\
         }}\n"
    );
    let rows: Vec<String> = WEIGHTS
        .iter()
        .map(|r| {
            let v: Vec<String> = r.iter().map(|x| x.to_string()).collect();
            format!("{{{}}}", v.join(", "))
        })
        .collect();
    let weights = format!(
        "#include <stdint.h>\nconst int8_t standin_w[4][16] = {{\n  {}\n}};\n\
         const int32_t standin_rounds = {};\n{extra_def}",
        rows.join(",\n  "),
        cfg.rounds
    );
    files(header, code, weights)
}

fn files(header: String, code: String, weights: String) -> ModelSources {
    ModelSources {
        name: "standin".into(),
        files: vec![
            file("standin.h", header),
            file("standin.c", code),
            file("standin_weights.c", weights),
        ],
    }
}

fn file(name: &str, text: String) -> SourceFile {
    SourceFile {
        name: name.into(),
        contents: text.into_bytes(),
    }
}

/// What the stand-in computes, in Rust.
fn reference(input: &[i8], rounds: usize) -> Vec<i8> {
    WEIGHTS
        .iter()
        .map(|w| {
            let mut acc = 0i32;
            for r in 0..rounds {
                for (i, &x) in input.iter().enumerate() {
                    acc += i32::from(x) * i32::from(w[(i + r) % 16]);
                }
            }
            (acc / 64).clamp(-128, 127) as i8
        })
        .collect()
}

fn samples(n: usize) -> Vec<Vec<i8>> {
    let mut rng = fastrand::Rng::with_seed(6);
    (0..n)
        .map(|_| (0..16).map(|_| rng.i8(-127..=126)).collect())
        .collect()
}

fn build(model: &ModelSources, samples: &[Vec<i8>], dir: &Path) -> Built {
    build_firmware(model, samples, rp2040(), dir).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn standin_under_qemu_matches_the_host_build_and_the_reference() {
    require_toolchain();
    let dir = tempfile::tempdir().unwrap();
    let model = standin(&StandIn::default());
    let inputs = samples(8);
    let built = build(&model, &inputs, dir.path());
    let emu = run_qemu(&built, TIMEOUT).unwrap();
    assert_eq!(emu.exit_code, 0, "{emu:?}");
    let host_exe = build_host(&model, &inputs, dir.path(), true).unwrap();
    let host = run_host(&host_exe, &["run"], TIMEOUT).unwrap();
    assert_eq!(host.exit_code, 0, "{host:?}");
    let want: Vec<Vec<i8>> = inputs.iter().map(|x| reference(x, 5)).collect();
    assert_eq!(emu.outputs().unwrap(), want, "emulated vs Rust reference");
    assert_eq!(host.outputs().unwrap(), want, "host vs Rust reference");
    // The stack's high-water mark, measured by the emulated harness (painted stack).
    let stack = emu
        .stack_bytes()
        .expect("the emulated firmware reports its stack");
    assert!(stack > 0 && stack < rp2040().stack_reserve, "stack {stack}");
    assert_eq!(host.stack_bytes(), None);
}

#[test]
fn sizes_come_from_arm_none_eabi_size_of_the_image() {
    require_toolchain();
    let dir = tempfile::tempdir().unwrap();
    let built = build(&standin(&StandIn::default()), &samples(3), dir.path());
    let s = &built.sizes;
    let sec = |n: &str| s.section(n);
    // Berkeley totals against the System V sections of the same image: the parser read
    // both, and fw_link.ld put every allocated byte in a known section.
    assert_eq!(
        s.text,
        sec(".vectors") + sec(".text") + sec(".weights") + sec(".harness") + sec(".ARM.exidx")
    );
    assert_eq!(s.data, sec(".data"));
    assert_eq!(s.bss, sec(".arena") + sec(".harness_bss") + sec(".bss"));
    assert_eq!(sec(".vectors"), 64);
    // The model's share: its 64 weight bytes and round count, and 64-byte arena, exactly.
    let f = built.footprint;
    assert_eq!(f.weights, 64 + 4);
    assert_eq!(f.arena, 64);
    assert!(
        built.model_code() > 40 && built.model_code() < 1024,
        "{s:?}"
    );
    assert_eq!(
        f.flash,
        sec(".text") + sec(".weights") + sec(".ARM.exidx") + s.data
    );
    let h = built.headroom;
    eprintln!(
        "stand-in on rp2040: image text {} data {} bss {}; model flash {} (code {}, weights {}), \
         arena {}, static RAM {}; headroom RAM {} flash {}",
        s.text,
        s.data,
        s.bss,
        f.flash,
        built.model_code(),
        f.weights,
        f.arena,
        f.static_ram,
        h.ram_free,
        h.flash_free
    );
    assert_eq!(h.flash_free, 2 * 1024 * 1024 - f.flash);
    assert_eq!(h.ram_used, f.arena + f.static_ram + 8 * 1024);
    assert_eq!(h.ram_free, 264 * 1024 - h.ram_used);
    // The samples are the harness's, not the model's.
    let more = tempfile::tempdir().unwrap();
    let bigger = build(&standin(&StandIn::default()), &samples(40), more.path());
    assert_eq!(bigger.footprint, built.footprint);
    assert_eq!(bigger.sizes.section(".harness"), sec(".harness") + 37 * 16);
}

#[test]
fn a_failing_model_status_is_the_exit_status() {
    require_toolchain();
    let dir = tempfile::tempdir().unwrap();
    let model = standin(&StandIn::default());
    let mut inputs = samples(3);
    inputs[1][0] = -128;
    let built = build(&model, &inputs, dir.path());
    let emu = run_qemu(&built, TIMEOUT).unwrap();
    assert_eq!(emu.exit_code, 3, "{emu:?}");
    assert!(
        emu.stdout.contains("error: model returned 3 on sample 1"),
        "{emu:?}"
    );
    assert_eq!(emu.outputs().unwrap(), vec![reference(&inputs[0], 5)]);
    let host = run_host(
        &build_host(&model, &inputs, dir.path(), false).unwrap(),
        &["run"],
        TIMEOUT,
    )
    .unwrap();
    assert_eq!((host.exit_code, host.stdout), (3, emu.stdout));
    // Counting runs sample 0 only: a failure there is an error, not a count.
    inputs.swap(0, 1);
    let dir = tempfile::tempdir().unwrap();
    let built = build(&model, &inputs, dir.path());
    match count_instructions(&built, TIMEOUT) {
        Err(FirmwareError::FirmwareExit { code: 3, .. }) => {}
        other => panic!("expected exit status 3, got {other:?}"),
    }
}

#[test]
fn instruction_counts_are_exact_deterministic_and_linear() {
    require_toolchain();
    // Small inputs: no accumulator saturates at any round count, so every count takes the
    // same branches and only the loop count differs.
    let inputs: Vec<Vec<i8>> = vec![(0..16).map(|i| (i % 3) as i8 - 1).collect()];
    let per_inference = |rounds: u32| {
        let dir = tempfile::tempdir().unwrap();
        let built = build(
            &standin(&StandIn {
                rounds,
                ..StandIn::default()
            }),
            &inputs,
            dir.path(),
        );
        let n = count_instructions(&built, TIMEOUT).unwrap();
        assert_eq!(
            count_instructions(&built, TIMEOUT).unwrap(),
            n,
            "not deterministic"
        );
        // Whole runs grow by exactly n per extra inference.
        let runs: Vec<u64> = (0..5)
            .map(|k| count_run(&built, k, TIMEOUT).unwrap())
            .collect();
        for k in 1..5 {
            assert_eq!(runs[k] - runs[k - 1], n, "runs {runs:?}");
        }
        n
    };
    let (p2, p4, p6) = (per_inference(2), per_inference(4), per_inference(6));
    // Each round is the same 4x16 multiply-accumulates: linear in the loop count.
    assert!(p4 > p2 && p4 - p2 == p6 - p4, "{p2} {p4} {p6}");
    // 64 MACs per round on a core with no multiply-accumulate: at least 3 instructions
    // (load, multiply, add) each, and not a wildly larger number.
    let per_round = (p4 - p2) / 2;
    eprintln!("stand-in: {p2} / {p4} / {p6} instructions per inference at 2 / 4 / 6 rounds");
    assert!(
        (64 * 3..64 * 20).contains(&per_round),
        "{per_round} per round"
    );
}

/// A model in Thumb assembly whose instruction count is known: `movs`, K x (`subs`, `bne`),
/// `movs`, `bx`: 2K + 3.
fn asm_model(k: u32) -> ModelSources {
    asm_body(&format!(
        "  movs r3, #{k}\n1:\n  subs r3, #1\n  bne 1b\n  movs r0, #0\n  bx lr\n"
    ))
}

fn asm_body(body: &str) -> ModelSources {
    let header = "#ifndef STANDIN_H\n#define STANDIN_H\n#include <stdint.h>\n\
                  #define STANDIN_INPUT_SIZE 16\n#define STANDIN_OUTPUT_SIZE 4\n\
                  #define STANDIN_ARENA_BYTES 16\n\
                  int standin_invoke(const int8_t *input, int8_t *output, uint8_t *arena);\n#endif\n";
    let asm = format!(
        "  .syntax unified\n  .cpu cortex-m0plus\n  .thumb\n  .section .text.standin_invoke\n\
         \x20 .global standin_invoke\n  .type standin_invoke, %function\n  .thumb_func\n\
         standin_invoke:\n{body}"
    );
    ModelSources {
        name: "standin".into(),
        files: vec![
            file("standin.h", header.into()),
            file("standin_loop.S", asm),
        ],
    }
}

#[test]
fn a_known_instruction_sequence_counts_exactly() {
    require_toolchain();
    let count = |k: u32| {
        let dir = tempfile::tempdir().unwrap();
        let built = build(&asm_model(k), &samples(1), dir.path());
        count_instructions(&built, TIMEOUT).unwrap()
    };
    let (a, b) = (count(10), count(250));
    assert_eq!(b - a, 2 * 240, "every loop instruction counted once");
    // What is left beyond the model's 2K + 3 is the harness's call and loop step.
    let harness = a - (2 * 10 + 3);
    eprintln!(
        "asm model: {a} instructions per inference at K = 10, {harness} of them the harness's"
    );
    assert!(harness < 16, "{harness} harness instructions per call");
}

#[test]
fn a_crashing_model_reports_the_fault_and_fails() {
    require_toolchain();
    let dir = tempfile::tempdir().unwrap();
    let built = build(&asm_body("  udf #0\n"), &samples(1), dir.path());
    let run = run_qemu(&built, TIMEOUT).unwrap();
    assert_eq!(run.exit_code, 70, "{run:?}");
    assert!(run.stdout.contains("pare-fw: fault"), "{run:?}");
}

#[test]
fn an_arena_too_large_for_the_device_fails_with_the_sizes() {
    require_toolchain();
    let dir = tempfile::tempdir().unwrap();
    let model = standin(&StandIn {
        arena_bytes: 300 * 1024,
        ..StandIn::default()
    });
    let e = build_firmware(&model, &samples(1), rp2040(), dir.path()).unwrap_err();
    let FirmwareError::DoesNotFit(fit) = &e else {
        panic!("expected DoesNotFit, got {e:?}");
    };
    assert_eq!(fit.footprint.arena, 300 * 1024);
    assert_eq!(
        e.to_string(),
        "RAM 315392 bytes (308 KiB: arena 307200 + stack reserve 8192) does not fit rp2040's RAM of 270336 bytes (264 KiB), 45056 bytes (44 KiB) over"
    );
    // The same image fits a device with more RAM.
    let rp2350 = Device::by_name("rp2350").unwrap();
    let built = build_firmware(&model, &samples(1), rp2350, dir.path()).unwrap();
    assert_eq!(built.footprint.arena, 300 * 1024);
}

#[test]
fn weights_too_large_for_flash_fail_with_the_sizes() {
    require_toolchain();
    let dir = tempfile::tempdir().unwrap();
    let model = standin(&StandIn {
        extra_weight_bytes: 1100 * 1024,
        ..StandIn::default()
    });
    let m4 = Device::by_name("cortex-m4").unwrap();
    let e = build_firmware(&model, &samples(1), m4, dir.path()).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.starts_with("flash image 1")
            && msg.contains(": weights 1126468 bytes + code and other data ")
            && msg.contains(" does not fit cortex-m4's flash of 1048576 bytes (1 MiB), "),
        "{msg}"
    );
    // It fits the RP2040's 2 MiB, and still runs.
    let built = build(&model, &samples(2), dir.path());
    assert_eq!(built.footprint.weights, 1100 * 1024 + 64 + 4);
    let run = run_qemu(&built, TIMEOUT).unwrap();
    assert_eq!(run.exit_code, 0);
    assert_eq!(run.outputs().unwrap().len(), 2);
}

#[test]
fn a_hanging_firmware_is_killed_at_the_timeout() {
    require_toolchain();
    let dir = tempfile::tempdir().unwrap();
    let mut inputs = samples(2);
    inputs[1][0] = 127;
    let built = build(
        &standin(&StandIn {
            hang: true,
            ..StandIn::default()
        }),
        &inputs,
        dir.path(),
    );
    let start = std::time::Instant::now();
    match run_qemu(&built, Duration::from_secs(2)) {
        Err(FirmwareError::Timeout { stdout, .. }) => {
            // Sample 0's output came out before sample 1 hung.
            assert!(stdout.starts_with("out 0 "), "{stdout}");
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[test]
fn non_arm_devices_and_bad_inputs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let model = standin(&StandIn::default());
    let esp32 = Device::by_name("esp32").unwrap();
    let e = build_firmware(&model, &samples(1), esp32, dir.path()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "device `esp32` has a Xtensa LX6 core: the firmware build targets Arm Cortex-M devices only"
    );
    let mut ragged = samples(3);
    ragged[2].pop();
    let e = build_firmware(&model, &ragged, rp2040(), dir.path()).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("input sample 2 has 15 bytes but sample 0 has 16"),
        "{e}"
    );
    let bad_name = ModelSources {
        name: "2fast".into(),
        ..model.clone()
    };
    let e = build_firmware(&bad_name, &samples(1), rp2040(), dir.path()).unwrap_err();
    assert!(
        e.to_string().contains("`2fast` is not a C identifier"),
        "{e}"
    );
    let mut bad_file = model.clone();
    bad_file.files[0].name = "../standin.h".into();
    let e = build_firmware(&bad_file, &samples(1), rp2040(), dir.path()).unwrap_err();
    assert!(
        e.to_string()
            .contains("`../standin.h` is not a plain file name"),
        "{e}"
    );
}

#[test]
fn a_wrong_sample_size_is_a_compile_error() {
    require_toolchain();
    let dir = tempfile::tempdir().unwrap();
    let short: Vec<Vec<i8>> = vec![vec![1; 15]];
    let e = build_firmware(&standin(&StandIn::default()), &short, rp2040(), dir.path())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("the samples have 15 bytes, not the model's input size"),
        "{e}"
    );
}
