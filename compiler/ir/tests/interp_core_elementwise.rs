//! Interpreter kernels: element-wise unary, casts, clip, dropout and broadcasting
//! binary/ternary ops, with hand- or numpy-computed expectations.

use half::f16;
use pare_ir::interp::{eval_op, InterpError};
use pare_ir::ops::GeluApprox;
use pare_ir::{DType, Element, Op, Tensor};

fn t<T: Element>(shape: &[usize], v: Vec<T>) -> Tensor {
    Tensor::from_vec(shape.to_vec(), v).unwrap()
}

fn run1(op: Op, inputs: &[&Tensor]) -> Tensor {
    let ins: Vec<Option<&Tensor>> = inputs.iter().map(|&x| Some(x)).collect();
    eval_op(&op, &ins, 1).unwrap().remove(0)
}

fn fails(op: Op, inputs: &[Option<&Tensor>], n: usize) -> String {
    match eval_op(&op, inputs, n) {
        Err(e) => e.to_string(),
        Ok(v) => panic!("{op:?} should fail, got {v:?}"),
    }
}

fn close(got: &Tensor, want: &[f64], tol: f64) {
    let g = got.to_f64_vec();
    assert_eq!(g.len(), want.len(), "{got:?}");
    for (a, b) in g.iter().zip(want) {
        let ok = (a.is_nan() && b.is_nan()) || (a - b).abs() <= tol * (1.0 + b.abs());
        assert!(ok, "got {g:?}, want {want:?}");
    }
}

#[test]
fn unary_float_functions() {
    let x = t(&[4], vec![-2.0f32, -0.5, 0.5, 3.0]);
    // numpy: 1/(1+exp(-x)), scipy erf, log1p(exp(x)).
    close(
        &run1(Op::Sigmoid {}, &[&x]),
        &[0.11920292, 0.37754067, 0.62245933, 0.95257413],
        1e-6,
    );
    close(
        &run1(Op::Erf {}, &[&x]),
        &[-0.99532227, -0.52049988, 0.52049988, 0.99997791],
        1e-6,
    );
    close(
        &run1(Op::Softplus {}, &[&x]),
        &[0.12692801, 0.47407698, 0.97407698, 3.04858735],
        1e-6,
    );
    close(
        &run1(
            Op::Gelu {
                approximate: GeluApprox::None,
            },
            &[&x],
        ),
        &[-0.04550026, -0.15426877, 0.34573123, 2.99595031],
        1e-6,
    );
    close(
        &run1(
            Op::Gelu {
                approximate: GeluApprox::Tanh,
            },
            &[&x],
        ),
        &[-0.04540231, -0.15428599, 0.34571401, 2.99636261],
        1e-6,
    );
    close(
        &run1(Op::HardSwish {}, &[&x]),
        &[-0.33333333, -0.20833333, 0.29166667, 3.0],
        1e-6,
    );
    close(
        &run1(Op::LeakyRelu { alpha: 0.1 }, &[&x]),
        &[-0.2, -0.05, 0.5, 3.0],
        1e-6,
    );
    close(
        &run1(Op::Elu { alpha: 1.0 }, &[&x]),
        &[-0.86466472, -0.39346934, 0.5, 3.0],
        1e-6,
    );
    close(
        &run1(
            Op::HardSigmoid {
                alpha: 0.2,
                beta: 0.5,
            },
            &[&x],
        ),
        &[0.1, 0.4, 0.6, 1.0],
        1e-6,
    );
    close(
        &run1(
            Op::Shrink {
                bias: 0.5,
                lambd: 1.0,
            },
            &[&x],
        ),
        &[-1.5, 0.0, 0.0, 2.5],
        0.0,
    );
    close(
        &run1(Op::ThresholdedRelu { alpha: 1.0 }, &[&x]),
        &[0.0, 0.0, 0.0, 3.0],
        0.0,
    );
    // Round: half to even.
    let h = t(&[5], vec![0.5f32, 1.5, 2.5, -0.5, -1.5]);
    close(
        &run1(Op::Round {}, &[&h]),
        &[0.0, 2.0, 2.0, -0.0, -2.0],
        0.0,
    );
}

