//! Hand-computed values of the requantization arithmetic (TFLite's edge cases among
//! them), conversions and tables, plus a randomized bound against exact rounding.

use super::*;
use crate::{DType, Op, QParams, Tensor};

const R: [Rounding; 2] = Rounding::ALL;
const G: Rounding = Rounding::Gemmlowp;
const S: Rounding = Rounding::Single;

fn per_tensor(bits: u8, signed: bool, scale: f32, zp: i32) -> QParams {
    QParams {
        bits,
        signed,
        scale: vec![scale],
        zero_point: vec![zp],
        axis: None,
    }
}

#[test]
fn rounding_names_round_trip() {
    assert_eq!(Rounding::default(), G);
    for r in R {
        assert_eq!(r.to_string().parse::<Rounding>(), Ok(r));
    }
    assert_eq!("gemmlowp".parse::<Rounding>(), Ok(G));
    assert_eq!("single".parse::<Rounding>(), Ok(S));
    let e = "nearest".parse::<Rounding>().unwrap_err();
    assert!(e.to_string().contains("`nearest`"), "{e}");
}

#[test]
fn quantize_multiplier_hand_values() {
    assert_eq!(quantize_multiplier(0.5), (1 << 30, 0));
    assert_eq!(quantize_multiplier(1.0), (1 << 30, 1));
    assert_eq!(quantize_multiplier(0.25), (1 << 30, -1));
    assert_eq!(quantize_multiplier(0.75), (1_610_612_736, 0));
    // 0.1 = 0.8 · 2^-3; 0.8 · 2^31 = 1717986918.4.
    assert_eq!(quantize_multiplier(0.1), (1_717_986_918, -3));
    // Rounds up to 2^31: halved, exponent bumped.
    assert_eq!(quantize_multiplier(1.0 - 2f64.powi(-40)), (1 << 30, 1));
    // Half away from zero: 0.5 + 2^-32 = (2^30 + 0.5) / 2^31.
    assert_eq!(
        quantize_multiplier(0.5 + 2f64.powi(-32)),
        ((1 << 30) + 1, 0)
    );
    // Shift bounds: 2^-32 is the smallest kept, smaller flushes to zero.
    assert_eq!(quantize_multiplier(2f64.powi(-32)), (1 << 30, -31));
    assert_eq!(quantize_multiplier(2f64.powi(-33)), (0, 0));
    assert_eq!(quantize_multiplier(f64::MIN_POSITIVE / 4.0), (0, 0));
    // 2^30 is the largest exact one; beyond saturates.
    assert_eq!(quantize_multiplier(2f64.powi(29)), (1 << 30, 30));
    assert_eq!(quantize_multiplier(2f64.powi(30)), (i32::MAX, 30));
    assert_eq!(quantize_multiplier(1e10), (i32::MAX, 30));
    // Degenerate inputs.
    assert_eq!(quantize_multiplier(0.0), (0, 0));
    assert_eq!(quantize_multiplier(f64::NAN), (0, 0));
    assert_eq!(quantize_multiplier(f64::INFINITY), (0, 0));
    assert_eq!(quantize_multiplier(-0.5), (-(1 << 30), 0));
}

#[test]
fn high_mul_hand_values() {
    // The one overflow saturates.
    assert_eq!(
        saturating_rounding_doubling_high_mul(i32::MIN, i32::MIN),
        i32::MAX
    );
    // (2^31-1)^2 · 2 / 2^32 = 2^31 - 2 + 2^-31: rounds to 2^31 - 2.
    assert_eq!(
        saturating_rounding_doubling_high_mul(i32::MAX, i32::MAX),
        2_147_483_646
    );
    // -2^31 (2^31 - 1) · 2 / 2^32 = -2^31 + 1/2: ties toward +inf.
    assert_eq!(
        saturating_rounding_doubling_high_mul(i32::MIN, i32::MAX),
        -2_147_483_647
    );
    assert_eq!(
        saturating_rounding_doubling_high_mul(1 << 30, 1 << 30),
        1 << 29
    );
    // Ties: 0.5 -> 1, -0.5 -> 0, -1.5 -> -1 (toward +inf).
    assert_eq!(saturating_rounding_doubling_high_mul(1, 1 << 30), 1);
    assert_eq!(saturating_rounding_doubling_high_mul(-1, 1 << 30), 0);
    assert_eq!(saturating_rounding_doubling_high_mul(-3, 1 << 30), -1);
    assert_eq!(saturating_rounding_doubling_high_mul(3, 1 << 30), 2);
}

