//! Inference of reductions, indexing, generators, recurrent layers, quantization,
//! and the graph-level behaviour of `infer_graph` (merging declared types, arity
//! checks, hostile graphs).

mod infer_util;
use infer_util::{build, fails, has, one, run, ty, In::*};
use pare_ir::infer::{infer_graph, infer_node, InferError, ShapeValues};
use pare_ir::ops::{Direction, ScatterReduction};
use pare_ir::{DType, Graph, Op, ValueId};

fn rs(keepdims: bool, noop: bool) -> Op {
    Op::ReduceSum {
        keepdims,
        noop_with_empty_axes: noop,
    }
}

#[test]
fn reductions() {
    assert_eq!(
        one(rs(true, false), &[T("f32[N,3,4]"), I(vec![-1])]),
        "f32[N,3,1]"
    );
    assert_eq!(
        one(rs(false, false), &[T("f32[N,3,4]"), I(vec![1, -1])]),
        "f32[N]"
    );
    assert_eq!(one(rs(false, false), &[T("f32[N,3,4]")]), "f32[]");
    assert_eq!(one(rs(true, false), &[T("f32[N,3,4]")]), "f32[1,1,1]");
    assert_eq!(one(rs(false, true), &[T("f32[N,3,4]")]), "f32[N,3,4]");
    assert_eq!(
        one(rs(false, true), &[T("f32[N,3,4]"), I(vec![])]),
        "f32[N,3,4]"
    );
    assert_eq!(
        one(rs(true, false), &[T("f32[N,3]"), T("i64[1]")]),
        "f32[_u0,_u1]"
    );
    assert_eq!(
        one(rs(true, false), &[T("f32[1,3]"), T("i64[1]")]),
        "f32[1,_u0]"
    );
    has(
        &fails(rs(false, false), &[T("f32[N,3]"), I(vec![2])], 1),
        "holds axis 2, out of range for rank 2",
    );
    has(
        &fails(rs(false, false), &[T("f32[N,3]"), I(vec![1, -1])], 1),
        "repeats axis -1",
    );
    let am = Op::ArgMax {
        axis: -1,
        keepdims: false,
        select_last_index: false,
    };
    assert_eq!(one(am, &[T("f32[N,10]")]), "i64[N]");
    let am = Op::ArgMin {
        axis: 1,
        keepdims: true,
        select_last_index: false,
    };
    assert_eq!(one(am, &[T("f32[N,10]")]), "i64[N,1]");
    let cs = Op::CumSum {
        exclusive: false,
        reverse: false,
    };
    assert_eq!(one(cs.clone(), &[T("f32[N,10]"), IS(1)]), "f32[N,10]");
    has(
        &fails(cs, &[T("f32[N,10]"), IS(3)], 1),
        "axis 3 is out of range",
    );
}

#[test]
fn reductions_with_runtime_axes() {
    // Without keepdims, `k` distinct axes remove `k` dims.
    assert_eq!(
        one(rs(false, false), &[T("f32[N,3,4]"), T("i64[2]")]),
        "f32[_u0]"
    );
    assert_eq!(
        one(rs(false, false), &[T("f32[N,3]"), T("i64[2]")]),
        "f32[]"
    );
    // A zero-length axes tensor is known to be empty.
    assert_eq!(
        one(rs(false, true), &[T("f32[N,3]"), T("i64[0]")]),
        "f32[N,3]"
    );
    assert_eq!(
        one(rs(false, false), &[T("f32[N,3]"), T("i64[0]")]),
        "f32[]"
    );
    assert_eq!(
        one(rs(true, false), &[T("f32[N,3]"), T("i64[0]")]),
        "f32[1,1]"
    );
    has(
        &fails(rs(false, false), &[T("f32[N,3]"), T("i64[3]")], 1),
        "input 1 (axes) holds 3 axes, more than the 2 possible here",
    );
    has(
        &fails(rs(false, false), &[T("f32[N,3]"), T("i64[K]")], 1),
        "has a symbolic length",
    );
    has(
        &fails(rs(true, false), &[T("f32[N,3]"), T("i64[1,1]")], 1),
        "input 1 (axes) has rank 2, expected 1",
    );
    has(
        &fails(rs(false, false), &[T("f32[N,3]"), T("f32[1]")], 1),
        "input 1 (axes) has dtype f32",
    );
}