#[test]
fn unary_f16_and_f64_keep_dtype() {
    let x = t(&[2], vec![f16::from_f32(1.0), f16::from_f32(-4.0)]);
    let y = run1(Op::Exp {}, &[&x]);
    assert_eq!(y.dtype(), DType::F16);
    close(&y, &[2.71875, 0.018310546875], 0.0);
    let d = t(&[1], vec![2.0f64]);
    let y = run1(Op::Sqrt {}, &[&d]);
    assert_eq!(y.as_slice::<f64>().unwrap(), &[std::f64::consts::SQRT_2]);
}

#[test]
fn unary_integer_ops() {
    let x = t(&[4], vec![-3i32, 0, 5, i32::MIN]);
    assert_eq!(run1(Op::Abs {}, &[&x]), t(&[4], vec![3i32, 0, 5, i32::MIN]));
    assert_eq!(
        run1(Op::Neg {}, &[&x]),
        t(&[4], vec![3i32, 0, -5, i32::MIN])
    );
    assert_eq!(run1(Op::Sign {}, &[&x]), t(&[4], vec![-1i32, 0, 1, -1]));
    assert_eq!(run1(Op::Relu {}, &[&x]), t(&[4], vec![0i32, 0, 5, 0]));
    let u = t(&[2], vec![0u8, 0x0f]);
    assert_eq!(run1(Op::BitwiseNot {}, &[&u]), t(&[2], vec![0xffu8, 0xf0]));
    let b = t(&[2], vec![true, false]);
    assert_eq!(run1(Op::Not {}, &[&b]), t(&[2], vec![false, true]));
    let f = t(&[4], vec![f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1.0]);
    assert_eq!(
        run1(Op::IsNaN {}, &[&f]),
        t(&[4], vec![true, false, false, false])
    );
    assert_eq!(
        run1(
            Op::IsInf {
                detect_negative: false,
                detect_positive: true
            },
            &[&f]
        ),
        t(&[4], vec![false, true, false, false])
    );
}

#[test]
fn unary_errors() {
    let i = t(&[1], vec![1i64]);
    assert!(fails(Op::Sqrt {}, &[Some(&i)], 1).contains("dtype i64"));
    assert!(fails(Op::Not {}, &[Some(&i)], 1).contains("expected bool"));
    let f = t(&[1], vec![1.0f32]);
    assert!(fails(Op::BitwiseNot {}, &[Some(&f)], 1).contains("not supported"));
    assert!(fails(Op::Relu {}, &[Some(&f), Some(&f)], 1).contains("at most 1"));
    assert!(fails(Op::Relu {}, &[None], 1).contains("required"));
    assert!(fails(Op::Relu {}, &[Some(&f)], 2).contains("outputs"));
}

#[test]
fn cast_clip_dropout() {
    let x = t(&[4], vec![-1.7f32, 0.0, 2.5, 300.0]);
    assert_eq!(
        run1(Op::Cast { to: DType::I32 }, &[&x]),
        t(&[4], vec![-1i32, 0, 2, 300])
    );
    assert_eq!(
        run1(Op::Cast { to: DType::Bool }, &[&x]),
        t(&[4], vec![true, false, true, true])
    );
    let like = t(&[0], Vec::<i64>::new());
    assert_eq!(run1(Op::CastLike {}, &[&x, &like]).dtype(), DType::I64);

    let lo = Tensor::scalar(-1.0f32);
    let hi = Tensor::scalar(2.0f32);
    let y = eval_op(&Op::Clip {}, &[Some(&x), Some(&lo), Some(&hi)], 1).unwrap();
    assert_eq!(y[0], t(&[4], vec![-1.0f32, 0.0, 2.0, 2.0]));
    let y = eval_op(&Op::Clip {}, &[Some(&x), None, Some(&hi)], 1).unwrap();
    assert_eq!(y[0], t(&[4], vec![-1.7f32, 0.0, 2.0, 2.0]));
    let y = eval_op(&Op::Clip {}, &[Some(&x)], 1).unwrap();
    assert_eq!(y[0], x);
    let xi = t(&[3], vec![-5i8, 3, 100]);
    let (l, h) = (Tensor::scalar(0i8), Tensor::scalar(10i8));
    let y = eval_op(&Op::Clip {}, &[Some(&xi), Some(&l), Some(&h)], 1).unwrap();
    assert_eq!(y[0], t(&[3], vec![0i8, 3, 10]));
    assert!(fails(Op::Clip {}, &[Some(&x), Some(&l)], 1).contains("min has dtype i8"));
    let two = t(&[2], vec![0.0f32, 1.0]);
    assert!(fails(Op::Clip {}, &[Some(&x), Some(&two)], 1).contains("scalar"));

    let y = eval_op(&Op::Dropout {}, &[Some(&x)], 2).unwrap();
    assert_eq!(y[0], x);
    assert_eq!(y[1], t(&[4], vec![true; 4]));
    let ratio = Tensor::scalar(0.5f32);
    let train = Tensor::scalar(true);
    assert!(fails(Op::Dropout {}, &[Some(&x), Some(&ratio), Some(&train)], 1).contains("training"));
    // Training with ratio 0 keeps everything.
    let zero = Tensor::scalar(0.0f32);
    let y = eval_op(&Op::Dropout {}, &[Some(&x), Some(&zero), Some(&train)], 2).unwrap();
    assert_eq!(y[0], x);
}

