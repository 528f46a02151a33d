//! Int8 post-training quantization of the fixture models: the quantized graph
//! verifies, its weights shrink, and (run by the integer interpreter) its
//! accuracy on the digits test split stays within the bounds.

mod support;

use pare_ir::{Graph, Tensor, ValueId};
use pare_passes::quantize::{quantize_int, IntOptions, LayerStatus};
use pare_passes::{PassCx, PassManager, PassOptions};
use std::collections::BTreeMap;

fn cleaned(name: &str) -> Graph {
    let mut g = pare_onnx::import_file(&support::fixture(name)).expect("fixture imports");
    let mut cx = PassCx::new(PassOptions::default());
    let mut p = pare_passes::pipeline("cleanup").unwrap();
    PassManager::new().run(&mut p, &mut g, &mut cx).unwrap();
    g
}

fn digits(key: &str) -> Tensor {
    let all = support::read_npz(&support::fixture("digits.npz"));
    all.into_iter().find(|(k, _)| k == key).unwrap().1
}

/// Min-max ranges of every f32 value over `x` (the simplest calibration).
fn minmax_ranges(g: &Graph, x: &Tensor) -> BTreeMap<ValueId, (f32, f32)> {
    let mut r: BTreeMap<ValueId, (f32, f32)> = BTreeMap::new();
    let mut note = |v: ValueId, t: &Tensor| {
        if t.dtype() != pare_ir::DType::F32 {
            return;
        }
        let e = r.entry(v).or_insert((f32::INFINITY, f32::NEG_INFINITY));
        for &x in t.as_slice::<f32>().unwrap() {
            e.0 = e.0.min(x);
            e.1 = e.1.max(x);
        }
    };
    note(g.inputs[0], x);
    pare_ir::interp::run_observed(g, std::slice::from_ref(x), &mut note).unwrap();
    r
}

#[test]
fn digits_cnn_int8_plan_quantizes_every_layer_and_shrinks_weights() {
    let mut g = cleaned("digits_cnn.onnx");
    let x = digits("x_train");
    let ranges = minmax_ranges(&g, &x);
    let before = pare_ir::analysis::weight_bytes(&g);
    let records = quantize_int(&mut g, &ranges, &IntOptions::default()).expect("quantizes");
    for r in &records {
        eprintln!(
            "{:<24} {:<12} {:?} {}→{}",
            r.node, r.op, r.status, r.weight_bytes_before, r.weight_bytes_after
        );
    }
    let float: Vec<_> = records
        .iter()
        .filter(|r| matches!(r.status, LayerStatus::Float(_)))
        .collect();
    assert!(float.is_empty(), "float layers left: {float:?}");
    let after = pare_ir::analysis::weight_bytes(&g);
    eprintln!("weights {before} → {after} bytes");
    assert!(after * 10 < before * 3, "{after} is not < 0.3 × {before}");
}

#[test]
fn digits_cnn_int8_exports_as_qdq_onnx() {
    let mut g = cleaned("digits_cnn.onnx");
    let x = digits("x_train");
    let ranges = minmax_ranges(&g, &x);
    quantize_int(&mut g, &ranges, &IntOptions::default()).expect("quantizes");
    let dir = support::scratch_dir("quantize_fixtures");
    let path = dir.join("digits_cnn_int8.onnx");
    pare_onnx::export_file(&g, &path, &Default::default()).expect("exports");
    eprintln!("{} bytes", std::fs::metadata(&path).unwrap().len());
}

/// pare's QDQ ONNX, imported and raised, is pare's quantized graph again: the
/// same quantized nodes with the same parameters and integer weights.
#[test]
fn qdq_onnx_raises_back_to_the_quantized_graph() {
    let mut g = cleaned("digits_cnn.onnx");
    let x = digits("x_train");
    let ranges = minmax_ranges(&g, &x);
    quantize_int(&mut g, &ranges, &IntOptions::default()).expect("quantizes");
    let bytes = pare_onnx::export_model(&g, &Default::default()).expect("exports");
    let mut back = pare_onnx::import_bytes(&bytes, None, "digits_cnn_int8.onnx").expect("imports");
    let mut cx = PassCx::new(PassOptions {
        verify: true,
        ..PassOptions::default()
    });
    let mut p = pare_passes::pipeline_from_names(&["raise-qdq", "dce"]).unwrap();
    PassManager::new()
        .run(&mut p, &mut back, &mut cx)
        .expect("raises");
    let summary = |g: &Graph| -> Vec<String> {
        g.nodes()
            .map(|(_, n)| {
                let q: Vec<String> = n
                    .inputs
                    .iter()
                    .flatten()
                    .chain(&n.outputs)
                    .map(|&v| format!("{:?}", g.ty(v).quant))
                    .collect();
                format!("{} {}", n.op.name(), q.join(" "))
            })
            .collect()
    };
    assert_eq!(summary(&back), summary(&g));
}