#[test]
fn bool_max_and_min_only() {
    let max = Op::ReduceMax {
        keepdims: true,
        noop_with_empty_axes: false,
    };
    let min = Op::ReduceMin {
        keepdims: false,
        noop_with_empty_axes: false,
    };
    assert_eq!(one(max, &[T("bool[N,3]"), I(vec![1])]), "bool[N,1]");
    assert_eq!(one(min, &[T("bool[N,3]"), I(vec![0])]), "bool[3]");
    has(
        &fails(rs(true, false), &[T("bool[N,3]")], 1),
        "input 0 (data) has dtype bool, expected a numeric type",
    );
}

#[test]
fn top_k() {
    let tk = Op::TopK {
        axis: -1,
        largest: true,
        sorted: true,
    };
    assert_eq!(
        run(tk.clone(), &[T("f32[N,10]"), I(vec![3])], 2).unwrap(),
        vec!["f32[N,3]", "i64[N,3]"]
    );
    assert_eq!(
        run(tk.clone(), &[T("f32[N,10]"), T("i64[1]")], 2).unwrap(),
        vec!["f32[N,_u0]", "i64[N,_u0]"]
    );
    has(
        &fails(tk.clone(), &[T("f32[N,10]"), I(vec![11])], 2),
        "k = 11 exceeds the axis size 10",
    );
    has(
        &fails(tk, &[T("f32[N,10]"), I(vec![3])], 1),
        "has 1 outputs, expected 2",
    );
}

#[test]
fn gather_family() {
    assert_eq!(
        one(Op::Gather { axis: -1 }, &[T("f32[N,10,4]"), T("i64[2,3]")]),
        "f32[N,10,2,3]"
    );
    assert_eq!(
        one(Op::Gather { axis: 0 }, &[T("f32[100,64]"), T("i64[N,T]")]),
        "f32[N,T,64]"
    );
    assert_eq!(
        one(Op::Gather { axis: 0 }, &[T("f32[5,2]"), IS(-1)]),
        "f32[2]"
    );
    has(
        &fails(Op::Gather { axis: 0 }, &[T("f32[5,2]"), IS(5)], 1),
        "holds index 5, out of range",
    );
    has(
        &fails(Op::Gather { axis: 2 }, &[T("f32[5,2]"), IS(0)], 1),
        "`axis` 2 is out of range",
    );
    has(
        &fails(Op::Gather { axis: 0 }, &[T("f32[5,2]"), T("f32[]")], 1),
        "input 1 (indices) has dtype f32",
    );
    assert_eq!(
        one(
            Op::GatherElements { axis: 1 },
            &[T("f32[N,5]"), T("i64[N,2]")]
        ),
        "f32[N,2]"
    );
    assert_eq!(
        one(
            Op::GatherNd { batch_dims: 0 },
            &[T("f32[4,5,6]"), T("i64[N,2]")]
        ),
        "f32[N,6]"
    );
    assert_eq!(
        one(
            Op::GatherNd { batch_dims: 1 },
            &[T("f32[B,5,6]"), T("i64[B,3,1]")]
        ),
        "f32[B,3,6]"
    );
    has(
        &fails(
            Op::GatherNd { batch_dims: 0 },
            &[T("f32[4]"), T("i64[2,3]")],
            1,
        ),
        "indexes 3 dims",
    );
    let se = Op::ScatterElements {
        axis: 0,
        reduction: ScatterReduction::None,
    };
    assert_eq!(
        one(se, &[T("f32[N,5]"), T("i64[2,5]"), T("f32[2,5]")]),
        "f32[N,5]"
    );
    let sn = Op::ScatterNd {
        reduction: ScatterReduction::Add,
    };
    assert_eq!(
        one(sn, &[T("f32[8]"), T("i64[4,1]"), T("f32[4]")]),
        "f32[8]"
    );
    assert_eq!(
        one(
            Op::Compress { axis: Some(1) },
            &[T("f32[N,5]"), T("bool[5]")]
        ),
        "f32[N,_u0]"
    );
    assert_eq!(
        one(Op::Trilu { upper: true }, &[T("f32[N,5,5]")]),
        "f32[N,5,5]"
    );
    let rsq = Op::ReverseSequence {
        batch_axis: 1,
        time_axis: 0,
    };
    assert_eq!(
        one(rsq.clone(), &[T("f32[T,B,4]"), T("i64[B]")]),
        "f32[T,B,4]"
    );
    has(
        &fails(rsq, &[T("f32[T,3,4]"), T("i64[2]")], 1),
        "expected the batch size 3",
    );
}

