//! Integer pooling, ReduceMean and data movement: against the fake-quant path on
//! random data, hand-computed exact cases and parameter errors.
//!
//! Bounds asserted: MaxPool and data movement copy codes, so they equal fake-quant
//! exactly. The means agree within 1 code everywhere, with at most 1% of codes
//! differing under single rounding but up to 40% under gemmlowp: a mean's
//! multiplier `s_in / (s_o · count)` here is often in [1/4, 1/2), a right shift of
//! 1, and gemmlowp first rounds `sum · m / 2^31` to an integer, then rounds again
//! after the shift, so a result within 1/4 of a half can flip — about 25% of them
//! (2^-(right+1)); TFLite's reference kernels behave the same, see
//! `average_pool_hand_computed`.

mod int_util;

use int_util::*;
use pare_ir::ops::{
    AutoPad, CoordTransform, DepthToSpaceMode, KeepAspect, NearestMode, PadMode, ResizeMode,
};
use pare_ir::quant::Rounding;
use pare_ir::{DType, Op, Tensor, TensorType};

const BOUND: Bound = Bound {
    gemmlowp: 0.4,
    single: 0.01,
};

fn avg_pool(kernel: &[i64], strides: &[i64], pads: &[i64], ceil: bool, include_pad: bool) -> Op {
    Op::AveragePool {
        auto_pad: AutoPad::NotSet,
        kernel_shape: kernel.to_vec(),
        strides: strides.to_vec(),
        pads: pads.to_vec(),
        dilations: vec![],
        ceil_mode: ceil,
        count_include_pad: include_pad,
    }
}

fn max_pool(kernel: &[i64], strides: &[i64], pads: &[i64]) -> Op {
    Op::MaxPool {
        auto_pad: AutoPad::NotSet,
        kernel_shape: kernel.to_vec(),
        strides: strides.to_vec(),
        pads: pads.to_vec(),
        dilations: vec![],
        ceil_mode: false,
        storage_order: 0,
    }
}

/// The type of `x` (same parameters), for outputs that keep them.
fn same(x: &Operand) -> TensorType {
    x.ty.clone().unwrap()
}

#[test]
fn average_pools_match_fake_quant() {
    let cases = [
        avg_pool(&[3, 3], &[1, 1], &[1, 1, 1, 1], false, false),
        avg_pool(&[3, 3], &[1, 1], &[1, 1, 1, 1], false, true),
        avg_pool(&[2, 3], &[2, 2], &[0, 1, 1, 0], true, false),
        avg_pool(&[2, 3], &[2, 2], &[0, 1, 1, 0], true, true),
        avg_pool(&[4], &[3], &[2, 1], true, true),
        Op::GlobalAveragePool {},
    ];
    for (i, op) in cases.iter().enumerate() {
        let mut r = rng(800 + i as u64);
        let shape: &[usize] = if i == 4 { &[2, 3, 11] } else { &[2, 3, 9, 8] };
        let x = act(&mut r, shape, 0.04, -9);
        let ops = [Some(&x)];
        let out = fitted(&float_out(op, &ops, 1)[0]);
        eprintln!("{} case {i}", op.name());
        check_close(op, &ops, &[&out], BOUND);
    }
}

