//! Inference of convolutions, pooling, normalizations and softmax.

mod infer_util;
use infer_util::{fails, has, one, run, In::*};
use pare_ir::ops::AutoPad;
use pare_ir::{DType, Op};

fn conv(auto_pad: AutoPad, k: &[i64], s: &[i64], p: &[i64], d: &[i64], group: i64) -> Op {
    Op::Conv {
        auto_pad,
        kernel_shape: k.to_vec(),
        strides: s.to_vec(),
        pads: p.to_vec(),
        dilations: d.to_vec(),
        group,
    }
}

fn pool(k: &[i64], s: &[i64], p: &[i64], ceil_mode: bool) -> Op {
    Op::MaxPool {
        auto_pad: AutoPad::NotSet,
        kernel_shape: k.to_vec(),
        strides: s.to_vec(),
        pads: p.to_vec(),
        dilations: vec![1; k.len()],
        ceil_mode,
        storage_order: 0,
    }
}

#[test]
fn conv_shapes() {
    let c = conv(AutoPad::NotSet, &[3, 3], &[1, 1], &[1, 1, 1, 1], &[1, 1], 1);
    assert_eq!(
        one(c, &[T("f32[N,1,8,8]"), W("f32[16,1,3,3]"), W("f32[16]")]),
        "f32[N,16,8,8]"
    );
    // Symbolic spatial dims survive a size-preserving window.
    let c = conv(AutoPad::NotSet, &[3, 3], &[1, 1], &[1, 1, 1, 1], &[1, 1], 1);
    assert_eq!(
        one(c, &[T("f32[N,3,H,W]"), W("f32[8,3,3,3]")]),
        "f32[N,8,H,W]"
    );
    let c = conv(AutoPad::NotSet, &[3, 3], &[2, 2], &[0, 0, 0, 0], &[2, 2], 1);
    // (11 - 5) / 2 + 1 = 4
    assert_eq!(
        one(c, &[T("f32[1,3,11,11]"), W("f32[4,3,3,3]")]),
        "f32[1,4,4,4]"
    );
    let c = conv(AutoPad::SameUpper, &[3, 3], &[2, 2], &[], &[], 1);
    assert_eq!(
        one(c, &[T("f32[1,3,7,8]"), W("f32[4,3,3,3]")]),
        "f32[1,4,4,4]"
    );
    let c = conv(AutoPad::Valid, &[3], &[1], &[], &[], 1);
    assert_eq!(one(c, &[T("f32[1,3,7]"), W("f32[4,3,3]")]), "f32[1,4,5]");
    // Depthwise: group = channels.
    let c = conv(
        AutoPad::NotSet,
        &[3, 3],
        &[1, 1],
        &[1, 1, 1, 1],
        &[1, 1],
        32,
    );
    assert_eq!(
        one(c, &[T("f32[N,32,4,4]"), W("f32[32,1,3,3]")]),
        "f32[N,32,4,4]"
    );
}

#[test]
fn conv_errors() {
    let c = || conv(AutoPad::NotSet, &[3, 3], &[1, 1], &[0, 0, 0, 0], &[1, 1], 1);
    let (mut g, _) = infer_util::build(c(), &[T("f32[1,3,8,8]"), W("f32[4,3,3]")], 1);
    g.node_mut(g.order()[0]).name = "conv_3".into();
    let e = pare_ir::infer::infer_graph(&mut g).unwrap_err().to_string();
    assert_eq!(
        e,
        "node `conv_3` (conv): input 1 (weight) has rank 3, expected 4"
    );
    has(
        &fails(c(), &[T("f32[1,3,8,8]"), W("f32[4,2,3,3]")], 1),
        "input channels per group",
    );
    has(
        &fails(c(), &[T("f32[1,3,8,8]"), W("f32[4,3,3,3]"), W("f32[5]")], 1),
        "input 2 (bias) has 5 entries",
    );
    has(
        &fails(c(), &[T("f32[1,3,2,2]"), W("f32[4,3,3,3]")], 1),
        "exceeds padded input size",
    );
    has(
        &fails(c(), &[T("i64[1,3,8,8]"), W("i64[4,3,3,3]")], 1),
        "expected a float type",
    );
    let bad_group = conv(AutoPad::NotSet, &[3, 3], &[1, 1], &[0, 0, 0, 0], &[1, 1], 0);
    has(
        &fails(bad_group, &[T("f32[1,3,8,8]"), W("f32[4,3,3,3]")], 1),
        "`group` is 0",
    );
    let bad_strides = conv(AutoPad::NotSet, &[3, 3], &[1], &[0, 0, 0, 0], &[1, 1], 1);
    has(
        &fails(bad_strides, &[T("f32[1,3,8,8]"), W("f32[4,3,3,3]")], 1),
        "`strides` has 1 entries, expected 2",
    );
    let wrong_k = conv(AutoPad::NotSet, &[5, 5], &[1, 1], &[0, 0, 0, 0], &[1, 1], 1);
    has(
        &fails(wrong_k, &[T("f32[1,3,8,8]"), W("f32[4,3,3,3]")], 1),
        "`kernel_shape` is [5, 5]",
    );
}

