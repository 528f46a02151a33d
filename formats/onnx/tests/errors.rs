//! Broken and unsupported models give errors naming what is wrong, never panics.

mod common;

use common::build::*;
use common::fixture;
use pare_onnx::proto::TensorProto;
use pare_onnx::{import_bytes, tensor_from_bytes, ErrorKind, OnnxError};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn import(m: &pare_onnx::proto::ModelProto) -> Result<pare_ir::Graph, OnnxError> {
    import_bytes(&bytes(m), None, "test.onnx")
}

fn err(m: &pare_onnx::proto::ModelProto) -> String {
    match import(m) {
        Ok(_) => panic!("expected an error"),
        Err(e) => {
            assert_eq!(e.source_name, "test.onnx");
            e.to_string()
        }
    }
}

fn relu_model(opset: i64) -> pare_onnx::proto::ModelProto {
    model(
        opset,
        vec![node("Relu", "r", &["x"], &["y"], vec![])],
        vec![],
        vec![vi("x", &[1, 4])],
        vec![vi("y", &[1, 4])],
    )
}

#[test]
fn truncated_and_garbled_bytes_are_errors() -> TestResult {
    let good = std::fs::read(fixture("digits_cnn.onnx"))?;
    let whole = import_bytes(&good, None, "cnn")?;
    // Cuts all through the file, and densely through its last KiB.
    let tail = good.len().saturating_sub(1024)..good.len();
    let cuts: Vec<usize> = (1..good.len())
        .step_by(997)
        .chain(tail.step_by(3))
        .collect();
    let mut failed = 0;
    for &cut in &cuts {
        // Many cuts fall inside raw_data and decode to a structurally short message,
        // and must fail cleanly. A cut at a field boundary after the graph (in trailing
        // optional fields such as metadata_props, where onnxsim writes its notes) leaves
        // a valid, shorter model: that one must import to exactly the same graph.
        match import_bytes(&good[..cut], None, "cnn") {
            Err(_) => failed += 1,
            Ok(g) => assert!(
                g == whole,
                "cut at {cut} of {} imports, but to a different graph",
                good.len()
            ),
        }
    }
    // Most cuts land inside the graph: the check above is not vacuous.
    assert!(
        failed * 2 > cuts.len(),
        "only {failed} of {} cuts failed",
        cuts.len()
    );
    // Flip bytes with a fixed LCG: any outcome but a panic is fine.
    let mut state = 0x2545_f491_u64;
    for _ in 0..200 {
        let mut b = good[..4096].to_vec();
        for _ in 0..8 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let i = (state >> 33) as usize % b.len();
            b[i] ^= (state >> 17) as u8;
        }
        let _ = import_bytes(&b, None, "garbled");
    }
    Ok(())
}

#[test]
fn versions_outside_the_supported_range() -> TestResult {
    for opset in [0, 22] {
        let e = err(&relu_model(opset));
        assert!(
            e.contains(&format!("opset {opset}")) && e.contains("1 to 21"),
            "{e}"
        );
    }
    assert!(import(&relu_model(11)).is_ok());
    assert!(import(&relu_model(21)).is_ok());
    for ir in [2, 12] {
        let mut m = relu_model(17);
        m.ir_version = Some(ir);
        let e = err(&m);
        assert!(
            e.contains(&format!("IR version {ir}")) && e.contains("3 to 11"),
            "{e}"
        );
    }
    Ok(())
}

/// Below opset 11 a model imports when each operator's definition at its opset is
/// the one pare reads (Relu's since opset 6); other nodes are named with the opsets.
#[test]
fn older_opsets_import_node_by_node() -> TestResult {
    for opset in [6, 9, 10] {
        assert!(import(&relu_model(opset)).is_ok(), "Relu at opset {opset}");
    }
    let e = err(&relu_model(5));
    assert!(
        e.contains("Relu")
            && e.contains("node `r`")
            && e.contains("opset 6")
            && e.contains("opset 5"),
        "{e}"
    );
    // Clip took its bounds as attributes before opset 11.
    let clip = model(
        9,
        vec![
            node("Relu", "r", &["x"], &["h"], vec![]),
            node("Clip", "c", &["h"], &["y"], vec![a_float("max", 6.0)]),
        ],
        vec![],
        vec![vi("x", &[1, 4])],
        vec![vi("y", &[1, 4])],
    );
    let e = err(&clip);
    assert!(
        e.contains("Clip")
            && e.contains("node `c`")
            && e.contains("opset 11")
            && e.contains("opset 9")
            && !e.contains("node `r`"),
        "{e}"
    );
    Ok(())
}

