//! The op the fusion passes added through the op table: `silu` (`x·sigmoid(x)`,
//! an ATen op with no ONNX operator up to opset 21). Its row gives the float
//! kernel, the lookup table and the torch.export mapping; the ONNX exporter
//! spells it `Mul(x, Sigmoid(x))`, and onnxruntime runs that form for the float
//! and the QDQ export alike. `fuse-activations` turns the written-out form back
//! into `silu` on import, so export → import → cleanup is a fixpoint.

mod support;

use pare_ir::quant::{dequantize_f32, is_lut_op, qrange, quantize_f32, unary_lut};
use pare_ir::{Graph, Op, QParams, Tensor};
use std::path::Path;

fn silu(x: f64) -> f64 {
    x / (1.0 + (-x).exp())
}

const PIR: &str = "graph @g(%x \"x\": f32[N,4]) -> (f32[N,4]) {\n  %y \"y\": f32[N,4] = silu(%x)\n  return %y\n}\n";

fn parse(src: &str) -> Graph {
    pare_ir::text::parse(src).unwrap_or_else(|e| panic!("{e}"))
}

fn inputs() -> Tensor {
    let x: Vec<f32> = (0..24).map(|i| (i as f32 - 11.5) * 0.9).collect();
    Tensor::from_vec(vec![6, 4], x).expect("tensor")
}

#[test]
fn interpreter_lookup_table_and_torch_mapping() {
    let g = parse(PIR);
    let x = inputs();
    let y = pare_ir::interp::run(&g, std::slice::from_ref(&x)).unwrap_or_else(|e| panic!("{e}"));
    for (got, x) in y[0].to_f32_vec().iter().zip(x.to_f32_vec()) {
        let want = silu(f64::from(x)) as f32;
        assert!(
            (got - want).abs() <= 2.0 * f32::EPSILON * want.abs().max(1e-30),
            "silu({x}) = {got}, want {want}"
        );
    }
    let op = Op::bare("silu").expect("silu is attribute-free");
    assert!(is_lut_op(&op));
    let q = |scale: f32, zp: i32| QParams {
        bits: 8,
        signed: true,
        scale: vec![scale],
        zero_point: vec![zp],
        axis: None,
    };
    let (in_q, out_q) = (q(0.05, 3), q(0.03, -110));
    let table = unary_lut(&op, &in_q, &out_q, &[]).unwrap_or_else(|e| panic!("{e}"));
    let ((lo, hi), (olo, ohi)) = (qrange(&in_q), qrange(&out_q));
    let want: Vec<i32> = (lo..=hi)
        .map(|c| silu(f64::from(dequantize_f32(c, 0.05, 3))) as f32)
        .map(|v| quantize_f32(v, 0.03, -110, olo, ohi))
        .collect();
    assert_eq!(table, want);
    assert_eq!(
        pare_ir::ops::by_aten_target("aten.silu.default").map(|(n, _)| n),
        Some("silu")
    );
}

fn export(g: &Graph, path: &Path) {
    pare_onnx::export_file(g, path, &pare_onnx::ExportOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
}

fn op_names(g: &Graph) -> Vec<&'static str> {
    g.nodes().map(|(_, n)| n.op.name()).collect()
}

#[test]
fn float_export_runs_in_onnxruntime_and_fuses_back() {
    let dir = support::scratch_dir("op_silu_float");
    let g = parse(PIR);
    let path = dir.join("silu.onnx");
    export(&g, &path);
    let x = inputs();
    let ours = pare_ir::interp::run(&g, std::slice::from_ref(&x)).unwrap_or_else(|e| panic!("{e}"));
    let theirs = support::onnxruntime_output(&path, &x);
    for (a, b) in ours[0].to_f32_vec().iter().zip(&theirs) {
        assert!(
            (a - b).abs() <= 1e-6 * a.abs().max(1.0),
            "pare {a}, onnxruntime {b}"
        );
    }
    // ONNX has no SiLU: the file holds Sigmoid and Mul, which cleanup fuses again.
    let mut back = pare_onnx::import_file(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(op_names(&back), ["sigmoid", "mul"]);
    pare_passes::run_pipeline(&mut back, "cleanup").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(op_names(&back), ["silu"]);
}

#[test]
fn quantized_export_runs_in_onnxruntime() {
    let dir = support::scratch_dir("op_silu_qdq");
    let src = "graph @g(%x \"x\": f32[N,4]) -> (f32[N,4]) {\n  $w \"w\": f32[4,4] = [0.5, -1.0, 0.25, 2.0, 1.5, 0.5, -0.75, 0.1, -0.3, 0.8, 1.2, -1.1, 0.6, -0.2, 0.9, 0.4]\n  %h \"h\": f32[N,4] = matmul(%x, $w)\n  %y \"y\": f32[N,4] = silu(%h)\n  return %y\n}\n";
    let mut g = parse(src);
    let mut p = pare_passes::pipeline_from_spec("quantize{scheme=int8,calib=random:64:1:uniform}")
        .unwrap_or_else(|e| panic!("{e}"));
    pare_passes::PassManager::new()
        .run(
            &mut p,
            &mut g,
            &mut pare_passes::PassCx::new(Default::default()),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let silu_node = g
        .nodes()
        .find(|(_, n)| matches!(n.op, Op::Silu {}))
        .map(|(_, n)| n.outputs[0])
        .expect("the silu survives quantization");
    let out_scale = f64::from(
        g.ty(silu_node)
            .quant
            .as_ref()
            .expect("silu is quantized")
            .scale[0],
    );
    let path = dir.join("silu_int8.onnx");
    export(&g, &path);
    let x = Tensor::from_vec(
        vec![16, 4],
        (0..64)
            .map(|i| ((i * 37 % 64) as f32 / 32.0) - 1.0)
            .collect::<Vec<f32>>(),
    )
    .expect("tensor");
    let ours = pare_ir::interp::run(&g, std::slice::from_ref(&x)).unwrap_or_else(|e| panic!("{e}"));
    let theirs = support::onnxruntime_output(&path, &x);
    // onnxruntime computes the float SiLU between dequantize and quantize, pare
    // looks it up in a table built from the same float function: the same codes
    // but where a value lies within rounding of a quantization step.
    let ours = ours[0].to_f64_vec();
    assert_eq!(ours.len(), theirs.len());
    let worst = ours
        .iter()
        .zip(&theirs)
        .map(|(a, b)| (a - f64::from(*b)).abs())
        .fold(0.0, f64::max);
    assert!(
        worst <= 1.01 * out_scale,
        "max |pare − onnxruntime| = {worst}, output scale {out_scale}"
    );
}
