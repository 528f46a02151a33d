//! Every ONNX fixture run by pare's interpreter against its reference: PyTorch's
//! committed outputs on the 500 digits test images (within 1e-4 abs), and
//! onnxruntime on fixed random inputs for the MobileNets (within 1e-4 relative to
//! the largest reference magnitude). Each model runs as imported and after the
//! `cleanup` pipeline (the same suite, optimized and not).

mod support;

use pare_ir::{Graph, Tensor};

fn cleanup(g: &Graph) -> Graph {
    let mut g = g.clone();
    pare_passes::run_pipeline(&mut g, "cleanup").expect("cleanup pipeline");
    g
}

fn digits_x_test() -> Tensor {
    support::read_npz(&support::fixture("digits.npz"))
        .into_iter()
        .find(|(n, _)| n == "x_test")
        .expect("x_test in digits.npz")
        .1
}

/// Runs `model` on all 500 test digits and compares with the committed reference.
fn check_digits_model(model: &str, reference: &str) {
    let g = pare_onnx::import_file(&support::fixture(model)).expect("import");
    let x = digits_x_test();
    let want = support::read_npy(&support::fixture(reference));
    for (label, graph) in [("imported", g.clone()), ("cleanup", cleanup(&g))] {
        let got = pare_ir::interp::run(&graph, std::slice::from_ref(&x)).expect("run");
        let diff = support::max_abs_diff(&got[0], &want);
        println!("{model} ({label}): max abs diff vs {reference} = {diff:.3e}");
        assert!(
            diff <= 1e-4,
            "{model} ({label}) differs from {reference} by {diff}"
        );
    }
}

#[test]
fn digits_cnn_matches_pytorch() {
    check_digits_model("digits_cnn.onnx", "digits_cnn.test_logits.npy");
}

#[test]
fn digits_transformer_matches_pytorch() {
    check_digits_model(
        "digits_transformer.onnx",
        "digits_transformer.test_logits.npy",
    );
}

#[test]
fn micro_cnn_matches_pytorch() {
    check_digits_model("micro_cnn.onnx", "micro_cnn.test_logits.npy");
}

#[test]
fn digits_vae_matches_pytorch() {
    check_digits_model("digits_vae.onnx", "digits_vae.test_recon.npy");
}

fn check_against_onnxruntime(model: &str) {
    let refs =
        support::read_npz(&support::oracle_data("fixtures").join(model.replace(".onnx", ".npz")));
    let g = pare_onnx::import_file(&support::fixture(model)).expect("import");
    let inputs: Vec<Tensor> = g
        .inputs
        .iter()
        .map(|&v| {
            let key = format!("in_{}", g.value(v).name);
            refs.iter()
                .find(|(n, _)| *n == key)
                .unwrap_or_else(|| panic!("{key} in refs"))
                .1
                .clone()
        })
        .collect();
    for (label, graph) in [("imported", g.clone()), ("cleanup", cleanup(&g))] {
        let got = pare_ir::interp::run(&graph, &inputs).expect("run");
        for (&v, t) in graph.outputs.iter().zip(&got) {
            let key = format!("out_{}", graph.value(v).name);
            let want = &refs
                .iter()
                .find(|(n, _)| *n == key)
                .unwrap_or_else(|| panic!("{key} in refs"))
                .1;
            let rel = support::max_rel_diff(t, want);
            println!("{model} ({label}) {key}: max diff vs onnxruntime = {rel:.3e} of max |ref|");
            assert!(
                rel <= 1e-4,
                "{model} ({label}) {key} differs from onnxruntime by {rel} (relative)"
            );
        }
    }
}

#[test]
fn mobilenet_v2_matches_onnxruntime() {
    check_against_onnxruntime("mobilenet_v2.onnx");
}

#[test]
fn mobilenet_v3_small_matches_onnxruntime() {
    check_against_onnxruntime("mobilenet_v3_small.onnx");
}

#[test]
fn digits_models_match_onnxruntime_too() {
    for m in [
        "digits_cnn.onnx",
        "digits_transformer.onnx",
        "micro_cnn.onnx",
        "digits_vae.onnx",
    ] {
        check_against_onnxruntime(m);
    }
}
