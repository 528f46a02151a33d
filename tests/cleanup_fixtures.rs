//! The `cleanup` pipeline on the real fixture models: it must keep every model's
//! outputs (interpreter, random input, batch 2) and remove what it promises to.

mod support;

use pare_ir::analysis::op_counts;
use pare_ir::{Dim, Graph, Tensor};
use pare_passes::{PassCx, PassManager, PassOptions};
use std::collections::BTreeMap;

fn load(name: &str) -> Graph {
    // The importer runs shape inference.
    pare_onnx::import_file(&support::fixture(name)).expect("fixture imports")
}

/// Deterministic inputs in [0, 1) with every symbolic dim bound to 2.
fn inputs(g: &Graph) -> Vec<Tensor> {
    let mut s: u64 = 0x2545F4914F6CDD1D;
    g.inputs
        .iter()
        .map(|&v| {
            let shape: Vec<usize> = g
                .ty(v)
                .shape
                .iter()
                .map(|d| match d {
                    Dim::Fixed(n) => *n as usize,
                    Dim::Sym(_) => 2,
                })
                .collect();
            let n = shape.iter().product();
            let data = (0..n)
                .map(|_| {
                    s ^= s << 13;
                    s ^= s >> 7;
                    s ^= s << 17;
                    (s >> 40) as f32 / (1u64 << 24) as f32
                })
                .collect();
            Tensor::from_vec(shape, data).unwrap()
        })
        .collect()
}

/// Runs cleanup on `name`; checks outputs agree; returns op counts after.
fn check(name: &str) -> BTreeMap<&'static str, usize> {
    let original = load(name);
    let mut g = original.clone();
    let mut cx = PassCx::new(PassOptions {
        verify: true,
        ..PassOptions::default()
    });
    let mut p = pare_passes::pipeline("cleanup").unwrap();
    PassManager::new()
        .run(&mut p, &mut g, &mut cx)
        .expect("cleanup runs");
    let x = inputs(&original);
    let want = pare_ir::interp::run(&original, &x).expect("original runs");
    let got = pare_ir::interp::run(&g, &x).expect("cleaned runs");
    for (w, o) in want.iter().zip(&got) {
        assert_eq!(w.shape(), o.shape(), "{name}");
        let scale = w.to_f64_vec().iter().fold(1e-6f64, |m, v| m.max(v.abs()));
        let diff = w
            .to_f64_vec()
            .iter()
            .zip(o.to_f64_vec())
            .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
        assert!(
            diff <= 1e-5 * scale,
            "{name}: outputs differ by {diff} (scale {scale})"
        );
    }
    eprintln!(
        "{name}: {:?}\n  -> {:?}",
        op_counts(&original),
        op_counts(&g)
    );
    op_counts(&g)
}

#[test]
fn micro_cnn() {
    check("micro_cnn.onnx");
}

#[test]
fn digits_cnn() {
    let ops = check("digits_cnn.onnx");
    assert!(!ops.contains_key("batch_normalization"));
}

#[test]
fn digits_transformer_shape_chains_fold() {
    let ops = check("digits_transformer.onnx");
    assert!(!ops.contains_key("shape"), "shape chains left: {ops:?}");
}

#[test]
fn digits_vae() {
    check("digits_vae.onnx");
}

#[test]
fn mobilenet_v3_small() {
    let ops = check("mobilenet_v3_small.onnx");
    assert!(!ops.contains_key("batch_normalization"));
    assert!(!ops.contains_key("identity"));
}

#[test]
fn mobilenet_v2() {
    let ops = check("mobilenet_v2.onnx");
    assert!(!ops.contains_key("batch_normalization"));
}
