//! Models with several inputs under `pare compile` and `pare eval`: a
//! voice-activity-style LSTM with its state as inputs (`input`, `h`, `c`), a
//! batch-1 GRU, and a non-recurrent x + mask graph. The models and data are
//! written by `tests/oracle/make_recurrent_models.py` (onnx.helper, numpy) at
//! test time; onnxruntime runs the compiled QDQ ONNX.
//!
//! Tolerance of onnxruntime against pare on a compiled artifact: with
//! `--fake-quant` (dequantize → float op → quantize, onnxruntime's own
//! reading of QDQ) every output within 1e-5 of its largest magnitude; with
//! the integer interpreter within 3 %. The integer kernels requantize with
//! fixed-point multipliers where onnxruntime rounds a float product, so an
//! int8 code feeding the float LSTM can differ by one step; through the
//! recurrence that moves the states by about 1 % (measured: hn 0.0068 of
//! 0.69, cn 0.0085 of 1.98; the logits agree exactly; fake-quant 1.2e-7).

mod common;

use common::{json_of, pare, python, root, scratch, stderr};
use pare_ir::Op;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Writes the models and data into a fresh scratch dir.
fn models(name: &str) -> PathBuf {
    let dir = scratch(name);
    let o = std::process::Command::new(python())
        .arg(root().join("tests/oracle/make_recurrent_models.py"))
        .arg(&dir)
        .output()
        .expect("run make_recurrent_models.py");
    assert!(
        o.status.success(),
        "make_recurrent_models.py failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    dir
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn compile(model: &Path, out: &Path, extra: &[&str]) -> Value {
    let (m, o) = (s(model), s(out));
    let mut args = vec!["compile", &m, "--quantize", "int8", "-o", &o, "--json"];
    args.extend_from_slice(extra);
    json_of(&args)
}

fn layer<'a>(rep: &'a Value, node: &str) -> &'a Value {
    rep["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["node"] == node)
        .unwrap_or_else(|| panic!("no layer {node} in {rep}"))
}

/// The recurrent layer's record: float kernel, int8 weights, bytes down ~4x.
fn check_recurrent_layer(rep: &Value, node: &str) {
    let l = layer(rep, node);
    assert_eq!(l["status"], "float", "{l}");
    assert_eq!(l["weight_bits"], 8, "{l}");
    let reason = l["reason"].as_str().unwrap();
    assert!(
        reason.contains("float recurrent kernel, int8 per-channel weights (weight-only)"),
        "{reason}"
    );
    let (before, after) = (
        l["weight_bytes_before"].as_u64().unwrap(),
        l["weight_bytes_after"].as_u64().unwrap(),
    );
    assert!(after * 3 < before, "{node}: {before} -> {after} bytes");
    // The front MatMul stays in the integer domain as before.
    assert_eq!(layer(rep, "proj")["status"], "int8");
    assert_eq!(layer(rep, "classify")["status"], "int8");
}

/// The compiled ONNX feeds W and R of the recurrent op through a
/// DequantizeLinear of an int8 initializer on axis 1 (one scale per row).
fn check_weight_only_export(onnx: &Path) {
    let g = pare_onnx::import_file(onnx).expect("imports the artifact");
    let (_, rec) = g
        .nodes()
        .find(|(_, n)| matches!(n.op, Op::Lstm { .. } | Op::Gru { .. }))
        .expect("a recurrent node");
    for slot in [1, 2] {
        let v = rec.input(slot).unwrap();
        let p = g.producer(v).expect("W/R produced by a node");
        let dq = g.node(p);
        assert!(
            matches!(dq.op, Op::DequantizeLinear { axis: 1, .. }),
            "input {slot}: {:?}",
            dq.op
        );
        let w = g.weight_of(dq.input(0).unwrap()).expect("an initializer");
        assert_eq!(w.ty.dtype, pare_ir::DType::I8);
        let rows = g.ty(v).shape[1].fixed().unwrap();
        let scale = g.weight_of(dq.input(1).unwrap()).unwrap();
        assert_eq!(scale.ty.shape[0].fixed(), Some(rows));
    }
    // The bias stays float.
    let b = rec.input(3).unwrap();
    assert_eq!(g.weight_of(b).unwrap().ty.dtype, pare_ir::DType::F32);
}

/// onnxruntime and `pare run` on `inputs`, within the tolerances of the
/// module docs.
fn ort_agrees(dir: &Path, onnx: &Path, inputs: &Path, outputs: &[&str]) {
    let ort_dir = dir.join(format!(
        "{}.ort",
        onnx.file_stem().unwrap().to_string_lossy()
    ));
    let o = std::process::Command::new(python())
        .arg(root().join("tests/oracle/ort_run_inputs.py"))
        .args([onnx.as_os_str(), inputs.as_os_str(), ort_dir.as_os_str()])
        .output()
        .expect("run ort_run_inputs.py");
    assert!(
        o.status.success(),
        "onnxruntime failed on {}: {}",
        onnx.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    for (how, flag, tol) in [
        ("integer", None, 0.03),
        ("fake-quant", Some("--fake-quant"), 1e-5),
    ] {
        let stem = onnx.file_stem().unwrap().to_string_lossy();
        let pare_dir = dir.join(format!("{stem}.{how}"));
        let (m, i, d) = (s(onnx), s(inputs), s(&pare_dir));
        let mut args = vec!["run", &m, "--inputs", &i, "-o", &d];
        args.extend(flag);
        let r = pare(&args);
        assert!(r.status.success(), "{}", stderr(&r));
        compare(onnx, &ort_dir, &pare_dir, outputs, how, tol);
    }
}

/// Every output of `pare_dir` within `tol` of the largest magnitude of the
/// same output in `ort_dir`.
fn compare(onnx: &Path, ort_dir: &Path, pare_dir: &Path, outputs: &[&str], how: &str, tol: f64) {
    for name in outputs {
        let ours = pare_npy::read_npy(&pare_dir.join(format!("{name}.npy"))).unwrap();
        let theirs = pare_npy::read_npy(&ort_dir.join(format!("{name}.npy"))).unwrap();
        assert_eq!(ours.shape(), theirs.shape(), "{name}");
        let (a, b) = (ours.to_f64_vec(), theirs.to_f64_vec());
        let peak = b.iter().fold(0f64, |m, x| m.max(x.abs()));
        let worst = a
            .iter()
            .zip(&b)
            .fold(0f64, |m, (x, y)| m.max((x - y).abs()));
        eprintln!(
            "{}: {name}: onnxruntime vs pare ({how}) max abs diff {worst:.3e} (max |out| {peak:.3})",
            onnx.display()
        );
        assert!(
            worst <= tol * peak.max(1e-6),
            "{name} ({how}): {worst} vs peak {peak}"
        );
    }
}

#[test]
fn lstm_with_state_inputs_compiles_int8_and_evaluates_on_bound_data() {
    let dir = models("lstm_state");
    let float = dir.join("lstm_vad.onnx");
    let q = dir.join("lstm_int8.onnx");
    let calib = s(&dir.join("lstm_calib.npz"));
    let rep = compile(
        &float,
        &q,
        &["--calib", &calib, "--calib-fixed", "h=zeros,c=zeros"],
    );
    let (art, flt) = (
        rep["artifact_bytes"]["value"].as_u64().unwrap(),
        rep["float_model_bytes"]["value"].as_u64().unwrap(),
    );
    assert!(art * 2 < flt, "artifact {art} bytes vs float {flt}");
    check_recurrent_layer(&rep, "lstm");
    let data = rep["calibration"]["data"].as_str().unwrap();
    assert!(
        data.ends_with("lstm_calib.npz (fixed: h=zeros;c=zeros)"),
        "{data}"
    );
    assert_eq!(rep["calibration"]["samples"], 64);
    assert!(
        rep["fidelity"]["sqnr_db"]["value"].as_f64().unwrap() > 25.0,
        "{rep}"
    );
    check_weight_only_export(&q);
    ort_agrees(&dir, &q, &dir.join("lstm_run.npz"), &["output", "hn", "cn"]);

    // pare eval with the same bindings: against the float model on the
    // calibration data, and against labels bound by renaming.
    let (qs, fs) = (s(&q), s(&float));
    let v = json_of(&[
        "eval",
        &qs,
        "--data",
        &calib,
        "--fixed",
        "h=zeros,c=zeros",
        "--reference",
        &fs,
        "--json",
    ]);
    assert_eq!(v["n"], 64);
    assert!(v["agreement"].as_f64().unwrap() >= 0.95, "{v}");
    assert!(v["sqnr_db"].as_f64().unwrap() > 25.0, "{v}");
    let eval_npz = format!("{}:input=x", s(&dir.join("lstm_eval.npz")));
    let v = json_of(&[
        "eval",
        &qs,
        "--data",
        &eval_npz,
        "--y",
        "y",
        "--calib-fixed",
        "h=zeros,c=zeros",
        "--batch",
        "5",
        "--json",
    ]);
    assert_eq!(v["n"], 48);
    assert!(v["accuracy"].as_f64().unwrap() >= 0.95, "{v}");

    // Without the state fixed, both commands name the inputs that lack data.
    let o = pare(&["eval", &qs, "--data", &calib, "--reference", &fs]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("no data for inputs h f32[1,N,32], c f32[1,N,32]"),
        "{e}"
    );
    assert_eq!(e.trim_end().lines().count(), 1, "{e}");
    let out = s(&dir.join("never.onnx"));
    let o = pare(&[
        "compile",
        &fs,
        "--quantize",
        "int8",
        "--calib",
        &calib,
        "-o",
        &out,
    ]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("no data for inputs h") && e.contains("--calib-fixed h=zeros"),
        "{e}"
    );
    assert!(!Path::new(&out).exists());
}

#[test]
fn gru_exported_at_batch_one_compiles_with_fixed_state() {
    let dir = models("gru_state");
    let float = dir.join("gru.onnx");
    let q = dir.join("gru_int8.onnx");
    let calib = s(&dir.join("gru_calib.npz"));
    let rep = compile(&float, &q, &["--calib", &calib, "--calib-fixed", "h=zeros"]);
    assert!(
        rep["size_ratio"]["value"].as_f64().unwrap() < 0.5,
        "{}",
        rep["size_ratio"]
    );
    check_recurrent_layer(&rep, "gru");
    check_weight_only_export(&q);
    ort_agrees(&dir, &q, &dir.join("gru_run.npz"), &["output", "hn"]);
    // The weight-only scheme stores the GRU's weights int8 too.
    let w = dir.join("gru_w8.onnx");
    let (fs, ws) = (s(&float), s(&w));
    let v = json_of(&[
        "compile",
        &fs,
        "--quantize",
        "int8-weights",
        "-o",
        &ws,
        "--json",
    ]);
    let l = layer(&v, "gru");
    assert_eq!(l["status"], "weight-only", "{l}");
    assert_eq!(l["weight_bits"], 8, "{l}");
    check_weight_only_export(&w);
}

#[test]
fn two_input_graph_calibrates_from_an_archive_a_folder_or_a_pass_spec() {
    let dir = models("x_mask");
    let float = dir.join("x_mask.onnx");
    let npz = s(&dir.join("x_mask.npz"));
    let folder = format!("{}/", s(&dir.join("x_mask_samples")));
    // By name from one archive, and from per-sample archives streamed in order:
    // the same 20 samples give the same artifact, byte for byte.
    let a = dir.join("a.onnx");
    let b = dir.join("b.onnx");
    compile(&float, &a, &["--calib", &npz, "--calib-samples", "20"]);
    let rep = compile(&float, &b, &["--calib", &folder]);
    assert_eq!(rep["calibration"]["samples"], 20);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert_eq!(layer(&rep, "fc1")["status"], "int8");

    // Renamed bindings inside a pass spec (`;` between them).
    let pir = s(&dir.join("o.pir"));
    let spec = format!("quantize{{scheme=int8,calib={npz}:mask=mask;x=x}}");
    let o = pare(&["opt", &s(&float), "--passes", &spec, "-o", &pir]);
    assert!(o.status.success(), "{}", stderr(&o));

    // pare eval streams the folder too.
    let v = json_of(&[
        "eval",
        &s(&a),
        "--data",
        &folder,
        "--reference",
        &s(&float),
        "--json",
    ]);
    assert_eq!(v["n"], 20);
    assert!(v["agreement"].as_f64().unwrap() >= 0.95, "{v}");
    ort_agrees(&dir, &a, &dir.join("x_mask.npz"), &["output"]);

    // A wrong binding names the input, what it takes and what was given.
    let o = pare(&[
        "compile",
        &s(&float),
        "--quantize",
        "int8",
        "--calib",
        &format!("{npz}:x=mask;mask=nope"),
        "-o",
        &s(&dir.join("never.onnx")),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("no array `nope` (arrays: x, mask)"), "{e}");
    // --calib-fixed without calibration data is a usage mistake, said so.
    let o = pare(&[
        "compile",
        &s(&float),
        "--quantize",
        "fp16",
        "--calib-fixed",
        "x=zeros",
        "-o",
        &s(&dir.join("never.onnx")),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--calib-fixed holds inputs fixed during calibration"));
}
