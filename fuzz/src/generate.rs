//! Small files generated from a random number generator: single-node ONNX models of
//! many op types with random shapes, attributes and constant inputs, and `.npy`/`.npz`
//! arrays of every dtype and odd shapes. They reach op-specific checks of the
//! importer, shape inference and interpreter that mutating a few fixtures rarely does.

use crate::mutate::bytes::interesting_f64;
use crate::mutate::zipio;
use fastrand::Rng;
use pare_ir::{DType, Tensor};
use pare_onnx::proto::{
    attribute_proto::AttributeType, tensor_shape_proto, type_proto, AttributeProto, GraphProto,
    ModelProto, NodeProto, OperatorSetIdProto, TensorProto, TensorShapeProto, TypeProto,
    ValueInfoProto,
};
use prost::Message;

/// Op types with their least and most inputs.
const OPS: [(&str, usize, usize); 60] = [
    ("Conv", 2, 3),
    ("ConvTranspose", 2, 3),
    ("MatMul", 2, 2),
    ("Gemm", 2, 3),
    ("Add", 2, 2),
    ("Sub", 2, 2),
    ("Mul", 2, 2),
    ("Div", 2, 2),
    ("Pow", 2, 2),
    ("Relu", 1, 1),
    ("Sigmoid", 1, 1),
    ("Tanh", 1, 1),
    ("Exp", 1, 1),
    ("Log", 1, 1),
    ("Sqrt", 1, 1),
    ("Softmax", 1, 1),
    ("LogSoftmax", 1, 1),
    ("Reshape", 2, 2),
    ("Transpose", 1, 1),
    ("Flatten", 1, 1),
    ("Concat", 1, 3),
    ("Split", 1, 2),
    ("Slice", 3, 5),
    ("Gather", 2, 2),
    ("Squeeze", 1, 2),
    ("Unsqueeze", 2, 2),
    ("Expand", 2, 2),
    ("Tile", 2, 2),
    ("Pad", 2, 3),
    ("MaxPool", 1, 1),
    ("AveragePool", 1, 1),
    ("GlobalAveragePool", 1, 1),
    ("BatchNormalization", 5, 5),
    ("LayerNormalization", 1, 3),
    ("ReduceMean", 1, 2),
    ("ReduceSum", 1, 2),
    ("ReduceMax", 1, 2),
    ("ArgMax", 1, 1),
    ("Clip", 1, 3),
    ("Where", 3, 3),
    ("Equal", 2, 2),
    ("Cast", 1, 1),
    ("Shape", 1, 1),
    ("ConstantOfShape", 1, 1),
    ("Range", 3, 3),
    ("TopK", 2, 2),
    ("CumSum", 2, 2),
    ("Resize", 1, 4),
    ("DepthToSpace", 1, 1),
    ("HardSwish", 1, 1),
    ("LeakyRelu", 1, 1),
    ("Gelu", 1, 1),
    ("Max", 1, 3),
    ("InstanceNormalization", 3, 3),
    ("GatherElements", 2, 2),
    ("ScatterND", 3, 3),
    ("Trilu", 1, 2),
    ("QuantizeLinear", 2, 3),
    ("DequantizeLinear", 2, 3),
    ("Einsum", 1, 2),
];

/// Attribute names with the kind of value they take.
const ATTRS: [(&str, Kind); 20] = [
    ("axis", Kind::SmallInt),
    ("axes", Kind::Ints),
    ("perm", Kind::Ints),
    ("pads", Kind::Ints),
    ("strides", Kind::Ints),
    ("kernel_shape", Kind::Ints),
    ("dilations", Kind::Ints),
    ("group", Kind::SmallInt),
    ("keepdims", Kind::SmallInt),
    ("to", Kind::SmallInt),
    ("alpha", Kind::Float),
    ("beta", Kind::Float),
    ("transA", Kind::SmallInt),
    ("transB", Kind::SmallInt),
    ("epsilon", Kind::Float),
    ("mode", Kind::Str),
    ("auto_pad", Kind::Str),
    ("ceil_mode", Kind::SmallInt),
    ("blocksize", Kind::SmallInt),
    ("equation", Kind::Str),
];

