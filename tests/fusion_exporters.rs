//! The fusion passes on what exporters really write: models torch.onnx exported
//! at opsets 13 and 16 (`tests/data/fusion/`, written by
//! `tests/oracle/make_torch_fusion_models.py`), where LayerNorm, GELU (erf and
//! tanh), SiLU, HardSwish, HardSigmoid and Softmax come out as elementary ops
//! or their older forms. After `cleanup` each is one op, and the graph computes
//! what onnxruntime computes on the file.

mod support;

use pare_ir::{Graph, Tensor};
use std::collections::BTreeMap;

fn op_counts(g: &Graph) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for (_, n) in g.nodes() {
        *m.entry(n.op.name()).or_insert(0) += 1;
    }
    m
}

fn input(seed: u64) -> Tensor {
    let mut rng = fastrand::Rng::with_seed(seed);
    let x: Vec<f32> = (0..4 * 3 * 8).map(|_| rng.f32() * 6.0 - 3.0).collect();
    Tensor::from_vec(vec![4, 3, 8], x).expect("tensor")
}

#[test]
fn torch_onnx_exports_fuse_into_single_ops() {
    for opset in [13, 16] {
        let path = support::repo_root().join(format!("tests/data/fusion/torch_opset{opset}.onnx"));
        let g = pare_onnx::import_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut fused = g.clone();
        pare_passes::run_pipeline(&mut fused, "cleanup").unwrap_or_else(|e| panic!("{e}"));
        let ops = op_counts(&fused);
        let want = BTreeMap::from([
            // The five sums of the block's outputs and the linear layer's bias.
            ("add", 6),
            ("gelu", 2),
            ("hard_sigmoid", 1),
            ("hard_swish", 1),
            ("layer_normalization", 1),
            ("matmul", 1),
            ("silu", 1),
            ("softmax", 1),
        ]);
        assert_eq!(ops, want, "opset {opset}: as imported {:?}", op_counts(&g));
        for seed in 0..2 {
            let x = input(seed);
            let before = pare_ir::interp::run(&g, std::slice::from_ref(&x)).expect("run");
            let after = pare_ir::interp::run(&fused, std::slice::from_ref(&x)).expect("run");
            let ort = support::onnxruntime_output(&path, &x);
            let ort = Tensor::from_vec(x.shape().to_vec(), ort).expect("tensor");
            let d_self = support::max_rel_diff(&after[0], &before[0]);
            let d_ort = support::max_rel_diff(&after[0], &ort);
            assert!(
                d_self <= 1e-5,
                "opset {opset}: fused vs as written {d_self:e}"
            );
            assert!(
                d_ort <= 1e-5,
                "opset {opset}: fused vs onnxruntime {d_ort:e}"
            );
        }
    }
}
