//! `pare compile --lowrank`: fc1 of the digits CNN factorized within an output
//! error budget, quantized after; the artifact shrinks, the report gives the
//! rank and both variants' measured errors, and bad specs fail clearly.

mod common;

use common::{fixture, json_of, pare, scratch, stderr};

#[test]
fn lowrank_factorizes_fc1_and_the_artifact_shrinks() {
    let dir = scratch("lowrank");
    let cnn = fixture("digits_cnn.onnx");
    let calib = format!("{}:x_train", fixture("digits.npz"));
    let plain = dir.join("plain.onnx");
    let lr = dir.join("lowrank.onnx");
    json_of(&[
        "compile",
        &cnn,
        "--quantize",
        "int8",
        "--calib",
        &calib,
        "-o",
        plain.to_str().unwrap(),
        "--json",
    ]);
    let r = json_of(&[
        "compile",
        &cnn,
        "--quantize",
        "int8",
        "--calib",
        &calib,
        "--lowrank",
        "error:0.01",
        "--lowrank-keep",
        "/fc2/Gemm",
        "-o",
        lr.to_str().unwrap(),
        "--json",
    ]);
    let l = &r["lowrank"];
    assert_eq!(l["variant"], "data-aware");
    let layers = l["layers"].as_array().unwrap();
    let fc1 = layers
        .iter()
        .map(|v| v.as_str().unwrap())
        .find(|s| s.starts_with("/fc1/Gemm: [512, 64] -> rank"))
        .expect("fc1 factorized");
    assert!(
        fc1.contains("data-aware") && fc1.contains("output error on calib plain"),
        "{fc1}"
    );
    assert!(layers
        .iter()
        .all(|v| !v.as_str().unwrap().starts_with("/fc2/Gemm")));
    assert!(l["params_after"].as_u64() < l["params_before"].as_u64());
    let (p, q) = (
        std::fs::metadata(&plain).unwrap().len(),
        std::fs::metadata(&lr).unwrap().len(),
    );
    println!("int8 {p} B, low-rank + int8 {q} B");
    assert!(q * 2 < p, "{q} vs {p}");
    // The quantized factors still agree with the float model.
    assert!(r["fidelity"]["agreement"]["value"].as_f64().unwrap() >= 0.98);
}

#[test]
fn bad_lowrank_specs_fail_clearly() {
    let dir = scratch("lowrank_bad");
    let out = dir.join("m.onnx");
    let cnn = fixture("digits_cnn.onnx");
    for (spec, want) in [
        ("energy:1.5", "out of range"),
        ("rank:3", "unknown criterion"),
        ("energy", "expected energy:E"),
    ] {
        let o = pare(&[
            "compile",
            &cnn,
            "--quantize",
            "none",
            "--lowrank",
            spec,
            "-o",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(1), "{spec}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{spec}: {}", stderr(&o));
        assert!(!out.exists());
    }
    // The data-aware variant needs calibration data.
    let o = pare(&[
        "compile",
        &cnn,
        "--quantize",
        "none",
        "--lowrank",
        "size:0.5",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(stderr(&o).contains("--calib"), "{}", stderr(&o));
    assert!(!out.exists());
}
