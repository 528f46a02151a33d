//! Declared dims: `dim_value: -1` (PaddlePaddle's exporter writes it for an unknown
//! dim; onnxruntime reads it as dynamic) imports as a symbolic dim, other negative
//! values are errors naming the value; paddle2onnx's `dim_param: "?"` placeholders are
//! each their own symbol.

mod common;

use common::build::*;
use pare_ir::{Dim, Tensor};
use pare_onnx::import_bytes;
use pare_onnx::proto::{tensor_shape_proto, ValueInfoProto};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// `vi(name, [4])` with a leading dim written as `dim_value: first`.
fn with_leading_value(name: &str, first: i64) -> ValueInfoProto {
    let mut v = vi(name, &[1, 4]);
    if let Some(pare_onnx::proto::TypeProto {
        value: Some(pare_onnx::proto::type_proto::Value::TensorType(t)),
        ..
    }) = &mut v.r#type
    {
        if let Some(shape) = &mut t.shape {
            shape.dim[0].value = Some(tensor_shape_proto::dimension::Value::DimValue(first));
        }
    }
    v
}

fn relu(first: i64) -> pare_onnx::proto::ModelProto {
    model(
        17,
        vec![node("Relu", "r", &["x"], &["y"], vec![])],
        vec![],
        vec![with_leading_value("x", first)],
        vec![with_leading_value("y", first)],
    )
}

#[test]
fn minus_one_is_a_dynamic_dim() -> TestResult {
    let g = import_bytes(&bytes(&relu(-1)), None, "paddle.onnx")?;
    let x = g.ty(g.inputs[0]);
    assert!(matches!(x.shape[0], Dim::Sym(_)), "{x}");
    assert_eq!(x.shape[1], Dim::Fixed(4));
    // Any batch size runs.
    for n in [1usize, 3] {
        let input = Tensor::from_vec(vec![n, 4], (0..4 * n).map(|i| i as f32 - 5.0).collect())?;
        let y = pare_ir::interp::run(&g, &[input])?;
        assert_eq!(y[0].shape(), &[n, 4]);
        assert!(y[0].to_f32_vec().iter().all(|&v| v >= 0.0));
    }
    Ok(())
}

#[test]
fn other_negative_dims_are_errors() {
    let e = import_bytes(&bytes(&relu(-2)), None, "bad.onnx")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("negative dim -2") && e.contains("`x`"), "{e}");
}

/// `x: [N, ?, ?]` as paddle2onnx writes PP-OCR's inputs (`dim_param: "?"` for each
/// unknown dim).
fn with_question_marks() -> pare_onnx::proto::ModelProto {
    use tensor_shape_proto::dimension::Value;
    let mut x = vi("x", &[1, 1, 1]);
    if let Some(pare_onnx::proto::TypeProto {
        value: Some(pare_onnx::proto::type_proto::Value::TensorType(t)),
        ..
    }) = &mut x.r#type
    {
        if let Some(shape) = &mut t.shape {
            shape.dim[1].value = Some(Value::DimParam("?".into()));
            shape.dim[2].value = Some(Value::DimParam("?".into()));
        }
    }
    let mut y = x.clone();
    y.name = Some("y".into());
    model(
        11,
        vec![node("Relu", "r", &["x"], &["y"], vec![])],
        vec![],
        vec![x],
        vec![y],
    )
}

#[test]
fn question_mark_dims_are_distinct_symbols() -> TestResult {
    let g = import_bytes(&bytes(&with_question_marks()), None, "ppocr.onnx")?;
    let x = g.ty(g.inputs[0]);
    match (&x.shape[1], &x.shape[2]) {
        (Dim::Sym(h), Dim::Sym(w)) => assert_ne!(h, w, "{x}"),
        _ => panic!("expected two symbolic dims: {x}"),
    }
    // Height and width differ, as in PP-OCR's 48x192 text lines.
    let input = Tensor::from_vec(vec![1, 3, 5], (0..15).map(|i| i as f32 - 7.0).collect())?;
    let y = pare_ir::interp::run(&g, &[input])?;
    assert_eq!(y[0].shape(), &[1, 3, 5]);
    Ok(())
}