#[test]
fn average_pool_hand_computed() {
    // Codes 1, 2, 3, 5 (zp 0, scale 1): mean 2.75 -> 3 with output scale 1.
    let x = act_from(&[1, 1, 2, 2], vec![1, 2, 3, 5], 1.0, 0);
    let out = qtype(DType::I8, &[1, 1, 1, 1], per_tensor(true, 1.0, 0));
    for r in Rounding::ALL {
        let y = eval_i(
            &avg_pool(&[2, 2], &[1, 1], &[0, 0, 0, 0], false, false),
            &[Some(&x)],
            &[&out],
            r,
        )
        .unwrap();
        assert_eq!(codes(&y[0]), vec![3], "{r}");
        let y = eval_i(&Op::GlobalAveragePool {}, &[Some(&x)], &[&out], r).unwrap();
        assert_eq!(codes(&y[0]), vec![3], "{r}");
    }
    // One pad on each side, 2x2 windows. Sums 1, 3, 2, 4, 11, 7, 3, 8, 5.
    let out = qtype(DType::I8, &[1, 1, 3, 3], per_tensor(true, 1.0, 0));
    let run = |include: bool, r: Rounding| {
        let op = avg_pool(&[2, 2], &[1, 1], &[1, 1, 1, 1], false, include);
        codes(&eval_i(&op, &[Some(&x)], &[&out], r).unwrap()[0])
    };
    // Excluding the padding, counts 1, 2, 1, 2, 4, 2, 1, 2, 1: means 1, 1.5, 2, 2,
    // 2.75, 3.5, 3, 4, 5; ties round up in both modes.
    for r in Rounding::ALL {
        assert_eq!(run(false, r), vec![1, 2, 2, 2, 3, 4, 3, 4, 5], "{r}");
    }
    // Counting it, every count is 4: means 0.25, 0.75, 0.5, 1, 2.75, 1.75, 0.75, 2,
    // 1.25. The multiplier 1/4 has a right shift of 1 only, so gemmlowp's first
    // rounding (to halves) moves 0.25 to 0.5 and 1.25 to 1.5, which the second
    // rounds away from zero; single rounding gives the nearest value.
    assert_eq!(
        run(true, Rounding::Gemmlowp),
        vec![1, 1, 1, 1, 3, 2, 1, 2, 2]
    );
    assert_eq!(run(true, Rounding::Single), vec![0, 1, 1, 1, 3, 2, 1, 2, 1]);
}

#[test]
fn max_pool_copies_codes() {
    let mut r = rng(900);
    let x = act(&mut r, &[2, 3, 7, 6], 0.1, 7);
    let op = max_pool(&[3, 2], &[2, 1], &[1, 0, 1, 1]);
    let idx_ty = TensorType::scalar(DType::I64);
    check_exact(&op, &[Some(&x)], &[&same(&x)]);
    check_exact(&op, &[Some(&x)], &[&same(&x), &idx_ty]);
    // Different output parameters: refused.
    let out = qtype(DType::I8, &[], per_tensor(true, 0.2, 7));
    let e = eval_i(&op, &[Some(&x)], &[&out], Rounding::Gemmlowp)
        .unwrap_err()
        .to_string();
    assert!(e.contains("must have the quantization of its input"), "{e}");
}

fn reduce_mean(keepdims: bool, noop: bool) -> Op {
    Op::ReduceMean {
        keepdims,
        noop_with_empty_axes: noop,
    }
}

#[test]
fn reduce_mean_matches_fake_quant() {
    let cases: [(&[i64], bool, bool); 6] = [
        (&[1], true, false),
        (&[-1], false, false),
        (&[0, 2], true, false),
        (&[], false, false),
        (&[], true, true),
        (&[1, 2, 3], false, false),
    ];
    for (i, (axes, keepdims, noop)) in cases.into_iter().enumerate() {
        let mut r = rng(1000 + i as u64);
        let x = act(&mut r, &[3, 5, 4, 6], 0.03, 11);
        let ax = i64s(axes);
        let op = reduce_mean(keepdims, noop);
        let ops = [Some(&x), (!axes.is_empty()).then_some(&ax)];
        let out = fitted(&float_out(&op, &ops, 1)[0]);
        eprintln!("reduce_mean axes {axes:?}");
        check_close(&op, &ops, &[&out], BOUND);
    }
}