#[test]
fn divide_by_pot_hand_values() {
    // Ties away from zero.
    assert_eq!(rounding_divide_by_pot(3, 1), 2);
    assert_eq!(rounding_divide_by_pot(-3, 1), -2);
    assert_eq!(rounding_divide_by_pot(5, 2), 1); // 1.25
    assert_eq!(rounding_divide_by_pot(-5, 2), -1);
    assert_eq!(rounding_divide_by_pot(6, 2), 2); // 1.5
    assert_eq!(rounding_divide_by_pot(-6, 2), -2);
    assert_eq!(rounding_divide_by_pot(7, 0), 7);
    // Exponent 31: only the sign and the half remain.
    assert_eq!(rounding_divide_by_pot(1 << 30, 31), 1);
    assert_eq!(rounding_divide_by_pot((1 << 30) - 1, 31), 0);
    assert_eq!(rounding_divide_by_pot(-(1 << 30), 31), -1);
    assert_eq!(rounding_divide_by_pot(i32::MIN, 31), -1);
    assert_eq!(rounding_divide_by_pot(i32::MAX, 31), 1);
}

#[test]
fn multiply_by_quantized_multiplier_hand_values() {
    let mbqm = multiply_by_quantized_multiplier;
    let half = quantize_multiplier(0.5);
    let quarter = quantize_multiplier(0.25);
    // Exact products agree in both modes.
    for r in R {
        assert_eq!(mbqm(100, half.0, half.1, r), 50);
        assert_eq!(mbqm(-100, quarter.0, quarter.1, r), -25);
        assert_eq!(mbqm(0, i32::MAX, 30, r), 0);
    }
    // Ties at shift 0 (one rounding in both): toward +inf.
    assert_eq!(mbqm(3, half.0, half.1, G), 2);
    assert_eq!(mbqm(-3, half.0, half.1, G), -1);
    assert_eq!(mbqm(3, half.0, half.1, S), 2);
    assert_eq!(mbqm(-3, half.0, half.1, S), -1);
    assert_eq!(mbqm(-5, half.0, half.1, S), -2);
    // Negative rounding through the divide: -0.75 -> -1 in both.
    assert_eq!(mbqm(-3, quarter.0, quarter.1, G), -1);
    assert_eq!(mbqm(-3, quarter.0, quarter.1, S), -1);
    // Double rounding: 5 · 0.25 = 1.25 is 2.5 after the high multiply, then 2;
    // single rounding gives 1.
    assert_eq!(mbqm(5, quarter.0, quarter.1, G), 2);
    assert_eq!(mbqm(5, quarter.0, quarter.1, S), 1);
    // i32::MIN · i32::MIN at shift 0 saturates in both modes.
    assert_eq!(mbqm(i32::MIN, i32::MIN, 0, G), i32::MAX);
    assert_eq!(mbqm(i32::MIN, i32::MIN, 0, S), i32::MAX);
    // Largest left shift: 1 · (2^31-1) · 2^-1.
    assert_eq!(mbqm(1, i32::MAX, 30, G), 1 << 30);
    assert_eq!(mbqm(1, i32::MAX, 30, S), 1 << 30);
    // x · 2^30 wraps in gemmlowp (2 << 30 = i32::MIN); single rounding is exact.
    assert_eq!(mbqm(2, i32::MAX, 30, G), -2_147_483_647);
    assert_eq!(mbqm(2, i32::MAX, 30, S), i32::MAX);
    // Single rounding saturates: 3 · (2^31-1) / 2 > i32::MAX.
    assert_eq!(mbqm(3, i32::MAX, 30, S), i32::MAX);
    assert_eq!(mbqm(-3, i32::MAX, 30, S), i32::MIN);
    // Largest right shift (real 2^-32): (2^31-1) · 2^-32 is just under 1/2.
    assert_eq!(mbqm(i32::MAX, 1 << 30, -31, G), 1);
    assert_eq!(mbqm(i32::MAX, 1 << 30, -31, S), 0);
    assert_eq!(mbqm(i32::MIN, 1 << 30, -31, G), -1);
    assert_eq!(mbqm(i32::MIN, 1 << 30, -31, S), 0);
    // Out-of-range shifts are clamped to [-31, 30].
    assert_eq!(mbqm(1, i32::MAX, 99, S), mbqm(1, i32::MAX, 30, S));
    assert_eq!(
        mbqm(i32::MAX, 1 << 30, -99, G),
        mbqm(i32::MAX, 1 << 30, -31, G)
    );
}