#[test]
fn generators() {
    let cos = Op::ConstantOfShape {
        dtype: DType::I64,
        value: 1.0,
    };
    assert_eq!(one(cos.clone(), &[I(vec![2, 3])]), "i64[2,3]");
    assert_eq!(one(cos.clone(), &[T("i64[2]")]), "i64[_u0,_u1]");
    has(&fails(cos, &[I(vec![2, -3])], 1), "negative");
    assert_eq!(one(Op::Range {}, &[IS(0), IS(10), IS(3)]), "i64[4]");
    assert_eq!(one(Op::Range {}, &[IS(10), IS(0), IS(1)]), "i64[0]");
    assert_eq!(one(Op::Range {}, &[IS(0), T("i64[]"), IS(1)]), "i64[_u0]");
    has(
        &fails(Op::Range {}, &[IS(0), IS(10), IS(0)], 1),
        "input 2 (delta) is zero",
    );
    has(
        &fails(Op::Range {}, &[IS(0), T("f32[]"), IS(1)], 1),
        "dtype",
    );
    assert_eq!(
        one(
            Op::EyeLike {
                dtype: Some(DType::F32),
                k: 0
            },
            &[T("i64[3,4]")]
        ),
        "f32[3,4]"
    );
    has(
        &fails(Op::EyeLike { dtype: None, k: 0 }, &[T("i64[3]")], 1),
        "has rank 1, expected 2",
    );
    assert_eq!(
        one(
            Op::OneHot { axis: -1 },
            &[T("i64[N]"), IS(10), F(vec![0.0, 1.0])]
        ),
        "f32[N,10]"
    );
    assert_eq!(
        one(
            Op::OneHot { axis: 0 },
            &[T("i64[N]"), F(vec![4.0]), F(vec![0.0, 1.0])]
        ),
        "f32[4,N]"
    );
    has(
        &fails(
            Op::OneHot { axis: 0 },
            &[T("i64[N]"), IS(0), F(vec![0.0, 1.0])],
            1,
        ),
        "invalid depth 0",
    );
    assert_eq!(one(Op::NonZero {}, &[T("f32[N,4]")]), "i64[2,_u0]");
}

fn lstm(direction: Direction, layout: i64) -> Op {
    Op::Lstm {
        direction,
        hidden_size: 16,
        activations: vec![],
        activation_alpha: vec![],
        activation_beta: vec![],
        clip: None,
        input_forget: false,
        layout,
    }
}

#[test]
fn recurrent_layouts() {
    let ins = [
        T("f32[T,N,8]"),
        W("f32[1,64,8]"),
        W("f32[1,64,16]"),
        W("f32[1,128]"),
    ];
    assert_eq!(
        run(lstm(Direction::Forward, 0), &ins, 3).unwrap(),
        vec!["f32[T,1,N,16]", "f32[1,N,16]", "f32[1,N,16]"]
    );
    let ins = [T("f32[N,T,8]"), W("f32[2,64,8]"), W("f32[2,64,16]")];
    assert_eq!(
        run(lstm(Direction::Bidirectional, 1), &ins, 2).unwrap(),
        vec!["f32[N,T,2,16]", "f32[N,2,16]"]
    );
    let gru = Op::Gru {
        direction: Direction::Reverse,
        hidden_size: 4,
        activations: vec![],
        activation_alpha: vec![],
        activation_beta: vec![],
        clip: None,
        linear_before_reset: true,
        layout: 0,
    };
    assert_eq!(
        run(
            gru,
            &[T("f32[5,N,3]"), W("f32[1,12,3]"), W("f32[1,12,4]")],
            2
        )
        .unwrap(),
        vec!["f32[5,1,N,4]", "f32[1,N,4]"]
    );
    let rnn = Op::Rnn {
        direction: Direction::Forward,
        hidden_size: 4,
        activations: vec![],
        activation_alpha: vec![],
        activation_beta: vec![],
        clip: None,
        layout: 0,
    };
    has(
        &fails(rnn, &[T("f32[5,N,3]"), W("f32[1,8,3]"), W("f32[1,4,4]")], 1),
        "input 1 (w) has 8 at dim 1, expected 4",
    );
    has(
        &fails(
            lstm(Direction::Forward, 2),
            &[T("f32[5,N,3]"), W("f32[1,64,3]"), W("f32[1,64,16]")],
            1,
        ),
        "`layout` is 2",
    );
}

