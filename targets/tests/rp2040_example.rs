//! examples/rp2040-digits/baremetal/Makefile builds the committed generated model
//! (examples/rp2040-digits/model, micro_cnn), runs it under QEMU and agrees with its host
//! build; the image's arena is the header's MODEL_ARENA_BYTES. Needs make,
//! arm-none-eabi-gcc, qemu-system-arm and gcc.

use pare_targets::rp2040::toolchain::{ARM_GCC, ARM_SIZE, HOST_CC, QEMU};
use std::path::Path;
use std::process::Command;

#[test]
fn the_example_makefile_builds_runs_and_agrees_with_the_host() {
    for tool in [ARM_GCC, ARM_SIZE, QEMU, HOST_CC] {
        if let Err(e) = tool.check() {
            panic!("{e}");
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let tmp = tempfile::tempdir().unwrap();
    let model = root.join("examples/rp2040-digits/model");
    let header = std::fs::read_to_string(model.join("model.h")).expect("the generated model.h");
    let arena = header
        .lines()
        .find_map(|l| l.strip_prefix("#define MODEL_ARENA_BYTES "))
        .map(|v| v.trim().to_string())
        .expect("MODEL_ARENA_BYTES in model.h");
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
    // The arena the Makefile's image links is the one the header declares.
    let section = |name: &str| {
        text.lines()
            .find_map(|l| {
                let mut w = l.split_whitespace();
                (w.next() == Some(name)).then(|| w.next().map(str::to_owned))?
            })
            .unwrap_or_else(|| panic!("no {name} in the sizes:\n{text}"))
    };
    assert_eq!(section(".arena"), arena);
    assert_ne!(section(".weights"), "0");
}
