//! Integer Add, Sub, Mul, the table-driven unary ops and Softmax: against the
//! fake-quant path on random data, hand-computed exact cases and parameter errors.
//!
//! Bounds asserted: unary ops are tables built from the float kernel, so they equal
//! fake-quant exactly. Add/Sub/Mul and Softmax agree within 1 code everywhere, with
//! at most 5% (gemmlowp) / 2% (single) of codes differing: Add rounds each scaled
//! operand before the sum, Softmax's Q16 exponentials carry about 2^-17 relative
//! error, so results near a half can round either way.

mod int_util;

use int_util::*;
use pare_ir::ops::GeluApprox;
use pare_ir::quant::Rounding;
use pare_ir::{DType, Op, Tensor};

const BOUND: Bound = Bound {
    gemmlowp: 0.05,
    single: 0.02,
};

#[test]
fn add_sub_mul_match_fake_quant() {
    let shapes: [(&[usize], &[usize]); 4] = [
        (&[4, 50], &[4, 50]),
        (&[3, 1, 20], &[5, 1]),
        (&[], &[6, 7]),
        (&[2, 3, 4, 5], &[5]),
    ];
    for op in [Op::Add {}, Op::Sub {}, Op::Mul {}] {
        for (i, (sa, sb)) in shapes.iter().enumerate() {
            let mut r = rng(500 + i as u64);
            // Different scales and zero points; one u8 operand.
            let a = act(&mut r, sa, 0.07, -20);
            let b = if i == 1 {
                act_u8(&mut r, sb, 0.011, 100)
            } else {
                act(&mut r, sb, 0.013, 17)
            };
            let ops = [Some(&a), Some(&b)];
            let out = fitted(&float_out(&op, &ops, 1)[0]);
            eprintln!("{} {sa:?} {sb:?}", op.name());
            check_close(&op, &ops, &[&out], BOUND);
        }
    }
}

#[test]
fn add_and_mul_hand_computed() {
    // Add: 10 · 0.5 + (6 - 3) · 0.25 = 5.75 = 11.5 output units -> 12 (gemmlowp),
    // then zp -1 -> 11.
    let a = act_from(&[1], vec![10], 0.5, 0);
    let b = act_from(&[1], vec![6], 0.25, 3);
    let out = qtype(DType::I8, &[1], per_tensor(true, 0.5, -1));
    let y = eval_i(
        &Op::Add {},
        &[Some(&a), Some(&b)],
        &[&out],
        Rounding::Gemmlowp,
    )
    .unwrap();
    assert_eq!(codes(&y[0]), vec![11]);
    // Sub: 5 - 0.75 = 4.25 -> 8.5 units -> 9 (away from zero) -> 8.
    let y = eval_i(
        &Op::Sub {},
        &[Some(&a), Some(&b)],
        &[&out],
        Rounding::Gemmlowp,
    )
    .unwrap();
    assert_eq!(codes(&y[0]), vec![8]);
    // Mul: scales 0.5 · 0.5 / 0.25 = 1, so codes multiply, then clamp.
    let a = act_from(&[3], vec![3, 20, -20], 0.5, 0);
    let b = act_from(&[3], vec![4, 20, 20], 0.5, 0);
    let out = qtype(DType::I8, &[3], per_tensor(true, 0.25, 0));
    for r in Rounding::ALL {
        let y = eval_i(&Op::Mul {}, &[Some(&a), Some(&b)], &[&out], r).unwrap();
        assert_eq!(codes(&y[0]), vec![12, 127, -128], "{r}");
    }
}

#[test]
fn binary_errors() {
    let mut r = rng(1);
    let a = act(&mut r, &[2, 3], 0.1, 0);
    let b = act(&mut r, &[4], 0.1, 0);
    let out = qtype(DType::I8, &[2, 3], per_tensor(true, 0.1, 0));
    let e = eval_i(
        &Op::Add {},
        &[Some(&a), Some(&b)],
        &[&out],
        Rounding::Gemmlowp,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("do not broadcast"), "{e}");
    // A float operand is not silently mixed in.
    let f = plain(Tensor::from_vec(vec![3], vec![1f32, 2.0, 3.0]).unwrap());
    let e = eval_i(
        &Op::Mul {},
        &[Some(&a), Some(&f)],
        &[&out],
        Rounding::Gemmlowp,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("input 1") && e.contains("not quantized"), "{e}");
}

#[test]
fn unary_ops_equal_fake_quant_exactly() {
    let ops = [
        Op::Relu {},
        Op::LeakyRelu { alpha: 0.1 },
        Op::Sigmoid {},
        Op::Tanh {},
        Op::HardSigmoid {
            alpha: 0.2,
            beta: 0.5,
        },
        Op::HardSwish {},
        Op::Elu { alpha: 1.0 },
        Op::Gelu {
            approximate: GeluApprox::None,
        },
        Op::Gelu {
            approximate: GeluApprox::Tanh,
        },
        Op::Erf {},
        Op::Exp {},
        Op::Softplus {},
        Op::Neg {},
        Op::Abs {},
        Op::Sqrt {},
        Op::Mish {},
    ];
    for (i, op) in ops.iter().enumerate() {
        let mut r = rng(600 + i as u64);
        // Every code appears, plus random ones.
        let mut v: Vec<i8> = (-128..=127).collect();
        v.extend((0..200).map(|_| r.i8(..)));
        let x = act_from(&[2, 228], v, 0.05, -3);
        let y = float_out(op, &[Some(&x)], 1);
        let out = fitted(&y[0]);
        check_exact(op, &[Some(&x)], &[&out]);
    }
}