#[test]
fn quantization() {
    let q = || Op::QuantizeLinear {
        axis: 1,
        saturate: true,
        block_size: 0,
    };
    assert_eq!(one(q(), &[T("f32[N,4]"), F(vec![0.1])]), "u8[N,4]");
    assert_eq!(one(q(), &[T("f32[N,4]"), W("f32[]"), W("i8[]")]), "i8[N,4]");
    assert_eq!(
        one(q(), &[T("f32[N,4]"), W("f32[4]"), W("i8[4]")]),
        "i8[N,4]"
    );
    has(
        &fails(q(), &[T("f32[N,4]"), W("f32[3]"), W("i8[3]")], 1),
        "input 1 (y_scale) has 3 entries, expected 4",
    );
    has(
        &fails(q(), &[T("f32[N,4]"), W("f32[4]"), W("i8[2]")], 1),
        "input 2 (y_zero_point) has shape",
    );
    has(
        &fails(q(), &[T("i32[N,4]"), W("f32[]")], 1),
        "input 0 (x) has dtype i32",
    );
    let dq = Op::DequantizeLinear {
        axis: 0,
        block_size: 0,
    };
    assert_eq!(
        one(dq.clone(), &[T("i8[16,4]"), W("f32[16]"), W("i8[16]")]),
        "f32[16,4]"
    );
    assert_eq!(one(dq.clone(), &[T("i32[16]"), W("f16[]")]), "f16[16]");
    // A one-element scale with a scalar zero point (onnxruntime's one-channel
    // biases) is one parameter; a longer scale still needs a matching zero point.
    assert_eq!(
        one(dq.clone(), &[T("i32[1]"), W("f32[1]"), W("i32[]")]),
        "f32[1]"
    );
    has(
        &fails(dq.clone(), &[T("i8[16,4]"), W("f32[16]"), W("i8[]")], 1),
        "input 2 (x_zero_point) has shape",
    );
    has(
        &fails(dq, &[T("i8[16,4]"), W("f32[]"), W("u8[]")], 1),
        "has dtype i8 but input 2",
    );
    assert_eq!(
        run(Op::DynamicQuantizeLinear {}, &[T("f32[N,4]")], 3).unwrap(),
        vec!["u8[N,4]", "f32[]", "u8[]"]
    );
}

#[test]
fn declared_types_are_kept_over_unknowns() {
    let (mut g, outs) = build(Op::NonZero {}, &[T("f32[N,4]")], 1);
    g.value_mut(outs[0]).ty = ty("i64[2,K]");
    infer_graph(&mut g).unwrap();
    assert_eq!(g.ty(outs[0]).to_string(), "i64[2,K]");
    // A declared fixed size that contradicts inference is an error.
    let (mut g, outs) = build(Op::Relu {}, &[T("f32[N,4]")], 1);
    g.value_mut(outs[0]).ty = ty("f32[N,5]");
    let e = infer_graph(&mut g).unwrap_err();
    assert!(matches!(e, InferError::Conflict { .. }), "{e}");
    has(
        &e.to_string(),
        "value `out0`: inferred type f32[N,4] conflicts with its declared type f32[N,5]",
    );
    // A declared fixed size where inference has a source symbol keeps the symbol.
    let (mut g, outs) = build(Op::Relu {}, &[T("f32[N,4]")], 1);
    g.value_mut(outs[0]).ty = ty("f32[1,4]");
    infer_graph(&mut g).unwrap();
    assert_eq!(g.ty(outs[0]).to_string(), "f32[N,4]");
}

