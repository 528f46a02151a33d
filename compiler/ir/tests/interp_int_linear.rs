//! Integer Conv, Gemm and MatMul: against the fake-quant path on random data (every
//! code within 1 of it; at most 5% of codes differing under gemmlowp rounding, 1%
//! under single rounding, or 2 codes for tiny outputs), hand-computed exact cases,
//! and the parameter errors.

mod int_util;

use int_util::*;
use pare_ir::ops::AutoPad;
use pare_ir::quant::Rounding;
use pare_ir::{DType, Op, QParams, Tensor};

/// Share of codes that may differ from fake-quant by one. Single rounding differs
/// from fake-quant's one rounding only where the f32 sum's error or the
/// multiplier's 2^-31 error straddles a half (rare). gemmlowp rounds twice: the
/// high multiply rounds to an integer, then the divide by 2^right rounds again,
/// flipping results within 2^-(right+1) of a half — a few percent when the
/// multiplier is near 2^-4 (right shift 4), as with 4-bit weights.
const BOUND: Bound = Bound {
    gemmlowp: 0.05,
    single: 0.01,
};

fn conv(strides: &[i64], pads: &[i64], dilations: &[i64], group: i64, auto_pad: AutoPad) -> Op {
    Op::Conv {
        auto_pad,
        kernel_shape: vec![],
        strides: strides.to_vec(),
        pads: pads.to_vec(),
        dilations: dilations.to_vec(),
        group,
    }
}

/// One random Conv case: x [n, c, spatial...], w [o, c/group, kernel...] per channel.
struct ConvCase {
    name: &'static str,
    x: &'static [usize],
    w: &'static [usize],
    op: Op,
    bias: bool,
    bits: u8,
    unsigned: bool,
}

fn case(name: &'static str, x: &'static [usize], w: &'static [usize], op: Op) -> ConvCase {
    ConvCase {
        name,
        x,
        w,
        op,
        bias: true,
        bits: 8,
        unsigned: false,
    }
}

impl ConvCase {
    fn no_bias(self) -> ConvCase {
        ConvCase {
            bias: false,
            ..self
        }
    }

    fn run(&self, seed: u64) {
        eprintln!("conv: {}", self.name);
        let mut r = rng(seed);
        let x = if self.unsigned {
            act_u8(&mut r, self.x, 0.02, 131)
        } else {
            act(&mut r, self.x, 0.02, 5)
        };
        let w = weight(&mut r, self.w, Some(0), self.bits);
        let b = bias(&mut r, self.w[0], 0.02, &w, 2000);
        let ops = [Some(&x), Some(&w), self.bias.then_some(&b)];
        let out = fitted(&float_out(&self.op, &ops, 1)[0]);
        check_close(&self.op, &ops, &[&out], BOUND);
    }
}

