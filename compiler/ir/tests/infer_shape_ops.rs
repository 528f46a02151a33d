//! Inference of shape and data-movement ops, and shape-value propagation.

mod infer_util;
use infer_util::{add_in, fails, has, one, run, ty, In, In::*};
use pare_ir::infer::{infer_graph, shape_values, SymInt};
use pare_ir::ops::{
    CoordTransform, DepthToSpaceMode, KeepAspect, NearestMode, PadMode, ResizeMode,
};
use pare_ir::{DType, Graph, Op};

#[test]
fn shape_and_size() {
    let shape = |start, end| Op::Shape { start, end };
    assert_eq!(one(shape(0, None), &[T("f32[N,3,4]")]), "i64[3]");
    assert_eq!(one(shape(-1, None), &[T("f32[N,3,4]")]), "i64[1]");
    assert_eq!(one(shape(1, Some(-1)), &[T("f32[N,3,4]")]), "i64[1]");
    // Out-of-range start/end clamp; start past end gives an empty shape.
    assert_eq!(one(shape(-10, Some(10)), &[T("f32[N,3,4]")]), "i64[3]");
    assert_eq!(one(shape(10, None), &[T("f32[N,3,4]")]), "i64[0]");
    assert_eq!(one(shape(2, Some(1)), &[T("f32[N,3,4]")]), "i64[0]");
    assert_eq!(one(Op::Size {}, &[T("f32[N,3]")]), "i64[]");
}

#[test]
fn reshape_zero_and_minus_one() {
    let r = || Op::Reshape { allowzero: false };
    assert_eq!(
        one(r(), &[T("f32[N,8,32]"), I(vec![0, 8, 4, 8])]),
        "f32[N,8,4,8]"
    );
    assert_eq!(one(r(), &[T("f32[N,8,32]"), I(vec![0, -1])]), "f32[N,256]");
    assert_eq!(one(r(), &[T("f32[2,3,4]"), I(vec![-1, 4])]), "f32[6,4]");
    // The -1 is the leftover symbol.
    assert_eq!(
        one(r(), &[T("f32[N,8,32]"), I(vec![-1, 256])]),
        "f32[N,256]"
    );
    // N*8 is not a single known symbol: unknown.
    assert_eq!(
        one(r(), &[T("f32[N,8,32]"), I(vec![-1, 32])]),
        "f32[_u0,32]"
    );
    assert_eq!(
        one(
            Op::Reshape { allowzero: true },
            &[T("f32[0,3]"), I(vec![0, 3])]
        ),
        "f32[0,3]"
    );
    // Target unknown but of known length: unknown dims of known rank.
    assert_eq!(one(r(), &[T("f32[N,8]"), T("i64[2]")]), "f32[_u0,_u1]");
    has(
        &fails(r(), &[T("f32[2,3]"), I(vec![4, 2])], 1),
        "cannot reshape f32[2,3] (6 elements) to 8 elements",
    );
    has(
        &fails(r(), &[T("f32[2,3]"), I(vec![-1, -1])], 1),
        "more than one -1",
    );
    has(
        &fails(r(), &[T("f32[2,3]"), I(vec![-2, 3])], 1),
        "invalid size -2",
    );
    has(
        &fails(r(), &[T("f32[2,3]"), I(vec![-1, 4])], 1),
        "multiple of 4",
    );
    has(
        &fails(r(), &[T("f32[2,3]"), T("i64[K]")], 1),
        "symbolic length",
    );
    has(
        &fails(r(), &[T("f32[2]"), I(vec![0, 0])], 1),
        "copies dim 1",
    );
}

