//! Inference of element-wise ops, broadcasting and matrix products.

mod infer_util;
use infer_util::{fails, has, one, run, In::*};
use pare_ir::{DType, Op};

#[test]
fn broadcasting_with_symbols() {
    assert_eq!(
        one(Op::Add {}, &[T("f32[N,1,3]"), T("f32[4,1]")]),
        "f32[N,4,3]"
    );
    // A symbol yields to a fixed size above 1 and survives against 1.
    assert_eq!(one(Op::Mul {}, &[T("f32[N,1]"), T("f32[5,1]")]), "f32[5,1]");
    assert_eq!(one(Op::Sub {}, &[T("f32[N,3]"), T("f32[1,3]")]), "f32[N,3]");
    assert_eq!(one(Op::Div {}, &[T("f32[N,3]"), T("f32[N,3]")]), "f32[N,3]");
    // Two different symbols: unknown.
    assert_eq!(one(Op::Add {}, &[T("f32[N]"), T("f32[M]")]), "f32[_u0]");
    assert_eq!(one(Op::Add {}, &[T("f32[]"), T("f32[2,3]")]), "f32[2,3]");
}

#[test]
fn broadcasting_errors() {
    has(
        &fails(Op::Add {}, &[T("f32[2,3]"), T("f32[4,3]")], 1),
        "cannot broadcast",
    );
    has(
        &fails(Op::Add {}, &[T("f32[2]"), T("i64[2]")], 1),
        "node `node` (add): input 0 (a) has dtype f32 but input 1 (b) has dtype i64",
    );
    has(
        &fails(Op::Add {}, &[T("bool[2]"), T("bool[2]")], 1),
        "expected a numeric type",
    );
}

#[test]
fn comparisons_logic_and_casts() {
    assert_eq!(one(Op::Less {}, &[T("f32[N,3]"), T("f32[3]")]), "bool[N,3]");
    assert_eq!(one(Op::Equal {}, &[T("i64[2]"), T("i64[1]")]), "bool[2]");
    assert_eq!(one(Op::And {}, &[T("bool[2]"), T("bool[2]")]), "bool[2]");
    has(
        &fails(Op::Or {}, &[T("f32[2]"), T("f32[2]")], 1),
        "expected bool",
    );
    assert_eq!(one(Op::Cast { to: DType::I32 }, &[T("f32[N]")]), "i32[N]");
    assert_eq!(one(Op::CastLike {}, &[T("f32[N]"), T("f16[]")]), "f16[N]");
    assert_eq!(one(Op::IsNaN {}, &[T("f32[2]")]), "bool[2]");
    has(
        &fails(Op::Sqrt {}, &[T("i64[2]")], 1),
        "input 0 (x) has dtype i64, expected a float type",
    );
    has(&fails(Op::Not {}, &[T("f32[2]")], 1), "expected bool");
    assert_eq!(
        one(Op::BitShift { left: true }, &[T("u8[2]"), T("u8[]")]),
        "u8[2]"
    );
    has(
        &fails(Op::BitShift { left: true }, &[T("i8[2]"), T("i8[]")], 1),
        "unsigned",
    );
}

#[test]
fn where_clip_dropout_prelu_pow_max() {
    assert_eq!(
        one(
            Op::Where {},
            &[T("bool[N,1,1]"), T("f32[3,1]"), T("f32[4]")]
        ),
        "f32[N,3,4]"
    );
    has(
        &fails(Op::Where {}, &[T("f32[1]"), T("f32[1]"), T("f32[1]")], 1),
        "input 0 (condition)",
    );
    assert_eq!(
        one(Op::Clip {}, &[T("f32[N]"), T("f32[]"), T("f32[]")]),
        "f32[N]"
    );
    has(
        &fails(Op::Clip {}, &[T("f32[N]"), T("f32[2]")], 1),
        "must be a scalar",
    );
    assert_eq!(
        run(Op::Dropout {}, &[T("f32[N,4]")], 2).unwrap(),
        vec!["f32[N,4]", "bool[N,4]"]
    );
    assert_eq!(
        one(Op::PRelu {}, &[T("f32[N,3,4]"), T("f32[3,1]")]),
        "f32[N,3,4]"
    );
    has(
        &fails(Op::PRelu {}, &[T("f32[N,3,4]"), T("f32[5]")], 1),
        "does not broadcast",
    );
    assert_eq!(one(Op::Pow {}, &[T("f32[2]"), T("i64[]")]), "f32[2]");
    assert_eq!(
        one(Op::Max {}, &[T("f32[2,1]"), T("f32[3]"), T("f32[]")]),
        "f32[2,3]"
    );
}