#[test]
fn reduce_mean_hand_computed() {
    // Rows [1, 2, 3, 5] and [-4, -4, -3, -3] (zp 0, scale 0.5), output scale 0.5:
    // means 2.75 -> 3 and -3.5 -> -4 (gemmlowp ties away from zero) or -3 (single
    // ties toward +inf).
    let x = act_from(&[2, 4], vec![1, 2, 3, 5, -4, -4, -3, -3], 0.5, 0);
    let out = qtype(DType::I8, &[2], per_tensor(true, 0.5, 0));
    let op = reduce_mean(false, false);
    let ax = i64s(&[1]);
    let y = eval_i(&op, &[Some(&x), Some(&ax)], &[&out], Rounding::Gemmlowp).unwrap();
    assert_eq!(codes(&y[0]), vec![3, -4]);
    let y = eval_i(&op, &[Some(&x), Some(&ax)], &[&out], Rounding::Single).unwrap();
    assert_eq!(codes(&y[0]), vec![3, -3]);
    // An empty reduction is refused.
    let e = act_from(&[0, 4], vec![], 0.5, 0);
    let ax0 = i64s(&[0]);
    let err = eval_i(&op, &[Some(&e), Some(&ax0)], &[&out], Rounding::Gemmlowp)
        .unwrap_err()
        .to_string();
    assert!(err.contains("empty set"), "{err}");
}

#[test]
fn data_movement_equals_fake_quant() {
    let mut r = rng(1100);
    let x = act(&mut r, &[2, 4, 3, 6], 0.05, -3);
    let y = act(&mut r, &[2, 2, 3, 6], 0.05, -3);
    let q = same(&x);
    let f32s = |shape: &[usize], v: Vec<f32>| plain(Tensor::from_vec(shape.to_vec(), v).unwrap());
    let resize = Op::Resize {
        mode: ResizeMode::Nearest,
        coordinate_transformation_mode: CoordTransform::Asymmetric,
        nearest_mode: NearestMode::Floor,
        cubic_coeff_a: -0.75,
        exclude_outside: false,
        extrapolation_value: 0.0,
        antialias: false,
        axes: None,
        keep_aspect_ratio_policy: KeepAspect::Stretch,
    };
    let cases: Vec<(Op, Vec<Option<Operand>>, usize)> = vec![
        (
            Op::Reshape { allowzero: false },
            vec![Some(x.clone()), Some(i64s(&[8, -1]))],
            1,
        ),
        (Op::Flatten { axis: 2 }, vec![Some(x.clone())], 1),
        (
            Op::Unsqueeze {},
            vec![Some(x.clone()), Some(i64s(&[0, 5]))],
            1,
        ),
        (
            Op::Squeeze {},
            vec![Some(act(&mut r, &[1, 3, 1], 0.05, -3)), Some(i64s(&[0]))],
            1,
        ),
        (
            Op::Transpose {
                perm: Some(vec![0, 2, 3, 1]),
            },
            vec![Some(x.clone())],
            1,
        ),
        (
            Op::Slice {},
            vec![
                Some(x.clone()),
                Some(i64s(&[1, 5])),
                Some(i64s(&[4, 0])),
                Some(i64s(&[1, 3])),
                Some(i64s(&[2, -2])),
            ],
            1,
        ),
        (
            Op::Gather { axis: 1 },
            vec![Some(x.clone()), Some(i64s(&[3, 0, -1]))],
            1,
        ),
        (
            Op::Split {
                axis: 1,
                num_outputs: Some(2),
            },
            vec![Some(x.clone())],
            2,
        ),
        (
            Op::Expand {},
            vec![Some(act(&mut r, &[3, 1], 0.05, -3)), Some(i64s(&[2, 3, 4]))],
            1,
        ),
        (
            Op::Tile {},
            vec![Some(x.clone()), Some(i64s(&[1, 2, 1, 2]))],
            1,
        ),
        (Op::Identity {}, vec![Some(x.clone())], 1),
        (
            Op::DepthToSpace {
                blocksize: 2,
                mode: DepthToSpaceMode::Crd,
            },
            vec![Some(x.clone())],
            1,
        ),
        (Op::SpaceToDepth { blocksize: 3 }, vec![Some(x.clone())], 1),
        (
            resize,
            vec![
                Some(x.clone()),
                None,
                Some(f32s(&[4], vec![1.0, 1.0, 2.0, 1.5])),
            ],
            1,
        ),
        (
            Op::Concat { axis: 1 },
            vec![Some(x.clone()), Some(y.clone()), Some(x.clone())],
            1,
        ),
        (
            Op::Pad {
                mode: PadMode::Constant,
            },
            vec![Some(x.clone()), Some(i64s(&[0, 1, 2, 0, 0, 0, 1, 3]))],
            1,
        ),
        (
            Op::Pad {
                mode: PadMode::Constant,
            },
            vec![
                Some(x.clone()),
                Some(i64s(&[0, 0, 1, 1, 0, 0, 1, 1])),
                Some(f32s(&[], vec![0.42])),
            ],
            1,
        ),
        (
            Op::Pad {
                mode: PadMode::Reflect,
            },
            vec![Some(x.clone()), Some(i64s(&[0, 0, 2, 2, 0, 0, 1, 1]))],
            1,
        ),
        (
            max_pool(&[2, 2], &[2, 2], &[0, 0, 0, 0]),
            vec![Some(x.clone())],
            1,
        ),
    ];
    for (op, ops, n_out) in &cases {
        let refs: Vec<Option<&Operand>> = ops.iter().map(Option::as_ref).collect();
        let outs: Vec<&TensorType> = vec![&q; *n_out];
        check_exact(op, &refs, &outs);
    }
    // The pad value is the output code of the float constant: 0.42 / 0.05 = 8.4 -> 8, - 3.
    let pad = &cases[16];
    let refs: Vec<Option<&Operand>> = pad.1.iter().map(Option::as_ref).collect();
    let got = eval_i(&pad.0, &refs, &[&q], Rounding::Gemmlowp).unwrap();
    assert_eq!(codes(&got[0])[0], 5);
    // Without a value, padding is the zero point.
    let pad = &cases[15];
    let refs: Vec<Option<&Operand>> = pad.1.iter().map(Option::as_ref).collect();
    let got = eval_i(&pad.0, &refs, &[&q], Rounding::Gemmlowp).unwrap();
    assert_eq!(codes(&got[0])[0], -3);
}