/// The transformer pattern: the batch comes from `Shape`, the rest are constants.
#[test]
fn transformer_reshape_chain_keeps_batch_symbol() {
    let mut g = Graph::new("t");
    let x = g.add_input("x", ty("f32[N,8,32]")).unwrap();
    let p = infer_util::placeholder;
    let add = |g: &mut Graph, op: Op, ins: Vec<Option<pare_ir::ValueId>>| {
        g.add_node("", op, ins, vec![(String::new(), p())])
            .unwrap()
            .1[0]
    };
    let shape = add(
        &mut g,
        Op::Shape {
            start: 0,
            end: None,
        },
        vec![Some(x)],
    );
    let zero = add_in(&mut g, 1, &In::IS(0));
    let batch = add(&mut g, Op::Gather { axis: 0 }, vec![Some(shape), zero]);
    let ax0 = add_in(&mut g, 2, &In::I(vec![0]));
    let batch1 = add(&mut g, Op::Unsqueeze {}, vec![Some(batch), ax0]);
    let rest = add_in(&mut g, 3, &In::I(vec![8, 4, 8]));
    let target = add(&mut g, Op::Concat { axis: 0 }, vec![Some(batch1), rest]);
    let y = add(
        &mut g,
        Op::Reshape { allowzero: false },
        vec![Some(x), Some(target)],
    );
    g.outputs.push(y);
    infer_graph(&mut g).unwrap();
    assert_eq!(g.ty(shape).to_string(), "i64[3]");
    assert_eq!(g.ty(batch).to_string(), "i64[]");
    assert_eq!(g.ty(batch1).to_string(), "i64[1]");
    assert_eq!(g.ty(target).to_string(), "i64[4]");
    assert_eq!(g.ty(y).to_string(), "f32[N,8,4,8]");
    let sv = shape_values(&g).unwrap();
    let n = SymInt::Sym("N".into());
    assert_eq!(sv.get(batch), Some(&[n.clone()][..]));
    assert_eq!(
        sv.get(target),
        Some(&[n, SymInt::Int(8), SymInt::Int(4), SymInt::Int(8)][..])
    );
    pare_ir::verify::verify(&g).unwrap();
}

#[test]
fn shape_values_arithmetic_slice_and_cast() {
    let mut g = Graph::new("t");
    let x = g.add_input("x", ty("f32[N,6,4]")).unwrap();
    let p = infer_util::placeholder;
    let add = |g: &mut Graph, op: Op, ins: Vec<Option<pare_ir::ValueId>>| {
        g.add_node("", op, ins, vec![(String::new(), p())])
            .unwrap()
            .1[0]
    };
    let shape = add(
        &mut g,
        Op::Shape {
            start: 0,
            end: None,
        },
        vec![Some(x)],
    );
    let (s, e) = (
        add_in(&mut g, 1, &I(vec![1])),
        add_in(&mut g, 2, &I(vec![i64::MAX])),
    );
    let tail = add(&mut g, Op::Slice {}, vec![Some(shape), s, e]);
    let two = add_in(&mut g, 3, &I(vec![2]));
    let prod = add(&mut g, Op::Mul {}, vec![Some(tail), two]);
    let cast = add(&mut g, Op::Cast { to: DType::I32 }, vec![Some(prod)]);
    let sum = add(&mut g, Op::Add {}, vec![Some(shape), Some(shape)]);
    let size = add(&mut g, Op::Size {}, vec![Some(x)]);
    let z = add(
        &mut g,
        Op::ConstantOfShape {
            dtype: DType::F32,
            value: 0.0,
        },
        vec![Some(prod)],
    );
    g.outputs.push(z);
    infer_graph(&mut g).unwrap();
    let sv = shape_values(&g).unwrap();
    assert_eq!(sv.ints(tail), Some(vec![6, 4]));
    assert_eq!(sv.ints(prod), Some(vec![12, 8]));
    assert_eq!(sv.ints(cast), Some(vec![12, 8]));
    // N + N is not N: a deterministic unknown for the first element.
    let got = sv.get(sum).unwrap();
    assert_eq!(got[0], SymInt::Sym(format!("?v{}_0", sum.0)));
    assert_eq!(&got[1..], &[SymInt::Int(12), SymInt::Int(8)]);
    assert!(matches!(sv.get(size), Some([SymInt::Sym(_)])));
    assert_eq!(g.ty(z).to_string(), "f32[12,8]");
}

