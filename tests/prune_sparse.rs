//! Unstructured pruning stored sparse: the integer interpreter gives bit-identical
//! outputs on the same int8/int4 codes stored dense and sparse (micro CNN, pruned,
//! quantized, then sparse-encoded); the bytes drop; bad options are clear errors.

mod support;

use pare_ir::{Graph, Tensor};
use pare_passes::{pipeline_from_spec, PassCx, PassManager, PassOptions};

fn run_spec(g: &mut Graph, spec: &str) -> Result<PassCx, pare_passes::PassError> {
    let mut p = pipeline_from_spec(spec)?;
    let mut cx = PassCx::new(PassOptions {
        verify: true,
        ..PassOptions::default()
    });
    PassManager::new().run(&mut p, g, &mut cx)?;
    Ok(cx)
}

fn micro_cnn() -> Graph {
    pare_onnx::import_file(&support::fixture("micro_cnn.onnx")).expect("import micro_cnn")
}

/// Eight seeded inputs of micro_cnn's own shape (batch 8).
fn inputs(g: &Graph) -> Vec<Tensor> {
    let ty = &g.value(g.inputs[0]).ty;
    let mut shape: Vec<usize> = ty
        .shape
        .iter()
        .map(|d| match d {
            pare_ir::Dim::Fixed(n) => *n as usize,
            pare_ir::Dim::Sym(_) => 8,
        })
        .collect();
    shape[0] = 8;
    let n: usize = shape.iter().product();
    let mut rng = fastrand::Rng::with_seed(13);
    vec![Tensor::from_vec(shape, (0..n).map(|_| rng.f32()).collect()).unwrap()]
}

fn sparse_weights(g: &Graph) -> usize {
    g.weights().filter(|(_, w)| w.is_sparse()).count()
}

#[test]
fn integer_interpreter_is_bit_exact_on_sparse_codes() {
    for scheme in ["int8", "int4"] {
        let mut dense = micro_cnn();
        run_spec(
            &mut dense,
            &format!(
                "fold-batchnorm,prune-unstructured{{ratio=0.5}},quantize{{scheme={scheme},calib=random:32:1}},sparse-encode{{min-saving=0.99}}"
            ),
        )
        .expect("prune and quantize");
        assert_eq!(
            sparse_weights(&dense),
            0,
            "{scheme}: min-saving 0.99 keeps every weight dense"
        );
        let mut sparse = dense.clone();
        let cx = run_spec(&mut sparse, "sparse-encode").expect("sparse-encode");
        let encoded = sparse_weights(&sparse);
        assert!(
            encoded >= 2,
            "{scheme}: the pruned weights are stored sparse ({encoded}); log: {:?}",
            cx.log
        );
        // The quantized weights hold codes, and the sparse ones are the same codes.
        for ((_, a), (_, b)) in dense.weights().zip(sparse.weights()) {
            assert_eq!(a.bytes(), b.bytes());
            assert!(b.stored_len() <= a.stored_len());
        }
        let before = pare_ir::analysis::weight_bytes(&dense);
        let after = pare_ir::analysis::weight_bytes(&sparse);
        assert!(
            after < before,
            "{scheme}: {after} stored bytes, dense {before}"
        );
        let x = inputs(&dense);
        let a = pare_ir::interp::run(&dense, &x).expect("dense run");
        let b = pare_ir::interp::run(&sparse, &x).expect("sparse run");
        assert_eq!(a.len(), b.len());
        for (ta, tb) in a.iter().zip(&b) {
            assert_eq!(ta.dtype(), tb.dtype());
            assert_eq!(
                ta.to_le_bytes(),
                tb.to_le_bytes(),
                "{scheme}: outputs differ"
            );
        }
        // The quantized graph really runs on integer codes.
        assert!(
            sparse
                .weights()
                .any(|(_, w)| w.is_sparse() && w.ty.quant.is_some()),
            "{scheme}: a quantized weight is sparse"
        );
    }
}

#[test]
fn bad_options_are_clear_errors() {
    let cases: &[(&str, &str)] = &[
        ("prune-unstructured{ratio=1}", "ratio 1 is out of range"),
        (
            "prune-unstructured{ratio=-0.1}",
            "ratio -0.1 is out of range",
        ),
        ("prune-unstructured{ratio=0.5,pattern=2:4}", "give one"),
        ("prune-unstructured{pattern=3:5}", "one of none, 1:2"),
        (
            "sparse-encode{min-saving=1}",
            "min-saving 1 is out of range",
        ),
    ];
    for (spec, want) in cases {
        let e = pipeline_from_spec(spec)
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(e.contains(want), "{spec}: `{e}` lacks `{want}`");
    }
    let mut g = micro_cnn();
    let e = run_spec(&mut g, "prune-unstructured{keep=conv9}")
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("keep names node `conv9`, which the graph does not have"),
        "{e}"
    );
}

#[test]
fn global_pruning_reaches_the_ratio_and_keep_protects() {
    let mut g = micro_cnn();
    let kept = g
        .nodes()
        .find(|(_, n)| matches!(n.op, pare_ir::Op::Gemm { .. } | pare_ir::Op::MatMul {}))
        .map(|(_, n)| n.name.clone())
        .expect("micro_cnn has a classifier");
    let before: Vec<Vec<u8>> = g.weights().map(|(_, w)| w.bytes().to_vec()).collect();
    let cx = run_spec(
        &mut g,
        &format!("prune-unstructured{{ratio=0.5,keep={kept}}}"),
    )
    .expect("prune");
    let summary = &cx.log.last().expect("a note").message;
    assert!(summary.contains("global threshold"), "{summary}");
    // The kept layer's weight is untouched.
    let (_, head) = g.nodes().find(|(_, n)| n.name == kept).unwrap();
    let w = g.weight_of(head.inputs[1].unwrap()).unwrap();
    assert!(!w.is_sparse());
    assert!(before.iter().any(|b| b == w.bytes()));
    // Half of every other conv/gemm weight's elements over all layers are zero.
    let (mut zeros, mut total) = (0usize, 0usize);
    for (_, n) in g.nodes() {
        if n.name == kept || !matches!(n.op, pare_ir::Op::Conv { .. } | pare_ir::Op::Gemm { .. }) {
            continue;
        }
        let t = g.weight_of(n.inputs[1].unwrap()).unwrap().tensor().unwrap();
        let v = t.as_slice::<f32>().unwrap();
        zeros += v.iter().filter(|x| **x == 0.0).count();
        total += v.len();
    }
    assert_eq!(zeros, (total as f64 * 0.5).round() as usize, "{:?}", cx.log);
}
