//! Textual IR round trips: `parse(print(g)) == g` and `print(parse(print(g))) ==
//! print(g)` over hand-built graphs covering every attribute kind, dtype, dim form,
//! quantized types, optional inputs, multi-output nodes, weight forms, odd names and
//! special floats; every op in the table; and a reviewed snapshot of the format.

use pare_ir::ops::{
    AutoPad, CoordTransform, DepthToSpaceMode, Direction, GeluApprox, KeepAspect, NearestMode,
    PadMode, ResizeMode, ScatterReduction,
};
use pare_ir::text::{parse, parse_with_weights, print, print_elided};
use pare_ir::{
    Attr, AttrError, DType, Dim, Graph, ModelMeta, Op, QParams, Tensor, TensorType, ValueId,
    Weight, WeightBytes,
};
use std::collections::BTreeMap;

/// Checks both round-trip laws in full and elided form; returns the full text.
fn round_trip(g: &Graph) -> String {
    let text = print(g);
    let back = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(&back, g, "graph changed in round trip:\n{text}");
    assert_eq!(print(&back), text, "printing is not stable");

    let elided = print_elided(g);
    let weights: Vec<Weight> = g.weights().map(|(_, w)| w.clone()).collect();
    let resolve = |h: &str| weights.iter().find(|w| w.short_hash() == h).cloned();
    let back = parse_with_weights(&elided, &resolve).unwrap_or_else(|e| panic!("{e}\n{elided}"));
    assert_eq!(&back, g, "graph changed in elided round trip:\n{elided}");
    assert_eq!(print_elided(&back), elided);
    text
}

fn f32_ty(shape: &[u64]) -> TensorType {
    TensorType::fixed(DType::F32, shape)
}

fn f32_weight(shape: &[usize], data: Vec<f32>) -> Weight {
    Weight::from_tensor(&Tensor::from_vec(shape.to_vec(), data).unwrap())
}

fn raw_weight(ty: TensorType, bytes: Vec<u8>) -> Weight {
    Weight::new(ty, WeightBytes::Owned(bytes.into())).unwrap()
}

/// Adds a one-output node and returns its output.
fn node(g: &mut Graph, op: Op, inputs: Vec<Option<ValueId>>, ty: TensorType) -> ValueId {
    let (_, outs) = g
        .add_node("", op, inputs, vec![(String::new(), ty)])
        .unwrap();
    outs[0]
}

#[test]
fn every_attr_kind_round_trips() {
    let mut g = Graph::new("attrs");
    let x = g.add_input("x", f32_ty(&[2, 3])).unwrap();
    let t = f32_ty(&[2, 3]);
    // Int, Ints, Str (enum)
    let a = node(
        &mut g,
        Op::Conv {
            auto_pad: AutoPad::SameLower,
            kernel_shape: vec![1, 1],
            strides: vec![2, 2],
            pads: vec![0, 0, 0, 0],
            dilations: vec![1, 1],
            group: -7,
        },
        vec![Some(x)],
        t.clone(),
    );
    // Float, Bool
    let b = node(
        &mut g,
        Op::Gemm {
            alpha: 0.1,
            beta: -2.5e-12,
            trans_a: true,
            trans_b: false,
        },
        vec![Some(a), Some(x)],
        t.clone(),
    );
    // Floats, Strs, Option<f32> present
    let c = node(
        &mut g,
        Op::Lstm {
            direction: Direction::Bidirectional,
            hidden_size: 4,
            activations: vec!["Sigmoid".into(), "Tanh".into(), "Tan\"h\n".into()],
            activation_alpha: vec![0.5, 1e-7, -3.0],
            activation_beta: vec![],
            clip: Some(3.5),
            input_forget: false,
            layout: 0,
        },
        vec![Some(b)],
        t.clone(),
    );
    // DType, f64 field that is not an f32 (printed as hex), absent Option
    let d = node(
        &mut g,
        Op::ConstantOfShape {
            dtype: DType::I64,
            value: 0.1,
        },
        vec![Some(c)],
        t.clone(),
    );
    let e = node(
        &mut g,
        Op::Cast { to: DType::F16 },
        vec![Some(d)],
        t.clone(),
    );
    let f = node(
        &mut g,
        Op::Shape {
            start: i64::MIN,
            end: None,
        },
        vec![Some(e)],
        t.clone(),
    );
    let h = node(
        &mut g,
        Op::Transpose {
            perm: Some(vec![1, 0]),
        },
        vec![Some(f)],
        t.clone(),
    );
    let k = node(
        &mut g,
        Op::Einsum {
            equation: "ij,jk->ik ; not a comment".into(),
        },
        vec![Some(h), Some(h)],
        t,
    );
    g.outputs.push(k);
    let text = round_trip(&g);
    assert!(text.contains("alpha=0.1,"), "{text}");
    assert!(text.contains("value=0x1.999999999999ap-4"), "{text}");
    assert!(text.contains("to=f16"), "{text}");
    assert!(text.contains("activation_beta=[]"), "{text}");
    assert!(!text.contains("end="), "{text}");
}