#[test]
fn unsupported_ops_are_all_listed() -> TestResult {
    let mut m = model(
        17,
        vec![
            node("Relu", "ok", &["x"], &["a"], vec![]),
            node("NonMaxSuppression", "nms", &["a"], &["b"], vec![]),
            node("FusedGemm", "fused", &["b"], &["c"], vec![]),
            node("Gelu", "too_new", &["c"], &["y"], vec![]),
        ],
        vec![],
        vec![vi("x", &[1, 4])],
        vec![vi("y", &[1, 4])],
    );
    m.graph.as_mut().ok_or("missing value")?.node[2].domain = Some("com.microsoft".into());
    m.opset_import.push(pare_onnx::proto::OperatorSetIdProto {
        domain: Some("com.microsoft".into()),
        version: Some(1),
    });
    let e = import(&m).unwrap_err();
    let ErrorKind::Unsupported(list) = &e.kind else {
        panic!("{e}");
    };
    let ops: Vec<_> = list
        .iter()
        .map(|u| (u.op_type.as_str(), u.node.as_str(), u.opset))
        .collect();
    assert_eq!(
        ops,
        [
            ("NonMaxSuppression", "nms", 17),
            ("FusedGemm", "fused", 1),
            ("Gelu", "too_new", 17)
        ]
    );
    let text = e.to_string();
    assert!(
        text.contains("com.microsoft") && text.contains("from opset 20"),
        "{text}"
    );
    Ok(())
}

#[test]
fn other_domains_are_fine_when_unused() -> TestResult {
    let mut m = relu_model(17);
    m.opset_import.push(pare_onnx::proto::OperatorSetIdProto {
        domain: Some("com.microsoft".into()),
        version: Some(1),
    });
    assert!(import(&m).is_ok());
    Ok(())
}

#[test]
fn raw_data_shorter_than_dims() -> TestResult {
    let mut w = f32_tensor("w", &[4, 4], &[0.0; 16]);
    w.raw_data.as_mut().ok_or("missing value")?.truncate(60);
    let m = model(
        17,
        vec![node("MatMul", "mm", &["x", "w"], &["y"], vec![])],
        vec![w],
        vec![vi("x", &[1, 4])],
        vec![vi("y", &[1, 4])],
    );
    let e = err(&m);
    assert!(
        e.contains("`w`") && e.contains("60 bytes") && e.contains("64"),
        "{e}"
    );
    Ok(())
}

#[test]
fn absurd_dims_are_refused_before_allocating() -> TestResult {
    let w = TensorProto {
        name: Some("w".into()),
        dims: vec![1 << 20, 1 << 20],
        data_type: Some(1),
        raw_data: Some(vec![0; 16]),
        ..TensorProto::default()
    };
    let m = model(
        17,
        vec![node("Add", "add", &["x", "w"], &["y"], vec![])],
        vec![w.clone()],
        vec![vi("x", &[1, 4])],
        vec![vi("y", &[1, 4])],
    );
    let e = err(&m);
    // Refused by comparing the declared size with the bytes present, not by
    // allocating 4 TiB.
    assert!(e.contains("`w`") && e.contains("4398046511104"), "{e}");
    let mut overflow = w.clone();
    overflow.dims = vec![1 << 40, 1 << 40];
    let m = model(
        17,
        vec![node("Add", "add", &["x", "w"], &["y"], vec![])],
        vec![overflow],
        vec![vi("x", &[1, 4])],
        vec![vi("y", &[1, 4])],
    );
    assert!(err(&m).contains("overflows"), "{}", err(&m));
    let mut neg = w;
    neg.dims = vec![-4];
    assert!(tensor_from_bytes(&prost::Message::encode_to_vec(&neg)).is_err());
    Ok(())
}

#[test]
fn undefined_inputs_and_outputs() -> TestResult {
    // A node reading an initializer that is missing.
    let m = model(
        17,
        vec![node("MatMul", "mm", &["x", "missing_w"], &["y"], vec![])],
        vec![],
        vec![vi("x", &[1, 4])],
        vec![vi("y", &[1, 4])],
    );
    let e = err(&m);
    assert!(
        e.contains("`mm`") && e.contains("`missing_w`") && e.contains("never defined"),
        "{e}"
    );
    // A graph output nobody defines.
    let mut m = relu_model(17);
    m.graph
        .as_mut()
        .ok_or("missing value")?
        .output
        .push(vi("ghost", &[1]));
    let e = err(&m);
    assert!(e.contains("`ghost`"), "{e}");
    Ok(())
}