#[test]
fn flatten_transpose_squeeze_unsqueeze() {
    assert_eq!(
        one(Op::Flatten { axis: 1 }, &[T("f32[N,3,4]")]),
        "f32[N,12]"
    );
    assert_eq!(
        one(Op::Flatten { axis: 0 }, &[T("f32[2,3,4]")]),
        "f32[1,24]"
    );
    assert_eq!(
        one(Op::Flatten { axis: -1 }, &[T("f32[2,3,4]")]),
        "f32[6,4]"
    );
    assert_eq!(
        one(Op::Flatten { axis: 2 }, &[T("f32[N,M,4]")]),
        "f32[_u0,4]"
    );
    has(
        &fails(Op::Flatten { axis: 4 }, &[T("f32[2,3,4]")], 1),
        "out of range",
    );
    assert_eq!(
        one(Op::Transpose { perm: None }, &[T("f32[N,3,4]")]),
        "f32[4,3,N]"
    );
    assert_eq!(
        one(
            Op::Transpose {
                perm: Some(vec![0, 2, 1])
            },
            &[T("f32[N,3,4]")]
        ),
        "f32[N,4,3]"
    );
    has(
        &fails(
            Op::Transpose {
                perm: Some(vec![0, 0, 1]),
            },
            &[T("f32[N,3,4]")],
            1,
        ),
        "not a permutation",
    );
    assert_eq!(one(Op::Squeeze {}, &[T("f32[1,3,1]")]), "f32[3]");
    assert_eq!(
        one(Op::Squeeze {}, &[T("f32[N,1,3]"), I(vec![-2])]),
        "f32[N,3]"
    );
    has(
        &fails(Op::Squeeze {}, &[T("f32[N,1,3]")], 1),
        "squeeze without axes needs every dim known",
    );
    has(
        &fails(Op::Squeeze {}, &[T("f32[2,3]"), I(vec![0])], 1),
        "dim 0 has size 2",
    );
    assert_eq!(
        one(Op::Unsqueeze {}, &[T("f32[N,3]"), I(vec![0, -1])]),
        "f32[1,N,3,1]"
    );
    has(
        &fails(Op::Unsqueeze {}, &[T("f32[3]"), I(vec![0, 0])], 1),
        "repeats axis 0",
    );
    has(
        &fails(Op::Unsqueeze {}, &[T("f32[3]"), I(vec![5])], 1),
        "out of range for rank 2",
    );
}

#[test]
fn squeeze_unsqueeze_with_runtime_axes() {
    let sq = |x: &'static str, axes: &'static str| one(Op::Squeeze {}, &[T(x), T(axes)]);
    let unsq = |x: &'static str, axes: &'static str| one(Op::Unsqueeze {}, &[T(x), T(axes)]);
    // The dims provably not 1 are exactly the ones that survive.
    assert_eq!(sq("f32[2,1,3]", "i64[1]"), "f32[2,3]");
    assert_eq!(sq("f32[1,1]", "i64[1]"), "f32[1]");
    assert_eq!(sq("f32[N,1,3]", "i64[1]"), "f32[_u0,_u1]");
    assert_eq!(sq("f32[N,1]", "i64[2]"), "f32[]");
    assert_eq!(sq("f32[N,1]", "i64[0]"), "f32[N,1]");
    has(
        &fails(Op::Squeeze {}, &[T("f32[2,3]"), T("i64[1]")], 1),
        "input 0 (data) has 2 dims of size other than 1, so squeezing 1 of its 2 dims cannot work",
    );
    has(
        &fails(Op::Squeeze {}, &[T("f32[N]"), T("i64[2]")], 1),
        "input 1 (axes) holds 2 axes, more than the 1 possible here",
    );
    has(
        &fails(Op::Squeeze {}, &[T("f32[N]"), T("i64[K]")], 1),
        "has a symbolic length",
    );
    assert_eq!(unsq("f32[N,3]", "i64[2]"), "f32[_u0,_u1,_u2,_u3]");
    assert_eq!(unsq("f32[]", "i64[2]"), "f32[1,1]");
    assert_eq!(unsq("f32[1]", "i64[1]"), "f32[1,1]");
    assert_eq!(unsq("f32[N,3]", "i64[0]"), "f32[N,3]");
    has(
        &fails(Op::Unsqueeze {}, &[T("f32[3]"), T("i64[100000]")], 1),
        "input 1 (axes) holds 100000 axes, more than the 4095 possible here",
    );
    has(
        &fails(Op::Unsqueeze {}, &[T("f32[3]"), T("i32[]")], 1),
        "input 1 (axes) has rank 0, expected 1",
    );
}

#[test]
fn concat_and_split() {
    assert_eq!(
        one(Op::Concat { axis: 1 }, &[T("f32[N,3]"), T("f32[N,5]")]),
        "f32[N,8]"
    );
    assert_eq!(
        one(Op::Concat { axis: -1 }, &[T("f32[N,3]"), T("f32[N,T]")]),
        "f32[N,_u0]"
    );
    assert_eq!(
        one(Op::Concat { axis: 0 }, &[T("f32[N,3]"), T("f32[0,3]")]),
        "f32[N,3]"
    );
    has(
        &fails(Op::Concat { axis: 1 }, &[T("f32[2,3]"), T("f32[4,3]")], 1),
        "input 1 (inputs) has size 4 at dim 0",
    );
    has(
        &fails(Op::Concat { axis: 1 }, &[T("f32[2,3]"), T("f32[2]")], 1),
        "has rank 1, expected 2",
    );
    let split = |n| Op::Split {
        axis: 1,
        num_outputs: n,
    };
    assert_eq!(
        run(split(Some(3)), &[T("f32[N,7]")], 3).unwrap(),
        vec!["f32[N,3]", "f32[N,3]", "f32[N,1]"]
    );
    assert_eq!(
        run(split(None), &[T("f32[N,7]"), I(vec![2, 5])], 2).unwrap(),
        vec!["f32[N,2]", "f32[N,5]"]
    );
    assert_eq!(
        run(split(None), &[T("f32[2,M]")], 2).unwrap(),
        vec!["f32[2,_u0]", "f32[2,_u1]"]
    );
    has(
        &fails(split(None), &[T("f32[N,7]"), I(vec![2, 4])], 2),
        "do not add up",
    );
    has(
        &fails(split(Some(2)), &[T("f32[N,7]")], 3),
        "`num_outputs` is 2",
    );
    has(
        &fails(split(None), &[T("f32[N,5]")], 4),
        "cannot split size 5 into 4",
    );
}