#[test]
fn clip_bounds_float_or_quantized() {
    let v: Vec<i8> = (-128..=127).collect();
    let x = act_from(&[256], v, 0.1, 0);
    let out = qtype(DType::I8, &[256], per_tensor(true, 0.05, 0));
    // Relu6 as Clip(0, 6) with float bounds, then with quantized ones.
    let lo = plain(Tensor::scalar(0f32));
    let hi = plain(Tensor::scalar(6f32));
    let ops = [Some(&x), Some(&lo), Some(&hi)];
    check_exact(&Op::Clip {}, &ops, &[&out]);
    let y = eval_i(&Op::Clip {}, &ops, &[&out], Rounding::Gemmlowp).unwrap();
    let c = codes(&y[0]);
    assert_eq!(c[0], 0); // -12.8 -> 0
    assert_eq!(c[128 + 30], 60); // 3.0 -> 60
    assert_eq!(c[255], 120); // 12.7 -> 6 -> 120
    let qlo = act_from(&[], vec![0], 0.1, 0);
    let qhi = act_from(&[], vec![60], 0.1, 0);
    let y2 = eval_i(
        &Op::Clip {},
        &[Some(&x), Some(&qlo), Some(&qhi)],
        &[&out],
        Rounding::Gemmlowp,
    )
    .unwrap();
    assert_eq!(y2, y);
    // Only the min bound.
    check_exact(&Op::Clip {}, &[Some(&x), Some(&lo)], &[&out]);
}

#[test]
fn unary_on_u8_and_narrow_codes() {
    let mut r = rng(77);
    let x = act_u8(&mut r, &[300], 0.02, 128);
    let out = qtype(DType::U8, &[300], per_tensor(false, 1.0 / 255.0, 0));
    check_exact(&Op::Sigmoid {}, &[Some(&x)], &[&out]);
    // 4-bit codes outside [-8, 7] are refused, not read past the table.
    let mut x4 = act_from(&[2], vec![3, 100], 0.5, 0);
    x4.ty.as_mut().unwrap().quant.as_mut().unwrap().bits = 4;
    let out = qtype(DType::I8, &[2], per_tensor(true, 0.5, 0));
    let e = eval_i(&Op::Relu {}, &[Some(&x4)], &[&out], Rounding::Gemmlowp)
        .unwrap_err()
        .to_string();
    assert!(e.contains("outside its type's range"), "{e}");
}

fn softmax_out(shape: &[usize]) -> pare_ir::TensorType {
    qtype(DType::I8, shape, per_tensor(true, 1.0 / 256.0, -128))
}

#[test]
fn softmax_matches_fake_quant() {
    let cases: [(&[usize], i64, bool, f32); 5] = [
        (&[8, 10], -1, false, 0.1),
        (&[2, 5, 7], 1, false, 0.05),
        (&[3, 4, 5], 1, true, 0.08),
        (&[4, 64], 1, false, 0.02),
        (&[6, 3], 0, false, 0.3),
    ];
    for (i, (shape, axis, coerce_2d, scale)) in cases.into_iter().enumerate() {
        let mut r = rng(700 + i as u64);
        let x = act(&mut r, shape, scale, 4);
        let op = Op::Softmax { axis, coerce_2d };
        eprintln!("softmax {shape:?} axis {axis} coerce {coerce_2d}");
        check_close(&op, &[Some(&x)], &[&softmax_out(shape)], BOUND);
    }
}

#[test]
fn softmax_hand_computed() {
    let op = Op::Softmax {
        axis: -1,
        coerce_2d: false,
    };
    // Equal codes: 1/4 each = 64/256 -> -64. A dominant code: 256/256 clamps to 127;
    // exp(-100) is 0 in Q16, giving -128.
    let x = act_from(&[2, 4], vec![5, 5, 5, 5, 0, -100, -100, -100], 1.0, 0);
    for r in Rounding::ALL {
        let y = eval_i(&op, &[Some(&x)], &[&softmax_out(&[2, 4])], r).unwrap();
        assert_eq!(
            codes(&y[0]),
            vec![-64, -64, -64, -64, 127, -128, -128, -128]
        );
    }
    // Output parameters other than int8 1/256, zp -128 are refused.
    let bad = qtype(DType::I8, &[2, 4], per_tensor(true, 1.0 / 255.0, -128));
    let e = eval_i(&op, &[Some(&x)], &[&bad], Rounding::Gemmlowp)
        .unwrap_err()
        .to_string();
    assert!(e.contains("scale 1/256"), "{e}");
}

#[test]
fn ops_without_integer_kernels_say_so() {
    let x = act_from(&[2], vec![1, 2], 0.1, 0);
    let out = qtype(DType::I8, &[2], per_tensor(true, 0.1, 0));
    let op = Op::LogSoftmax {
        axis: -1,
        coerce_2d: false,
    };
    let e = eval_i(&op, &[Some(&x)], &[&out], Rounding::Gemmlowp)
        .unwrap_err()
        .to_string();
    assert_eq!(e, "no integer kernel for `log_softmax`");
    assert!(!pare_ir::interp::has_int_kernel(&op));
    assert!(pare_ir::interp::has_int_kernel(&Op::Relu {}));
}