#[test]
fn attr_display_matches_text_syntax() {
    assert_eq!(Attr::Int(-3).to_string(), "-3");
    assert_eq!(Attr::Float(1.0).to_string(), "1.0");
    assert_eq!(Attr::Float(1e-5f32 as f64).to_string(), "1e-5");
    assert_eq!(Attr::Float(f64::NEG_INFINITY).to_string(), "-inf");
    assert_eq!(Attr::Bool(true).to_string(), "true");
    assert_eq!(Attr::Ints(vec![1, -2]).to_string(), "[1,-2]");
    assert_eq!(Attr::Floats(vec![0.5, f32::NAN]).to_string(), "[0.5,nan]");
    assert_eq!(Attr::Str("a\"b".into()).to_string(), r#""a\"b""#);
    assert_eq!(Attr::Strs(vec!["x".into()]).to_string(), r#"["x"]"#);
    assert_eq!(Attr::DType(DType::Bool).to_string(), "bool");
}

#[test]
fn every_dtype_round_trips() {
    let mut g = Graph::new("dtypes");
    for (k, dt) in DType::ALL.into_iter().enumerate() {
        let x = g
            .add_input(format!("in_{dt}"), TensorType::fixed(dt, &[3]))
            .unwrap();
        let size = dt.size_bytes();
        // A small (inline) and a large (hex) weight with varied bytes; bools stay 0/1
        // inline, and a bool weight with byte 2 must fall back to hex.
        let pattern = |n: usize| -> Vec<u8> {
            (0..n * size)
                .map(|i| {
                    if dt == DType::Bool {
                        (i % 2) as u8
                    } else {
                        (i * 37 + k * 11) as u8
                    }
                })
                .collect()
        };
        let small = raw_weight(TensorType::fixed(dt, &[3]), pattern(3));
        let large = raw_weight(TensorType::fixed(dt, &[4, 5]), pattern(20));
        let ws = g.add_weight(format!("small_{dt}"), small).unwrap();
        let wl = g.add_weight(format!("large_{dt}"), large).unwrap();
        let y = node(
            &mut g,
            Op::Add {},
            vec![Some(x), Some(ws)],
            TensorType::fixed(dt, &[3]),
        );
        g.outputs.push(y);
        g.outputs.push(wl);
    }
    let odd_bool = raw_weight(TensorType::fixed(DType::Bool, &[2]), vec![1, 2]);
    let w = g.add_weight("odd_bool", odd_bool).unwrap();
    g.outputs.push(w);
    let text = round_trip(&g);
    assert!(text.contains("bool[2] = hex \"0102\""), "{text}");
}

#[test]
fn special_floats_round_trip_bit_exactly() {
    let f32s = [
        0.0f32,
        -0.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        f32::from_bits(0x7fc0_0001),
        f32::from_bits(0xffc0_0000),
        f32::from_bits(1),
        f32::MAX,
        f32::MIN_POSITIVE,
        0.1,
        1e-30,
        16777216.0,
    ];
    let f64s = [
        -0.0f64,
        f64::NAN,
        f64::from_bits(0x7ff0_0000_0000_0001),
        f64::from_bits(1),
        0.1,
        1e300,
        f64::NEG_INFINITY,
    ];
    let f16s = [
        half::f16::from_f32(-0.0),
        half::f16::NAN,
        half::f16::from_bits(0x7c01),
        half::f16::from_bits(1),
        half::f16::MAX,
        half::f16::from_f32(0.1),
        half::f16::INFINITY,
    ];
    let mut g = Graph::new("floats");
    let w32 = f32_weight(&[f32s.len()], f32s.to_vec());
    let w64 = Weight::from_tensor(&Tensor::from_vec(vec![f64s.len()], f64s.to_vec()).unwrap());
    let w16 = Weight::from_tensor(&Tensor::from_vec(vec![f16s.len()], f16s.to_vec()).unwrap());
    for (name, w) in [("f32", w32), ("f64", w64), ("f16", w16)] {
        let v = g.add_weight(name, w).unwrap();
        g.outputs.push(v);
    }
    // The same values as attributes: Op equality treats NaN as unequal and -0.0 as 0.0,
    // so compare attribute bits explicitly.
    let x = g.add_input("x", f32_ty(&[1])).unwrap();
    let ops: Vec<Op> = f32s
        .iter()
        .map(|&a| Op::LeakyRelu { alpha: a })
        .chain(f64s.iter().map(|&v| Op::ConstantOfShape {
            dtype: DType::F64,
            value: v,
        }))
        .chain([Op::Lstm {
            direction: Direction::Forward,
            hidden_size: 1,
            activations: vec![],
            activation_alpha: f32s.to_vec(),
            activation_beta: vec![],
            clip: None,
            input_forget: false,
            layout: 0,
        }])
        .collect();
    for op in &ops {
        let y = node(&mut g, op.clone(), vec![Some(x)], f32_ty(&[1]));
        g.outputs.push(y);
    }
    let text = print(&g);
    let back = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(print(&back), text);
    let bits = |a: &Attr| -> Vec<u64> {
        match a {
            Attr::Float(v) => vec![v.to_bits()],
            Attr::Floats(v) => v.iter().map(|x| x.to_bits() as u64).collect(),
            _ => vec![],
        }
    };
    let back_ops: Vec<&Op> = back.nodes().map(|(_, n)| &n.op).collect();
    assert_eq!(back_ops.len(), ops.len());
    for (a, b) in ops.iter().zip(back_ops) {
        let (aa, ba) = (a.attrs(), b.attrs());
        assert_eq!(aa.len(), ba.len());
        for ((na, va), (nb, vb)) in aa.iter().zip(&ba) {
            assert_eq!(na, nb);
            assert_eq!(bits(va), bits(vb), "{na}: {va} vs {vb}");
        }
    }
    // Weights compare by bytes, so this checks every bit.
    let weights =
        |g: &Graph| -> Vec<Vec<u8>> { g.weights().map(|(_, w)| w.bytes().to_vec()).collect() };
    let mut gc = g.clone();
    gc.compact();
    let mut bc = back.clone();
    bc.compact();
    assert_eq!(weights(&gc), weights(&bc));
    assert!(text.contains("nan(0x7fc00001)"), "{text}");
    assert!(text.contains("-0.0"), "{text}");
}

#[test]
fn symbolic_dims_and_odd_names_round_trip() {
    let mut g = Graph::new("my model/v2 \"final\"");
    let ty = TensorType::new(
        DType::F32,
        vec![
            Dim::Sym("N".into()),
            Dim::Sym("batch size".into()),
            Dim::Sym("123".into()),
            Dim::Sym(String::new()),
            Dim::Sym("_u3".into()),
            Dim::Fixed(0),
            Dim::Fixed(u64::MAX),
        ],
    );
    let x = g.add_input("in\"put\\\n\t\u{1}é😀", ty.clone()).unwrap();
    let (_, outs) = g
        .add_node(
            "node ; with comment char",
            Op::Relu {},
            vec![Some(x)],
            vec![("%not_a_ref $w0".into(), ty.clone())],
        )
        .unwrap();
    let (_, outs2) = g
        .add_node(
            "",
            Op::Neg {},
            vec![Some(outs[0])],
            vec![(String::new(), ty)],
        )
        .unwrap();
    g.outputs = vec![outs2[0], outs[0], x];
    let text = round_trip(&g);
    assert!(text.contains("f32[N,\"batch size\",\"123\",\"\",_u3,0,18446744073709551615]"));
    assert!(
        text.starts_with("graph @\"my model/v2 \\\"final\\\"\"("),
        "{text}"
    );
}

#[test]
fn quantized_types_round_trip() {
    let mut g = Graph::new("quant");
    let mut in_ty = TensorType::fixed(DType::I8, &[1, 2]);
    in_ty.quant = Some(QParams {
        bits: 8,
        signed: true,
        scale: vec![0.0125],
        zero_point: vec![-3],
        axis: None,
    });
    let x = g.add_input("x", in_ty.clone()).unwrap();
    let mut w_ty = TensorType::fixed(DType::I8, &[2, 2]);
    w_ty.quant = Some(QParams {
        bits: 4,
        signed: true,
        scale: vec![0.5, 1e-3],
        zero_point: vec![0, 0],
        axis: Some(0),
    });
    // 4-bit weights are stored two per byte: 1, -1, 7, -8.
    let small = raw_weight(w_ty.clone(), vec![0xf1, 0x87]);
    assert_eq!(
        small.tensor().unwrap().as_slice::<i8>().unwrap(),
        &[1, -1, 7, -8]
    );
    let ws = g.add_weight("w", small).unwrap();
    let mut big_ty = TensorType::fixed(DType::U8, &[20]);
    big_ty.quant = Some(QParams {
        bits: 8,
        signed: false,
        scale: vec![f32::MIN_POSITIVE],
        zero_point: vec![128],
        axis: None,
    });
    let wb = g
        .add_weight("big", raw_weight(big_ty, (0..20).collect()))
        .unwrap();
    let y = node(&mut g, Op::MatMul {}, vec![Some(x), Some(ws)], in_ty);
    g.outputs = vec![y, wb];
    let text = round_trip(&g);
    assert!(
        text.contains("i8[2,2] !q(bits=4, signed=true, axis=0, scale=[0.5,0.001], zp=[0,0])"),
        "{text}"
    );
}

#[test]
fn optional_inputs_and_multi_output_nodes_round_trip() {
    let mut g = Graph::new("multi");
    let x = g.add_input("x", f32_ty(&[6])).unwrap();
    let hi = g.add_weight("hi", f32_weight(&[], vec![6.0])).unwrap();
    let clipped = node(
        &mut g,
        Op::Clip {},
        vec![Some(x), None, Some(hi)],
        f32_ty(&[6]),
    );
    let (_, drop) = g
        .add_node(
            "Dropout_1",
            Op::Dropout {},
            vec![Some(clipped)],
            vec![
                ("y".into(), f32_ty(&[6])),
                ("mask".into(), TensorType::fixed(DType::Bool, &[6])),
            ],
        )
        .unwrap();
    let (_, parts) = g
        .add_node(
            "",
            Op::Split {
                axis: 0,
                num_outputs: Some(3),
            },
            vec![Some(drop[0])],
            vec![
                ("a".into(), f32_ty(&[2])),
                (String::new(), f32_ty(&[2])),
                ("c".into(), f32_ty(&[2])),
            ],
        )
        .unwrap();
    // A node with no outputs, and one whose input list ends in an absent input (kept
    // as written by the parser even though the builder trims such lists).
    g.add_node("sink", Op::Identity {}, vec![Some(parts[1])], vec![])
        .unwrap();
    let (trail, outs) = g
        .add_node(
            "",
            Op::Resize {
                mode: ResizeMode::Cubic,
                coordinate_transformation_mode: CoordTransform::TfCropAndResize,
                nearest_mode: NearestMode::Ceil,
                cubic_coeff_a: -0.75,
                exclude_outside: true,
                extrapolation_value: 0.0,
                antialias: false,
                axes: Some(vec![]),
                keep_aspect_ratio_policy: KeepAspect::NotSmaller,
            },
            vec![Some(parts[2])],
            vec![(String::new(), f32_ty(&[2]))],
        )
        .unwrap();
    g.node_mut(trail).inputs = vec![Some(parts[2]), None, None];
    g.outputs = vec![parts[0], drop[1], outs[0]];
    let text = round_trip(&g);
    assert!(text.contains("clip(%0, _, $w0)"), "{text}");
    assert!(text.contains("resize(%6, _, _)"), "{text}");
    assert!(text.contains("  identity(%5) \"sink\"\n"), "{text}");
    assert!(
        text.contains("%2 \"y\": f32[6], %3 \"mask\": bool[6] = dropout(%1) \"Dropout_1\""),
        "{text}"
    );
}

#[test]
fn shared_and_retyped_weights_round_trip() {
    let mut g = Graph::new("share");
    let x = g.add_input("x", f32_ty(&[4])).unwrap();
    let w = g
        .add_weight("w", f32_weight(&[4], vec![1.0, 2.0, 3.0, 4.0]))
        .unwrap();
    let a = node(&mut g, Op::Add {}, vec![Some(x), Some(w)], f32_ty(&[4]));
    g.outputs.push(a);
    // Add a second value over the same stored weight, and a value whose type differs
    // from its stored weight's (as a pass reinterpreting storage might leave it).
    let base = print(&g);
    let with_alias = base.replace(
        "  %1: f32[4] = add(%0, $w0)\n",
        "  $w1 \"w again\": f32[4] = $w0\n  $w2: f32[2,2] = f32[4] [5.0, 6.0, 7.0, 8.0]\n  %1: f32[4] = add(%0, $w0)\n  %2: f32[4] = mul(%1, $w1)\n  %3: f32[4] = mul(%2, $w2)\n",
    )
    .replace("return %1", "return %3");
    let g2 = parse(&with_alias).unwrap_or_else(|e| panic!("{e}\n{with_alias}"));
    assert_eq!(g2.weight_count(), 2, "the alias shares storage");
    let text2 = round_trip(&g2);
    assert!(text2.contains("$w1 \"w again\": f32[4] = $w0\n"), "{text2}");
    assert!(
        text2.contains("$w2: f32[2,2] = f32[4] [5.0, 6.0, 7.0, 8.0]\n"),
        "{text2}"
    );
}

#[test]
fn meta_is_printed_when_set() {
    let mut g = Graph::new("m");
    let x = g.add_input("", f32_ty(&[1])).unwrap();
    g.outputs.push(x);
    let plain = round_trip(&g);
    assert!(!plain.contains("meta"), "{plain}");
    g.meta = ModelMeta {
        producer_name: "pytorch".into(),
        producer_version: "2.11".into(),
        opset: 17,
        ir_version: 8,
    };
    let text = round_trip(&g);
    assert!(
        text.contains("  meta { producer = \"pytorch\" \"2.11\", opset = 17, ir_version = 8 }\n"),
        "{text}"
    );
}

#[test]
fn numbering_is_canonical() {
    // Dead nodes and creation order do not show in the text.
    let build = |with_dead: bool| {
        let mut g = Graph::new("canon");
        let x = g.add_input("x", f32_ty(&[2])).unwrap();
        if with_dead {
            let (dead, _) = g
                .add_node(
                    "dead",
                    Op::Relu {},
                    vec![Some(x)],
                    vec![("d".into(), f32_ty(&[2]))],
                )
                .unwrap();
            let _unused = g.add_weight("unused", f32_weight(&[1], vec![1.0])).unwrap();
            g.remove_node(dead);
        }
        let w = g.add_weight("w", f32_weight(&[2], vec![1.0, 2.0])).unwrap();
        let y = node(&mut g, Op::Mul {}, vec![Some(x), Some(w)], f32_ty(&[2]));
        g.outputs.push(y);
        g
    };
    let (a, b) = (build(false), build(true));
    assert_eq!(print(&a), print(&b));
    assert_eq!(
        print(&a),
        "graph @canon(%0 \"x\": f32[2]) -> (f32[2]) {\n  $w0 \"w\": f32[2] = [1.0, 2.0]\n  %1: f32[2] = mul(%0, $w0)\n  return %1\n}\n"
    );
}

/// Builds op `name` from the table with non-default-looking attribute values, finding
/// each required attribute's kind by trying candidates until the table accepts one.
fn default_op(name: &str) -> Op {
    let mut strs: Vec<&str> = Vec::new();
    for names in [
        AutoPad::NAMES,
        PadMode::NAMES,
        Direction::NAMES,
        ResizeMode::NAMES,
        CoordTransform::NAMES,
        NearestMode::NAMES,
        KeepAspect::NAMES,
        ScatterReduction::NAMES,
        DepthToSpaceMode::NAMES,
        GeluApprox::NAMES,
    ] {
        strs.extend(names.iter().rev());
    }
    let mut candidates = vec![
        Attr::Float(0.1f32 as f64),
        Attr::Int(2),
        Attr::Bool(true),
        Attr::Ints(vec![1, 2]),
        Attr::Floats(vec![0.25, -1.5]),
        Attr::DType(DType::F16),
        Attr::Strs(vec!["Sigmoid".into(), "Tanh".into()]),
    ];
    candidates.extend(strs.iter().map(|s| Attr::Str(s.to_string())));
    let mut attrs: BTreeMap<String, Attr> = BTreeMap::new();
    let mut tried: BTreeMap<String, usize> = BTreeMap::new();
    for _ in 0..1000 {
        let attr = match Op::from_attrs(name, attrs.clone()) {
            Ok(op) => return op,
            Err(AttrError::Missing { attr, .. }) | Err(AttrError::WrongKind { attr, .. }) => attr,
            Err(e) => panic!("{name}: {e}"),
        };
        let k = tried.entry(attr.to_string()).or_insert(0);
        let Some(c) = candidates.get(*k) else {
            panic!("{name}: no candidate value fits attribute `{attr}`")
        };
        attrs.insert(attr.to_string(), c.clone());
        *k += 1;
    }
    panic!("{name}: attribute search did not finish")
}

#[test]
fn every_op_round_trips() {
    for &name in Op::ALL_NAMES {
        let op = default_op(name);
        let mut g = Graph::new(name);
        let ty = TensorType::new(DType::F32, vec![Dim::Sym("N".into()), Dim::Fixed(4)]);
        let x = g.add_input("x", ty.clone()).unwrap();
        let (_, outs) = g
            .add_node(
                format!("{name}_0"),
                op,
                vec![Some(x)],
                vec![("y".into(), ty)],
            )
            .unwrap();
        g.outputs.push(outs[0]);
        let text = round_trip(&g);
        assert!(text.contains(&format!("= {name}(%0)")), "{text}");
    }
}

/// A small CNN-like graph used by the format snapshots.
fn small_cnn() -> Graph {
    let mut g = Graph::new("tiny_cnn");
    g.meta = ModelMeta {
        producer_name: "pytorch".into(),
        producer_version: "2.11".into(),
        opset: 17,
        ir_version: 8,
    };
    let n = || Dim::Sym("N".into());
    let x = g
        .add_input(
            "input",
            TensorType::new(
                DType::F32,
                vec![n(), Dim::Fixed(1), Dim::Fixed(4), Dim::Fixed(4)],
            ),
        )
        .unwrap();
    let wdata: Vec<f32> = (0..18).map(|i| (i as f32 - 9.0) / 8.0).collect();
    let w = g
        .add_weight("conv.weight", f32_weight(&[2, 1, 3, 3], wdata))
        .unwrap();
    let b = g
        .add_weight("conv.bias", f32_weight(&[2], vec![0.1, -0.0]))
        .unwrap();
    let conv_ty = TensorType::new(
        DType::F32,
        vec![n(), Dim::Fixed(2), Dim::Fixed(4), Dim::Fixed(4)],
    );
    let (_, c) = g
        .add_node(
            "Conv_0",
            Op::Conv {
                auto_pad: AutoPad::NotSet,
                kernel_shape: vec![3, 3],
                strides: vec![1, 1],
                pads: vec![1, 1, 1, 1],
                dilations: vec![1, 1],
                group: 1,
            },
            vec![Some(x), Some(w), Some(b)],
            vec![("conv1.out".into(), conv_ty.clone())],
        )
        .unwrap();
    let (_, r) = g
        .add_node(
            "Relu_1",
            Op::Relu {},
            vec![Some(c[0])],
            vec![(String::new(), conv_ty)],
        )
        .unwrap();
    let shape = g
        .add_weight(
            "shape",
            Weight::from_tensor(&Tensor::from_vec(vec![2], vec![0i64, -1]).unwrap()),
        )
        .unwrap();
    let flat_ty = TensorType::new(DType::F32, vec![n(), Dim::Fixed(32)]);
    let (_, f) = g
        .add_node(
            "Reshape_2",
            Op::Reshape { allowzero: false },
            vec![Some(r[0]), Some(shape)],
            vec![(String::new(), flat_ty.clone())],
        )
        .unwrap();
    let (_, s) = g
        .add_node(
            "",
            Op::Softmax {
                axis: -1,
                coerce_2d: false,
            },
            vec![Some(f[0])],
            vec![("logits".into(), flat_ty)],
        )
        .unwrap();
    g.outputs.push(s[0]);
    g
}

#[test]
fn small_graph_snapshot() {
    let g = small_cnn();
    round_trip(&g);
    insta::assert_snapshot!("small_cnn_full", print(&g));
    insta::assert_snapshot!("small_cnn_elided", print_elided(&g));
}

#[test]
fn large_weights_round_trip() {
    // A MobileNet-sized weight (4 MiB) in full hex form; parsing stays linear.
    let n = 1 << 20;
    let data: Vec<f32> = (0..n).map(|i| (i as f32).sin()).collect();
    let mut g = Graph::new("big");
    let w = g.add_weight("w", f32_weight(&[n], data)).unwrap();
    g.outputs.push(w);
    let text = round_trip(&g);
    assert!(text.len() > 8 * n && text.contains(" = hex \""));
}