#[test]
fn cycles_and_duplicate_definitions() -> TestResult {
    let m = model(
        17,
        vec![
            node("Add", "a", &["x", "c"], &["b"], vec![]),
            node("Relu", "r", &["b"], &["c"], vec![]),
        ],
        vec![],
        vec![vi("x", &[1, 4])],
        vec![vi("c", &[1, 4])],
    );
    let e = err(&m);
    assert!(e.contains("cycle") && e.contains("`a`"), "{e}");
    let m = model(
        17,
        vec![
            node("Relu", "r1", &["x"], &["y"], vec![]),
            node("Relu", "r2", &["x"], &["y"], vec![]),
        ],
        vec![],
        vec![vi("x", &[1, 4])],
        vec![vi("y", &[1, 4])],
    );
    let e = err(&m);
    assert!(
        e.contains("`y`") && e.contains("defined twice") && e.contains("r2"),
        "{e}"
    );
    Ok(())
}

#[test]
fn wrong_attributes_name_node_and_attribute() -> TestResult {
    let w = f32_tensor("w", &[2, 1, 3, 3], &[0.0; 18]);
    let conv = |attrs| {
        model(
            17,
            vec![node("Conv", "c1", &["x", "w"], &["y"], attrs)],
            vec![w.clone()],
            vec![vi("x", &[1, 1, 8, 8])],
            vec![vi("y", &[1, 2, 6, 6])],
        )
    };
    assert!(import(&conv(vec![])).is_ok());
    let e = err(&conv(vec![a_int("strides", 2)]));
    assert!(
        e.contains("`c1`") && e.contains("`strides`") && e.contains("INTS"),
        "{e}"
    );
    let e = err(&conv(vec![a_ints("strides", &[1, 1, 1])]));
    assert!(e.contains("`strides`") && e.contains("2 values"), "{e}");
    let e = err(&conv(vec![a_str("auto_pad", "SAME")]));
    assert!(e.contains("`auto_pad`") && e.contains("SAME_UPPER"), "{e}");
    let e = err(&conv(vec![a_int("bogus", 1)]));
    assert!(
        e.contains("`bogus`") && e.contains("unknown attribute"),
        "{e}"
    );
    let e = err(&conv(vec![a_ints("kernel_shape", &[5, 5])]));
    assert!(e.contains("disagrees"), "{e}");
    Ok(())
}

#[test]
fn training_mode_is_rejected() -> TestResult {
    let bn = model(
        17,
        vec![node(
            "BatchNormalization",
            "bn",
            &["x", "s", "b", "m", "v"],
            &["y"],
            vec![a_int("training_mode", 1)],
        )],
        ["s", "b", "m", "v"]
            .iter()
            .map(|n| f32_tensor(n, &[2], &[1.0, 1.0]))
            .collect(),
        vec![vi("x", &[1, 2, 4])],
        vec![vi("y", &[1, 2, 4])],
    );
    assert!(err(&bn).contains("training_mode"));
    let tm = TensorProto {
        name: Some("tm".into()),
        data_type: Some(9),
        int32_data: vec![1],
        ..TensorProto::default()
    };
    let drop = model(
        17,
        vec![node("Dropout", "d", &["x", "", "tm"], &["y"], vec![])],
        vec![tm],
        vec![vi("x", &[1, 4])],
        vec![vi("y", &[1, 4])],
    );
    let e = err(&drop);
    assert!(e.contains("`d`") && e.contains("training_mode"), "{e}");
    Ok(())
}

#[test]
fn non_tensor_types_and_unsupported_element_types() -> TestResult {
    let mut m = relu_model(17);
    m.graph.as_mut().ok_or("missing value")?.input[0] = vi_typed("x", 8, &[1, 4]);
    assert!(err(&m).contains("STRING"));
    let mut m = relu_model(17);
    let ty = m.graph.as_mut().ok_or("missing value")?.input[0]
        .r#type
        .clone();
    m.graph.as_mut().ok_or("missing value")?.input[0].r#type = Some(pare_onnx::proto::TypeProto {
        value: Some(pare_onnx::proto::type_proto::Value::SequenceType(Box::new(
            pare_onnx::proto::type_proto::Sequence {
                elem_type: ty.map(Box::new),
            },
        ))),
        denotation: None,
    });
    assert!(err(&m).contains("sequence"));
    let bf16 = TensorProto {
        name: Some("w".into()),
        dims: vec![2],
        data_type: Some(16),
        raw_data: Some(vec![0; 4]),
        ..TensorProto::default()
    };
    let e = tensor_from_bytes(&prost::Message::encode_to_vec(&bf16))
        .unwrap_err()
        .to_string();
    assert!(e.contains("`w`") && e.contains("BFLOAT16"), "{e}");
    Ok(())
}
