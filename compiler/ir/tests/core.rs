//! Core IR behaviour: op attribute tables, graph editing and compaction, tensors.

use pare_ir::{Attr, DType, Graph, Op, Tensor, TensorType, Weight};
use std::collections::BTreeMap;

#[test]
fn op_table_round_trips_attributes() {
    let op = Op::Conv {
        auto_pad: pare_ir::ops::AutoPad::NotSet,
        kernel_shape: vec![3, 3],
        strides: vec![1, 1],
        pads: vec![1, 1, 1, 1],
        dilations: vec![1, 1],
        group: 1,
    };
    let attrs: BTreeMap<String, Attr> = op
        .attrs()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    assert_eq!(Op::from_attrs("conv", attrs).unwrap(), op);
    for name in Op::ALL_NAMES {
        // Every name is unique.
        assert_eq!(
            Op::ALL_NAMES.iter().filter(|n| *n == name).count(),
            1,
            "{name}"
        );
    }
}

#[test]
fn op_table_rejects_bad_attributes() {
    let mut attrs = BTreeMap::new();
    attrs.insert("axis".to_string(), Attr::Str("x".into()));
    attrs.insert("coerce_2d".to_string(), Attr::Bool(false));
    assert!(Op::from_attrs("softmax", attrs).is_err());
    assert!(Op::from_attrs("no_such_op", BTreeMap::new()).is_err());
    let mut extra = BTreeMap::new();
    extra.insert("bogus".to_string(), Attr::Int(1));
    assert!(Op::from_attrs("relu", extra).is_err());
}

#[test]
fn compact_renumbers_and_drops_dead_nodes() {
    let mut g = Graph::new("g");
    let x = g
        .add_input("x", TensorType::fixed(DType::F32, &[2]))
        .unwrap();
    let w = g
        .add_weight(
            "w",
            Weight::from_tensor(&Tensor::from_vec(vec![2], vec![1f32, 2.0]).unwrap()),
        )
        .unwrap();
    let (dead, _) = g
        .add_node(
            "dead",
            Op::Relu {},
            vec![Some(x)],
            vec![("d".into(), TensorType::fixed(DType::F32, &[2]))],
        )
        .unwrap();
    let (_, outs) = g
        .add_node(
            "add",
            Op::Add {},
            vec![Some(x), Some(w)],
            vec![("y".into(), TensorType::fixed(DType::F32, &[2]))],
        )
        .unwrap();
    g.outputs.push(outs[0]);
    let before = g.clone();
    g.remove_node(dead);
    assert_ne!(g.order().len(), before.order().len());
    let mut c = g.clone();
    c.compact();
    assert_eq!(c.order().len(), 1);
    assert_eq!(c.value_count(), 3);
    assert_eq!(c, g);
}

#[test]
fn tensor_bytes_are_checked() {
    assert!(Tensor::from_le_bytes(DType::F32, vec![2, 2], &[0u8; 15]).is_err());
    let t = Tensor::from_le_bytes(
        DType::I64,
        vec![2],
        &[
            1, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255,
        ],
    )
    .unwrap();
    assert_eq!(t.to_i64_vec(), vec![1, -1]);
    assert_eq!(t.cast(DType::F32).to_f32_vec(), vec![1.0, -1.0]);
    assert!(Tensor::zeros(DType::F32, vec![1 << 20, 1 << 20]).is_err());
}

#[test]
fn param_count_skips_integer_and_scalar_weights() {
    let mut g = Graph::new("g");
    let x = g
        .add_input("x", TensorType::fixed(DType::F32, &[2]))
        .unwrap();
    let w = g
        .add_weight(
            "w",
            Weight::from_tensor(&Tensor::from_vec(vec![2], vec![1f32, 2.0]).unwrap()),
        )
        .unwrap();
    let lo = g
        .add_weight("lo", Weight::from_tensor(&Tensor::scalar(0f32)))
        .unwrap();
    let axes = g
        .add_weight(
            "axes",
            Weight::from_tensor(&Tensor::from_vec(vec![1], vec![0i64]).unwrap()),
        )
        .unwrap();
    let ty = TensorType::fixed(DType::F32, &[2]);
    let (_, a) = g
        .add_node(
            "a",
            Op::Add {},
            vec![Some(x), Some(w)],
            vec![("a".into(), ty.clone())],
        )
        .unwrap();
    let (_, c) = g
        .add_node(
            "c",
            Op::Clip {},
            vec![Some(a[0]), Some(lo)],
            vec![("c".into(), ty)],
        )
        .unwrap();
    let (_, s) = g
        .add_node(
            "s",
            Op::Unsqueeze {},
            vec![Some(c[0]), Some(axes)],
            vec![("s".into(), TensorType::fixed(DType::F32, &[1, 2]))],
        )
        .unwrap();
    g.outputs.push(s[0]);
    assert_eq!(pare_ir::analysis::param_count(&g), 2);
    assert_eq!(pare_ir::analysis::weight_bytes(&g), 8 + 4 + 8);
}

/// Binding the batch re-infers shapes but keeps quantized types: the output of
/// a quantize_linear (not a quantized node, so inference gives plain i8) and of
/// a quantized node (whose output type is declared) both keep their parameters.
#[test]
fn binding_symbols_keeps_quantization() {
    let g = pare_ir::text::parse(
        r#"
graph @q(%x "x": f32[N,16]) -> (f32[N,16]) {
  $s "s": f32[] = [0.5]
  $z "z": i8[] = [0]
  %q "q": i8[N,16] !q(bits=8, signed=true, scale=[0.5], zp=[0]) = quantize_linear(%x, $s, $z) {axis=1, saturate=true, block_size=0}
  %r "r": i8[N,16] !q(bits=8, signed=true, scale=[0.25], zp=[-128]) = relu(%q)
  %y "y": f32[N,16] = dequantize_linear(%r, $s, $z) {axis=1, block_size=0}
  return %y
}
"#,
    )
    .unwrap();
    let b = pare_ir::analysis::with_symbols_bound(&g, 3).unwrap();
    for ((_, before), (_, after)) in g.values().zip(b.values()) {
        assert_eq!(before.ty.quant, after.ty.quant, "{}", before.name);
        assert_eq!(before.ty.dtype, after.ty.dtype, "{}", before.name);
        if before.ty.rank() == 2 {
            assert_eq!(after.ty.fixed_shape(), Some(vec![3, 16]), "{}", before.name);
        }
    }
}
