//! `pare compile` on graphs with degenerate weights and ranges (issue 12): the
//! dead-channel models of `tests/data/degenerate/` compile to QDQ ONNX and to
//! RP2040 C with exit 0 and a measured fidelity; the report notes a constant
//! (all-zero) output's range; NaN weights and NaN calibration data exit 1 with
//! one line naming the value.

mod common;

use common::{json_of, pare, root, scratch, stderr};
use std::path::Path;

fn model(name: &str) -> String {
    root()
        .join("tests/data/degenerate")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// The PaddleOCR failure, reproduced on synthetic graphs: a denormal weight
/// channel used to fail the compile verifying its own output. Now it exits 0,
/// writes the artifact and measures it close to float.
#[test]
fn dead_channel_models_compile_to_onnx_and_rp2040() {
    let dir = scratch("compile_degenerate");
    for (name, min_sqnr) in [
        ("conv_dead_channels.pir", 35.0),
        ("gemm_dead_channels.pir", 35.0),
    ] {
        let out = dir.join(name.replace(".pir", ".onnx"));
        let v = json_of(&[
            "compile",
            &model(name),
            "--quantize",
            "int8",
            "--calib",
            "random:64:1",
            "-o",
            &out.to_string_lossy(),
            "--json",
        ]);
        assert!(out.is_file(), "{name}: no artifact");
        let sqnr = v["fidelity"]["sqnr_db"]["value"].as_f64().expect("sqnr");
        eprintln!("{name}: SQNR {sqnr:.2} dB vs float (measured)");
        assert!(sqnr >= min_sqnr, "{name}: SQNR {sqnr}");
        if name.starts_with("gemm") {
            let notes = v["calibration"]["range_notes"].to_string();
            assert!(notes.contains("value `g4`: 0 on every"), "{notes}");
        }
    }
    let c = dir.join("conv_rp2040");
    let o = pare(&[
        "compile",
        &model("conv_dead_channels.pir"),
        "--target",
        "rp2040",
        "--quantize",
        "int8",
        "--calib",
        "random:64:1",
        "--input-shape",
        "x=1,2,4,4",
        "--no-emulate",
        "-o",
        &c.to_string_lossy(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(c.join("model.c").is_file() && c.join("model_weights.c").is_file());
}

/// NaN in a weight or in the calibration data: exit 1, one line naming it.
#[test]
fn nan_weights_and_data_fail_with_one_line_naming_the_value() {
    let dir = scratch("compile_degenerate_nan");
    let m = dir.join("nan_weight.pir");
    std::fs::write(
        &m,
        "graph @g(%x \"x\": f32[N,2]) -> (f32[N,1]) {\n  $w \"w\": f32[1,2] = [0.25, nan]\n  %y \"y\": f32[N,1] = gemm(%x, $w, _) {alpha=1.0, beta=1.0, trans_a=false, trans_b=true}\n  return %y\n}\n",
    )
    .unwrap();
    // A numpy-format array of 3 samples of [N, 4] with a NaN in sample 2.
    let data = dir.join("nan.npy");
    let mut x = vec![0.5f32; 12];
    x[9] = f32::NAN;
    write_npy(&data, &[3, 4], &x);
    let out = dir.join("out.onnx");
    let cases = [
        (
            m.to_string_lossy().into_owned(),
            "random:8:1".to_string(),
            vec!["constant `w`", "NaN at element 1"],
        ),
        (
            model("gemm_dead_channels.pir"),
            data.to_string_lossy().into_owned(),
            vec!["value `x`", "sample 2"],
        ),
    ];
    for (model, calib, want) in cases {
        let o = pare(&[
            "compile",
            &model,
            "--quantize",
            "int8",
            "--calib",
            &calib,
            "-o",
            &out.to_string_lossy(),
        ]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        for w in want {
            assert!(err.contains(w), "`{w}` missing: {err}");
        }
        assert!(
            !Path::new(&out).exists(),
            "a failed compile left an artifact"
        );
    }
}

fn write_npy(path: &Path, shape: &[usize], x: &[f32]) {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let mut header = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': ({}), }}",
        dims.join(", ")
    );
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for v in x {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(path, bytes).unwrap();
}