/// `round(x · real)` exactly, ties away from zero (the bound does not care).
fn exact_round(x: i32, real: f64) -> i64 {
    (f64::from(x) * real).round() as i64
}

#[test]
fn mbqm_is_within_one_of_the_exact_product() {
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    for _ in 0..200_000 {
        // log-uniform multiplier in [2^-24, 2^6], |x| below 2^24, product below 2^27.
        let real = 2f64.powf(rng.f64() * 30.0 - 24.0);
        let limit = ((1u64 << 27) as f64 / real).min((1u64 << 24) as f64) as i32;
        let x = rng.i32(-limit..=limit);
        let (m, shift) = quantize_multiplier(real);
        let want = exact_round(x, real);
        for r in R {
            let got = i64::from(multiply_by_quantized_multiplier(x, m, shift, r));
            assert!(
                (got - want).abs() <= 1,
                "{r}: x={x} real={real} (m={m}, shift={shift}) gave {got}, exact {want}"
            );
        }
    }
}

#[test]
fn code_ranges() {
    assert_eq!(qrange(&per_tensor(8, true, 1.0, 0)), (-128, 127));
    assert_eq!(qrange(&per_tensor(8, false, 1.0, 0)), (0, 255));
    assert_eq!(qrange(&per_tensor(4, true, 1.0, 0)), (-8, 7));
    assert_eq!(qrange(&per_tensor(4, false, 1.0, 0)), (0, 15));
    assert_eq!(qrange(&per_tensor(16, true, 1.0, 0)), (-32768, 32767));
    assert_eq!(qrange(&per_tensor(32, true, 1.0, 0)), (i32::MIN, i32::MAX));
    assert_eq!(qrange(&per_tensor(32, false, 1.0, 0)), (0, i32::MAX));
}

#[test]
fn quantize_and_dequantize_values() {
    let q = |x: f32, s: f32, z: i32| quantize_f32(x, s, z, -128, 127);
    // Round half to even.
    assert_eq!(q(2.5, 1.0, 0), 2);
    assert_eq!(q(3.5, 1.0, 0), 4);
    assert_eq!(q(-2.5, 1.0, 0), -2);
    assert_eq!(q(-0.5, 1.0, 0), 0);
    assert_eq!(q(0.25, 0.1, 10), 12); // 2.5 -> 2, + 10
                                      // Clamp, infinities, NaN.
    assert_eq!(q(1000.0, 1.0, 0), 127);
    assert_eq!(q(-1000.0, 1.0, 5), -128);
    assert_eq!(q(f32::INFINITY, 1.0, 0), 127);
    assert_eq!(q(f32::NEG_INFINITY, 1.0, 0), -128);
    assert_eq!(q(f32::NAN, 1.0, 3), 0);
    assert_eq!(quantize_f32(f32::NAN, 1.0, 3, 5, 9), 5);
    assert_eq!(dequantize_f32(7, 0.5, -3), 5.0);
    assert_eq!(dequantize_f32(-128, 0.25, 127), -63.75);
}