#[test]
fn arithmetic_broadcasts() {
    let a = t(&[2, 3], vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let b = t(&[3], vec![10.0f32, 20.0, 30.0]);
    assert_eq!(
        run1(Op::Add {}, &[&a, &b]),
        t(&[2, 3], vec![11.0f32, 22.0, 33.0, 14.0, 25.0, 36.0])
    );
    let c = t(&[2, 1], vec![2.0f32, 4.0]);
    assert_eq!(
        run1(Op::Div {}, &[&a, &c]),
        t(&[2, 3], vec![0.5f32, 1.0, 1.5, 1.0, 1.25, 1.5])
    );
    // Both sides broadcast: [2,1,1] x [1,3] -> [2,1,3]... and rank-0 operands.
    let d = t(&[2, 1, 1], vec![1i64, 2]);
    let e = t(&[1, 3], vec![10i64, 20, 30]);
    assert_eq!(
        run1(Op::Mul {}, &[&d, &e]),
        t(&[2, 1, 3], vec![10i64, 20, 30, 20, 40, 60])
    );
    let s = Tensor::scalar(5i64);
    assert_eq!(
        run1(Op::Sub {}, &[&s, &e]),
        t(&[1, 3], vec![-5i64, -15, -25])
    );
    // Zero-size broadcast.
    let z = t(&[0, 3], Vec::<f32>::new());
    assert_eq!(run1(Op::Add {}, &[&z, &b]).shape(), &[0, 3]);
    assert!(fails(
        Op::Add {},
        &[Some(&a), Some(&c.clone().reshaped(vec![2]).unwrap())],
        1
    )
    .contains("cannot broadcast"));
    assert!(fails(Op::Add {}, &[Some(&a), Some(&d)], 1).contains("dtypes differ"));
}

#[test]
fn integer_division_and_mod() {
    // numpy/onnxruntime: Div truncates toward zero; Mod fmod=0 takes the divisor's sign.
    let a = t(&[4], vec![7i32, -7, 7, -7]);
    let b = t(&[4], vec![2i32, 2, -2, -2]);
    assert_eq!(run1(Op::Div {}, &[&a, &b]), t(&[4], vec![3i32, -3, -3, 3]));
    assert_eq!(
        run1(Op::Mod { fmod: false }, &[&a, &b]),
        t(&[4], vec![1i32, 1, -1, -1])
    );
    assert_eq!(
        run1(Op::Mod { fmod: true }, &[&a, &b]),
        t(&[4], vec![1i32, -1, 1, -1])
    );
    let f = t(&[2], vec![-4.5f32, 4.5]);
    let g = t(&[2], vec![2.0f32, -2.0]);
    assert_eq!(
        run1(Op::Mod { fmod: true }, &[&f, &g]),
        t(&[2], vec![-0.5f32, 0.5])
    );
    assert_eq!(
        run1(Op::Mod { fmod: false }, &[&f, &g]),
        t(&[2], vec![1.5f32, -1.5])
    );
    let z = t(&[4], vec![1i32, 0, 1, 1]);
    assert!(fails(Op::Div {}, &[Some(&a), Some(&z)], 1).contains("division by zero"));
    // Float division by zero is IEEE.
    let y = run1(Op::Div {}, &[&f, &t(&[1], vec![0.0f32])]);
    assert_eq!(
        y.as_slice::<f32>().unwrap(),
        &[f32::NEG_INFINITY, f32::INFINITY]
    );
}

#[test]
fn pow_max_min_compare_logic() {
    let x = t(&[3], vec![2.0f32, 4.0, 9.0]);
    let yi = t(&[1], vec![2i64]);
    assert_eq!(
        run1(Op::Pow {}, &[&x, &yi]),
        t(&[3], vec![4.0f32, 16.0, 81.0])
    );
    let half = Tensor::scalar(0.5f64);
    assert_eq!(
        run1(Op::Pow {}, &[&x, &half]),
        t(&[3], vec![std::f32::consts::SQRT_2, 2.0, 3.0])
    );
    let xi = t(&[3], vec![2i32, -3, 5]);
    let e = t(&[3], vec![10i64, 3, -1]);
    assert_eq!(run1(Op::Pow {}, &[&xi, &e]), t(&[3], vec![1024i32, -27, 0]));

    let a = t(&[3], vec![1.0f32, f32::NAN, 3.0]);
    let b = t(&[3], vec![2.0f32, 0.0, 1.0]);
    let c = Tensor::scalar(2.5f32);
    let m = eval_op(&Op::Max {}, &[Some(&a), Some(&b), Some(&c)], 1).unwrap();
    let v = m[0].as_slice::<f32>().unwrap();
    assert_eq!((v[0], v[2]), (2.5, 3.0));
    assert!(v[1].is_nan());
    assert_eq!(run1(Op::Min {}, &[&b]), b);

    assert_eq!(
        run1(Op::Less {}, &[&b, &c]),
        t(&[3], vec![true, true, true])
    );
    assert_eq!(
        run1(Op::GreaterOrEqual {}, &[&b, &t(&[1], vec![1.0f32])]),
        t(&[3], vec![true, false, true])
    );
    let p = t(&[2], vec![true, false]);
    let q = t(&[2, 1], vec![true, false]);
    assert_eq!(
        run1(Op::Xor {}, &[&p, &q]),
        t(&[2, 2], vec![false, true, true, false])
    );
    assert_eq!(
        run1(Op::Equal {}, &[&p, &q]),
        t(&[2, 2], vec![true, false, false, true])
    );
    assert!(fails(Op::And {}, &[Some(&b), Some(&b)], 1).contains("not supported"));

    let u = t(&[3], vec![16u8, 1, 255]);
    let s = t(&[3], vec![2u8, 7, 8]);
    assert_eq!(
        run1(Op::BitShift { left: true }, &[&u, &s]),
        t(&[3], vec![64u8, 128, 0])
    );
    assert_eq!(
        run1(Op::BitShift { left: false }, &[&u, &s]),
        t(&[3], vec![4u8, 0, 0])
    );
    assert_eq!(
        run1(Op::BitwiseXor {}, &[&u, &s]),
        t(&[3], vec![18u8, 6, 247])
    );
}

#[test]
fn prelu_and_where() {
    let x = t(&[2, 2], vec![-1.0f32, 2.0, -3.0, 4.0]);
    let s = t(&[2, 1], vec![0.5f32, 0.1]);
    close(
        &run1(Op::PRelu {}, &[&x, &s]),
        &[-0.5, 2.0, -0.3, 4.0],
        1e-7,
    );
    let big = t(&[3, 2, 2], vec![0.0f32; 12]);
    assert!(fails(Op::PRelu {}, &[Some(&x), Some(&big)], 1).contains("does not broadcast"));

    let c = t(&[2, 1], vec![true, false]);
    let a = t(&[2], vec![1i64, 2]);
    let b = Tensor::scalar(0i64);
    assert_eq!(
        run1(Op::Where {}, &[&c, &a, &b]),
        t(&[2, 2], vec![1i64, 2, 0, 0])
    );
    assert!(fails(Op::Where {}, &[Some(&a), Some(&a), Some(&b)], 1).contains("condition"));
    let c3 = t(&[3], vec![true, false, true]);
    assert!(fails(Op::Where {}, &[Some(&c3), Some(&a), Some(&b)], 1).contains("cannot broadcast"));
}

#[test]
fn error_messages_name_the_op() {
    let a = t(&[1], vec![1.0f32]);
    let e = eval_op(&Op::Add {}, &[Some(&a)], 1).unwrap_err();
    assert!(matches!(e, InterpError::Op { op: "add", .. }), "{e}");
}