#[test]
fn conv_transpose_shapes() {
    let ct = |out_pad: &[i64], out_shape: &[i64], auto_pad| Op::ConvTranspose {
        auto_pad,
        kernel_shape: vec![3, 3],
        strides: vec![2, 2],
        pads: vec![1, 1, 1, 1],
        dilations: vec![1, 1],
        group: 1,
        output_padding: out_pad.to_vec(),
        output_shape: out_shape.to_vec(),
    };
    // 2*(4-1) + 1 + 3 - 2 = 8
    assert_eq!(
        one(
            ct(&[1, 1], &[], AutoPad::NotSet),
            &[T("f32[N,8,4,4]"), W("f32[8,2,3,3]")]
        ),
        "f32[N,2,8,8]"
    );
    assert_eq!(
        one(
            ct(&[], &[], AutoPad::NotSet),
            &[T("f32[N,8,4,4]"), W("f32[8,2,3,3]")]
        ),
        "f32[N,2,7,7]"
    );
    assert_eq!(
        one(
            ct(&[], &[9, 9], AutoPad::NotSet),
            &[T("f32[N,8,4,4]"), W("f32[8,2,3,3]")]
        ),
        "f32[N,2,9,9]"
    );
    assert_eq!(
        one(
            ct(&[], &[], AutoPad::SameUpper),
            &[T("f32[N,8,4,4]"), W("f32[8,2,3,3]")]
        ),
        "f32[N,2,8,8]"
    );
    has(
        &fails(
            ct(&[], &[], AutoPad::NotSet),
            &[T("f32[N,8,4,4]"), W("f32[6,2,3,3]")],
            1,
        ),
        "has 6 input channels",
    );
}

#[test]
fn pooling_shapes() {
    assert_eq!(
        one(
            pool(&[2, 2], &[2, 2], &[0, 0, 0, 0], false),
            &[T("f32[N,16,8,8]")]
        ),
        "f32[N,16,4,4]"
    );
    assert_eq!(
        one(
            pool(&[3, 3], &[2, 2], &[0, 0, 0, 0], false),
            &[T("f32[1,1,6,6]")]
        ),
        "f32[1,1,2,2]"
    );
    assert_eq!(
        one(
            pool(&[3, 3], &[2, 2], &[0, 0, 0, 0], true),
            &[T("f32[1,1,6,6]")]
        ),
        "f32[1,1,3,3]"
    );
    // ceil_mode: the last window would start in the end padding, so it is dropped.
    assert_eq!(
        one(pool(&[2], &[2], &[1, 1], true), &[T("f32[1,1,3]")]),
        "f32[1,1,2]"
    );
    assert_eq!(
        run(
            pool(&[2, 2], &[2, 2], &[0, 0, 0, 0], false),
            &[T("f32[1,1,4,4]")],
            2
        )
        .unwrap(),
        vec!["f32[1,1,2,2]", "i64[1,1,2,2]"]
    );
    let avg = Op::AveragePool {
        auto_pad: AutoPad::SameLower,
        kernel_shape: vec![3, 3],
        strides: vec![2, 2],
        pads: vec![],
        dilations: vec![],
        ceil_mode: false,
        count_include_pad: false,
    };
    assert_eq!(one(avg, &[T("f32[1,1,5,5]")]), "f32[1,1,3,3]");
    assert_eq!(
        one(Op::GlobalAveragePool {}, &[T("f32[N,C,7,7]")]),
        "f32[N,C,1,1]"
    );
    has(
        &fails(pool(&[2], &[2], &[0, 0], false), &[T("f32[1,1,4,4]")], 1),
        "`kernel_shape` has 1 entries",
    );
    has(
        &fails(
            pool(&[2, 2], &[2, 2], &[0, 0, 0, 0], false),
            &[T("f32[4,4]")],
            1,
        ),
        "expected at least 3",
    );
}

#[test]
fn normalization_and_softmax() {
    let bn = Op::BatchNormalization { epsilon: 1e-5 };
    let ins = [
        T("f32[N,16,4,4]"),
        W("f32[16]"),
        W("f32[16]"),
        W("f32[16]"),
        W("f32[16]"),
    ];
    assert_eq!(one(bn.clone(), &ins), "f32[N,16,4,4]");
    let bad = [
        T("f32[N,16,4,4]"),
        W("f32[8]"),
        W("f32[16]"),
        W("f32[16]"),
        W("f32[16]"),
    ];
    has(
        &fails(bn, &bad, 1),
        "input 1 (scale) has 8 entries, expected 16 (channels)",
    );
    let ln = Op::LayerNormalization {
        axis: -1,
        epsilon: 1e-5,
        stash_type: DType::F32,
    };
    assert_eq!(
        run(
            ln.clone(),
            &[T("f32[N,T,64]"), W("f32[64]"), W("f32[64]")],
            3
        )
        .unwrap(),
        vec!["f32[N,T,64]", "f32[N,T,1]", "f32[N,T,1]"]
    );
    has(
        &fails(ln, &[T("f32[N,T,64]"), W("f32[32]")], 1),
        "does not broadcast",
    );
    let gn = Op::GroupNormalization {
        num_groups: 3,
        epsilon: 1e-5,
        stash_type: DType::F32,
    };
    has(
        &fails(gn, &[T("f32[1,8,4]"), W("f32[8]"), W("f32[8]")], 1),
        "not divisible by num_groups 3",
    );
    let sm = Op::Softmax {
        axis: -1,
        coerce_2d: false,
    };
    assert_eq!(one(sm, &[T("f32[N,10]")]), "f32[N,10]");
    has(
        &fails(
            Op::Softmax {
                axis: 2,
                coerce_2d: false,
            },
            &[T("f32[N,10]")],
            1,
        ),
        "`axis` 2 is out of range for rank 2",
    );
    has(
        &fails(Op::LpNormalization { axis: 0, p: 3 }, &[T("f32[2]")], 1),
        "expected 1 or 2",
    );
}
