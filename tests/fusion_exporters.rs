//! The fusion passes on what exporters really write: models torch.onnx exported
//! at opsets 13 and 16 (`tests/data/fusion/`, written by
//! `tests/oracle/make_torch_fusion_models.py`), where LayerNorm, GELU (erf and
//! tanh), SiLU, HardSwish, HardSigmoid and Softmax come out as elementary ops
//! or their older forms. After `cleanup` each is one op, and the graph computes
//! what onnxruntime computes on the file. Then the same patterns written after
//! a matmul quantize as one int8 kernel each, LayerNorm as one float island.

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

/// A layer's output written out as each pattern, after an integer matmul.
const WRITTEN_OUT: &str = "graph @patterns(%x \"x\": f32[N,6]) -> (f32[N,6], f32[N,6], f32[N,6], f32[N,6], f32[N,6], f32[N,6]) {
  $w \"w\": f32[6,6] = [0.5, -0.2, 0.1, 0.3, -0.4, 0.2, 0.1, 0.6, -0.3, 0.2, 0.1, -0.5, -0.2, 0.1, 0.7, -0.1, 0.3, 0.2, 0.3, 0.2, -0.1, 0.5, 0.2, -0.3, -0.1, 0.4, 0.2, -0.2, 0.6, 0.1, 0.2, -0.3, 0.1, 0.4, -0.2, 0.5]
  $axes \"axes\": i64[1] = [-1]
  $sqrt2 \"sqrt2\": f32[] = [1.4142135]
  $one \"one\": f32[] = [1.0]
  $half \"half\": f32[] = [0.5]
  $three \"three\": f32[] = [3.0]
  $zero \"zero\": f32[] = [0.0]
  $six \"six\": f32[] = [6.0]
  $two \"two\": f32[] = [2.0]
  $eps \"eps\": f32[] = [1e-5]
  %h \"h\": f32[N,6] = matmul(%x, $w)
  %d \"d\": f32[N,6] = div(%h, $sqrt2)
  %e \"e\": f32[N,6] = erf(%d)
  %e1 \"e1\": f32[N,6] = add(%e, $one)
  %he \"he\": f32[N,6] = mul(%h, %e1)
  %gelu \"gelu\": f32[N,6] = mul(%he, $half)
  %s \"s\": f32[N,6] = sigmoid(%h)
  %silu \"silu\": f32[N,6] = mul(%h, %s)
  %h3 \"h3\": f32[N,6] = add(%h, $three)
  %c \"c\": f32[N,6] = clip(%h3, $zero, $six)
  %hc \"hc\": f32[N,6] = mul(%h, %c)
  %hswish \"hswish\": f32[N,6] = div(%hc, $six)
  %h3b \"h3b\": f32[N,6] = add(%h, $three)
  %cb \"cb\": f32[N,6] = clip(%h3b, $zero, $six)
  %hsig \"hsig\": f32[N,6] = div(%cb, $six)
  %mx \"mx\": f32[N,1] = reduce_max(%h, $axes) {keepdims=true, noop_with_empty_axes=false}
  %sh \"sh\": f32[N,6] = sub(%h, %mx)
  %ex \"ex\": f32[N,6] = exp(%sh)
  %sm \"sm\": f32[N,1] = reduce_sum(%ex, $axes) {keepdims=true, noop_with_empty_axes=false}
  %softmax \"softmax\": f32[N,6] = div(%ex, %sm)
  %m \"m\": f32[N,1] = reduce_mean(%h, $axes) {keepdims=true, noop_with_empty_axes=false}
  %dm \"dm\": f32[N,6] = sub(%h, %m)
  %p \"p\": f32[N,6] = pow(%dm, $two)
  %v \"v\": f32[N,1] = reduce_mean(%p, $axes) {keepdims=true, noop_with_empty_axes=false}
  %ve \"ve\": f32[N,1] = add(%v, $eps)
  %sd \"sd\": f32[N,1] = sqrt(%ve)
  %ln \"ln\": f32[N,6] = div(%dm, %sd)
  return %gelu, %silu, %hswish, %hsig, %softmax, %ln
}
";

/// After the fusions quantization sees one layer each: GELU, SiLU, HardSwish
/// and HardSigmoid run as int8 lookup tables, Softmax on its integer kernel,
/// and the LayerNorm stays one float island (with its reason in the report).
#[test]
fn fused_layers_quantize_as_one_kernel_or_one_float_island() {
    let mut g = pare_ir::text::parse(WRITTEN_OUT).unwrap_or_else(|e| panic!("{e}"));
    pare_passes::run_pipeline(&mut g, "cleanup").unwrap_or_else(|e| panic!("{e}"));
    let ln = g
        .nodes()
        .find(|(_, n)| n.op.name() == "layer_normalization")
        .map(|(_, n)| n.clone())
        .expect("the LayerNorm fused");
    let why = pare_passes::quantize::support::classify(&g, &ln).unwrap_err();
    assert!(why.contains("float island: no integer kernel"), "{why}");
    let mut p = pare_passes::pipeline_from_spec("quantize{scheme=int8,calib=random:64:1:normal}")
        .unwrap_or_else(|e| panic!("{e}"));
    pare_passes::PassManager::new()
        .run(
            &mut p,
            &mut g,
            &mut pare_passes::PassCx::new(Default::default()),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let mut seen = BTreeMap::new();
    for (_, n) in g.nodes() {
        let name = n.op.name();
        let quantized = g.ty(n.outputs[0]).quant.is_some();
        match name {
            "gelu" | "silu" | "hard_swish" | "hard_sigmoid" | "softmax" => {
                assert!(quantized, "{name} stayed float");
            }
            "layer_normalization" => assert!(!quantized, "layer_normalization was quantized"),
            _ => continue,
        }
        *seen.entry(name).or_insert(0) += 1;
    }
    assert_eq!(
        seen,
        BTreeMap::from([
            ("gelu", 1),
            ("hard_sigmoid", 1),
            ("hard_swish", 1),
            ("layer_normalization", 1),
            ("silu", 1),
            ("softmax", 1),
        ])
    );
}