#[test]
fn shape_reads_quantized_input() {
    let x = act_from(&[2, 3], vec![0; 6], 0.1, 0);
    let op = Op::Shape {
        start: 0,
        end: None,
    };
    let out = TensorType::fixed(DType::I64, &[2]);
    let got = eval_i(&op, &[Some(&x)], &[&out], Rounding::Gemmlowp).unwrap();
    assert_eq!(got[0].to_i64_vec(), vec![2, 3]);
}

#[test]
fn data_movement_errors() {
    let mut r = rng(1200);
    let x = act(&mut r, &[1, 2, 4, 4], 0.05, -3);
    let other = qtype(DType::I8, &[], per_tensor(true, 0.05, -2));
    let e = eval_i(
        &Op::Transpose { perm: None },
        &[Some(&x)],
        &[&other],
        Rounding::Gemmlowp,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("must have the quantization of its input"), "{e}");
    // Concat inputs with different parameters.
    let y = act(&mut r, &[1, 2, 4, 4], 0.06, -3);
    let e = eval_i(
        &Op::Concat { axis: 1 },
        &[Some(&x), Some(&y)],
        &[&same(&x)],
        Rounding::Gemmlowp,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("input 1"), "{e}");
    // Linear resize is arithmetic, not movement.
    let resize = Op::Resize {
        mode: ResizeMode::Linear,
        coordinate_transformation_mode: CoordTransform::HalfPixel,
        nearest_mode: NearestMode::RoundPreferFloor,
        cubic_coeff_a: -0.75,
        exclude_outside: false,
        extrapolation_value: 0.0,
        antialias: false,
        axes: None,
        keep_aspect_ratio_policy: KeepAspect::Stretch,
    };
    let scales = plain(Tensor::from_vec(vec![4], vec![1f32, 1.0, 2.0, 2.0]).unwrap());
    let e = eval_i(
        &resize,
        &[Some(&x), None, Some(&scales)],
        &[&same(&x)],
        Rounding::Gemmlowp,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("nearest"), "{e}");
    // Per-channel data cannot move (Identity can).
    let w = weight(&mut r, &[3, 2], Some(0), 8);
    let e = eval_i(
        &Op::Transpose { perm: None },
        &[Some(&w)],
        &[&same(&w)],
        Rounding::Gemmlowp,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("per channel"), "{e}");
    check_exact(&Op::Identity {}, &[Some(&w)], &[&same(&w)]);
}