#[test]
fn conv_matches_fake_quant() {
    let none = AutoPad::NotSet;
    let pad1 = || conv(&[1, 1], &[1, 1, 1, 1], &[1, 1], 1, none);
    let cases = [
        case("plain 3x3 pad 1", &[2, 3, 7, 7], &[4, 3, 3, 3], pad1()),
        case(
            "stride 2, dilation 2, uneven pads",
            &[1, 3, 9, 8],
            &[5, 3, 3, 2],
            conv(&[2, 1], &[1, 2, 0, 1], &[2, 2], 1, none),
        ),
        case(
            "groups",
            &[1, 4, 6, 6],
            &[6, 2, 3, 3],
            conv(&[1, 1], &[0, 0, 0, 0], &[1, 1], 2, none),
        ),
        case(
            "depthwise",
            &[2, 5, 6, 5],
            &[5, 1, 3, 3],
            conv(&[2, 2], &[1, 1, 1, 1], &[1, 1], 5, none),
        ),
        case(
            "depthwise multiplier 2",
            &[1, 3, 5, 5],
            &[6, 1, 3, 3],
            conv(&[1, 1], &[1, 1, 1, 1], &[1, 1], 3, none),
        )
        .no_bias(),
        case(
            "1x1",
            &[1, 8, 4, 4],
            &[3, 8, 1, 1],
            conv(&[1, 1], &[0, 0, 0, 0], &[1, 1], 1, none),
        )
        .no_bias(),
        case(
            "same_upper",
            &[1, 2, 5, 6],
            &[3, 2, 3, 4],
            conv(&[2, 2], &[], &[1, 1], 1, AutoPad::SameUpper),
        ),
        case(
            "same_lower",
            &[1, 2, 5, 6],
            &[3, 2, 2, 3],
            conv(&[1, 1], &[], &[1, 1], 1, AutoPad::SameLower),
        ),
        case(
            "valid",
            &[1, 2, 5, 6],
            &[3, 2, 3, 3],
            conv(&[1, 1], &[], &[1, 1], 1, AutoPad::Valid),
        ),
        case(
            "1-D",
            &[2, 3, 11],
            &[4, 3, 3],
            conv(&[2], &[1, 1], &[1], 1, none),
        ),
        case(
            "3-D",
            &[1, 2, 4, 5, 4],
            &[3, 2, 2, 3, 2],
            conv(&[1, 1, 1], &[1, 0, 1, 1, 0, 1], &[1, 1, 1], 1, none),
        ),
        ConvCase {
            bits: 4,
            ..case("4-bit weights", &[1, 3, 6, 6], &[4, 3, 3, 3], pad1())
        },
        ConvCase {
            unsigned: true,
            ..case("u8 input", &[1, 3, 6, 6], &[4, 3, 3, 3], pad1())
        },
        // Pads wider than the input: some taps never land inside a row (the float
        // kernels once underflowed computing their first column).
        case(
            "pads wider than the input",
            &[1, 2, 1, 2],
            &[3, 2, 3, 3],
            conv(&[1, 1], &[2, 2, 0, 0], &[1, 1], 1, none),
        ),
        case(
            "depthwise, pads wider than the input",
            &[1, 2, 1, 2],
            &[2, 1, 3, 3],
            conv(&[1, 1], &[2, 2, 0, 0], &[1, 1], 2, none),
        ),
    ];
    for (i, c) in cases.iter().enumerate() {
        c.run(100 + i as u64);
    }
}

#[test]
fn conv_hand_computed() {
    // x codes 1..=9 (zp 1, scale 0.5), w [[1, 2], [-1, 3]] (scale 0.25), bias -3,
    // output scale 1, zp -2: acc = 11, 16, 26, 31 less 3 = 8, 13, 23, 28;
    // times 0.125 = 1, 1.625, 2.875, 3.5 -> 1, 2, 3, 4 (both roundings) -> -1, 0, 1, 2.
    let x = act_from(&[1, 1, 3, 3], (1..=9).collect(), 0.5, 1);
    let mut w = act_from(&[1, 1, 2, 2], vec![1, 2, -1, 3], 0.25, 0);
    w.ty.as_mut().unwrap().quant.as_mut().unwrap().axis = Some(0);
    let b = plain(Tensor::from_vec(vec![1], vec![-3i32]).unwrap());
    let out = qtype(DType::I8, &[1, 1, 2, 2], per_tensor(true, 1.0, -2));
    let op = conv(&[1, 1], &[0, 0, 0, 0], &[1, 1], 1, AutoPad::NotSet);
    for r in Rounding::ALL {
        let y = eval_i(&op, &[Some(&x), Some(&w), Some(&b)], &[&out], r).unwrap();
        assert_eq!(codes(&y[0]), vec![-1, 0, 1, 2], "{r}");
    }
    // Padding contributes zero real value: a 1x1 kernel of weight 1 with pad 1
    // gives z_o + 0 on the border.
    let x = act_from(&[1, 1, 1, 1], vec![7], 1.0, 3);
    let w = act_from(&[1, 1, 1, 1], vec![1], 1.0, 0);
    let out = qtype(DType::I8, &[1, 1, 3, 3], per_tensor(true, 1.0, -5));
    let op = conv(&[1, 1], &[1, 1, 1, 1], &[1, 1], 1, AutoPad::NotSet);
    let y = eval_i(&op, &[Some(&x), Some(&w)], &[&out], Rounding::Gemmlowp).unwrap();
    assert_eq!(codes(&y[0]), vec![-5, -5, -5, -5, -1, -5, -5, -5, -5]);
}

