//! `pare compile --lowrank`: fc1 of the digits CNN factorized within an output
//! error budget, quantized after; the artifact shrinks, the report gives the
//! rank and both variants' measured errors, and bad specs fail clearly. The
//! digits CNN's 3×3 convs factorized by data-aware Tucker-2 lose less output
//! (and accuracy) than by plain HOSVD, and its depthwise conv stays whole.

mod common;

use common::{digits_accuracy, fixture, json_of, pare, scratch, stderr};

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

/// The relative output errors on calib, plain and data-aware, that a layer's
/// note gives (`output error on calib plain P, data-aware D`).
fn output_errors(note: &str) -> (f64, Option<f64>) {
    let tail = note
        .split("output error on calib plain ")
        .nth(1)
        .unwrap_or_else(|| panic!("no output error in `{note}`"));
    let mut parts = tail.split(", data-aware ");
    let num = |s: &str| {
        s.trim()
            .parse::<f64>()
            .unwrap_or_else(|_| panic!("`{s}` in `{note}`"))
    };
    (num(parts.next().unwrap()), parts.next().map(num))
}

fn note<'a>(report: &'a serde_json::Value, layer: &str) -> &'a str {
    report["lowrank"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .find(|s| s.starts_with(&format!("{layer}: ")))
        .unwrap_or_else(|| panic!("no note for {layer}: {}", report["lowrank"]))
}

#[test]
fn data_aware_tucker_loses_less_than_plain_on_the_cnn_convs_and_depthwise_stays() {
    let dir = scratch("lowrank_conv");
    let cnn = fixture("digits_cnn.onnx");
    let calib = format!("{}:x_train", fixture("digits.npz"));
    let compile = |spec: &str, out: &str| {
        let out = dir.join(out);
        let r = json_of(&[
            "compile",
            &cnn,
            "--quantize",
            "none",
            "--calib",
            &calib,
            "--lowrank",
            spec,
            "--lowrank-keep",
            "/fc1/Gemm,/fc2/Gemm",
            "-o",
            out.to_str().unwrap(),
            "--json",
        ]);
        (r, out.to_str().unwrap().to_string())
    };
    let (data, data_model) = compile("size:0.5:tucker", "data.onnx");
    let (plain, plain_model) = compile("size:0.5:tucker:plain", "plain.onnx");
    for layer in ["/c1/Conv", "/c2/Conv", "/c3/Conv"] {
        let d = note(&data, layer);
        assert!(
            d.contains("Tucker-2 ranks") && d.contains("data-aware ALS"),
            "{d}"
        );
        let (p_err, d_err) = output_errors(d);
        let d_err = d_err.expect("the data-aware error");
        // The plain run reports the same plain factors' error.
        assert_eq!(output_errors(note(&plain, layer)), (p_err, None));
        println!("{layer}: output error on calib plain {p_err:.3e}, data-aware {d_err:.3e}");
        assert!(d_err < p_err, "{d}");
    }
    let (a_data, a_plain) = (digits_accuracy(&data_model), digits_accuracy(&plain_model));
    println!("accuracy: data-aware Tucker-2 {a_data}, plain {a_plain}");
    assert!(a_data > a_plain, "data-aware {a_data} vs plain {a_plain}");
    // The depthwise conv is noted and its weight written unchanged.
    assert!(note(&data, "/dw/Conv").contains("skipped, a depthwise conv (group 16)"));
    let dw = |model: &str| {
        let pir = dir.join("m.pir");
        let o = pare(&["convert", model, "-o", pir.to_str().unwrap()]);
        assert!(o.status.success(), "{}", stderr(&o));
        let text = std::fs::read_to_string(&pir).unwrap();
        let line = text
            .lines()
            .find(|l| l.contains("\"dw.weight\""))
            .expect("dw.weight")
            .split_once('=')
            .unwrap()
            .1
            .to_string();
        line
    };
    assert_eq!(dw(&data_model), dw(&cnn));
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