#[test]
fn slice_clamping() {
    let sl = |data: &'static str, s: Vec<i64>, e: Vec<i64>, a: Vec<i64>, st: Vec<i64>| {
        one(Op::Slice {}, &[T(data), I(s), I(e), I(a), I(st)])
    };
    assert_eq!(
        sl("f32[N,10]", vec![2], vec![-2], vec![1], vec![1]),
        "f32[N,6]"
    );
    assert_eq!(
        sl("f32[N,10]", vec![-100], vec![100], vec![1], vec![1]),
        "f32[N,10]"
    );
    assert_eq!(
        sl("f32[N,10]", vec![0], vec![10], vec![-1], vec![3]),
        "f32[N,4]"
    );
    assert_eq!(
        sl("f32[N,10]", vec![-1], vec![i64::MIN], vec![1], vec![-1]),
        "f32[N,10]"
    );
    assert_eq!(
        sl("f32[N,10]", vec![8], vec![2], vec![1], vec![-2]),
        "f32[N,3]"
    );
    assert_eq!(
        sl("f32[N,10]", vec![5], vec![2], vec![1], vec![1]),
        "f32[N,0]"
    );
    // Whole symbolic axis keeps its symbol; a partial one becomes unknown.
    assert_eq!(
        sl(
            "f32[N,10]",
            vec![0, 1],
            vec![i64::MAX, 3],
            vec![0, 1],
            vec![1, 1]
        ),
        "f32[N,2]"
    );
    assert_eq!(
        sl("f32[N,10]", vec![1], vec![i64::MAX], vec![0], vec![1]),
        "f32[_u0,10]"
    );
    // Optional axes and steps absent.
    assert_eq!(
        one(Op::Slice {}, &[T("f32[4,10]"), I(vec![1]), I(vec![3])]),
        "f32[2,10]"
    );
    has(
        &fails(
            Op::Slice {},
            &[T("f32[4]"), I(vec![0]), I(vec![3]), I(vec![0]), I(vec![0])],
            1,
        ),
        "zero step",
    );
    has(
        &fails(
            Op::Slice {},
            &[T("f32[4]"), I(vec![0]), I(vec![3]), I(vec![1])],
            1,
        ),
        "out of range",
    );
}

#[test]
fn expand_tile_pad() {
    assert_eq!(
        one(Op::Expand {}, &[T("f32[N,1]"), I(vec![2, 1, 5])]),
        "f32[2,N,5]"
    );
    assert_eq!(
        one(Op::Expand {}, &[T("f32[3,1]"), T("i64[2]")]),
        "f32[3,_u0]"
    );
    has(
        &fails(Op::Expand {}, &[T("f32[3]"), I(vec![4])], 1),
        "cannot broadcast to",
    );
    has(
        &fails(Op::Expand {}, &[T("f32[3]"), I(vec![-4])], 1),
        "negative size",
    );
    assert_eq!(
        one(Op::Tile {}, &[T("f32[N,3]"), I(vec![1, 4])]),
        "f32[N,12]"
    );
    assert_eq!(
        one(Op::Tile {}, &[T("f32[N,3]"), I(vec![2, 1])]),
        "f32[_u0,3]"
    );
    has(
        &fails(Op::Tile {}, &[T("f32[N,3]"), I(vec![2])], 1),
        "expected 2 (input rank)",
    );
    let pad = || Op::Pad {
        mode: PadMode::Constant,
    };
    assert_eq!(
        one(pad(), &[T("f32[N,3,4,4]"), I(vec![0, 0, 1, 1, 0, 0, 1, 1])]),
        "f32[N,3,6,6]"
    );
    assert_eq!(
        one(pad(), &[T("f32[N,3,4]"), I(vec![1, -1]), No, I(vec![-1])]),
        "f32[N,3,4]"
    );
    assert_eq!(
        one(pad(), &[T("f32[N,3,4]"), I(vec![0, 2]), No, I(vec![-1])]),
        "f32[N,3,6]"
    );
    has(
        &fails(pad(), &[T("f32[N,3]"), I(vec![1, 1])], 1),
        "expected 4 (2 per padded axis)",
    );
    has(
        &fails(pad(), &[T("f32[2]"), I(vec![-2, -1])], 1),
        "negative",
    );
    has(
        &fails(pad(), &[T("f32[2]"), I(vec![1, 1]), W("i64[]")], 1),
        "input 2 (constant_value)",
    );
}

