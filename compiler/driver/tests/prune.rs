//! `pare compile --prune structured:…`: the report's per-layer and total figures
//! match what `pare inspect` measures on the written artifact, the dependency
//! groups of the digits CNN are the ones its residual and depthwise couplings
//! imply, bad specs fail with one clear error and write nothing, and the
//! artifact is byte-identical run to run.

mod common;

use common::{fixture, json_of, pare, scratch, stderr};
use serde_json::Value;

fn compile_json(out: &str, extra: &[&str]) -> Value {
    let cnn = fixture("digits_cnn.onnx");
    let calib = format!("{}:x_train", fixture("digits.npz"));
    let mut args = vec![
        "compile",
        &cnn,
        "--quantize",
        "int8",
        "--calib",
        &calib,
        "--calib-samples",
        "128",
        "-o",
        out,
        "--json",
    ];
    args.extend_from_slice(extra);
    json_of(&args)
}

#[test]
fn structured_pruning_report_matches_the_artifact() {
    let dir = scratch("prune_report");
    let out = dir.join("cnn.onnx");
    let out = out.to_str().unwrap();
    let r = compile_json(out, &["--prune", "structured:0.25"]);
    let p = &r["prune"];
    assert_eq!(p["kind"], "structured");
    assert_eq!(p["importance"], "l2");
    // The residual chain (c1 + c3) and the depthwise conv after it go as one
    // group; fc2's channels are the logits and stay.
    let groups = p["groups"].as_array().unwrap();
    let layers: Vec<Vec<&str>> = groups
        .iter()
        .map(|g| {
            g["layers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l.as_str().unwrap())
                .collect()
        })
        .collect();
    assert!(layers.contains(&vec!["/c1/Conv", "/c3/Conv"]), "{layers:?}");
    let fc2 = groups
        .iter()
        .find(|g| g["layers"][0] == "/fc2/Gemm")
        .unwrap();
    assert_eq!(fc2["channels_after"], 10);
    assert!(fc2["reason"].as_str().unwrap().contains("graph output"));
    let row = |name: &str| {
        p["layers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["layer"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(row("/c1/Conv")["channels_after"], 12);
    assert_eq!(row("/dw/Conv")["channels_after"], 12);
    assert_eq!(row("/pw/Conv")["channels_after"], 24);
    // fc1 reads 24 channels × 16 pixels after the flatten.
    assert_eq!(row("/fc1/Gemm")["params_after"], 48 * 24 * 16 + 48);
    // What inspect measures on the written artifact is what the report says.
    let inspect = json_of(&["inspect", out, "--json"]);
    assert_eq!(inspect["params"], p["totals"]["params_after"]);
    assert_eq!(inspect["macs"], p["totals"]["macs_after"]);
    let before = json_of(&["inspect", &fixture("digits_cnn.onnx"), "--json"]);
    assert_eq!(before["macs"], p["totals"]["macs_before"]);
    assert!(p["totals"]["macs_after"].as_u64() < p["totals"]["macs_before"].as_u64());
    // The pruned float model was measured against the original.
    assert!(p["fidelity"]["sqnr_db"].is_number());
    // Deterministic: the same compile writes the same bytes.
    let again = dir.join("again.onnx");
    compile_json(again.to_str().unwrap(), &["--prune", "structured:0.25"]);
    assert_eq!(std::fs::read(out).unwrap(), std::fs::read(&again).unwrap());
}

#[test]
fn protected_layers_and_multiples_hold() {
    let dir = scratch("prune_keep");
    let out = dir.join("cnn.pir");
    let r = compile_json(
        out.to_str().unwrap(),
        &[
            "--prune",
            "structured:0.5:l1",
            "--prune-keep",
            "/c2/Conv",
            "--prune-multiple",
            "8",
        ],
    );
    let layers = r["prune"]["layers"].as_array().unwrap();
    let ch = |name: &str| {
        layers.iter().find(|l| l["layer"] == name).unwrap()["channels_after"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(ch("/c2/Conv"), 16, "protected");
    for name in ["/c1/Conv", "/pw/Conv", "/fc1/Gemm"] {
        assert_eq!(ch(name) % 8, 0, "{name} kept {} channels", ch(name));
    }
    assert_eq!(ch("/c1/Conv"), 8);
}

#[test]
fn bad_prune_specs_fail_clearly_and_write_nothing() {
    let dir = scratch("prune_bad");
    let out = dir.join("m.onnx");
    let cnn = fixture("digits_cnn.onnx");
    let calib = format!("{}:x_train", fixture("digits.npz"));
    for (extra, want) in [
        (vec!["--prune", "structured:1.5"], "out of range"),
        (vec!["--prune", "structured:0.2:l9"], "unknown importance"),
        (vec!["--prune", "half"], "expected structured:RATIO"),
        (
            vec!["--prune", "structured:0.2", "--prune-keep", "/nope/Conv"],
            "/nope/Conv",
        ),
        (vec!["--prune-keep", "/c1/Conv"], "apply to --prune only"),
    ] {
        let mut args = vec![
            "compile",
            &cnn,
            "--quantize",
            "int8",
            "--calib",
            &calib,
            "-o",
            out.to_str().unwrap(),
        ];
        args.extend(extra.iter().copied());
        let o = pare(&args);
        assert_eq!(o.status.code(), Some(1), "{extra:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{extra:?}: {}", stderr(&o));
        assert!(!out.exists(), "{extra:?} left {}", out.display());
    }
}

#[test]
fn quantize_none_writes_the_pruned_float_model() {
    let dir = scratch("prune_none");
    let out = dir.join("t.onnx");
    let r = json_of(&[
        "compile",
        &fixture("digits_transformer.onnx"),
        "--quantize",
        "none",
        "--prune",
        "structured:0.5",
        "--prune-keep",
        "Gemm_2",
        "-o",
        out.to_str().unwrap(),
        "--json",
    ]);
    let groups = r["prune"]["groups"].as_array().unwrap();
    // Two of the four heads (blocks of 8 query, 8 key and 8 value channels).
    let heads = groups
        .iter()
        .find(|g| g["block"] == 24)
        .expect("a head group");
    assert_eq!(heads["channels_before"], 96);
    assert_eq!(heads["channels_after"], 48);
    let inspect = json_of(&["inspect", out.to_str().unwrap(), "--json"]);
    assert_eq!(inspect["params"], r["prune"]["totals"]["params_after"]);
    // No calibration data: fidelity is not claimed.
    assert!(r["prune"]["fidelity"].is_null());
}

#[test]
fn least_squares_refit_recovers_what_pruning_loses() {
    // 2:4 on every layer of the digits CNN costs ~20 points; re-fitting each
    // layer's remaining weights (each output keeping its zeros) brings the
    // pruned float model back to the original's decisions. The same for
    // structured pruning at half the channels.
    let dir = scratch("prune_refit");
    let cnn = fixture("digits_cnn.onnx");
    let calib = format!("{}:x_train", fixture("digits.npz"));
    let run = |spec: &str, refit: bool, name: &str| {
        let out = dir.join(name);
        let mut args = vec![
            "compile",
            &cnn,
            "--quantize",
            "none",
            "--calib",
            &calib,
            "--prune",
            spec,
            "-o",
            out.to_str().unwrap(),
            "--json",
        ];
        if refit {
            args.push("--prune-refit");
        }
        let r = json_of(&args);
        let f = &r["prune"]["fidelity"];
        (
            f["sqnr_db"].as_f64().unwrap(),
            f["agreement"].as_f64().unwrap(),
        )
    };
    for spec in ["2:4", "structured:0.5:recon"] {
        let (plain_db, plain_agree) = run(spec, false, "plain.onnx");
        let (refit_db, refit_agree) = run(spec, true, "refit.onnx");
        println!("{spec}: SQNR {plain_db:.2} -> {refit_db:.2} dB, agreement {plain_agree:.4} -> {refit_agree:.4}");
        assert!(
            refit_db > plain_db + 6.0,
            "{spec}: {plain_db} -> {refit_db} dB"
        );
        assert!(refit_agree >= 0.95, "{spec}: agreement {refit_agree}");
    }
}
