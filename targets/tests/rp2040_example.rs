//! examples/rp2040-digits/baremetal/Makefile builds, runs under QEMU and agrees with its host
//! build, on a stand-in `model` (64 int8 inputs, 10 outputs) until pare generates the real one
//! into examples/rp2040-digits/model. Needs make, arm-none-eabi-gcc, qemu-system-arm and gcc.

use pare_targets::rp2040::toolchain::{ARM_GCC, ARM_SIZE, HOST_CC, QEMU};
use std::path::Path;
use std::process::Command;

const HEADER: &str = "#ifndef MODEL_H\n#define MODEL_H\n#include <stdint.h>\n\
#define MODEL_INPUT_SIZE 64\n#define MODEL_OUTPUT_SIZE 10\n#define MODEL_ARENA_BYTES 16\n\
#define MODEL_INPUT_SCALE 0.00392156886f\n#define MODEL_INPUT_ZERO_POINT (-128)\n\
int model_invoke(const int8_t *input, int8_t *output, uint8_t *arena);\n#endif\n";

const CODE: &str = "#include \"model.h\"\nextern const int8_t model_w[10][64];\n\
int model_invoke(const int8_t *input, int8_t *output, uint8_t *arena) {\n\
  int32_t *acc = (int32_t *)(void *)arena;\n  int o, i;\n\
  for (o = 0; o < 10; o++) {\n    acc[0] = 0;\n\
    for (i = 0; i < 64; i++) acc[0] += (input[i] + 128) * model_w[o][i];\n\
    acc[0] /= 512;\n\
    output[o] = (int8_t)(acc[0] > 127 ? 127 : acc[0] < -128 ? -128 : acc[0]);\n  }\n\
  return 0;\n}\n";

fn weights() -> String {
    let mut rng = fastrand::Rng::with_seed(9);
    let rows: Vec<String> = (0..10)
        .map(|_| {
            let v: Vec<String> = (0..64).map(|_| rng.i8(-20..=20).to_string()).collect();
            format!("{{{}}}", v.join(","))
        })
        .collect();
    format!(
        "#include <stdint.h>\nconst int8_t model_w[10][64] = {{{}}};\n",
        rows.join(",\n")
    )
}

#[test]
fn the_example_makefile_builds_runs_and_agrees_with_the_host() {
    for tool in [ARM_GCC, ARM_SIZE, QEMU, HOST_CC] {
        if let Err(e) = tool.check() {
            panic!("{e}");
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let tmp = tempfile::tempdir().unwrap();
    let model = tmp.path().join("model");
    std::fs::create_dir(&model).unwrap();
    std::fs::write(model.join("model.h"), HEADER).unwrap();
    std::fs::write(model.join("model.c"), CODE).unwrap();
    std::fs::write(model.join("model_weights.c"), weights()).unwrap();
    let build = tmp.path().join("build");
    let out = Command::new("make")
        .arg("-C")
        .arg(root.join("examples/rp2040-digits/baremetal"))
        .arg(format!("MODEL={}", model.display()))
        .arg(format!("BUILD={}", build.display()))
        .arg(format!(
            "FW={}",
            root.join("targets/src/rp2040/firmware").display()
        ))
        .args(["all", "check"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run make (Debian package make): {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "make failed:\n{text}");
    assert!(
        text.contains("emulated and host outputs agree (10 samples)"),
        "{text}"
    );
    // The sizes the Makefile prints: the 640 weight bytes and the 16-byte arena, exactly.
    let section = |name: &str| {
        text.lines()
            .find_map(|l| {
                let mut w = l.split_whitespace();
                (w.next() == Some(name)).then(|| w.next().map(str::to_owned))?
            })
            .unwrap_or_else(|| panic!("no {name} in the sizes:\n{text}"))
    };
    assert_eq!(section(".weights"), "640");
    assert_eq!(section(".arena"), "16");
}
