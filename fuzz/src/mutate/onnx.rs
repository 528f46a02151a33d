//! Field-level ONNX mutations: the model is decoded with pare-onnx's prost types, one
//! field is changed — opset, a dim of an initializer or of a declared shape, an
//! initializer's data type or byte count, a node's inputs, outputs or op type, an
//! attribute's value — and the model is encoded again. Each edit keeps the protobuf
//! well formed, so the importer's checks behind the decoder are what gets exercised.

use super::bytes::{interesting_f64, interesting_i64};
use fastrand::Rng;
use pare_onnx::proto::{
    attribute_proto, tensor_shape_proto, type_proto, AttributeProto, GraphProto, ModelProto,
    NodeProto, StringStringEntryProto, TensorProto,
};
use prost::Message;

/// Op types a node may be switched to: the usual ones of the fixtures and some pare
/// does not implement.
const OP_TYPES: [&str; 40] = [
    "Conv",
    "Relu",
    "Add",
    "Mul",
    "Gemm",
    "MatMul",
    "Reshape",
    "Flatten",
    "Transpose",
    "Concat",
    "Split",
    "Slice",
    "Gather",
    "Softmax",
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "BatchNormalization",
    "Clip",
    "Sigmoid",
    "Tanh",
    "Squeeze",
    "Unsqueeze",
    "Expand",
    "Shape",
    "ReduceMean",
    "ReduceSum",
    "Pad",
    "Resize",
    "Where",
    "Cast",
    "ConstantOfShape",
    "Range",
    "Tile",
    "TopK",
    "Einsum",
    "LayerNormalization",
    "Loop",
    "NotAnOp",
    "Identity",
];

/// Attribute names the importers read.
const ATTR_NAMES: [&str; 20] = [
    "axis",
    "axes",
    "perm",
    "pads",
    "strides",
    "kernel_shape",
    "dilations",
    "group",
    "keepdims",
    "to",
    "mode",
    "alpha",
    "beta",
    "transA",
    "transB",
    "epsilon",
    "split",
    "value",
    "auto_pad",
    "ceil_mode",
];

/// Applies one field edit; `None` if the bytes do not decode as a model.
pub fn mutate(rng: &mut Rng, bytes: &[u8]) -> Option<Vec<u8>> {
    let mut m = ModelProto::decode(bytes).ok()?;
    edit(rng, &mut m);
    Some(m.encode_to_vec())
}

fn edit(rng: &mut Rng, m: &mut ModelProto) {
    match rng.u8(0..12) {
        0 => {
            let v = [1, 6, 7, 9, 10, 11, 13, 17, 21, 22, 99, -1, i64::MAX][rng.usize(0..13)];
            match m.opset_import.first_mut() {
                Some(o) => o.version = Some(v),
                None => m.opset_import.push(Default::default()),
            }
        }
        1 => m.ir_version = Some([3, 7, 8, 10, 11, 12, 0, -1][rng.usize(0..8)]),
        _ => {
            let Some(g) = m.graph.as_mut() else {
                m.graph = Some(GraphProto::default());
                return;
            };
            edit_graph(rng, g);
        }
    }
}

