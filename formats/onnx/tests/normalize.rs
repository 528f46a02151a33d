//! Older opset forms become the `Op` enum's opset-21 conventions; typed tensor fields
//! decode; nodes out of order are sorted; exports of the results re-import.

mod common;

use common::build::*;
use pare_ir::{DType, Op, TensorData};
use pare_onnx::proto::TensorProto;
use pare_onnx::{export_model, import_bytes, tensor_from_bytes, ExportOptions};
use prost::Message;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn import(m: &pare_onnx::proto::ModelProto) -> pare_ir::Graph {
    import_bytes(&bytes(m), None, "test").unwrap_or_else(|e| panic!("{e}"))
}

fn ops(g: &pare_ir::Graph) -> Vec<Op> {
    g.nodes().map(|(_, n)| n.op.clone()).collect()
}

/// The i64 contents of node input `i` of the first node with op name `op`.
fn const_input(g: &pare_ir::Graph, op: &str, i: usize) -> Option<Vec<i64>> {
    let (_, n) = g.nodes().find(|(_, n)| n.op.name() == op)?;
    Some(g.weight_of(n.input(i)?)?.tensor().ok()?.to_i64_vec())
}

fn reimport(g: &pare_ir::Graph) -> pare_ir::Graph {
    let b = export_model(g, &ExportOptions::default()).unwrap();
    import_bytes(&b, None, "re").unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn opset11_axes_split_and_softmax() -> TestResult {
    let m = model(
        11,
        vec![
            node("Unsqueeze", "u", &["x"], &["a"], vec![a_ints("axes", &[0])]),
            node("Squeeze", "s", &["a"], &["b"], vec![a_ints("axes", &[0])]),
            node(
                "ReduceSum",
                "rs",
                &["b"],
                &["c"],
                vec![a_ints("axes", &[1]), a_int("keepdims", 1)],
            ),
            node(
                "Split",
                "sp",
                &["b"],
                &["d", "e"],
                vec![a_int("axis", 1), a_ints("split", &[1, 3])],
            ),
            node("Split", "sp2", &["b"], &["f", "g"], vec![a_int("axis", 1)]),
            node("Softmax", "sm", &["b"], &["h"], vec![]),
        ],
        vec![],
        vec![vi("x", &[2, 4])],
        vec![
            vi("c", &[2, 1]),
            vi("d", &[2, 1]),
            vi("e", &[2, 3]),
            vi("f", &[2, 2]),
            vi("h", &[2, 4]),
        ],
    );
    let g = import(&m);
    assert_eq!(const_input(&g, "unsqueeze", 1), Some(vec![0]));
    assert_eq!(const_input(&g, "squeeze", 1), Some(vec![0]));
    assert_eq!(const_input(&g, "reduce_sum", 1), Some(vec![1]));
    assert_eq!(const_input(&g, "split", 1), Some(vec![1, 3]));
    let o = ops(&g);
    assert!(o.contains(&Op::ReduceSum {
        keepdims: true,
        noop_with_empty_axes: false
    }));
    assert!(o.contains(&Op::Split {
        axis: 1,
        num_outputs: Some(2)
    }));
    assert!(o.contains(&Op::Softmax {
        axis: 1,
        coerce_2d: true
    }));
    // The same graph written at opset 21 reads back with every op unchanged: the
    // coerce_2d softmax acts on the last axis of a rank-2 input, where both
    // semantics agree, so it is written as a plain Softmax.
    let g2 = reimport(&g);
    let names: Vec<_> = g2.nodes().map(|(_, n)| n.op.name()).collect();
    assert_eq!(
        names,
        [
            "unsqueeze",
            "squeeze",
            "reduce_sum",
            "split",
            "split",
            "softmax"
        ]
    );
    assert!(ops(&g2).contains(&Op::Softmax {
        axis: 1,
        coerce_2d: false
    }));
    Ok(())
}

#[test]
fn variadic_ops_become_binary_chains() -> TestResult {
    let m = model(
        13,
        vec![
            node("Sum", "sum", &["x", "y", "z"], &["s"], vec![]),
            node("Mean", "mean", &["x", "y"], &["m"], vec![]),
            node("Max", "max", &["x"], &["mx"], vec![]),
        ],
        vec![],
        vec![vi("x", &[3]), vi("y", &[3]), vi("z", &[3])],
        vec![vi("s", &[3]), vi("m", &[3]), vi("mx", &[3])],
    );
    let g = import(&m);
    let names: Vec<_> = g.nodes().map(|(_, n)| n.op.name()).collect();
    assert_eq!(names, ["add", "add", "add", "cast_like", "div", "identity"]);
    let (_, div) = g
        .nodes()
        .find(|(_, n)| n.op == Op::Div {})
        .ok_or("no div")?;
    assert_eq!(g.value(div.outputs[0]).name, "m");
    assert_eq!(div.name, "mean");
    assert!(
        reimport(&g) == {
            let mut w = g.clone();
            w.meta.opset = 21;
            w.meta.ir_version = 10;
            w
        }
    );
    Ok(())
}

#[test]
fn constants_of_every_form_become_weights() -> TestResult {
    let m = model(
        13,
        vec![
            node(
                "Constant",
                "c1",
                &[],
                &["k1"],
                vec![a_float("value_float", 2.5)],
            ),
            node(
                "Constant",
                "c2",
                &[],
                &["k2"],
                vec![a_ints("value_ints", &[1, 2])],
            ),
            node("Constant", "c3", &[], &["k3"], vec![a_int("value_int", 7)]),
            node(
                "Constant",
                "c4",
                &[],
                &["k4"],
                vec![a_tensor("value", f32_tensor("", &[2], &[1.0, 2.0]))],
            ),
            node("Identity", "i1", &["k1"], &["o1"], vec![]),
            node("Identity", "i2", &["k2"], &["o2"], vec![]),
            node("Identity", "i3", &["k3"], &["o3"], vec![]),
            node("Identity", "i4", &["k4"], &["o4"], vec![]),
        ],
        vec![],
        vec![],
        vec![
            vi("o1", &[]),
            vi_typed("o2", 7, &[2]),
            vi_typed("o3", 7, &[]),
            vi("o4", &[2]),
        ],
    );
    let g = import(&m);
    assert_eq!(g.weight_count(), 4);
    let t = |i: usize| -> Option<pare_ir::Tensor> {
        let (_, n) = g.nodes().nth(i)?;
        g.weight_of(n.input(0)?)?.tensor().ok()
    };
    let t = |i: usize| t(i).ok_or("constant not found");
    assert_eq!(t(0)?.data(), &TensorData::F32(vec![2.5]));
    assert_eq!(t(0)?.shape(), &[] as &[usize]);
    assert_eq!(t(1)?.data(), &TensorData::I64(vec![1, 2]));
    assert_eq!(t(2)?.data(), &TensorData::I64(vec![7]));
    assert_eq!(t(3)?.data(), &TensorData::F32(vec![1.0, 2.0]));
    let bad = model(
        13,
        vec![node("Constant", "c", &[], &["k"], vec![])],
        vec![],
        vec![],
        vec![vi("k", &[])],
    );
    assert!(import_bytes(&bytes(&bad), None, "t")
        .unwrap_err()
        .to_string()
        .contains("exactly one"));
    Ok(())
}

#[test]
fn ir3_inputs_that_are_initializers_are_weights() -> TestResult {
    let mut m = model(
        11,
        vec![node("Add", "add", &["x", "w"], &["y"], vec![])],
        vec![f32_tensor("w", &[2], &[1.0, 2.0])],
        vec![vi("x", &[2]), vi("w", &[2])],
        vec![vi("y", &[2])],
    );
    m.ir_version = Some(3);
    let g = import(&m);
    assert_eq!(g.inputs.len(), 1);
    assert_eq!(g.value(g.inputs[0]).name, "x");
    assert_eq!(g.weight_count(), 1);
    Ok(())
}

#[test]
fn nodes_out_of_order_are_sorted_stably() -> TestResult {
    let m = model(
        17,
        vec![
            node("Relu", "second", &["a"], &["y"], vec![]),
            node("Neg", "first", &["x"], &["a"], vec![]),
            node("Abs", "independent", &["x"], &["z"], vec![]),
        ],
        vec![],
        vec![vi("x", &[-1, 2])],
        vec![vi("y", &[-1, 2]), vi("z", &[-1, 2])],
    );
    let g = import(&m);
    let names: Vec<_> = g.nodes().map(|(_, n)| n.name.as_str()).collect();
    assert_eq!(names, ["first", "second", "independent"]);
    assert_eq!(g.ty(g.inputs[0]).shape[0], pare_ir::Dim::Sym("N".into()));
    Ok(())
}

#[test]
fn unnamed_dims_get_deterministic_symbols() -> TestResult {
    let mut m = model(
        17,
        vec![node("Relu", "r", &["x"], &["y"], vec![])],
        vec![],
        vec![vi("x", &[1, 4])],
        vec![vi("y", &[1, 4])],
    );
    for d in &mut m.graph.as_mut().ok_or("missing value")?.input[0]
        .r#type
        .as_mut()
        .ok_or("missing value")?
        .value
        .iter_mut()
    {
        if let pare_onnx::proto::type_proto::Value::TensorType(t) = d {
            t.shape.as_mut().ok_or("missing value")?.dim[0].value = None;
        }
    }
    let g = import(&m);
    assert_eq!(
        g.ty(g.inputs[0]).shape[0],
        pare_ir::Dim::Sym("unk__0".into())
    );
    // When the model itself names a dim `unk__0` (onnx's shape inference does), the
    // unnamed dim gets another name: the two are not known to be equal.
    let graph = m.graph.as_mut().ok_or("missing value")?;
    graph.input.push(vi_named("z", &["unk__0", "4"]));
    let g = import(&m);
    assert_eq!(
        g.ty(g.inputs[0]).shape[0],
        pare_ir::Dim::Sym("unk__1".into())
    );
    assert_eq!(
        g.ty(g.inputs[1]).shape[0],
        pare_ir::Dim::Sym("unk__0".into())
    );
    Ok(())
}

/// A float32 ValueInfo whose dims are sizes or dim_param names.
fn vi_named(name: &str, dims: &[&str]) -> pare_onnx::proto::ValueInfoProto {
    use pare_onnx::proto::tensor_shape_proto::dimension::Value;
    let mut v = vi(name, &vec![1; dims.len()]);
    if let Some(pare_onnx::proto::type_proto::Value::TensorType(t)) =
        v.r#type.as_mut().and_then(|t| t.value.as_mut())
    {
        for (d, want) in t.shape.iter_mut().flat_map(|s| &mut s.dim).zip(dims) {
            d.value = Some(match want.parse::<i64>() {
                Ok(n) => Value::DimValue(n),
                Err(_) => Value::DimParam(want.to_string()),
            });
        }
    }
    v
}

/// A symbol inference carried from an intermediate value_info (as onnxsim writes them)
/// gives way to the symbol the graph output declares, across the graph; a graph input's
/// symbol is never renamed.
#[test]
fn declared_output_symbols_replace_value_info_ones() -> TestResult {
    let mut m = model(
        17,
        vec![
            node("Reshape", "flat", &["x", "shape"], &["a"], vec![]),
            node("Relu", "r", &["a"], &["y"], vec![]),
            node("Relu", "r2", &["x"], &["z"], vec![]),
        ],
        vec![i64_tensor("shape", &[2], &[-1, 4])],
        vec![vi_named("x", &["N", "8"])],
        vec![vi_named("y", &["M", "4"]), vi_named("z", &["K", "8"])],
    );
    m.graph
        .as_mut()
        .ok_or("missing value")?
        .value_info
        .push(vi_named("a", &["unk__7", "4"]));
    let g = import(&m);
    let sym = |s: &str| pare_ir::Dim::Sym(s.into());
    let a = g.values().find(|(_, v)| v.name == "a").ok_or("no a")?.0;
    assert_eq!(g.ty(a).shape, [sym("M"), pare_ir::Dim::Fixed(4)]);
    assert_eq!(g.ty(g.outputs[0]).shape, [sym("M"), pare_ir::Dim::Fixed(4)]);
    assert_eq!(g.ty(g.outputs[1]).shape[0], sym("N"));
    assert_eq!(g.ty(g.inputs[0]).shape[0], sym("N"));
    Ok(())
}

#[test]
fn spatial_defaults_are_explicit() -> TestResult {
    let m = model(
        11,
        vec![
            node("Conv", "c", &["x", "w"], &["a"], vec![]),
            node(
                "MaxPool",
                "p",
                &["a"],
                &["y"],
                vec![a_ints("kernel_shape", &[2, 2])],
            ),
            node("Gemm", "g", &["f", "fw"], &["z"], vec![]),
            node("Flatten", "fl", &["y"], &["f"], vec![]),
        ],
        vec![
            f32_tensor("w", &[2, 1, 3, 3], &[0.5; 18]),
            f32_tensor("fw", &[50, 3], &[0.0; 150]),
        ],
        vec![vi("x", &[1, 1, 8, 8])],
        vec![vi("z", &[1, 3])],
    );
    let g = import(&m);
    let o = ops(&g);
    assert_eq!(
        o[0],
        Op::Conv {
            auto_pad: pare_ir::ops::AutoPad::NotSet,
            kernel_shape: vec![3, 3],
            strides: vec![1, 1],
            pads: vec![0, 0, 0, 0],
            dilations: vec![1, 1],
            group: 1,
        }
    );
    assert!(
        matches!(&o[1], Op::MaxPool { strides, pads, .. } if strides == &[1, 1] && pads == &[0; 4])
    );
    assert_eq!(
        o[3],
        Op::Gemm {
            alpha: 1.0,
            beta: 1.0,
            trans_a: false,
            trans_b: false
        }
    );
    // A weight that is a graph input of known shape gives the kernel too.
    let m = model(
        17,
        vec![node("Conv", "c", &["x", "w"], &["y"], vec![])],
        vec![],
        vec![vi("x", &[1, 1, 8, 8]), vi("w", &[2, 1, 3, 3])],
        vec![vi("y", &[1, 2, 6, 6])],
    );
    let g = import(&m);
    assert!(matches!(&ops(&g)[0], Op::Conv { kernel_shape, .. } if kernel_shape == &[3, 3]));
    // Without kernel_shape, a constant weight or a known weight shape the spatial
    // rank is unknown.
    let m = model(
        17,
        vec![
            node("Relu", "r", &["w"], &["wr"], vec![]),
            node("Conv", "c", &["x", "wr"], &["y"], vec![]),
        ],
        vec![],
        vec![vi("x", &[1, 1, 8, 8]), vi("w", &[2, 1, 3, 3])],
        vec![vi("y", &[1, 2, 6, 6])],
    );
    let e = import_bytes(&bytes(&m), None, "t").unwrap_err().to_string();
    assert!(e.contains("kernel_shape") && e.contains("`c`"), "{e}");
    Ok(())
}

#[test]
fn resize_opset11_empty_inputs_become_absent() -> TestResult {
    let empty = f32_tensor("empty", &[0], &[]);
    let m = model(
        11,
        vec![node(
            "Resize",
            "rz",
            &["x", "empty", "empty", "sizes"],
            &["y"],
            vec![a_str("mode", "linear")],
        )],
        vec![empty, i64_tensor("sizes", &[4], &[1, 1, 4, 4])],
        vec![vi("x", &[1, 1, 2, 2])],
        vec![vi("y", &[1, 1, 4, 4])],
    );
    let g = import(&m);
    let (_, n) = g.nodes().next().ok_or("missing value")?;
    assert_eq!(n.inputs.len(), 4);
    assert!(n.inputs[1].is_none() && n.inputs[2].is_none() && n.inputs[3].is_some());
    assert!(matches!(
        n.op,
        Op::Resize {
            mode: pare_ir::ops::ResizeMode::Linear,
            ..
        }
    ));
    Ok(())
}

#[test]
fn constant_of_shape_and_cast_types() -> TestResult {
    let value = TensorProto {
        dims: vec![1],
        data_type: Some(7),
        int64_data: vec![3],
        ..TensorProto::default()
    };
    let m = model(
        17,
        vec![
            node(
                "ConstantOfShape",
                "cos",
                &["shape"],
                &["a"],
                vec![a_tensor("value", value)],
            ),
            node("Cast", "cast", &["a"], &["y"], vec![a_int("to", 10)]),
        ],
        vec![i64_tensor("shape", &[1], &[4])],
        vec![],
        vec![vi_typed("y", 10, &[4])],
    );
    let g = import(&m);
    let o = ops(&g);
    assert_eq!(
        o[0],
        Op::ConstantOfShape {
            dtype: DType::I64,
            value: 3.0
        }
    );
    assert_eq!(o[1], Op::Cast { to: DType::F16 });
    let mut w = g.clone();
    w.meta.opset = 21;
    w.meta.ir_version = 10;
    assert!(reimport(&g) == w);
    Ok(())
}

#[test]
fn typed_tensor_fields_decode_with_checks() -> TestResult {
    let t = |data_type: i32, dims: Vec<i64>, f: &dyn Fn(&mut TensorProto)| {
        let mut t = TensorProto {
            name: Some("t".into()),
            data_type: Some(data_type),
            dims,
            ..TensorProto::default()
        };
        f(&mut t);
        tensor_from_bytes(&t.encode_to_vec())
    };
    let f16 = t(10, vec![2], &|t| t.int32_data = vec![0x3c00, 0xc000])?;
    assert_eq!(f16.to_f32_vec(), [1.0, -2.0]);
    let i8s = t(3, vec![3], &|t| t.int32_data = vec![-128, 0, 127])?;
    assert_eq!(i8s.data(), &TensorData::I8(vec![-128, 0, 127]));
    let b = t(9, vec![2], &|t| t.int32_data = vec![1, 0])?;
    assert_eq!(b.data(), &TensorData::Bool(vec![true, false]));
    let u32s = t(12, vec![1], &|t| t.uint64_data = vec![4_000_000_000])?;
    assert_eq!(u32s.data(), &TensorData::U32(vec![4_000_000_000]));
    let f64s = t(11, vec![], &|t| t.double_data = vec![0.25])?;
    assert_eq!(f64s.data(), &TensorData::F64(vec![0.25]));
    let e = t(3, vec![1], &|t| t.int32_data = vec![300])
        .unwrap_err()
        .to_string();
    assert!(e.contains("300") && e.contains("i8"), "{e}");
    let e = t(1, vec![3], &|t| t.float_data = vec![1.0])
        .unwrap_err()
        .to_string();
    assert!(e.contains("float_data") && e.contains("has 1"), "{e}");
    let e = t(7, vec![1], &|t| t.float_data = vec![1.0])
        .unwrap_err()
        .to_string();
    assert!(e.contains("int64_data"), "{e}");
    let e = t(1, vec![1], &|t| {
        t.float_data = vec![1.0];
        t.raw_data = Some(vec![0; 4]);
    })
    .unwrap_err()
    .to_string();
    assert!(e.contains("both"), "{e}");
    assert!(t(1, vec![0], &|_| {})?.is_empty());
    assert!(tensor_from_bytes(&[0xff, 0xff, 0xff]).is_err());
    Ok(())
}

#[test]
fn read_tensor_pb_reads_files() -> TestResult {
    let dir = tempfile::tempdir()?;
    let p = dir.path().join("input_0.pb");
    std::fs::write(
        &p,
        f32_tensor("x", &[2, 2], &[1.0, 2.0, 3.0, 4.0]).encode_to_vec(),
    )?;
    let t = pare_onnx::read_tensor_pb(&p)?;
    assert_eq!(t.shape(), &[2, 2]);
    assert_eq!(t.to_f32_vec(), [1.0, 2.0, 3.0, 4.0]);
    let e = pare_onnx::read_tensor_pb(&dir.path().join("nope.pb"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("nope.pb"), "{e}");
    Ok(())
}

#[test]
fn group_norm_opset18_scales_expand_per_channel() -> TestResult {
    let m = model(
        18,
        vec![node(
            "GroupNormalization",
            "gn",
            &["x", "s", "b"],
            &["y"],
            vec![a_int("num_groups", 2)],
        )],
        vec![
            f32_tensor("s", &[2], &[1.0, 2.0]),
            f32_tensor("b", &[2], &[0.0, 1.0]),
        ],
        vec![vi("x", &[1, 4, 3])],
        vec![vi("y", &[1, 4, 3])],
    );
    let g = import(&m);
    let names: Vec<_> = g.nodes().map(|(_, n)| n.op.name()).collect();
    assert_eq!(
        names,
        [
            "shape",
            "div",
            "concat",
            "unsqueeze",
            "expand",
            "reshape",
            "unsqueeze",
            "expand",
            "reshape",
            "group_normalization"
        ]
    );
    let m21 = {
        let mut m = m.clone();
        m.opset_import[0].version = Some(21);
        m
    };
    // At opset 21 scale and bias are per channel: per-group ones are an error.
    let e = import_bytes(&bytes(&m21), None, "test")
        .unwrap_err()
        .to_string();
    assert!(e.contains("expected 4 (channels)"), "{e}");
    Ok(())
}