fn resize(axes: Option<Vec<i64>>, keep: KeepAspect) -> Op {
    Op::Resize {
        mode: ResizeMode::Nearest,
        coordinate_transformation_mode: CoordTransform::Asymmetric,
        nearest_mode: NearestMode::Floor,
        cubic_coeff_a: -0.75,
        exclude_outside: false,
        extrapolation_value: 0.0,
        antialias: false,
        axes,
        keep_aspect_ratio_policy: keep,
    }
}

#[test]
fn resize_scales_and_sizes() {
    let st = KeepAspect::Stretch;
    assert_eq!(
        one(
            resize(None, st),
            &[T("f32[N,3,4,5]"), No, F(vec![1.0, 1.0, 2.0, 1.5])]
        ),
        "f32[N,3,8,7]"
    );
    assert_eq!(
        one(
            resize(None, st),
            &[T("f32[N,3,4,5]"), No, No, I(vec![1, 3, 9, 9])]
        ),
        "f32[1,3,9,9]"
    );
    assert_eq!(
        one(
            resize(Some(vec![2, 3]), st),
            &[T("f32[N,3,4,5]"), No, No, I(vec![9, 9])]
        ),
        "f32[N,3,9,9]"
    );
    // not_larger: scale = min(8/4, 20/5) = 2.
    assert_eq!(
        one(
            resize(Some(vec![2, 3]), KeepAspect::NotLarger),
            &[T("f32[N,3,4,5]"), No, No, I(vec![8, 20])]
        ),
        "f32[N,3,8,10]"
    );
    assert_eq!(
        one(resize(None, st), &[T("f32[N,3,4,5]"), No, T("f32[4]")]),
        "f32[_u0,_u1,_u2,_u3]"
    );
    has(
        &fails(resize(None, st), &[T("f32[N,3,4,5]")], 1),
        "needs input 2 (scales) or input 3 (sizes)",
    );
    has(
        &fails(resize(None, st), &[T("f32[N,3]"), No, F(vec![2.0])], 1),
        "has 1 entries, expected 2",
    );
    has(
        &fails(resize(None, st), &[T("f32[N]"), No, F(vec![-1.0])], 1),
        "invalid scale",
    );
}

#[test]
fn depth_and_space() {
    let d2s = Op::DepthToSpace {
        blocksize: 2,
        mode: DepthToSpaceMode::Dcr,
    };
    assert_eq!(one(d2s.clone(), &[T("f32[N,8,3,4]")]), "f32[N,2,6,8]");
    has(
        &fails(d2s, &[T("f32[N,6,3,4]")], 1),
        "channel count 6 is not divisible by 4",
    );
    let s2d = Op::SpaceToDepth { blocksize: 2 };
    assert_eq!(one(s2d.clone(), &[T("f32[N,2,6,8]")]), "f32[N,8,3,4]");
    has(
        &fails(s2d, &[T("f32[N,2,5,8]")], 1),
        "height 5 is not divisible by 2",
    );
}

/// A shape operand whose values are unknown gives the output rank from its length;
/// a declared length past `MAX_RANK` is an error, not billions of dims in memory
/// (found by pare-fuzz: `tests/fuzz_regressions/pir/`).
#[test]
fn shape_operand_lengths_past_the_rank_limit_are_errors() {
    let huge = "i64[4294967296]";
    has(
        &fails(
            Op::Reshape { allowzero: false },
            &[T("f32[2,2]"), T(huge)],
            1,
        ),
        "input 1 (shape) has 4294967296 elements: an output rank above the 4096 pare accepts",
    );
    has(
        &fails(Op::Expand {}, &[T("f32[2,2]"), T(huge)], 1),
        "has 4294967296 elements: an output rank above the 4096 pare accepts",
    );
    let cos = Op::ConstantOfShape {
        dtype: pare_ir::DType::F32,
        value: 0.0,
    };
    has(
        &fails(cos, &[T(huge)], 1),
        "has 4294967296 elements: an output rank above the 4096 pare accepts",
    );
}
