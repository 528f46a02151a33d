//! End to end: a tf2onnx-style block whose LayerNorm and tanh-GELU are written
//! out in elementary ops (`tests/oracle/make_written_out_block.py`, seeded),
//! quantized to int8. Without the fusion passes every intermediate is rounded
//! to int8 on its own and the model falls apart; `pare compile` fuses them
//! (cleanup) into one `layer_normalization` (a float island: no integer
//! kernel) and one `gelu` (a lookup table), and its measured fidelity holds.

mod common;

use common::{json_of, pare, python, root, scratch, stderr};
use serde_json::Value;

fn figure(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn written_out_layer_norm_and_gelu_quantize_as_single_ops() {
    let dir = scratch("fusion_block");
    let model = dir.join("block.onnx");
    let data = dir.join("block.npz");
    let o = std::process::Command::new(python())
        .arg(root().join("tests/oracle/make_written_out_block.py"))
        .args([&model, &data])
        .output()
        .expect("run make_written_out_block.py");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (m, calib) = (model.to_string_lossy(), format!("{}:x", data.display()));

    // Op by op: quantize without the cleanup pipeline (so nothing fuses), then
    // measure against the float model on the calibration data.
    let before = dir.join("before.pir");
    let spec = format!("fold-constants,dce,quantize{{scheme=int8,calib={calib}}}");
    let r = pare(&[
        "opt",
        &m,
        "--passes",
        &spec,
        "-o",
        &before.to_string_lossy(),
    ]);
    assert!(r.status.success(), "{}", stderr(&r));
    let b = json_of(&[
        "eval",
        &before.to_string_lossy(),
        "--data",
        &calib,
        "--reference",
        &m,
        "--json",
    ]);
    let (b_agree, b_sqnr) = (figure(&b["agreement"]), figure(&b["sqnr_db"]));

    // pare compile: cleanup fuses, quantization sees one layer each.
    let out = dir.join("block_int8.onnx");
    let rep = json_of(&[
        "compile",
        &m,
        "--quantize",
        "int8",
        "--calib",
        &calib,
        "-o",
        &out.to_string_lossy(),
        "--json",
    ]);
    let f = &rep["fidelity"];
    let (a_agree, a_sqnr) = (
        figure(&f["agreement"]["value"]),
        figure(&f["sqnr_db"]["value"]),
    );
    eprintln!(
        "op by op: agreement {b_agree:.4}, SQNR {b_sqnr:.2} dB; fused (pare compile): agreement {a_agree:.4}, SQNR {a_sqnr:.2} dB"
    );
    assert!(
        b_sqnr < 12.0 && b_agree < 0.9,
        "the unfused block was expected to collapse: {b}"
    );
    assert!(a_sqnr >= 20.0 && a_agree >= 0.95, "fused block: {f}");

    // One LayerNorm, a float island with its reason; one GELU, integer.
    let layers = rep["layers"].as_array().expect("layers");
    let of = |op: &str| -> Vec<&Value> { layers.iter().filter(|l| l["op"] == op).collect() };
    let text = serde_json::to_string(layers).unwrap();
    assert_eq!(of("layer_normalization").len(), 1, "{text}");
    assert_eq!(of("gelu").len(), 1, "{text}");
    for op in ["mul", "tanh", "reduce_sum", "sqrt", "reciprocal", "max"] {
        assert!(of(op).is_empty(), "a written-out `{op}` is left: {text}");
    }
    let ln = serde_json::to_string(of("layer_normalization")[0]).unwrap();
    assert!(ln.contains("float island: no integer kernel"), "{ln}");
    let gelu = serde_json::to_string(of("gelu")[0]).unwrap();
    assert!(gelu.contains("int8"), "{gelu}");

    // The QDQ artifact (LayerNormalization as a float island, Gelu between a
    // dequantize and a quantize) runs in onnxruntime as well as it measured.
    let ort = |model: &std::path::Path, name: &str| {
        let out = dir.join(name);
        let o = std::process::Command::new(python())
            .arg(root().join("tests/oracle/ort_run.py"))
            .args([
                model.as_os_str(),
                data.as_os_str(),
                "x".as_ref(),
                out.as_os_str(),
            ])
            .output()
            .expect("run ort_run.py");
        assert!(
            o.status.success(),
            "onnxruntime on {}: {}",
            model.display(),
            String::from_utf8_lossy(&o.stderr)
        );
        pare_npy::read_npy(&out).unwrap().to_f64_vec()
    };
    let (float, int8) = (ort(&model, "float.npy"), ort(&out, "int8.npy"));
    let signal: f64 = float.iter().map(|v| v * v).sum();
    let noise: f64 = float
        .iter()
        .zip(&int8)
        .map(|(a, b)| (a - b) * (a - b))
        .sum();
    let sqnr = 10.0 * (signal / noise).log10();
    eprintln!("onnxruntime, int8 artifact vs float model: SQNR {sqnr:.2} dB");
    assert!(
        sqnr >= 20.0,
        "onnxruntime on the int8 artifact: SQNR {sqnr} dB"
    );
}
