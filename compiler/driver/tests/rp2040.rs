//! `pare compile --target rp2040`: the directory it writes (C files and
//! report.json with planned/measured figures), byte-identical reruns, `--name`,
//! compiling the result with the host C compiler, and failures that leave
//! nothing behind.

mod common;

use common::{fixture, pare, scratch, stderr};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn digits_train() -> String {
    format!("{}:x_train", fixture("digits.npz"))
}

fn compile_to(model: &str, dir: &Path, extra: &[&str]) -> std::process::Output {
    let d = dir.to_string_lossy().into_owned();
    let m = fixture(model);
    let mut args = vec![
        "compile",
        m.as_str(),
        "--target",
        "rp2040",
        "--quantize",
        "int8",
        "--calib",
    ];
    let calib = digits_train();
    args.push(&calib);
    args.extend_from_slice(&["--sensitivity-samples", "0", "-o", &d]);
    args.extend_from_slice(extra);
    pare(&args)
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| {
            let e = e.expect("entry");
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).expect("read"),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn writes_the_c_and_a_report_of_planned_and_measured_figures() {
    let root = scratch("rp2040_ok");
    let dir = root.join("micro");
    let o = compile_to("micro_cnn.onnx", &dir, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let names: Vec<String> = files(&dir).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "model.c",
            "model.h",
            "model_weights.c",
            "pare_kernels.c",
            "pare_kernels.h",
            "report.json"
        ]
    );
    let rep: Value =
        serde_json::from_slice(&std::fs::read(dir.join("report.json")).expect("report"))
            .expect("json");
    let r = &rep["rp2040"];
    let arena = r["arena_bytes"]["value"].as_u64().expect("arena");
    assert_eq!(Some(arena), r["arena_lower_bound"]["value"].as_u64());
    assert!(r["arena_bytes"]["how"]
        .as_str()
        .unwrap()
        .starts_with("planned"));
    assert!(r["naive_arena_bytes"]["value"].as_u64().unwrap() >= arena);
    assert!(r["const_data_bytes"]["how"]
        .as_str()
        .unwrap()
        .starts_with("measured"));
    // The weights file holds every weight byte at least (1,418 params).
    assert!(r["weight_bytes"]["value"].as_u64().unwrap() >= 1418);
    let layers = r["layers"].as_array().expect("layers");
    let macs: u64 = layers
        .iter()
        .map(|l| l["macs"]["value"].as_u64().expect("macs"))
        .sum();
    assert_eq!(Some(macs), r["macs"]["value"].as_u64());
    assert!(layers.iter().any(|l| l["kernel"] == "pare_conv2d"));
    // Unpruned weights stay dense; every conv and fully connected layer says so.
    for l in layers.iter().filter(|l| {
        matches!(
            l["kernel"].as_str(),
            Some("pare_conv2d" | "pare_fully_connected")
        )
    }) {
        assert_eq!(l["weight_encoding"], "dense", "{l}");
        assert_eq!(
            l["weight_stored_bytes"]["value"],
            l["weight_dense_bytes"]["value"]
        );
    }
    for f in r["files"].as_array().expect("files") {
        let name = f["file"].as_str().unwrap();
        let len = std::fs::metadata(dir.join(name)).expect("file").len();
        assert_eq!(f["bytes"]["value"].as_u64(), Some(len), "{name}");
    }
    let header = std::fs::read_to_string(dir.join("model.h")).expect("header");
    for m in [
        "MODEL_ARENA_BYTES",
        "MODEL_INPUT_SIZE",
        "MODEL_OUTPUT_SIZE",
        "MODEL_INPUT_SCALE",
        "MODEL_INPUT_ZERO_POINT",
        "MODEL_OUTPUT_SCALE",
        "MODEL_OUTPUT_ZERO_POINT",
    ] {
        assert!(header.contains(&format!("#define {m} ")), "{m} missing");
    }
    assert!(
        header.contains("int model_invoke(const int8_t *input, int8_t *output, uint8_t *arena);")
    );
    assert!(header.contains("int model_invoke_f32(const float *input, float *output);"));
    assert!(header.contains(&format!("#define MODEL_ARENA_BYTES {arena}\n")));

    // The files compile as they are: C99, warnings as errors.
    let out = Command::new("gcc")
        .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-c"])
        .arg(dir.join("model.c"))
        .arg(dir.join("model_weights.c"))
        .arg(dir.join("pare_kernels.c"))
        .current_dir(&root)
        .output()
        .expect("gcc (apt-get install gcc)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Same input, same bytes — into an existing directory, whose other files stay.
    std::fs::write(dir.join("keep.txt"), b"mine").expect("write");
    let before = files(&dir);
    let o = compile_to("micro_cnn.onnx", &dir, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let after = files(&dir);
    let strip = |v: Vec<(String, Vec<u8>)>| -> Vec<(String, Vec<u8>)> {
        // report.json holds the run's wall times and peak memory.
        v.into_iter().filter(|(n, _)| n != "report.json").collect()
    };
    assert_eq!(strip(before), strip(after), "a rerun changed the C");
    assert_eq!(std::fs::read(dir.join("keep.txt")).expect("kept"), b"mine");
}

#[test]
fn name_sets_files_functions_and_macros() {
    let dir = scratch("rp2040_name").join("out");
    let o = compile_to("micro_cnn.onnx", &dir, &["--name", "digits"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let header = std::fs::read_to_string(dir.join("digits.h")).expect("digits.h");
    assert!(header.contains("#define DIGITS_ARENA_BYTES "));
    assert!(header.contains("int digits_invoke("));
    assert!(dir.join("digits.c").exists() && dir.join("digits_weights.c").exists());
}

#[test]
fn failures_leave_nothing_behind() {
    let root = scratch("rp2040_fail");
    let dir = root.join("t");
    // Float islands: named in the error, no directory written.
    let o = compile_to("digits_transformer.onnx", &dir, &[]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("layer_normalization") && err.contains("stays float"),
        "{err}"
    );
    assert!(!dir.exists(), "a failed compile left {}", dir.display());
    assert_eq!(
        std::fs::read_dir(&root).expect("root").count(),
        0,
        "staging left behind"
    );
    // A bad C name.
    let o = compile_to("micro_cnn.onnx", &dir, &["--name", "my-model"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("C identifier"), "{}", stderr(&o));
    assert!(!dir.exists());
    // A file where the directory should go.
    let file = root.join("file");
    std::fs::write(&file, b"x").expect("write");
    let o = compile_to("micro_cnn.onnx", &file, &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("writes a directory"), "{}", stderr(&o));
    // Options that do not go together.
    let m = fixture("micro_cnn.onnx");
    let d = dir.to_string_lossy().into_owned();
    for (args, want) in [
        (
            vec![
                "compile",
                &m,
                "--target",
                "rp2040",
                "--quantize",
                "fp16",
                "-o",
                &d,
            ],
            "integer kernels",
        ),
        (
            vec![
                "compile",
                &m,
                "--quantize",
                "fp16",
                "--name",
                "x",
                "-o",
                "x.pir",
            ],
            "--name applies to --target rp2040",
        ),
    ] {
        let o = pare(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
    }
    assert!(!dir.exists());
}

/// examples/rp2040-digits/model is what the README's command generates: regenerating it
/// gives byte-identical C (report.json holds wall times and peak memory, so it is only
/// checked to exist).
#[test]
fn the_committed_example_model_is_what_pare_generates() {
    let committed = common::root().join("examples/rp2040-digits/model");
    let dir = scratch("rp2040_example").join("model");
    let m = fixture("micro_cnn.onnx");
    let calib = digits_train();
    let d = dir.to_string_lossy().into_owned();
    let o = pare(&[
        "compile",
        &m,
        "--target",
        "rp2040",
        "--quantize",
        "int8",
        "--calib",
        &calib,
        "-o",
        &d,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let c_files = |dir: &Path| -> Vec<(String, Vec<u8>)> {
        files(dir)
            .into_iter()
            .filter(|(n, _)| n != "report.json")
            .collect()
    };
    let want = c_files(&committed);
    assert_eq!(want.len(), 5, "examples/rp2040-digits/model is incomplete");
    assert!(committed.join("report.json").is_file());
    for ((n, a), (m, b)) in c_files(&dir).iter().zip(&want) {
        assert_eq!(n, m);
        assert!(
            a == b,
            "examples/rp2040-digits/model/{n} differs from a fresh `pare compile`: regenerate it (README)"
        );
    }
}