/// Ops whose first attribute in [`attrs_of`] is required.
const REQUIRED_FIRST: [&str; 5] = ["Concat", "Cast", "Einsum", "DepthToSpace", "Split"];

/// The attributes an op takes (of those in [`ATTRS`]).
fn attrs_of(op: &str) -> &'static [&'static str] {
    match op {
        "Conv" | "ConvTranspose" => &[
            "kernel_shape",
            "strides",
            "pads",
            "dilations",
            "group",
            "auto_pad",
        ],
        "MaxPool" | "AveragePool" => &[
            "kernel_shape",
            "strides",
            "pads",
            "dilations",
            "auto_pad",
            "ceil_mode",
        ],
        "Gemm" => &["alpha", "beta", "transA", "transB"],
        "Concat" | "Softmax" | "LogSoftmax" | "Gather" | "Flatten" | "GatherElements"
        | "ScatterND" | "CumSum" | "TopK" | "QuantizeLinear" | "DequantizeLinear" => &["axis"],
        "Split" => &["axis", "split"],
        "LayerNormalization" => &["axis", "epsilon"],
        "BatchNormalization" | "InstanceNormalization" => &["epsilon"],
        "ArgMax" => &["axis", "keepdims"],
        "ReduceMean" | "ReduceSum" | "ReduceMax" => &["keepdims", "axes"],
        "Squeeze" | "Unsqueeze" => &["axes"],
        "Transpose" => &["perm"],
        "Cast" => &["to"],
        "LeakyRelu" => &["alpha"],
        "Resize" => &["mode"],
        "DepthToSpace" => &["blocksize", "mode"],
        "Einsum" => &["equation"],
        _ => &[],
    }
}

fn named_attribute(rng: &mut Rng, name: &str) -> AttributeProto {
    let kind = ATTRS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(Kind::SmallInt, |&(_, k)| k);
    attribute(rng, name, kind)
}

#[derive(Clone, Copy)]
enum Kind {
    SmallInt,
    Ints,
    Float,
    Str,
}

/// A serialized single-node ONNX model.
pub fn onnx_model(rng: &mut Rng) -> Vec<u8> {
    let (op, lo, hi) = OPS[rng.usize(0..OPS.len())];
    let n_inputs = rng.usize(lo..=hi);
    let mut graph = GraphProto {
        name: Some("generated".into()),
        ..Default::default()
    };
    let mut inputs = Vec::new();
    for i in 0..n_inputs {
        let name = format!("in{i}");
        if i == 0 || rng.u8(0..3) == 0 {
            let dims: Vec<i64> = (0..rng.usize(0..5)).map(|_| rng.i64(1..5)).collect();
            graph.input.push(value_info(&name, 1, Some(&dims)));
        } else {
            graph.initializer.push(constant(rng, &name));
        }
        inputs.push(name);
    }
    let n_outputs = if matches!(op, "Split" | "TopK") { 2 } else { 1 };
    let outputs: Vec<String> = (0..n_outputs).map(|i| format!("out{i}")).collect();
    // Mostly attributes the op takes (its required one always), so that cases get
    // past the importer's attribute checks; now and then any attribute at all.
    let own = attrs_of(op);
    let mut attribute = Vec::new();
    if let (Some(&first), true) = (own.first(), REQUIRED_FIRST.contains(&op)) {
        attribute.push(named_attribute(rng, first));
    }
    for _ in 0..[0, 1, 1, 2, 3][rng.usize(0..5)] {
        let name = if rng.u8(0..10) == 0 {
            ATTRS[rng.usize(0..ATTRS.len())].0
        } else if own.is_empty() {
            continue;
        } else {
            own[rng.usize(0..own.len())]
        };
        if attribute
            .iter()
            .all(|a: &AttributeProto| a.name.as_deref() != Some(name))
        {
            attribute.push(named_attribute(rng, name));
        }
    }
    graph.node.push(NodeProto {
        input: inputs,
        output: outputs.clone(),
        name: Some(format!("{op}_0")),
        op_type: Some(op.into()),
        attribute,
        ..Default::default()
    });
    for o in &outputs {
        graph.output.push(value_info(o, 1, None));
    }
    ModelProto {
        ir_version: Some(8),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(rng.i64(11..=21)),
        }],
        producer_name: Some("pare-fuzz".into()),
        graph: Some(graph),
        ..Default::default()
    }
    .encode_to_vec()
}

