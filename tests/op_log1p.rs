//! The op added through the op table alone: `log1p` (`ln(1 + x)`, accurate near 0;
//! an ATen op with no ONNX operator). One row gives it its shape rule, float
//! kernel, textual-IR form, quantized lookup table and torch.export translation;
//! ONNX export says plainly that ONNX has no such operator. numpy's `log1p` is the
//! oracle for the values.

mod support;

use pare_ir::quant::{dequantize_f32, is_lut_op, qrange, quantize_f32, unary_lut};
use pare_ir::{Op, QParams, Tensor};
use serde_json::{json, Value as Json};
use std::io::{Cursor, Read, Write};

/// Values where `ln(1 + x)` computed naively loses everything (tiny x) and ordinary ones.
fn inputs() -> Vec<f32> {
    vec![
        -0.999, -0.5, -1e-3, -1e-7, 0.0, 1e-9, 1e-7, 3e-5, 0.25, 1.0, 7.5, 1e6,
    ]
}

/// numpy's `log1p` of `x` in f32.
fn numpy_log1p(x: &[f32]) -> Vec<f32> {
    let list: Vec<String> = x.iter().map(|v| format!("{v:e}")).collect();
    let script = format!(
        "import numpy as np\nx = np.array([{}], dtype=np.float32)\nprint(' '.join(repr(float(v)) for v in np.log1p(x)))",
        list.join(", ")
    );
    let out = std::process::Command::new(support::python())
        .args(["-c", &script])
        .output()
        .expect("run the oracle Python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(|s| s.parse::<f64>().expect("a float") as f32)
        .collect()
}

fn close_to_numpy(got: &[f32], x: &[f32]) {
    let want = numpy_log1p(x);
    assert_eq!(got.len(), want.len());
    for ((g, w), x) in got.iter().zip(&want).zip(x) {
        // Both are within an ulp or so of the exact value.
        assert!(
            (g - w).abs() <= 2.0 * f32::EPSILON * w.abs(),
            "log1p({x:e}) = {g:e}, numpy {w:e}"
        );
    }
}

const PIR: &str =
    "graph @g(%x \"x\": f32[N]) -> (f32[N]) {\n  %y \"y\": f32[N] = log1p(%x)\n  return %y\n}\n";

#[test]
fn interpreter_and_text_form() {
    let g = pare_ir::text::parse(PIR).unwrap_or_else(|e| panic!("{e}"));
    // Parse ∘ print is the identity on the printed form.
    let printed = pare_ir::text::print(&g);
    assert!(printed.contains("= log1p(%0)"), "{printed}");
    let again = pare_ir::text::parse(&printed).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(pare_ir::text::print(&again), printed);
    let x = inputs();
    let y = pare_ir::interp::run(&g, &[Tensor::from_vec(vec![x.len()], x.clone()).unwrap()])
        .unwrap_or_else(|e| panic!("{e}"));
    close_to_numpy(&y[0].to_f32_vec(), &x);
    // Only floats: an integer input is named in the error.
    let bad = "graph @g(%x \"x\": i32[4]) -> (i32[4]) {\n  %y \"y\": i32[4] = log1p(%x)\n  return %y\n}\n";
    let mut bad = pare_ir::text::parse(bad).unwrap_or_else(|e| panic!("{e}"));
    let e = pare_ir::infer::infer_graph(&mut bad)
        .map(|()| String::new())
        .unwrap_or_else(|e| e.to_string());
    assert!(e.contains("log1p") && e.contains("float"), "{e}");
}

#[test]
fn quantized_lookup_table() {
    let op = Op::bare("log1p").expect("log1p is an attribute-free op");
    assert!(is_lut_op(&op));
    let q = |scale: f32, zp: i32| QParams {
        bits: 8,
        signed: true,
        scale: vec![scale],
        zero_point: vec![zp],
        axis: None,
    };
    let (in_q, out_q) = (q(0.02, -50), q(0.015, -100));
    let table = unary_lut(&op, &in_q, &out_q, &[]).unwrap_or_else(|e| panic!("{e}"));
    let (lo, hi) = qrange(&in_q);
    let x: Vec<f32> = (lo..=hi).map(|c| dequantize_f32(c, 0.02, -50)).collect();
    let (olo, ohi) = qrange(&out_q);
    let want: Vec<i32> = numpy_log1p(&x)
        .into_iter()
        .map(|v| quantize_f32(v, 0.015, -100, olo, ohi))
        .collect();
    assert_eq!(table, want);
}

#[test]
fn onnx_export_names_the_missing_operator() {
    let g = pare_ir::text::parse(PIR).unwrap_or_else(|e| panic!("{e}"));
    let e = pare_onnx::export_model(&g, &pare_onnx::ExportOptions::default())
        .map(|_| String::new())
        .unwrap_or_else(|e| e.to_string());
    assert!(e.contains("log1p") && e.contains("no ONNX operator"), "{e}");
}

/// The micro_cnn fixture with its `model.json` replaced by `model`.
fn archive_with(model: &Json) -> Vec<u8> {
    let original = std::fs::read(support::fixture("micro_cnn.pt2")).expect("fixture");
    let mut z = zip::ZipArchive::new(Cursor::new(&original[..])).expect("fixture is a zip");
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for i in 0..z.len() {
        let mut f = z.by_index(i).expect("entry");
        let name = f.name().expect("entry name").to_string();
        let mut b = Vec::new();
        f.read_to_end(&mut b).expect("read entry");
        if name.ends_with("models/model.json") {
            b = serde_json::to_vec(model).expect("JSON");
        }
        w.start_file(name.as_str(), opts).expect("start entry");
        w.write_all(&b).expect("write entry");
    }
    w.finish().expect("finish zip").into_inner()
}

#[test]
fn torch_export_log1p() {
    let sizes = json!([{"as_int": 5}]);
    let model = json!({
        "schema_version": {"major": 8, "minor": 20},
        "graph_module": {
            "graph": {
                "nodes": [{
                    "target": "torch.ops.aten.log1p.default",
                    "name": "log1p",
                    "inputs": [{"name": "self", "arg": {"as_tensor": {"name": "x"}}, "kind": 1}],
                    "outputs": [{"as_tensor": {"name": "y"}}],
                }],
                "tensor_values": {
                    "x": {"dtype": 7, "sizes": sizes},
                    "y": {"dtype": 7, "sizes": sizes},
                },
            },
            "signature": {
                "input_specs": [{"user_input": {"arg": {"as_tensor": {"name": "x"}}}}],
                "output_specs": [{"user_output": {"arg": {"as_tensor": {"name": "y"}}}}],
            },
        },
    });
    assert!(pare_pt2::is_supported("aten.log1p.default"));
    let g = pare_pt2::import_bytes(&archive_with(&model), "log1p.pt2")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(g.nodes().any(|(_, n)| n.op.name() == "log1p"));
    let x = vec![-0.5f32, 1e-7, 0.0, 2.0, 30.0];
    let y = pare_ir::interp::run(&g, &[Tensor::from_vec(vec![5], x.clone()).unwrap()])
        .unwrap_or_else(|e| panic!("{e}"));
    close_to_numpy(&y[0].to_f32_vec(), &x);
}