#[test]
fn conv_accumulator_wraps_and_output_saturates() {
    // 3 · 3 taps of (127 - -128) · 127 stay in i32; the output clamps at 127.
    let x = act_from(&[1, 1, 3, 3], vec![127; 9], 1.0, -128);
    let w = act_from(&[1, 1, 3, 3], vec![127; 9], 1.0, 0);
    let out = qtype(DType::I8, &[1, 1, 1, 1], per_tensor(true, 1.0, 0));
    let op = conv(&[1, 1], &[0, 0, 0, 0], &[1, 1], 1, AutoPad::NotSet);
    let y = eval_i(&op, &[Some(&x), Some(&w)], &[&out], Rounding::Gemmlowp).unwrap();
    assert_eq!(codes(&y[0]), vec![127]);
    let out = qtype(DType::I8, &[1, 1, 1, 1], per_tensor(true, 1e6, 0));
    let y = eval_i(&op, &[Some(&x), Some(&w)], &[&out], Rounding::Gemmlowp).unwrap();
    // 9 · 255 · 127 = 291465; / 1e6 = 0.29 -> 0.
    assert_eq!(codes(&y[0]), vec![0]);
}

#[test]
fn conv_parameter_errors() {
    let mut r = rng(7);
    let op = conv(&[1, 1], &[0, 0, 0, 0], &[1, 1], 1, AutoPad::NotSet);
    let x = act(&mut r, &[1, 2, 4, 4], 0.1, 0);
    let out = qtype(DType::I8, &[1, 3, 2, 2], per_tensor(true, 0.5, 0));
    let err = |ops: &[Option<&Operand>]| {
        eval_i(&op, ops, &[&out], Rounding::Gemmlowp)
            .unwrap_err()
            .to_string()
    };
    // Weight per channel on the wrong axis.
    let w = weight(&mut r, &[3, 2, 3, 3], Some(1), 8);
    let e = err(&[Some(&x), Some(&w)]);
    assert!(e.contains("per channel on axis 0"), "{e}");
    // Bias whose scale is not s_x · s_w.
    let w = weight(&mut r, &[3, 2, 3, 3], Some(0), 8);
    let mut b = bias(&mut r, 3, 0.1, &w, 10);
    b.ty.as_mut().unwrap().quant.as_mut().unwrap().scale[1] *= 2.0;
    let e = err(&[Some(&x), Some(&w), Some(&b)]);
    assert!(e.contains("channel 1") && e.contains("s_x·s_w"), "{e}");
    // Per-axis activation.
    let mut xa = x.clone();
    xa.ty.as_mut().unwrap().quant = Some(QParams {
        bits: 8,
        signed: true,
        scale: vec![0.1, 0.2],
        zero_point: vec![0, 0],
        axis: Some(1),
    });
    let e = err(&[Some(&xa), Some(&w)]);
    assert!(e.contains("per tensor"), "{e}");
    // Unquantized input.
    let xf = plain(Tensor::zeros(DType::F32, vec![1, 2, 4, 4]).unwrap());
    let e = err(&[Some(&xf), Some(&w)]);
    assert!(e.contains("not quantized"), "{e}");
    // Zero point outside the code range.
    let mut xz = x.clone();
    xz.ty.as_mut().unwrap().quant.as_mut().unwrap().zero_point[0] = 300;
    let e = err(&[Some(&xz), Some(&w)]);
    assert!(e.contains("zero point 300"), "{e}");
}

fn gemm(trans_a: bool, trans_b: bool, alpha: f32) -> Op {
    Op::Gemm {
        alpha,
        beta: 1.0,
        trans_a,
        trans_b,
    }
}

#[test]
fn gemm_matches_fake_quant() {
    for (i, (ta, tb, bias_shape)) in [
        (false, true, Some(vec![7])),
        (false, false, Some(vec![1, 7])),
        (true, true, None),
        (true, false, Some(vec![7])),
    ]
    .into_iter()
    .enumerate()
    {
        let mut r = rng(300 + i as u64);
        let (m, k, n) = (5, 33, 7);
        let x = act(&mut r, &if ta { [k, m] } else { [m, k] }, 0.03, -7);
        let w = weight(
            &mut r,
            &if tb { [n, k] } else { [k, n] },
            Some(if tb { 0 } else { 1 }),
            8,
        );
        let b = bias_shape.map(|s| {
            let mut b = bias(&mut r, n, 0.03, &w, 3000);
            b.t = b.t.reshaped(s).unwrap();
            b.ty.as_mut().unwrap().shape = b.t.shape().iter().map(|&d| (d as u64).into()).collect();
            b.ty.as_mut().unwrap().quant.as_mut().unwrap().axis = Some(b.t.rank() - 1);
            b
        });
        let op = gemm(ta, tb, 1.0);
        let ops = [Some(&x), Some(&w), b.as_ref()];
        let out = fitted(&float_out(&op, &ops, 1)[0]);
        eprintln!("gemm trans_a={ta} trans_b={tb}");
        check_close(&op, &ops, &[&out], BOUND);
    }
}

