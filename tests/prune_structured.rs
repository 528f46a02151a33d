//! Structured pruning on the larger fixtures: MobileNetV2 (residual chains
//! and depthwise convs) and the digits transformer (heads through reshapes
//! and transposes, FFN units) pruned by half verify clean, export to ONNX,
//! and onnxruntime runs the pruned model to the same outputs as pare's
//! interpreter; MACs and params drop as the groups say.

mod support;

use pare_ir::Tensor;
use pare_passes::prune::PruneStructured;
use pare_passes::{PassCx, PassManager, PassOptions, Pipeline, Step};

fn prune(model: &str, ratio: f64, keep: &[&str]) -> (pare_ir::Graph, pare_ir::Graph, PassCx) {
    let mut g = pare_onnx::import_file(&support::fixture(model)).expect("import");
    pare_passes::run_pipeline(&mut g, "cleanup").expect("cleanup");
    let before = g.clone();
    let pass = PruneStructured {
        data: None,
        refit: false,
        ratio,
        importance: "l2",
        scope: pare_passes::prune::structured::select::Scope::Group,
        multiple: 1,
        keep: keep.iter().map(|s| s.to_string()).collect(),
    };
    let mut cx = PassCx::new(PassOptions {
        verify: true,
        ..PassOptions::default()
    });
    let mut p = Pipeline::new("prune", vec![Step::Once(Box::new(pass))]);
    PassManager::new()
        .run(&mut p, &mut g, &mut cx)
        .expect("prune and verify");
    (before, g, cx)
}

fn random_input(g: &pare_ir::Graph, seed: u64) -> Tensor {
    let ty = g.ty(g.inputs[0]);
    let shape: Vec<usize> = ty
        .shape
        .iter()
        .map(|d| d.fixed().unwrap_or(1) as usize)
        .collect();
    let mut rng = fastrand::Rng::with_seed(seed);
    let n = shape.iter().product();
    Tensor::from_vec(
        shape,
        (0..n).map(|_| rng.f32() * 2.0 - 1.0).collect::<Vec<f32>>(),
    )
    .unwrap()
}

fn onnxruntime_agrees(g: &pare_ir::Graph, name: &str) {
    let dir = support::scratch_dir("prune_structured");
    let path = dir.join(format!("{name}.onnx"));
    pare_onnx::export_file(g, &path, &pare_onnx::ExportOptions::default()).expect("export");
    let x = random_input(g, 7);
    let ours = pare_ir::interp::run(g, std::slice::from_ref(&x)).expect("interp")[0].to_f32_vec();
    // The input goes through a raw f32 file: MobileNet's is too long for argv.
    let raw = dir.join(format!("{name}.f32"));
    let bytes: Vec<u8> = x
        .to_f32_vec()
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    std::fs::write(&raw, bytes).unwrap();
    let script = format!(
        "import sys, numpy as np, onnx, onnxruntime as ort\n\
         onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)\n\
         s = ort.InferenceSession(sys.argv[1], providers=['CPUExecutionProvider'])\n\
         x = np.fromfile(sys.argv[2], dtype='<f4').reshape({:?})\n\
         print(' '.join(repr(float(v)) for v in s.run(None, {{s.get_inputs()[0].name: x}})[0].ravel()))",
        x.shape()
    );
    let out = std::process::Command::new(support::python())
        .arg("-c")
        .arg(script)
        .arg(&path)
        .arg(&raw)
        .output()
        .expect("run the oracle Python");
    assert!(
        out.status.success(),
        "onnxruntime on {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Vec<f32> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(|s| s.parse::<f64>().expect("a float") as f32)
        .collect();
    assert_eq!(ours.len(), theirs.len());
    // Relative to the output scale: the MobileNet fixtures are untrained, their
    // logits are ~1e-9.
    let scale = ours.iter().fold(f32::MIN_POSITIVE, |m, v| m.max(v.abs()));
    let err = ours
        .iter()
        .zip(&theirs)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    println!("{name}: max |pare - onnxruntime| = {err:.3e} (outputs up to {scale:.3e})");
    assert!(
        err <= 1e-4 * scale,
        "{name}: onnxruntime differs by {err} (scale {scale})"
    );
}

#[test]
fn mobilenet_v2_half_pruned_runs_in_onnxruntime_as_in_pare() {
    let (before, after, cx) = prune("mobilenet_v2.onnx", 0.5, &[]);
    let macs = |g: &pare_ir::Graph| pare_ir::analysis::total_macs(g).unwrap();
    let params = pare_ir::analysis::param_count;
    println!(
        "MobileNetV2 50 %: MACs {} -> {}, params {} -> {}",
        macs(&before),
        macs(&after),
        params(&before),
        params(&after)
    );
    assert!(
        macs(&after) * 10 < macs(&before) * 4,
        "MACs should drop to well under half"
    );
    assert!(params(&after) < params(&before) / 2);
    let report = &cx.prune[0];
    // The inverted-residual chains are groups of several projection convs.
    assert!(report.groups.iter().any(|g| g.layers.len() >= 3));
    // The classifier's channels are the logits.
    assert!(report.groups.iter().any(|g| g
        .reason
        .as_deref()
        .is_some_and(|r| r.contains("graph output"))));
    onnxruntime_agrees(&after, "mobilenet_v2_half");
}

#[test]
fn transformer_heads_and_ffn_prune_through_reshapes() {
    let (_, after, cx) = prune("digits_transformer.onnx", 0.5, &["Gemm_2"]);
    let report = &cx.prune[0];
    let heads = report
        .groups
        .iter()
        .find(|g| g.channels_per_class == 24)
        .expect("the attention heads, 8 query + 8 key + 8 value channels each");
    assert_eq!((heads.classes_before, heads.classes_after), (4, 2));
    let ffn = report
        .groups
        .iter()
        .find(|g| g.layers == ["Gemm_8"])
        .expect("the FFN's hidden units");
    assert_eq!((ffn.classes_before, ffn.classes_after), (64, 32));
    // The model dim is protected through Gemm_2 (it is the residual stream).
    assert!(report
        .groups
        .iter()
        .any(|g| g.layers.contains(&"Gemm_2".to_string()) && g.classes_after == g.classes_before));
    onnxruntime_agrees(&after, "transformer_half");
}