#[test]
fn tensor_conversions_are_per_axis() {
    let q = QParams {
        bits: 8,
        signed: true,
        scale: vec![0.5, 2.0],
        zero_point: vec![0, 1],
        axis: Some(1),
    };
    let x = Tensor::from_vec(vec![2, 2, 1], vec![1.0f32, 3.0, -1.0, 300.0]).unwrap();
    let t = quantize_tensor(&x, DType::I8, &q).unwrap();
    // Channel 0 (scale 0.5): 2, -2; channel 1 (scale 2, zp 1): round(1.5)=2 -> 3; clamp 127.
    assert_eq!(t.as_slice::<i8>().unwrap(), &[2, 3, -2, 127]);
    let back = dequantize_tensor(&t, &q).unwrap();
    assert_eq!(back.as_slice::<f32>().unwrap(), &[1.0, 4.0, -1.0, 252.0]);
    // Mismatched parameters are errors, not panics.
    let bad = QParams {
        axis: Some(0),
        scale: vec![1.0; 3],
        zero_point: vec![0; 3],
        ..q.clone()
    };
    assert!(dequantize_tensor(&t, &bad).is_err());
    assert!(quantize_tensor(&x, DType::U8, &q).is_err());
    assert!(quantize_tensor(&t, DType::I8, &q).is_err());
}

#[test]
fn requant_parameters() {
    assert_eq!(product_multiplier(0.5, 0.25, 0.125), (1 << 30, 1));
    assert_eq!(mean_multiplier(1.0, 0.5, 4), (1 << 30, 0));
    // 7x7 (MobileNet's global pool): TFLite's integer division of the multiplier,
    // m0 = 2^30 (0.5 · 2^31), k = 5: ⌊2^35 / 49⌋ = 701,219,150, shift 1 − 5.
    assert_eq!(mean_multiplier(1.0, 1.0, 49), (701_219_150, -4));
    let add = add_requant(1.0, 1.0, 1.0);
    assert_eq!(add.input1, (1 << 30, 0));
    assert_eq!(add.input2, (1 << 30, 0));
    assert_eq!(add.output, (1 << 30, -18)); // 2 / 2^20 = 2^-19
    for r in R {
        assert_eq!(add.apply(3, 4, false, r), 7);
        assert_eq!(add.apply(3, 4, true, r), -1);
        assert_eq!(add.apply(-128, -127, false, r), -255);
    }
    // Different scales: 10 · 0.5 + 3 · 0.25 = 5.75 in output units of 0.5 -> 11.5 -> 12.
    let add = add_requant(0.5, 0.25, 0.5);
    assert_eq!(add.apply(10, 3, false, G), 12);
}

#[test]
fn softmax_table_values() {
    let t = softmax_exp_table(0.5, 4);
    // exp(-0.5) · 65536 = 39749.6; exp(-1) · 65536 = 24109.3; exp(-1.5) · 65536 = 14623.1.
    assert_eq!(t, vec![SOFTMAX_EXP_ONE, 39750, 24109, 14623]);
    assert_eq!(softmax_exp_table(0.0, 3), vec![65536; 3]);
    assert_eq!(softmax_exp_table(100.0, 2), vec![65536, 0]);
}

#[test]
fn unary_tables() {
    let in_q = per_tensor(8, true, 0.1, -10);
    let out_q = per_tensor(8, true, 0.1, -128);
    let lut = unary_lut(&Op::Relu {}, &in_q, &out_q, &[]).unwrap();
    assert_eq!(lut.len(), 256);
    for (i, &o) in lut.iter().enumerate() {
        let q = i as i32 - 128;
        let want = if q <= -10 { -128 } else { (q - 118).min(127) };
        assert_eq!(o, want, "code {q}");
    }
    // Clip's bounds come in as float tensors.
    let lo = Tensor::scalar(-0.5f32);
    let hi = Tensor::scalar(0.5f32);
    let u8q = per_tensor(8, false, 0.01, 128);
    let lut = unary_lut(&Op::Clip {}, &u8q, &u8q, &[Some(&lo), Some(&hi)]).unwrap();
    assert_eq!(lut[0], 78);
    assert_eq!(lut[128], 128);
    assert_eq!(lut[255], 178);
    // Not a unary op, or per-axis parameters: errors.
    assert!(unary_lut(&Op::Add {}, &in_q, &out_q, &[]).is_err());
    let axis = QParams {
        axis: Some(0),
        ..in_q.clone()
    };
    assert!(unary_lut(&Op::Relu {}, &axis, &out_q, &[]).is_err());
}