fn value_info(name: &str, elem_type: i32, dims: Option<&[i64]>) -> ValueInfoProto {
    let shape = dims.map(|d| TensorShapeProto {
        dim: d
            .iter()
            .map(|&v| tensor_shape_proto::Dimension {
                value: Some(tensor_shape_proto::dimension::Value::DimValue(v)),
                denotation: None,
            })
            .collect(),
    });
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(elem_type),
                shape,
            })),
            denotation: None,
        }),
        ..Default::default()
    }
}

/// A small initializer: int64 (shapes, axes, indices) or float data.
fn constant(rng: &mut Rng, name: &str) -> TensorProto {
    let rank = rng.usize(0..3);
    let dims: Vec<i64> = (0..rank).map(|_| rng.i64(1..5)).collect();
    let n: i64 = dims.iter().product();
    let mut t = TensorProto {
        name: Some(name.into()),
        dims,
        ..Default::default()
    };
    if rng.bool() {
        t.data_type = Some(7);
        t.int64_data = (0..n).map(|_| rng.i64(-3..6)).collect();
    } else {
        t.data_type = Some(1);
        t.float_data = (0..n).map(|_| rng.f32() * 4.0 - 2.0).collect();
    }
    t
}

fn attribute(rng: &mut Rng, name: &str, kind: Kind) -> AttributeProto {
    let mut a = AttributeProto {
        name: Some(name.into()),
        ..Default::default()
    };
    let ty = match kind {
        Kind::SmallInt => {
            a.i = Some(rng.i64(-4..13));
            AttributeType::Int
        }
        Kind::Ints => {
            a.ints = (0..rng.usize(0..7)).map(|_| rng.i64(-2..5)).collect();
            AttributeType::Ints
        }
        Kind::Float => {
            a.f = Some(interesting_f64(rng) as f32);
            AttributeType::Float
        }
        Kind::Str => {
            let s = [
                "NOTSET",
                "SAME_UPPER",
                "VALID",
                "linear",
                "nearest",
                "DCR",
                "CRD",
                "ij,jk->ik",
                "i->",
                "...",
            ][rng.usize(0..10)];
            a.s = Some(s.as_bytes().to_vec());
            AttributeType::String
        }
    };
    a.r#type = Some(ty as i32);
    a
}

const NPY_DTYPES: [DType; 8] = [
    DType::F32,
    DType::F64,
    DType::F16,
    DType::I64,
    DType::I32,
    DType::I8,
    DType::U8,
    DType::Bool,
];

/// A serialized `.npy` array of a random dtype and small, sometimes empty, shape.
pub fn npy_array(rng: &mut Rng) -> Vec<u8> {
    let shape: Vec<usize> = (0..rng.usize(0..5)).map(|_| rng.usize(0..6)).collect();
    let dtype = NPY_DTYPES[rng.usize(0..NPY_DTYPES.len())];
    Tensor::zeros(dtype, shape)
        .ok()
        .and_then(|t| pare_npy::encode_npy(&t).ok())
        .unwrap_or_default()
}

/// A serialized `.npz` archive of one to three arrays.
pub fn npz_archive(rng: &mut Rng) -> Vec<u8> {
    let entries: Vec<(String, Vec<u8>)> = (0..rng.usize(1..4))
        .map(|i| {
            (
                ["x.npy", "y.npy", "arr_0.npy"][i].to_string(),
                npy_array(rng),
            )
        })
        .collect();
    zipio::write_entries(&entries, rng.bool(), false)
}
