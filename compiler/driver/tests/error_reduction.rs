//! `pare compile --equalize / --bias-correction`: the report lists what each
//! technique did and the measured SQNR of every variant tried; the guard keeps
//! the best; on MobileNetV2 (random init, random inputs) the default int8
//! artifact is no worse than the plain one on held-out inputs.

mod common;

use common::{fixture, json_of, scratch};
use serde_json::Value;
use std::path::Path;

/// Compiles `model` with `extra` args to `out`; returns the JSON report.
fn compile(model: &str, out: &Path, extra: &[&str]) -> Value {
    let out_s = out.to_string_lossy().into_owned();
    let mut args = vec![
        "compile",
        model,
        "--quantize",
        "int8",
        "-o",
        &out_s,
        "--json",
    ];
    args.extend_from_slice(extra);
    json_of(&args)
}

fn sqnr_vs_float(artifact: &Path, reference: &str, data: &Path) -> f64 {
    let v = json_of(&[
        "eval",
        &artifact.to_string_lossy(),
        "--data",
        &data.to_string_lossy(),
        "--reference",
        reference,
        "--json",
    ]);
    v["sqnr_db"].as_f64().expect("sqnr_db")
}

fn variants(rep: &Value) -> Vec<(String, f64, bool)> {
    rep["error_reduction"]["variants"]
        .as_array()
        .expect("variants")
        .iter()
        .map(|v| {
            (
                v["variant"].as_str().unwrap().to_string(),
                v["sqnr_db"]["value"].as_f64().unwrap(),
                v["chosen"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[test]
fn the_guard_keeps_the_best_variant_and_reports_all() {
    let dir = scratch("error_reduction_digits");
    let model = fixture("digits_cnn.onnx");
    let calib = format!("{}:x_train", fixture("digits.npz"));
    let rep = compile(
        &model,
        &dir.join("auto.pir"),
        &["--calib", &calib, "--equalize", "auto"],
    );
    let er = &rep["error_reduction"];
    let v = variants(&rep);
    eprintln!("{v:?}");
    let names: Vec<&str> = v.iter().map(|x| x.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "plain",
            "bias-corrected",
            "equalized",
            "equalized + bias-corrected"
        ]
    );
    // The kept variant has the best SQNR, and it is the compile's fidelity.
    let best = v.iter().map(|x| x.1).fold(f64::MIN, f64::max);
    let kept: Vec<_> = v.iter().filter(|x| x.2).collect();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].1, best);
    assert_eq!(rep["fidelity"]["sqnr_db"]["value"].as_f64(), Some(best));
    // The digits CNN has equalizable pairs (conv → relu → conv, depthwise →
    // pointwise, fc → relu → fc), each with its scales.
    let pairs = er["equalize"]["pairs"].as_array().unwrap();
    assert_eq!(pairs.len(), 3, "{pairs:?}");
    for p in pairs {
        assert!(p["scale_min"].as_f64().unwrap() > 0.0);
    }
    let bc = &er["bias_correction"];
    assert_eq!(bc["estimator"], "sequential");
    assert_eq!(bc["layers"].as_array().unwrap().len(), 7);
    assert!(bc["layers"][0]["mean_abs_error"]["how"]
        .as_str()
        .unwrap()
        .starts_with("measured"));

    // `on` keeps a technique without a plain variant to compare against.
    let forced = compile(
        &model,
        &dir.join("on.pir"),
        &[
            "--calib",
            &calib,
            "--equalize",
            "on",
            "--bias-correction",
            "off",
        ],
    );
    let v = variants(&forced);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].0, "equalized");
    assert!(v[0].2);
    // `off` for both: the plain int8 graph, as before these techniques.
    let off = compile(
        &model,
        &dir.join("off.pir"),
        &[
            "--calib",
            &calib,
            "--equalize",
            "off",
            "--bias-correction",
            "off",
        ],
    );
    assert_eq!(variants(&off)[0].0, "plain");
    assert!(off["error_reduction"]["bias_correction"].is_null());
}

/// Gaussian-ish samples from a fixed LCG (sum of 4 uniforms), as `.npy`.
fn random_npy(path: &Path, n: usize, seed: u32) {
    let mut s = seed;
    let mut uniform = || {
        s = s.wrapping_mul(1664525).wrapping_add(1013904223);
        (s >> 8) as f32 / (1u32 << 24) as f32
    };
    let vals: Vec<f32> = (0..n * 3 * 224 * 224)
        .map(|_| (0..4).map(|_| uniform()).sum::<f32>() * 1.7 - 3.4)
        .collect();
    let t = pare_ir::Tensor::from_vec(vec![n, 3, 224, 224], vals).unwrap();
    std::fs::write(path, pare_npy::encode_npy(&t).unwrap()).unwrap();
}

/// Calibrated on 16 random inputs, measured against the float model on 8
/// others: SQNR with and without each technique, and the default no worse.
#[test]
fn mobilenet_v2_default_is_no_worse_than_plain() {
    let dir = scratch("error_reduction_mbv2");
    let model = fixture("mobilenet_v2.onnx");
    let calib = dir.join("calib.npy");
    let held_out = dir.join("held_out.npy");
    random_npy(&calib, 16, 1);
    random_npy(&held_out, 8, 2);
    let calib_s = calib.to_string_lossy().into_owned();
    let cases: [(&str, &[&str]); 4] = [
        (
            "plain",
            &["--equalize", "off", "--bias-correction", "off"][..],
        ),
        ("default", &[][..]),
        (
            "equalized",
            &["--equalize", "on", "--bias-correction", "off"][..],
        ),
        (
            "equalized + bias-corrected",
            &["--equalize", "on", "--bias-correction", "on"][..],
        ),
    ];
    let mut held = Vec::new();
    for (name, extra) in cases {
        let out = dir.join(format!("{}.pir", name.replace([' ', '+'], "_")));
        let mut args = vec!["--calib", &calib_s];
        args.extend_from_slice(extra);
        let rep = compile(&model, &out, &args);
        let sqnr = sqnr_vs_float(&out, &model, &held_out);
        eprintln!(
            "mobilenet_v2 int8 {name:<28} held-out SQNR {sqnr:6.2} dB; in-sample variants {:?}",
            variants(&rep)
        );
        held.push((name, sqnr, rep));
    }
    let (plain, default) = (held[0].1, held[1].1);
    assert!(
        default >= plain,
        "the default ({default:.2} dB) is worse than plain int8 ({plain:.2} dB)"
    );
    // The default tried bias correction against plain and kept the better.
    let v = variants(&held[1].2);
    assert_eq!(v.len(), 2, "{v:?}");
    // Equalization found the two ReLU-free pairs and left the ReLU6 ones.
    let eq = &held[2].2["error_reduction"]["equalize"];
    assert_eq!(eq["pairs"].as_array().unwrap().len(), 2);
    assert!(eq["skipped"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("upper bound"));
}
