//! `pare compile --target rp2040` of micro_cnn with its conv and linear weights
//! magnitude-pruned to 50 % (written back as ONNX here, until the pruning pass
//! lands): report.json names each such layer `sparse-bitmap` with its stored bytes
//! under the dense ones and its density, the layers run the sparse kernels, and
//! the measured flash is below the unpruned model's.

mod common;

use common::{fixture, fixture_path, pare, scratch, stderr};
use pare_ir::{Op, Tensor, ValueDef, Weight};
use serde_json::Value;
use std::path::Path;

/// micro_cnn with the smallest half of each Conv/Gemm/MatMul weight zeroed.
fn pruned_micro_cnn(path: &Path) {
    let mut g = pare_onnx::import_file(&fixture_path("micro_cnn.onnx")).expect("imports");
    let mut ids = Vec::new();
    for (_, n) in g.nodes() {
        if !matches!(n.op, Op::Conv { .. } | Op::Gemm { .. } | Op::MatMul {}) {
            continue;
        }
        if let Some(ValueDef::Weight(id)) = n.input(1).map(|v| &g.value(v).def) {
            ids.push(*id);
        }
    }
    assert!(ids.len() >= 2, "micro_cnn has conv and linear weights");
    for id in ids {
        let t = g.weight(id).tensor().expect("weight");
        let mut w = t.as_slice::<f32>().expect("f32 weight").to_vec();
        let mut order: Vec<usize> = (0..w.len()).collect();
        order.sort_by(|&a, &b| w[a].abs().total_cmp(&w[b].abs()).then(a.cmp(&b)));
        for &i in &order[..w.len() / 2] {
            w[i] = 0.0;
        }
        let t = Tensor::from_vec(t.shape().to_vec(), w).expect("pruned");
        *g.weight_mut(id) = Weight::from_tensor(&t);
    }
    pare_onnx::export_file(&g, path, &Default::default()).expect("exports");
}

/// The pruned model (no fine-tuning) is judged by its bytes and kernels here, not its
/// fidelity: the floor is off for both compiles.
fn compile(model: &str, dir: &Path) -> Value {
    let d = dir.to_string_lossy().into_owned();
    let calib = format!("{}:x_train", fixture("digits.npz"));
    let o = pare(&[
        "compile",
        model,
        "--target",
        "rp2040",
        "--quantize",
        "int8",
        "--calib",
        &calib,
        "--min-fidelity",
        "none",
        "-o",
        &d,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rep: Value =
        serde_json::from_slice(&std::fs::read(dir.join("report.json")).expect("report"))
            .expect("json");
    rep["rp2040"].clone()
}

#[test]
fn pruned_weights_are_reported_sparse_and_shrink_the_flash() {
    let dir = scratch("rp2040_sparse");
    let model = dir.join("micro_cnn_pruned.onnx");
    pruned_micro_cnn(&model);
    let sparse = compile(&model.to_string_lossy(), &dir.join("sparse"));
    let dense = compile(&fixture("micro_cnn.onnx"), &dir.join("dense"));
    let layers = sparse["layers"].as_array().expect("layers");
    let with_weights: Vec<&Value> = layers
        .iter()
        .filter(|l| l.get("weight_encoding").is_some())
        .collect();
    assert!(with_weights.len() >= 2, "{layers:?}");
    for l in &with_weights {
        let stored = l["weight_stored_bytes"]["value"].as_u64().expect("stored");
        let full = l["weight_dense_bytes"]["value"].as_u64().expect("dense");
        let density = l["weight_density"].as_f64().expect("density");
        assert_eq!(l["weight_encoding"], "sparse-bitmap", "{l}");
        assert!(l["kernel"].as_str().unwrap().ends_with("_sparse"), "{l}");
        assert!(stored < full, "{l}");
        assert!(density <= 0.51, "{l}");
    }
    let flash = |r: &Value| r["firmware"]["flash_bytes"]["value"].as_u64();
    match (flash(&sparse), flash(&dense)) {
        (Some(s), Some(d)) => assert!(s < d, "flash {s} vs dense {d}"),
        other => panic!(
            "flash not measured (is arm-none-eabi-gcc installed?): {other:?}\n{}",
            sparse["firmware"]
        ),
    }
}