fn edit_graph(rng: &mut Rng, g: &mut GraphProto) {
    let names: Vec<String> = g
        .node
        .iter()
        .flat_map(|n| n.input.iter().chain(&n.output))
        .chain(g.initializer.iter().filter_map(|t| t.name.as_ref()))
        .cloned()
        .collect();
    let pick_name = |rng: &mut Rng| -> String {
        match rng.u8(0..6) {
            0 => String::new(),
            1 => "no_such_value".into(),
            _ if !names.is_empty() => names[rng.usize(0..names.len())].clone(),
            _ => "x".into(),
        }
    };
    match rng.u8(0..10) {
        0 | 1 => {
            if let Some(t) = pick(rng, &mut g.initializer) {
                edit_tensor(rng, t);
            }
        }
        2 => {
            if let Some(n) = pick(rng, &mut g.node) {
                match rng.u8(0..4) {
                    0 if !n.input.is_empty() => {
                        let i = rng.usize(0..n.input.len());
                        n.input[i] = pick_name(rng);
                    }
                    1 if !n.input.is_empty() => {
                        n.input.remove(rng.usize(0..n.input.len()));
                    }
                    2 => n.input.push(pick_name(rng)),
                    _ if !n.output.is_empty() => {
                        let i = rng.usize(0..n.output.len());
                        n.output[i] = pick_name(rng);
                    }
                    _ => n.output.push(pick_name(rng)),
                }
            }
        }
        3 => {
            if let Some(n) = pick(rng, &mut g.node) {
                n.op_type = Some(OP_TYPES[rng.usize(0..OP_TYPES.len())].into());
            }
        }
        4 | 5 => {
            if let Some(n) = pick(rng, &mut g.node) {
                edit_attrs(rng, n);
            }
        }
        6 => {
            // Declared shapes and element types of inputs, outputs, value infos.
            let infos: Vec<_> = g
                .input
                .iter_mut()
                .chain(g.output.iter_mut())
                .chain(g.value_info.iter_mut())
                .collect();
            if infos.is_empty() {
                return;
            }
            let k = rng.usize(0..infos.len());
            let Some(vi) = infos.into_iter().nth(k) else {
                return;
            };
            let Some(type_proto::Value::TensorType(tt)) =
                vi.r#type.as_mut().and_then(|t| t.value.as_mut())
            else {
                return;
            };
            if rng.u8(0..4) == 0 {
                tt.elem_type = Some(rng.i32(-1..26));
                return;
            }
            let Some(shape) = tt.shape.as_mut() else {
                tt.shape = Some(Default::default());
                return;
            };
            match rng.u8(0..4) {
                0 => shape.dim.push(dim_value(interesting_i64(rng))),
                1 if !shape.dim.is_empty() => {
                    shape.dim.remove(rng.usize(0..shape.dim.len()));
                }
                2 if !shape.dim.is_empty() => {
                    let i = rng.usize(0..shape.dim.len());
                    shape.dim[i].value = Some(tensor_shape_proto::dimension::Value::DimParam(
                        ["N", "", "batch"][rng.usize(0..3)].into(),
                    ));
                }
                _ if !shape.dim.is_empty() => {
                    let i = rng.usize(0..shape.dim.len());
                    shape.dim[i] = dim_value(interesting_i64(rng));
                }
                _ => {}
            }
        }
        7 => {
            // Node order: swap, drop or duplicate.
            let n = g.node.len();
            if n == 0 {
                return;
            }
            let (a, b) = (rng.usize(0..n), rng.usize(0..n));
            match rng.u8(0..3) {
                0 => g.node.swap(a, b),
                1 => {
                    g.node.remove(a);
                }
                _ => {
                    let dup = g.node[a].clone();
                    g.node.insert(b, dup);
                }
            }
        }
        8 => {
            // Graph inputs/outputs: drop one, or name a value that does not exist.
            let list = if rng.bool() {
                &mut g.input
            } else {
                &mut g.output
            };
            if list.is_empty() {
                return;
            }
            let i = rng.usize(0..list.len());
            if rng.bool() {
                list.remove(i);
            } else {
                list[i].name = Some(pick_name(rng));
            }
        }
        _ => {
            // A Constant node with an edited tensor value, or a new initializer
            // sharing a name with another value.
            if let Some(t) = g.initializer.first().cloned() {
                let mut t = t;
                t.name = Some(pick_name(rng));
                edit_tensor(rng, &mut t);
                g.initializer.push(t);
            }
        }
    }
}

fn dim_value(v: i64) -> tensor_shape_proto::Dimension {
    tensor_shape_proto::Dimension {
        value: Some(tensor_shape_proto::dimension::Value::DimValue(v)),
        denotation: None,
    }
}

/// Bytes per element of an ONNX data type code (0 for those without a fixed size).
fn element_size(data_type: i32) -> usize {
    match data_type {
        1 | 6 | 12 => 4,
        2 | 3 | 9 => 1,
        4 | 5 | 10 | 16 => 2,
        7 | 11 | 13 => 8,
        _ => 0,
    }
}