#[test]
fn gemm_refuses_scaled_products() {
    let mut r = rng(9);
    let x = act(&mut r, &[2, 3], 0.1, 0);
    let w = weight(&mut r, &[4, 3], Some(0), 8);
    let out = qtype(DType::I8, &[2, 4], per_tensor(true, 0.1, 0));
    let e = eval_i(
        &gemm(false, true, 2.0),
        &[Some(&x), Some(&w)],
        &[&out],
        Rounding::Gemmlowp,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("alpha = 1"), "{e}");
    // Per-channel on the K axis is not a per-output-channel weight.
    let w = weight(&mut r, &[4, 3], Some(1), 8);
    let e = eval_i(
        &gemm(false, true, 1.0),
        &[Some(&x), Some(&w)],
        &[&out],
        Rounding::Gemmlowp,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("axis 0"), "{e}");
}

#[test]
fn gemm_hand_computed() {
    // a = [[2, 4]] (zp 0, scale 0.5), b = [[1], [3]] (scale 0.5): real 1·0.5 + 2·1.5 = 3.5.
    // Output scale 0.5, zp 0: 7 exactly; with bias 2 (scale 0.25) -> 3.5 + 0.5 = 4 -> 8.
    let a = act_from(&[1, 2], vec![2, 4], 0.5, 0);
    let b = act_from(&[2, 1], vec![1, 3], 0.5, 0);
    let c = plain(Tensor::from_vec(vec![1], vec![2i32]).unwrap());
    let out = qtype(DType::I8, &[1, 1], per_tensor(true, 0.5, 0));
    let y = eval_i(
        &gemm(false, false, 1.0),
        &[Some(&a), Some(&b)],
        &[&out],
        Rounding::Single,
    )
    .unwrap();
    assert_eq!(codes(&y[0]), vec![7]);
    let y = eval_i(
        &gemm(false, false, 1.0),
        &[Some(&a), Some(&b), Some(&c)],
        &[&out],
        Rounding::Single,
    )
    .unwrap();
    assert_eq!(codes(&y[0]), vec![8]);
}

#[test]
fn matmul_matches_fake_quant() {
    let cases: [(&[usize], &[usize], Option<usize>); 5] = [
        (&[2, 3, 4, 17], &[17, 6], Some(1)),
        (&[2, 1, 4, 9], &[3, 9, 5], None),
        (&[9], &[9, 4], Some(1)),
        (&[3, 9], &[9], None),
        (&[4, 12], &[2, 12, 3], Some(2)),
    ];
    for (i, (a_shape, b_shape, axis)) in cases.into_iter().enumerate() {
        let mut r = rng(400 + i as u64);
        let a = act(&mut r, a_shape, 0.05, 3);
        // b is a per-channel weight or a second activation.
        let b = match axis {
            Some(_) => weight(&mut r, b_shape, axis, 8),
            None => act(&mut r, b_shape, 0.04, -9),
        };
        let op = Op::MatMul {};
        let ops = [Some(&a), Some(&b)];
        let out = fitted(&float_out(&op, &ops, 1)[0]);
        eprintln!("matmul {a_shape:?} x {b_shape:?}");
        check_close(&op, &ops, &[&out], BOUND);
    }
}

#[test]
fn matmul_needs_per_tensor_a() {
    let mut r = rng(11);
    let a = weight(&mut r, &[3, 4], Some(0), 8);
    let b = act(&mut r, &[4, 2], 0.1, 0);
    let out = qtype(DType::I8, &[3, 2], per_tensor(true, 0.1, 0));
    let e = eval_i(
        &Op::MatMul {},
        &[Some(&a), Some(&b)],
        &[&out],
        Rounding::Gemmlowp,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("input 0") && e.contains("per tensor"), "{e}");
}
