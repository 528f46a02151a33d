//! `pare compile --min-fidelity`: a model that collapses under plain int8
//! (an outlier channel swamps one tensor's range) is raised to the default
//! floor by a float island on the right value, reported, and its QDQ ONNX
//! holds the floor in onnxruntime on held-out inputs; an integer-only target
//! (rp2040) fails with the per-layer table and writes nothing; `none` keeps
//! the old behaviour; the fixtures hold the default floor with nothing raised.

mod common;

use common::{fixture, json_of, pare, python, scratch, stderr};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// x[N,8] → fc0 → relu → fc1 → head → logits[N,10]; row 0 of fc1's weight
/// is 2000× the others and `head` ignores that channel, so per-tensor int8 of
/// `h` rounds the fifteen useful channels to zero. (The same model as
/// `passes/tests/fidelity_floor.rs`.)
fn outlier_mlp() -> String {
    let mut s: u32 = 12345;
    let mut mat = |rows: usize, cols: usize, scale: f32| -> Vec<Vec<f32>> {
        (0..rows)
            .map(|_| {
                (0..cols)
                    .map(|_| {
                        s = s.wrapping_mul(1664525).wrapping_add(1013904223);
                        ((s >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0) * scale
                    })
                    .collect()
            })
            .collect()
    };
    let w0 = mat(16, 8, 0.5);
    let mut w1 = mat(16, 16, 0.4);
    let mut w2 = mat(10, 16, 0.6);
    w1[0].iter_mut().for_each(|x| *x *= 2000.0);
    w2.iter_mut().for_each(|row| row[0] = 0.0);
    let flat = |m: &[Vec<f32>]| {
        m.iter()
            .flatten()
            .map(|x| format!("{x:.6}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let gemm = "{alpha=1.0, beta=1.0, trans_a=false, trans_b=true}";
    format!(
        "graph @outlier(%x \"x\": f32[N,8]) -> (f32[N,10]) {{
  $w0 \"w0\": f32[16,8] = [{}]
  $w1 \"w1\": f32[16,16] = [{}]
  $w2 \"w2\": f32[10,16] = [{}]
  %a \"a\": f32[N,16] = gemm(%x, $w0) \"fc0\" {gemm}
  %r \"r\": f32[N,16] = relu(%a) \"act0\"
  %h \"h\": f32[N,16] = gemm(%r, $w1) \"fc1\" {gemm}
  %y \"logits\": f32[N,10] = gemm(%h, $w2) \"head\" {gemm}
  return %y
}}
",
        flat(&w0),
        flat(&w1),
        flat(&w2)
    )
}

fn model(dir: &Path) -> String {
    let p = dir.join("outlier.pir");
    std::fs::write(&p, outlier_mlp()).unwrap();
    p.to_string_lossy().into_owned()
}

const CALIB: &str = "random:256:1:normal";

/// `n` held-out samples (seed other than the calibration's), as `.npy`.
fn held_out(dir: &Path, n: usize) -> PathBuf {
    let mut s: u32 = 777;
    let vals: Vec<f32> = (0..n * 8)
        .map(|_| {
            // Sum of 4 uniforms, centred: roughly normal.
            (0..4)
                .map(|_| {
                    s = s.wrapping_mul(1664525).wrapping_add(1013904223);
                    (s >> 8) as f32 / (1u32 << 24) as f32
                })
                .sum::<f32>()
                * 1.7
                - 3.4
        })
        .collect();
    let t = pare_ir::Tensor::from_vec(vec![n, 8], vals).unwrap();
    let p = dir.join("held_out.npy");
    std::fs::write(&p, pare_npy::encode_npy(&t).unwrap()).unwrap();
    p
}

fn f64_at(v: &Value, ptr: &str) -> f64 {
    v.pointer(ptr)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("{ptr} in {v}"))
}

#[test]
fn below_the_default_floor_compile_keeps_the_swamped_value_float() {
    let dir = scratch("floor_default");
    let m = model(&dir);
    let out = dir.join("q.onnx");
    let rep = json_of(&[
        "compile",
        &m,
        "--quantize",
        "int8",
        "--calib",
        CALIB,
        "-o",
        &out.to_string_lossy(),
        "--json",
    ]);
    let f = &rep["fidelity_floor"];
    assert_eq!(f["met"], true, "{f}");
    assert!(f64_at(f, "/initial/agreement") < 0.5, "{f}");
    let raised = f["raised"].as_array().unwrap();
    assert_eq!(raised.len(), 1, "{f}");
    assert_eq!(raised[0]["value"], "h");
    assert_eq!(raised[0]["nodes"], serde_json::json!(["fc1", "head"]));
    assert_eq!(raised[0]["precision"], "float");
    assert!(f64_at(&raised[0], "/after/agreement") >= 0.98, "{f}");
    assert!(f64_at(&rep, "/fidelity/agreement/value") >= 0.98, "{rep}");
    assert!(f64_at(&rep, "/fidelity/sqnr_db/value") >= 20.0, "{rep}");
    let layer = |name: &str| -> Value {
        rep["layers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["node"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no layer {name}"))
    };
    assert_eq!(layer("fc0")["status"], "int8");
    for name in ["fc1", "head"] {
        let l = layer(name);
        assert_eq!(l["status"], "float", "{l}");
        let why = l["reason"].as_str().unwrap();
        assert!(
            why.starts_with("kept float: raised for fidelity (agreement 0.")
                && why.ends_with("; int8 weights (weight-only)"),
            "{why}"
        );
    }
    // The same model and options give the same artifact.
    let again = dir.join("again.onnx");
    let o = pare(&[
        "compile",
        &m,
        "--quantize",
        "int8",
        "--calib",
        CALIB,
        "-o",
        &again.to_string_lossy(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::read(&again).unwrap() == std::fs::read(&out).unwrap());
    // The table says it too.
    let text = pare(&[
        "compile",
        &m,
        "--quantize",
        "int8",
        "--calib",
        CALIB,
        "-o",
        &dir.join("q.pir").to_string_lossy(),
    ]);
    assert!(text.status.success(), "{}", stderr(&text));
    let table = String::from_utf8_lossy(&text.stdout);
    assert!(
        table.contains("fidelity floor agreement=0.98,sqnr=20: held (1 float island(s) raised)")
            && table.contains("kept float: value `h` (fc1, head): agreement 0."),
        "{table}"
    );
    // The QDQ ONNX, run by onnxruntime on held-out inputs, holds the floor
    // against the float model run by pare.
    let x = held_out(&dir, 500);
    let float_out = dir.join("float");
    let r = pare(&[
        "run",
        &m,
        "--input",
        &x.to_string_lossy(),
        "-o",
        &float_out.to_string_lossy(),
    ]);
    assert!(r.status.success(), "{}", stderr(&r));
    let ort = dir.join("ort.npy");
    let o = std::process::Command::new(python())
        .args(["-c", ORT_RUN])
        .args([out.as_os_str(), x.as_os_str(), ort.as_os_str()])
        .output()
        .expect("run python");
    assert!(
        o.status.success(),
        "onnxruntime failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let want = pare_npy::read_npy(&float_out.join("logits.npy")).unwrap();
    let got = pare_npy::read_npy(&ort).unwrap();
    let (agree, sqnr) = compare(&got.to_f64_vec(), &want.to_f64_vec(), 10);
    eprintln!("outlier MLP, onnxruntime on the raised QDQ ONNX vs float, 500 held-out: agreement {agree:.4}, SQNR {sqnr:.2} dB");
    assert!(agree >= 0.98 && sqnr >= 20.0, "{agree} {sqnr}");
}

const ORT_RUN: &str = "import sys, numpy as np, onnxruntime as ort
m, x, out = sys.argv[1:4]
s = ort.InferenceSession(m, providers=['CPUExecutionProvider'])
np.save(out, s.run(None, {s.get_inputs()[0].name: np.load(x)})[0])
";

/// Top-1 agreement and SQNR (dB) of `got` against `want`, rows of `c`.
fn compare(got: &[f64], want: &[f64], c: usize) -> (f64, f64) {
    let top = |r: &[f64]| (0..c).fold(0, |b, i| if r[i] > r[b] { i } else { b });
    let rows = want.len() / c;
    let same = got
        .chunks(c)
        .zip(want.chunks(c))
        .filter(|(a, b)| top(a) == top(b))
        .count();
    let signal: f64 = want.iter().map(|w| w * w).sum();
    let noise: f64 = got.iter().zip(want).map(|(g, w)| (g - w) * (g - w)).sum();
    (same as f64 / rows as f64, 10.0 * (signal / noise).log10())
}

#[test]
fn an_integer_only_target_below_the_floor_fails_with_the_table_and_writes_nothing() {
    let dir = scratch("floor_rp2040");
    let m = model(&dir);
    let out = dir.join("c");
    let report = dir.join("report.json");
    let saved = dir.join("q.pir");
    let o = pare(&[
        "compile",
        &m,
        "--target",
        "rp2040",
        "--quantize",
        "int8",
        "--calib",
        CALIB,
        "-o",
        &out.to_string_lossy(),
        "--report",
        &report.to_string_lossy(),
        "--save-graph",
        &saved.to_string_lossy(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("misses the fidelity floor (agreement=0.98,sqnr=20): top-1 agreement 0.")
            && e.contains("--target rp2040 runs integer kernels only"),
        "{e}"
    );
    // The per-layer table: every quantized value with its measured fidelity
    // when kept float; `h` is the one that would restore the model.
    assert!(
        e.contains("per layer: fidelity with its output kept float"),
        "{e}"
    );
    let row = e
        .lines()
        .find(|l| l.starts_with("h "))
        .unwrap_or_else(|| panic!("no row for h: {e}"));
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(&cols[..4], ["h", "fc1", "gemm", "int8"], "{row}");
    assert!(cols[5].parse::<f64>().unwrap() > 30.0, "{row}");
    for p in [&out, &report, &saved] {
        assert!(!p.exists(), "a failed compile wrote {}", p.display());
    }
}

/// Under a size budget the floor raises islands that fit: an island computes
/// in float but keeps its weights int8, so the model that holds the floor is
/// no larger than the all-int8 one. A floor above what int8 weights allow
/// (every island raised still rounds the weights) is missed: exit 1, no file.
#[test]
fn under_a_size_budget_islands_fit_and_a_floor_out_of_reach_writes_nothing() {
    let dir = scratch("floor_budget");
    let m = model(&dir);
    let plain = dir.join("plain.onnx");
    let o = pare(&[
        "compile",
        &m,
        "--quantize",
        "int8",
        "--calib",
        CALIB,
        "--min-fidelity",
        "none",
        "-o",
        &plain.to_string_lossy(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let budget = std::fs::metadata(&plain).unwrap().len();
    let out = dir.join("mixed.onnx");
    let rep = json_of(&[
        "compile",
        &m,
        "--quantize",
        "mixed",
        "--size-budget",
        &budget.to_string(),
        "--calib",
        CALIB,
        "-o",
        &out.to_string_lossy(),
        "--json",
    ]);
    let f = &rep["fidelity_floor"];
    assert_eq!(f["met"], true, "{f}");
    assert_eq!(f["raised"][0]["value"], "h", "{f}");
    let bytes = std::fs::metadata(&out).unwrap().len();
    assert!(bytes <= budget, "{bytes} B over the {budget} B budget");
    let q = dir.join("out_of_reach.pir");
    let o = pare(&[
        "compile",
        &m,
        "--quantize",
        "int8",
        "--calib",
        CALIB,
        "--min-fidelity",
        "sqnr=200",
        "-o",
        &q.to_string_lossy(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("misses the fidelity floor"), "{e}");
    assert!(e.contains("kept float: value `h`"), "{e}");
    assert!(!q.exists(), "a failed compile wrote {}", q.display());
}

#[test]
fn min_fidelity_none_keeps_the_collapsed_artifact_and_bad_specs_are_usage_errors() {
    let dir = scratch("floor_none");
    let m = model(&dir);
    let out = dir.join("q.onnx");
    let rep = json_of(&[
        "compile",
        &m,
        "--quantize",
        "int8",
        "--calib",
        CALIB,
        "--min-fidelity",
        "none",
        "-o",
        &out.to_string_lossy(),
        "--json",
    ]);
    assert!(out.is_file());
    assert!(rep.get("fidelity_floor").is_none(), "{rep}");
    assert!(f64_at(&rep, "/fidelity/agreement/value") < 0.5, "{rep}");
    assert_eq!(rep["totals"]["float_layers"], 0, "{rep}");
    for (spec, want) in [
        ("agreement=1.5", "a fraction from 0 to 1"),
        ("psnr=3", "unknown key `psnr`"),
        ("sqnr", "is not KEY=VALUE"),
    ] {
        let o = pare(&[
            "compile",
            &m,
            "--quantize",
            "int8",
            "--calib",
            CALIB,
            "--min-fidelity",
            spec,
            "-o",
            &dir.join("bad.onnx").to_string_lossy(),
        ]);
        assert_eq!(o.status.code(), Some(2), "{spec}");
        assert!(stderr(&o).contains(want), "{spec}: {}", stderr(&o));
    }
}

/// The fixtures compile under the default floor with nothing raised (int8);
/// the figures are printed for the record.
#[test]
fn the_fixtures_hold_the_default_floor_at_int8() {
    let dir = scratch("floor_fixtures");
    let calib = format!("{}:x_train", fixture("digits.npz"));
    for name in [
        "digits_cnn",
        "digits_transformer",
        "micro_cnn",
        "digits_vae",
    ] {
        let out = dir.join(format!("{name}.onnx"));
        let rep = json_of(&[
            "compile",
            &fixture(&format!("{name}.onnx")),
            "--quantize",
            "int8",
            "--calib",
            &calib,
            "--sensitivity-samples",
            "0",
            "-o",
            &out.to_string_lossy(),
            "--json",
        ]);
        let f = &rep["fidelity_floor"];
        eprintln!(
            "{name} int8: agreement {}, SQNR {} dB",
            f["initial"]["agreement"], f["initial"]["sqnr_db"]
        );
        assert_eq!(f["met"], true, "{name}: {f}");
        assert_eq!(f["raised"], serde_json::json!([]), "{name}: {f}");
    }
}
