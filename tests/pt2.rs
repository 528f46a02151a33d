//! The PyTorch front end end to end: every `.pt2` fixture run by pare's interpreter
//! against PyTorch's committed outputs (digits models, 1e-4 abs) or onnxruntime on
//! the same model's `.onnx` (MobileNetV3-small, 1e-4 relative); the `.pt2` and
//! `.onnx` imports computing the same function after cleanup; and ONNX exported
//! from a `.pt2` import checked by `onnx.checker` and onnxruntime.

mod support;

use pare_ir::{Graph, Tensor};
use std::process::Command;

const DIGITS: [(&str, &str); 4] = [
    ("micro_cnn", "micro_cnn.test_logits.npy"),
    ("digits_cnn", "digits_cnn.test_logits.npy"),
    ("digits_transformer", "digits_transformer.test_logits.npy"),
    ("digits_vae", "digits_vae.test_recon.npy"),
];

const ALL: [&str; 5] = [
    "micro_cnn",
    "digits_cnn",
    "digits_transformer",
    "digits_vae",
    "mobilenet_v3_small",
];

fn import(model: &str) -> Graph {
    let path = support::fixture(&format!("{model}.pt2"));
    pare_pt2::import_file(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn cleanup(g: &Graph) -> Graph {
    let mut g = g.clone();
    pare_passes::run_pipeline(&mut g, "cleanup").expect("cleanup pipeline");
    g
}

fn fixed_shape(g: &Graph, i: usize) -> Vec<usize> {
    g.ty(g.inputs[i])
        .fixed_shape()
        .expect("fixture inputs have fixed shapes")
        .iter()
        .map(|&d| d as usize)
        .collect()
}

fn random_input(g: &Graph, seed: u64) -> Tensor {
    let shape = fixed_shape(g, 0);
    let mut rng = fastrand::Rng::with_seed(seed);
    let n: usize = shape.iter().product();
    Tensor::from_vec(shape, (0..n).map(|_| rng.f32() * 2.0 - 1.0).collect()).expect("tensor")
}

/// The exported programs take one `[1,1,8,8]` image: run the 500 test digits one
/// at a time and stack the outputs.
fn run_digits(g: &Graph, x: &Tensor) -> Tensor {
    let per = 64;
    let xs = x.to_f32_vec();
    let mut out = Vec::new();
    let mut item_shape = Vec::new();
    for img in xs.chunks(per) {
        let t = Tensor::from_vec(vec![1, 1, 8, 8], img.to_vec()).expect("image");
        let y = pare_ir::interp::run(g, &[t]).expect("run");
        item_shape = y[0].shape()[1..].to_vec();
        out.extend(y[0].to_f32_vec());
    }
    let mut shape = vec![xs.len() / per];
    shape.extend(item_shape);
    Tensor::from_vec(shape, out).expect("stacked outputs")
}

#[test]
fn digits_pt2_match_pytorch() {
    let x = support::read_npz(&support::fixture("digits.npz"))
        .into_iter()
        .find(|(n, _)| n == "x_test")
        .expect("x_test in digits.npz")
        .1;
    for (model, reference) in DIGITS {
        let g = import(model);
        let want = support::read_npy(&support::fixture(reference));
        for (label, graph) in [("imported", g.clone()), ("cleanup", cleanup(&g))] {
            let got = run_digits(&graph, &x);
            let diff = support::max_abs_diff(&got, &want);
            println!("{model}.pt2 ({label}): max abs diff vs {reference} = {diff:.3e}");
            assert!(diff <= 1e-4, "{model}.pt2 ({label}) differs by {diff}");
        }
    }
}

#[test]
fn mobilenet_v3_small_pt2_matches_onnxruntime() {
    let refs = support::read_npz(&support::oracle_data("fixtures").join("mobilenet_v3_small.npz"));
    let get = |k: &str| {
        refs.iter()
            .find(|(n, _)| n == k)
            .unwrap_or_else(|| panic!("{k} in refs"))
            .1
            .clone()
    };
    let (input, want) = (get("in_input"), get("out_logits"));
    let g = import("mobilenet_v3_small");
    for (label, graph) in [("imported", g.clone()), ("cleanup", cleanup(&g))] {
        let got = pare_ir::interp::run(&graph, std::slice::from_ref(&input)).expect("run");
        let rel = support::max_rel_diff(&got[0], &want);
        println!(
            "mobilenet_v3_small.pt2 ({label}): max diff vs onnxruntime = {rel:.3e} of max |ref|"
        );
        assert!(
            rel <= 1e-4,
            "mobilenet_v3_small.pt2 ({label}) differs by {rel}"
        );
    }
}

#[test]
fn pt2_and_onnx_imports_compute_the_same_function() {
    for model in ALL {
        let a = cleanup(&import(model));
        let onnx = support::fixture(&format!("{model}.onnx"));
        let b = cleanup(&pare_onnx::import_file(&onnx).expect("onnx import"));
        for seed in 0..3 {
            let x = random_input(&a, seed);
            let ya = pare_ir::interp::run(&a, std::slice::from_ref(&x)).expect("run pt2");
            let yb = pare_ir::interp::run(&b, std::slice::from_ref(&x)).expect("run onnx");
            let rel = support::max_rel_diff(&ya[0], &yb[0]);
            println!("{model}: .pt2 vs .onnx (seed {seed}) max diff {rel:.3e} of max |onnx|");
            assert!(rel <= 1e-5, "{model}: .pt2 and .onnx differ by {rel}");
        }
    }
}

#[test]
fn onnx_exported_from_pt2_reimports_to_the_same_function() {
    let dir = support::scratch_dir("pt2_export");
    for model in ALL {
        let g = import(model);
        let path = dir.join(format!("{model}.onnx"));
        pare_onnx::export_file(&g, &path, &pare_onnx::ExportOptions::default()).expect("export");
        let again = pare_onnx::import_file(&path).expect("re-import");
        let x = random_input(&g, 7);
        let ya = pare_ir::interp::run(&g, std::slice::from_ref(&x)).expect("run");
        let yb = pare_ir::interp::run(&again, std::slice::from_ref(&x)).expect("run again");
        let diff = support::max_abs_diff(&ya[0], &yb[0]);
        assert_eq!(diff, 0.0, "{model}: export→import changed the outputs");
    }
}

/// onnx.checker (full check) and onnxruntime on the exported model, against
/// pare's interpreter on the `.pt2` import.
#[test]
fn onnx_exported_from_pt2_runs_in_onnxruntime() {
    let py = support::python();
    let dir = support::scratch_dir("pt2_export_ort");
    let script = r#"
import sys, numpy as np, onnx, onnxruntime as ort
path, xin, yout, xshape, yshape = sys.argv[1:6]
onnx.checker.check_model(onnx.load(path), full_check=True)
x = np.fromfile(xin, dtype='<f4').reshape([int(d) for d in xshape.split(',')])
want = np.fromfile(yout, dtype='<f4').reshape([int(d) for d in yshape.split(',')])
opts = ort.SessionOptions()
opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
s = ort.InferenceSession(path, opts, providers=['CPUExecutionProvider'])
got = s.run(None, {s.get_inputs()[0].name: x})[0]
rel = float(np.max(np.abs(got.astype(np.float64) - want)) / max(np.max(np.abs(want)), 1e-30))
print(f'max diff {rel:.3e} of max |pare|')
sys.exit(0 if got.shape == want.shape and rel <= 1e-4 else 1)
"#;
    let mut failures = Vec::new();
    for model in ALL {
        let g = import(model);
        let path = dir.join(format!("{model}.onnx"));
        pare_onnx::export_file(&g, &path, &pare_onnx::ExportOptions::default()).expect("export");
        let x = random_input(&g, 11);
        let y = pare_ir::interp::run(&g, std::slice::from_ref(&x)).expect("run");
        let bytes = |t: &Tensor| -> Vec<u8> {
            t.to_f32_vec()
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect()
        };
        let dims = |t: &Tensor| {
            t.shape()
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(",")
        };
        let (xin, yout) = (
            dir.join(format!("{model}.x.bin")),
            dir.join(format!("{model}.y.bin")),
        );
        std::fs::write(&xin, bytes(&x)).expect("write x");
        std::fs::write(&yout, bytes(&y[0])).expect("write y");
        let result = Command::new(&py)
            .args(["-c", script])
            .arg(&path)
            .arg(&xin)
            .arg(&yout)
            .arg(dims(&x))
            .arg(dims(&y[0]))
            .output()
            .expect("run python");
        let stdout = String::from_utf8_lossy(&result.stdout);
        print!("{model}.pt2 → onnx in onnxruntime: {stdout}");
        if !result.status.success() {
            failures.push(format!(
                "{model}: {stdout}{}",
                String::from_utf8_lossy(&result.stderr)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "exported models failed:\n{}",
        failures.join("\n")
    );
}