#[test]
fn reruns_keep_unknown_names_and_never_reuse_them() {
    let mut g = Graph::new("t");
    let x = g.add_input("x", ty("f32[N,4]")).unwrap();
    let p = infer_util::placeholder;
    let (a, av) = g
        .add_node("a", Op::NonZero {}, vec![Some(x)], vec![("a".into(), p())])
        .unwrap();
    let (_, bv) = g
        .add_node("b", Op::NonZero {}, vec![Some(x)], vec![("b".into(), p())])
        .unwrap();
    infer_graph(&mut g).unwrap();
    assert_eq!(g.ty(av[0]).to_string(), "i64[2,_u0]");
    assert_eq!(g.ty(bv[0]).to_string(), "i64[2,_u1]");
    infer_graph(&mut g).unwrap();
    assert_eq!(g.ty(bv[0]).to_string(), "i64[2,_u1]");
    // Remove `a` and add a new unknown: it must not be called `_u1` again.
    g.remove_node(a);
    let (_, cv) = g
        .add_node("c", Op::NonZero {}, vec![Some(x)], vec![("c".into(), p())])
        .unwrap();
    infer_graph(&mut g).unwrap();
    assert_eq!(g.ty(bv[0]).to_string(), "i64[2,_u1]");
    assert_eq!(g.ty(cv[0]).to_string(), "i64[2,_u3]");
}

#[test]
fn arity_and_hostile_graphs_are_errors_not_panics() {
    has(
        &fails(Op::Relu {}, &[T("f32[2]"), T("f32[2]")], 1),
        "node `node` (relu): has 2 inputs, at most 1 allowed",
    );
    has(
        &fails(Op::Add {}, &[T("f32[2]"), No, T("f32[2]")], 1),
        "at most 2 allowed",
    );
    has(
        &fails(
            Op::Gemm {
                alpha: 1.0,
                beta: 1.0,
                trans_a: false,
                trans_b: false,
            },
            &[T("f32[2,2]")],
            1,
        ),
        "input 1 (b) is required but absent",
    );
    has(
        &fails(Op::Relu {}, &[T("f32[2]")], 2),
        "has 2 outputs, expected 1",
    );
    has(
        &fails(
            Op::LayerNormalization {
                axis: -1,
                epsilon: 1e-5,
                stash_type: DType::F32,
            },
            &[T("f32[2]"), W("f32[2]")],
            4,
        ),
        "expected 1 to 3",
    );
    has(
        &fails(Op::Concat { axis: 0 }, &[T("f32[2]"), No, T("f32[2]")], 1),
        "variadic inputs cannot be skipped",
    );
    // A dangling value id.
    let (mut g, _) = build(Op::Relu {}, &[T("f32[2]")], 1);
    let n = g.order()[0];
    g.node_mut(n).inputs[0] = Some(ValueId(999));
    has(
        &infer_graph(&mut g).unwrap_err().to_string(),
        "input 0 (x) refers to value 999 out of range",
    );
    has(
        &infer_node(&g, pare_ir::NodeId(7), &ShapeValues::default())
            .unwrap_err()
            .to_string(),
        "out of range",
    );
    // Absurd sizes are refused instead of overflowing.
    let big = Op::ConstantOfShape {
        dtype: DType::F32,
        value: 0.0,
    };
    has(
        &fails(big.clone(), &[I(vec![i64::MAX])], 1),
        "absurdly large",
    );
    has(
        &fails(big, &[I(vec![1 << 30, 1 << 30])], 1),
        "absurd element count",
    );
    has(
        &fails(Op::Tile {}, &[T("f32[1099511627776]"), I(vec![4])], 1),
        "absurdly large",
    );
    has(
        &fails(
            Op::Reshape { allowzero: false },
            &[T("f32[2,3]"), I(vec![i64::MAX, 2])],
            1,
        ),
        "absurdly large",
    );
    has(
        &fails(Op::Range {}, &[IS(0), IS(i64::MAX), IS(1)], 1),
        "out of range",
    );
}