fn edit_tensor(rng: &mut Rng, t: &mut TensorProto) {
    if rng.u8(0..3) == 0 {
        // New dims with the data resized to match: gets past the size check to the
        // code that uses the shape.
        let dims: Vec<i64> = (0..rng.usize(0..5)).map(|_| rng.i64(0..6)).collect();
        let n = dims.iter().product::<i64>() as usize;
        let size = element_size(t.data_type.unwrap_or(1));
        if let Some(raw) = t.raw_data.as_mut() {
            raw.resize(n * size, 0x3c);
        } else if !t.int64_data.is_empty() {
            t.int64_data.resize(n, 1);
        } else if !t.int32_data.is_empty() {
            t.int32_data.resize(n, 1);
        } else {
            t.float_data.resize(n, 0.5);
        }
        t.dims = dims;
        return;
    }
    match rng.u8(0..8) {
        0 if !t.dims.is_empty() => {
            let i = rng.usize(0..t.dims.len());
            t.dims[i] = interesting_i64(rng);
        }
        1 => t.dims.push(interesting_i64(rng).clamp(-2, 1 << 20)),
        2 if !t.dims.is_empty() => {
            t.dims.remove(rng.usize(0..t.dims.len()));
        }
        3 => t.data_type = Some(rng.i32(-1..26)),
        4 => {
            if let Some(raw) = t.raw_data.as_mut() {
                let len = raw.len();
                if rng.bool() {
                    raw.truncate(rng.usize(0..=len));
                } else {
                    raw.extend(std::iter::repeat_n(0x41, rng.usize(1..64)));
                }
            } else {
                t.float_data.truncate(rng.usize(0..=t.float_data.len()));
                t.int64_data.push(interesting_i64(rng));
            }
        }
        5 => {
            // The same data, typed fields instead of raw bytes (or both at once).
            if let Some(raw) = t.raw_data.take() {
                t.float_data = raw
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect();
                if rng.bool() {
                    t.raw_data = Some(raw);
                }
            }
        }
        6 => {
            t.external_data = vec![
                StringStringEntryProto {
                    key: Some("location".into()),
                    value: Some(["../../etc/passwd", "/abs", "w.bin", ""][rng.usize(0..4)].into()),
                },
                StringStringEntryProto {
                    key: Some(["length", "offset", "checksum"][rng.usize(0..3)].into()),
                    value: Some(interesting_i64(rng).to_string()),
                },
            ];
            t.data_location = Some(rng.i32(0..3));
        }
        _ => {
            let v = interesting_i64(rng);
            t.dims = vec![v, 1];
        }
    }
}

fn edit_attrs(rng: &mut Rng, n: &mut NodeProto) {
    let add = n.attribute.is_empty() || rng.u8(0..4) == 0;
    if add {
        let name = ATTR_NAMES[rng.usize(0..ATTR_NAMES.len())];
        let mut a = AttributeProto {
            name: Some(name.into()),
            ..Default::default()
        };
        set_random_value(rng, &mut a);
        n.attribute.push(a);
        return;
    }
    let i = rng.usize(0..n.attribute.len());
    let a = &mut n.attribute[i];
    match rng.u8(0..6) {
        0 => {
            n.attribute.remove(i);
        }
        1 => set_random_value(rng, a),
        2 if !a.ints.is_empty() => {
            let k = rng.usize(0..a.ints.len());
            a.ints[k] = interesting_i64(rng);
        }
        3 if !a.ints.is_empty() => {
            if rng.bool() {
                a.ints.pop();
            } else {
                a.ints.push(interesting_i64(rng));
            }
        }
        4 if a.i.is_some() => a.i = Some(interesting_i64(rng)),
        4 if a.t.is_some() => {
            if let Some(t) = a.t.as_mut() {
                edit_tensor(rng, t);
            }
        }
        _ => {
            if a.f.is_some() {
                a.f = Some(interesting_f64(rng) as f32);
            } else {
                a.r#type = Some(rng.i32(0..15));
            }
        }
    }
}

fn set_random_value(rng: &mut Rng, a: &mut AttributeProto) {
    use attribute_proto::AttributeType as T;
    let ty = match rng.u8(0..4) {
        0 => {
            a.i = Some(interesting_i64(rng));
            T::Int
        }
        1 => {
            a.f = Some(interesting_f64(rng) as f32);
            T::Float
        }
        2 => {
            a.ints = (0..rng.usize(0..6)).map(|_| interesting_i64(rng)).collect();
            T::Ints
        }
        _ => {
            a.s = Some(
                ["NOTSET", "SAME_UPPER", "VALID", "linear", "constant", ""][rng.usize(0..6)]
                    .as_bytes()
                    .to_vec(),
            );
            T::String
        }
    };
    a.r#type = Some(ty as i32);
}

fn pick<'a, T>(rng: &mut Rng, v: &'a mut [T]) -> Option<&'a mut T> {
    if v.is_empty() {
        None
    } else {
        let i = rng.usize(0..v.len());
        v.get_mut(i)
    }
}