#[test]
fn matmul_shapes() {
    assert_eq!(one(Op::MatMul {}, &[T("f32[3]"), T("f32[3,4]")]), "f32[4]");
    assert_eq!(one(Op::MatMul {}, &[T("f32[2,3]"), T("f32[3]")]), "f32[2]");
    assert_eq!(one(Op::MatMul {}, &[T("f32[3]"), T("f32[3]")]), "f32[]");
    assert_eq!(
        one(Op::MatMul {}, &[T("f32[N,1,2,3]"), T("f32[5,3,4]")]),
        "f32[N,5,2,4]"
    );
    assert_eq!(
        one(Op::MatMul {}, &[T("f32[N,T,K]"), T("f32[K,8]")]),
        "f32[N,T,8]"
    );
    has(
        &fails(Op::MatMul {}, &[T("f32[2,3]"), T("f32[4,5]")], 1),
        "inner dims differ",
    );
    has(
        &fails(Op::MatMul {}, &[T("bool[2,3]"), T("bool[3,5]")], 1),
        "dtype bool",
    );
    has(
        &fails(Op::MatMul {}, &[T("f32[]"), T("f32[3]")], 1),
        "scalar",
    );
}

#[test]
fn gemm_with_transposes() {
    let gemm = |ta, tb| Op::Gemm {
        alpha: 1.0,
        beta: 1.0,
        trans_a: ta,
        trans_b: tb,
    };
    assert_eq!(
        one(
            gemm(false, true),
            &[T("f32[N,64]"), T("f32[10,64]"), T("f32[10]")]
        ),
        "f32[N,10]"
    );
    assert_eq!(
        one(gemm(true, false), &[T("f32[64,N]"), T("f32[64,10]")]),
        "f32[N,10]"
    );
    has(
        &fails(gemm(false, false), &[T("f32[2,3]"), T("f32[4,5]")], 1),
        "inner dims differ",
    );
    has(
        &fails(
            gemm(false, false),
            &[T("f32[2,3]"), T("f32[3,5]"), T("f32[4]")],
            1,
        ),
        "input 2 (c)",
    );
    has(
        &fails(gemm(false, false), &[T("f32[2,3,1]"), T("f32[3,5]")], 1),
        "input 0 (a) has rank 3, expected 2",
    );
}

#[test]
fn einsum_shapes() {
    let e = |s: &str| Op::Einsum {
        equation: s.to_string(),
    };
    assert_eq!(
        one(e("bij,bjk->bik"), &[T("f32[N,2,3]"), T("f32[N,3,4]")]),
        "f32[N,2,4]"
    );
    assert_eq!(one(e("ij,jk"), &[T("f32[2,3]"), T("f32[3,4]")]), "f32[2,4]");
    assert_eq!(one(e("...ij->...ji"), &[T("f32[N,5,2,3]")]), "f32[N,5,3,2]");
    assert_eq!(one(e("i,i->"), &[T("f32[3]"), T("f32[3]")]), "f32[]");
    has(
        &fails(e("ij,jk->ik"), &[T("f32[2,3]"), T("f32[4,5]")], 1),
        "label `j`",
    );
    // A letter's size-1 dim does not broadcast (numpy and the interpreter
    // refuse it); ellipsis dims do.
    has(
        &fails(e("ij,jk->ik"), &[T("f32[2,1]"), T("f32[3,4]")], 1),
        "input 1 (inputs) label `j` has size 3, elsewhere 1",
    );
    has(
        &fails(e("ii->i"), &[T("f32[1,3]")], 1),
        "label `i` has size 3, elsewhere 1",
    );
    assert_eq!(
        one(e("...i,...i->...i"), &[T("f32[1,3]"), T("f32[5,3]")]),
        "f32[5,3]"
    );
    assert_eq!(
        one(e("ij,jk->ik"), &[T("f32[2,N]"), T("f32[3,4]")]),
        "f32[2,4]"
    );
    has(&fails(e("ij->ik"), &[T("f32[2,3]")], 1), "output label `k`");
    has(&fails(e("ij,jk->ik"), &[T("f32[2,3]")], 1), "2 operands");
}
