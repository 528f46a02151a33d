//! Bad inputs to the nn kernels give errors naming the problem, never panics.

use pare_ir::attrs::Attr;
use pare_ir::{interp::eval_op, Op, Tensor};
use std::collections::BTreeMap;

fn op(name: &str, attrs: &[(&str, Attr)]) -> Op {
    let map: BTreeMap<String, Attr> = attrs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    Op::from_attrs(name, map).expect("valid attributes")
}

fn conv(strides: Vec<i64>, pads: Vec<i64>, dilations: Vec<i64>, group: i64) -> Op {
    op(
        "conv",
        &[
            ("auto_pad", Attr::Str("NOTSET".into())),
            ("kernel_shape", Attr::Ints(vec![])),
            ("strides", Attr::Ints(strides)),
            ("pads", Attr::Ints(pads)),
            ("dilations", Attr::Ints(dilations)),
            ("group", Attr::Int(group)),
        ],
    )
}

fn zeros(shape: &[usize]) -> Tensor {
    Tensor::from_vec(shape.to_vec(), vec![0f32; shape.iter().product()]).expect("shape")
}

/// Evaluates and returns the error message, failing the test on success.
fn err(op: &Op, inputs: &[Option<&Tensor>], n: usize) -> String {
    match eval_op(op, inputs, n) {
        Ok(_) => panic!("{} succeeded on bad input", op.name()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn conv_errors() {
    let x = zeros(&[1, 4, 5, 5]);
    let w = zeros(&[2, 4, 3, 3]);
    let c = conv(vec![], vec![], vec![], 1);
    assert!(err(&c, &[Some(&x)], 1).contains("expected 2 to 3 inputs"));
    assert!(err(&c, &[Some(&zeros(&[4, 5])), Some(&w)], 1).contains("rank >= 3"));
    let wi = Tensor::from_vec(vec![2, 4, 3, 3], vec![0i32; 72]).expect("shape");
    assert!(err(&c, &[Some(&x), Some(&wi)], 1).contains("dtype"));
    let g3 = conv(vec![], vec![], vec![], 3);
    assert!(err(&g3, &[Some(&x), Some(&w)], 1).contains("group 3"));
    assert!(err(&c, &[Some(&x), Some(&zeros(&[2, 3, 3, 3]))], 1).contains("w's dim 1 must be 4"));
    assert!(err(
        &conv(vec![0, 1], vec![], vec![], 1),
        &[Some(&x), Some(&w)],
        1
    )
    .contains("strides must be positive"));
    assert!(err(
        &conv(vec![], vec![], vec![-1, 1], 1),
        &[Some(&x), Some(&w)],
        1
    )
    .contains("dilations must be positive"));
    assert!(err(
        &conv(vec![], vec![], vec![3, 3], 1),
        &[Some(&x), Some(&w)],
        1
    )
    .contains("larger than the padded input"));
    assert!(err(
        &conv(vec![], vec![1, 1], vec![], 1),
        &[Some(&x), Some(&w)],
        1
    )
    .contains("pads must have 4 entries"));
    assert!(
        err(&c, &[Some(&x), Some(&w), Some(&zeros(&[3]))], 1).contains("bias must have shape [2]")
    );
    let x4 = zeros(&[1, 1, 2, 2, 2, 2]);
    let w4 = zeros(&[1, 1, 1, 1, 1, 1]);
    assert!(err(&c, &[Some(&x4), Some(&w4)], 1).contains("1 to 3 spatial dims"));
}

#[test]
fn conv_transpose_errors() {
    let ct = |strides: Vec<i64>, output_shape: Vec<i64>| {
        op(
            "conv_transpose",
            &[
                ("auto_pad", Attr::Str("NOTSET".into())),
                ("kernel_shape", Attr::Ints(vec![])),
                ("strides", Attr::Ints(strides)),
                ("pads", Attr::Ints(vec![])),
                ("dilations", Attr::Ints(vec![])),
                ("group", Attr::Int(1)),
                ("output_padding", Attr::Ints(vec![])),
                ("output_shape", Attr::Ints(output_shape)),
            ],
        )
    };
    let x = zeros(&[1, 2, 3, 3]);
    let w = zeros(&[2, 1, 3, 3]);
    assert!(err(
        &ct(vec![], vec![]),
        &[Some(&x), Some(&zeros(&[3, 1, 3, 3]))],
        1
    )
    .contains("w's dim 0"));
    assert!(err(
        &ct(vec![1 << 40, 1 << 40], vec![]),
        &[Some(&x), Some(&w)],
        1
    )
    .contains("too large"));
    assert!(err(&ct(vec![], vec![5]), &[Some(&x), Some(&w)], 1)
        .contains("output_shape must have 2 entries"));
}

#[test]
fn pool_errors() {
    let mp = |k: Vec<i64>, storage_order: i64| {
        op(
            "max_pool",
            &[
                ("auto_pad", Attr::Str("NOTSET".into())),
                ("kernel_shape", Attr::Ints(k)),
                ("strides", Attr::Ints(vec![])),
                ("pads", Attr::Ints(vec![])),
                ("dilations", Attr::Ints(vec![])),
                ("ceil_mode", Attr::Bool(false)),
                ("storage_order", Attr::Int(storage_order)),
            ],
        )
    };
    let x = zeros(&[1, 1, 4, 4]);
    assert!(err(&mp(vec![5, 5], 0), &[Some(&x)], 1).contains("larger than the padded input"));
    assert!(err(&mp(vec![2], 0), &[Some(&x)], 1).contains("kernel_shape must have 2"));
    assert!(err(&mp(vec![2, 2], 2), &[Some(&x)], 1).contains("storage_order"));
    let xi = Tensor::from_vec(vec![1, 1, 2, 2], vec![1i64; 4]).expect("shape");
    assert!(err(&mp(vec![2, 2], 0), &[Some(&xi)], 1).contains("x must be"));
}

#[test]
fn matmul_gemm_errors() {
    let mm = op("matmul", &[]);
    assert!(
        err(&mm, &[Some(&zeros(&[2, 3])), Some(&zeros(&[4, 2]))], 1).contains("inner dims differ")
    );
    assert!(err(
        &mm,
        &[Some(&zeros(&[2, 2, 3])), Some(&zeros(&[3, 3, 2]))],
        1
    )
    .contains("do not broadcast"));
    assert!(err(&mm, &[Some(&Tensor::scalar(1f32)), Some(&zeros(&[1]))], 1).contains("rank >= 1"));
    let gemm = op(
        "gemm",
        &[
            ("alpha", Attr::Float(1.0)),
            ("beta", Attr::Float(1.0)),
            ("trans_a", Attr::Bool(false)),
            ("trans_b", Attr::Bool(false)),
        ],
    );
    let (a, b) = (zeros(&[2, 3]), zeros(&[3, 4]));
    assert!(err(&gemm, &[Some(&a), Some(&b), Some(&zeros(&[3]))], 1)
        .contains("does not broadcast to [2, 4]"));
    assert!(err(&gemm, &[Some(&zeros(&[2, 3, 1])), Some(&b)], 1).contains("rank 2"));
}

#[test]
fn other_errors() {
    let e = op("einsum", &[("equation", Attr::Str("ij,jk->ik".into()))]);
    assert!(err(&e, &[Some(&zeros(&[2, 3]))], 1).contains("2 operands"));
    assert!(err(&e, &[Some(&zeros(&[2, 3])), Some(&zeros(&[4, 2]))], 1).contains("size"));
    let bad = op("einsum", &[("equation", Attr::Str("i1->i".into()))]);
    assert!(err(&bad, &[Some(&zeros(&[2]))], 1).contains("bad einsum term"));

    let resize = op(
        "resize",
        &[
            ("mode", Attr::Str("nearest".into())),
            (
                "coordinate_transformation_mode",
                Attr::Str("asymmetric".into()),
            ),
            ("nearest_mode", Attr::Str("floor".into())),
            ("cubic_coeff_a", Attr::Float(-0.75)),
            ("exclude_outside", Attr::Bool(false)),
            ("extrapolation_value", Attr::Float(0.0)),
            ("antialias", Attr::Bool(false)),
            ("keep_aspect_ratio_policy", Attr::Str("stretch".into())),
        ],
    );
    let x = zeros(&[1, 1, 2, 2]);
    let huge = Tensor::from_vec(vec![4], vec![1f32, 1.0, 1e9, 1e9]).expect("shape");
    assert!(err(&resize, &[Some(&x), None, Some(&huge)], 1).contains("too large"));
    let neg = Tensor::from_vec(vec![4], vec![1f32, 1.0, -2.0, 1.0]).expect("shape");
    assert!(err(&resize, &[Some(&x), None, Some(&neg)], 1).contains("positive"));
    assert!(err(&resize, &[Some(&x)], 1).contains("exactly one of scales and sizes"));

    let gn = op(
        "group_normalization",
        &[
            ("num_groups", Attr::Int(3)),
            ("epsilon", Attr::Float(1e-5)),
            ("stash_type", Attr::DType(pare_ir::DType::F32)),
        ],
    );
    let s = zeros(&[4]);
    assert!(err(&gn, &[Some(&zeros(&[1, 4, 2])), Some(&s), Some(&s)], 1)
        .contains("divide the 4 channels"));

    let lstm = op(
        "lstm",
        &[
            ("direction", Attr::Str("forward".into())),
            ("hidden_size", Attr::Int(2)),
            ("activations", Attr::Strs(vec![])),
            ("activation_alpha", Attr::Floats(vec![])),
            ("activation_beta", Attr::Floats(vec![])),
            ("input_forget", Attr::Bool(false)),
            ("layout", Attr::Int(0)),
        ],
    );
    let x = zeros(&[3, 1, 2]);
    assert!(err(
        &lstm,
        &[Some(&x), Some(&zeros(&[1, 6, 2])), Some(&zeros(&[1, 8, 2]))],
        2
    )
    .contains("w must have shape [1, 8, 2]"));
    let rnn = op(
        "rnn",
        &[
            ("direction", Attr::Str("forward".into())),
            ("hidden_size", Attr::Int(2)),
            ("activations", Attr::Strs(vec!["Bogus".into()])),
            ("activation_alpha", Attr::Floats(vec![])),
            ("activation_beta", Attr::Floats(vec![])),
            ("layout", Attr::Int(0)),
        ],
    );
    assert!(err(
        &rnn,
        &[Some(&x), Some(&zeros(&[1, 2, 2])), Some(&zeros(&[1, 2, 2]))],
        2
    )
    .contains("unknown activation"));
}
