//! Integer ConvTranspose: against the fake-quant path on random data (every code
//! within 1 of it; at most 5% of codes differing under gemmlowp rounding, 1% under
//! single rounding, or 2 codes for tiny outputs — the conventions of
//! `interp_int_linear.rs`), hand-computed exact cases (the scatter, overlapping taps,
//! cropping pads, output_padding, the per-group weight-scale index) and the
//! parameter errors.

mod int_util;

use int_util::*;
use pare_ir::ops::AutoPad;
use pare_ir::quant::Rounding;
use pare_ir::{DType, Op, QParams, Tensor};

/// As in `interp_int_linear.rs`: the share of codes that may differ from
/// fake-quant by one (gemmlowp rounds twice, single rounding once).
const BOUND: Bound = Bound {
    gemmlowp: 0.05,
    single: 0.01,
};

/// The attributes of one ConvTranspose.
#[derive(Clone, Default)]
struct Attrs {
    strides: Vec<i64>,
    pads: Vec<i64>,
    dilations: Vec<i64>,
    group: i64,
    output_padding: Vec<i64>,
    output_shape: Vec<i64>,
    auto_pad: Option<AutoPad>,
}

fn attrs(strides: &[i64], pads: &[i64]) -> Attrs {
    Attrs {
        strides: strides.to_vec(),
        pads: pads.to_vec(),
        group: 1,
        ..Attrs::default()
    }
}

impl Attrs {
    fn op(&self) -> Op {
        Op::ConvTranspose {
            auto_pad: self.auto_pad.unwrap_or(AutoPad::NotSet),
            kernel_shape: vec![],
            strides: self.strides.clone(),
            pads: self.pads.clone(),
            dilations: self.dilations.clone(),
            group: self.group,
            output_padding: self.output_padding.clone(),
            output_shape: self.output_shape.clone(),
        }
    }
}

/// An i32 bias of `m` output channels for a ConvTranspose weight quantized on
/// axis 1 (`M/group` scales, or one): channel `c` has scale `s_x · s_w[c mod M/group]`.
fn bias_t(r: &mut fastrand::Rng, m: usize, s_x: f32, w: &Operand) -> Operand {
    let sw = scales(w);
    let scale: Vec<f32> = (0..m).map(|c| s_x * sw[c % sw.len()]).collect();
    let v: Vec<i32> = (0..m).map(|_| r.i32(-2000..=2000)).collect();
    let q = QParams {
        bits: 32,
        signed: true,
        scale,
        zero_point: vec![0; m],
        axis: Some(0),
    };
    Operand {
        t: Tensor::from_vec(vec![m], v).unwrap(),
        ty: Some(qtype(DType::I32, &[m], q)),
    }
}

/// One random case: x [n, c, spatial...], w [c, m/group, kernel...].
struct Case {
    name: &'static str,
    x: &'static [usize],
    w: &'static [usize],
    a: Attrs,
    bias: bool,
    bits: u8,
    unsigned: bool,
    per_tensor: bool,
}

fn case(name: &'static str, x: &'static [usize], w: &'static [usize], a: Attrs) -> Case {
    Case {
        name,
        x,
        w,
        a,
        bias: true,
        bits: 8,
        unsigned: false,
        per_tensor: false,
    }
}

impl Case {
    fn run(&self, seed: u64) {
        eprintln!("conv_transpose: {}", self.name);
        let mut r = rng(seed);
        let x = if self.unsigned {
            act_u8(&mut r, self.x, 0.02, 131)
        } else {
            act(&mut r, self.x, 0.02, 5)
        };
        let axis = (!self.per_tensor).then_some(1);
        let w = weight(&mut r, self.w, axis, self.bits);
        let m = self.w[1] * self.a.group as usize;
        let b = bias_t(&mut r, m, 0.02, &w);
        let op = self.a.op();
        let ops = [Some(&x), Some(&w), self.bias.then_some(&b)];
        let out = fitted(&float_out(&op, &ops, 1)[0]);
        check_close(&op, &ops, &[&out], BOUND);
    }
}

#[test]
fn conv_transpose_matches_fake_quant() {
    let cases = [
        // The digits VAE's decoder layers.
        case(
            "4x4 stride 2 pad 1",
            &[2, 8, 2, 2],
            &[8, 6, 4, 4],
            attrs(&[2, 2], &[1, 1, 1, 1]),
        ),
        case(
            "4x4 stride 2 pad 1, one output channel",
            &[3, 6, 4, 4],
            &[6, 1, 4, 4],
            attrs(&[2, 2], &[1, 1, 1, 1]),
        ),
        case(
            "3x3 stride 1",
            &[1, 3, 5, 6],
            &[3, 4, 3, 3],
            attrs(&[1, 1], &[]),
        ),
        case(
            "groups 2 (scales per channel within a group)",
            &[2, 4, 4, 5],
            &[4, 3, 3, 3],
            Attrs {
                group: 2,
                ..attrs(&[2, 1], &[1, 0, 0, 1])
            },
        ),
        case(
            "groups 3, stride 2, output_padding",
            &[1, 6, 3, 3],
            &[6, 2, 3, 2],
            Attrs {
                group: 3,
                output_padding: vec![1, 1],
                ..attrs(&[2, 2], &[0, 1, 1, 0])
            },
        ),
        case(
            "depthwise",
            &[1, 5, 4, 4],
            &[5, 1, 3, 3],
            Attrs {
                group: 5,
                ..attrs(&[2, 2], &[1, 1, 1, 1])
            },
        ),
        case(
            "stride 2, output_padding 1",
            &[1, 3, 3, 4],
            &[3, 4, 3, 3],
            Attrs {
                output_padding: vec![1, 1],
                ..attrs(&[2, 2], &[1, 1, 1, 1])
            },
        ),
        case(
            "dilation 2, uneven pads",
            &[1, 3, 5, 4],
            &[3, 5, 3, 2],
            Attrs {
                dilations: vec![2, 2],
                ..attrs(&[1, 2], &[2, 0, 1, 1])
            },
        ),
        case(
            "stride 3 > kernel (output positions no tap reaches)",
            &[1, 2, 3, 3],
            &[2, 3, 2, 2],
            attrs(&[3, 3], &[]),
        ),
        case(
            "output_shape larger than natural (negative pad)",
            &[1, 2, 3, 3],
            &[2, 3, 3, 3],
            Attrs {
                output_shape: vec![8, 9],
                ..attrs(&[2, 2], &[])
            },
        ),
        case(
            "output_shape smaller than natural",
            &[1, 2, 4, 4],
            &[2, 3, 3, 3],
            Attrs {
                output_shape: vec![6, 7],
                ..attrs(&[2, 2], &[])
            },
        ),
        case(
            "same_upper",
            &[1, 2, 3, 4],
            &[2, 3, 3, 4],
            Attrs {
                auto_pad: Some(AutoPad::SameUpper),
                ..attrs(&[2, 2], &[])
            },
        ),
        case(
            "same_lower",
            &[1, 2, 3, 4],
            &[2, 3, 3, 2],
            Attrs {
                auto_pad: Some(AutoPad::SameLower),
                ..attrs(&[2, 1], &[])
            },
        ),
        case(
            "valid",
            &[1, 2, 3, 3],
            &[2, 3, 2, 3],
            Attrs {
                auto_pad: Some(AutoPad::Valid),
                ..attrs(&[1, 2], &[])
            },
        ),
        case(
            "pads larger than a tap's reach",
            &[1, 2, 1, 2],
            &[2, 3, 3, 3],
            attrs(&[1, 1], &[2, 2, 0, 0]),
        ),
        case("1-D", &[2, 3, 7], &[3, 4, 3], attrs(&[2], &[1, 0])),
        case(
            "3-D",
            &[1, 2, 3, 4, 3],
            &[2, 3, 2, 3, 2],
            attrs(&[2, 1, 2], &[0, 1, 1, 1, 0, 0]),
        ),
        Case {
            bias: false,
            ..case("no bias", &[1, 3, 3, 3], &[3, 4, 3, 3], attrs(&[2, 2], &[]))
        },
        Case {
            per_tensor: true,
            ..case(
                "per-tensor weight, groups 2",
                &[1, 4, 3, 3],
                &[4, 2, 3, 3],
                Attrs {
                    group: 2,
                    ..attrs(&[2, 2], &[1, 1, 1, 1])
                },
            )
        },
        Case {
            bits: 4,
            ..case(
                "4-bit weights",
                &[1, 4, 3, 3],
                &[4, 3, 4, 4],
                attrs(&[2, 2], &[1, 1, 1, 1]),
            )
        },
        Case {
            unsigned: true,
            ..case(
                "u8 input",
                &[1, 3, 3, 3],
                &[3, 4, 3, 3],
                attrs(&[2, 2], &[1, 1, 1, 1]),
            )
        },
    ];
    for (i, c) in cases.iter().enumerate() {
        c.run(500 + i as u64);
    }
}

/// Asserts `op`'s codes under both roundings for an i8 output of scale `s_o`, zp `zp`.
fn run_exact(op: &Op, ops: &[Option<&Operand>], out: (&[usize], f32, i32), want: &[i64]) {
    let (shape, s_o, zp) = out;
    let out = qtype(DType::I8, shape, per_tensor(true, s_o, zp));
    for r in Rounding::ALL {
        let y = eval_i(op, ops, &[&out], r).unwrap_or_else(|e| panic!("{r}: {e}"));
        assert_eq!(codes(&y[0]), want, "{r}");
    }
}

/// A weight of the given codes, per channel on axis 1 with `scale`.
fn weight_codes(shape: &[usize], v: Vec<i8>, scale: Vec<f32>) -> Operand {
    let n = scale.len();
    let q = QParams {
        bits: 8,
        signed: true,
        scale,
        zero_point: vec![0; n],
        axis: Some(1),
    };
    Operand {
        t: Tensor::from_vec(shape.to_vec(), v).unwrap(),
        ty: Some(qtype(DType::I8, shape, q)),
    }
}

#[test]
fn conv_transpose_hand_computed_scatter() {
    // Stride 2 with a 2x2 kernel: each input code scatters to its own 2x2 block,
    // y[2i + a, 2j + b] = x[i, j] · w[a, b]. x codes 2..=5 (zp 1, scale 0.5) are
    // 1..=4; w [[1, -1], [2, 3]] (scale 0.25); bias 4 (scale 0.125); output scale
    // 0.25, zp -3: code = round((x·w + 4) / 2) − 3. The multiplier 0.5 is one
    // rounding in both modes (a multiplier of 0.25 would make gemmlowp round twice)
    // and every acc is ≥ 0, where both round halves up.
    let x = act_from(&[1, 1, 2, 2], vec![2, 3, 4, 5], 0.5, 1);
    let w = weight_codes(&[1, 1, 2, 2], vec![1, -1, 2, 3], vec![0.25]);
    let b = plain(Tensor::from_vec(vec![1], vec![4i32]).unwrap());
    let op = attrs(&[2, 2], &[]).op();
    #[rustfmt::skip]
    let want = [
        0, -1, 0, -2,
        0, 1, 1, 2,
        1, -2, 1, -3,
        2, 4, 3, 5,
    ];
    run_exact(
        &op,
        &[Some(&x), Some(&w), Some(&b)],
        (&[1, 1, 4, 4], 0.25, -3),
        &want,
    );
}

#[test]
fn conv_transpose_hand_computed_overlap_pads_output_padding() {
    // x codes [3, 5] (zp 1, scale 0.5) are [2, 4]; w [2, -1] (scale 1); the
    // multiplier s_x·s_w/s_o is 1, so codes are acc + z_o (z_o = 0).
    let x = act_from(&[1, 1, 1, 2], vec![3, 5], 0.5, 1);
    let w = weight_codes(&[1, 1, 1, 2], vec![2, -1], vec![1.0]);
    let xw = [Some(&x), Some(&w)];
    // Stride 1: the taps overlap, [2·2, 2·(−1) + 4·2, 4·(−1)].
    run_exact(
        &attrs(&[1, 1], &[]).op(),
        &xw,
        (&[1, 1, 1, 3], 0.5, 0),
        &[4, 6, -4],
    );
    // Pads crop one column at each end.
    let cropped = attrs(&[1, 1], &[0, 1, 0, 1]).op();
    run_exact(&cropped, &xw, (&[1, 1, 1, 1], 0.5, 0), &[6]);
    // Stride 2 and output_padding 1: no overlap, and the extra column only gets the
    // bias (here 0, then 3 at scale s_x·s_w = 0.5, i.e. 3 output codes).
    let padded = Attrs {
        output_padding: vec![0, 1],
        ..attrs(&[1, 2], &[])
    }
    .op();
    run_exact(&padded, &xw, (&[1, 1, 1, 5], 0.5, 0), &[4, -2, 8, -4, 0]);
    let b = plain(Tensor::from_vec(vec![1], vec![3i32]).unwrap());
    run_exact(
        &padded,
        &[Some(&x), Some(&w), Some(&b)],
        (&[1, 1, 1, 5], 0.5, 0),
        &[7, 1, 11, -1, 3],
    );
}

#[test]
fn conv_transpose_groups_index_weight_scales_within_the_group() {
    // Group 2, C = 2, M = 4, w [2, 2, 1, 1] per channel on axis 1 (scales [1, 0.5]):
    // output channel c = g·2 + j reads x[g] and w[g, j] and uses scale j. x codes
    // [3, 5] (zp 0, scale 1), w [[2, 4], [6, 8]], output scale 1, zp 0:
    // [3·2·1, 3·4·0.5, 5·6·1, 5·8·0.5] = [6, 6, 30, 20]; a bias [1, 2, 3, 4] at
    // scales [1, 0.5, 1, 0.5] adds [1, 1, 3, 2].
    let x = act_from(&[1, 2, 1, 1], vec![3, 5], 1.0, 0);
    let w = weight_codes(&[2, 2, 1, 1], vec![2, 4, 6, 8], vec![1.0, 0.5]);
    let q = QParams {
        bits: 32,
        signed: true,
        scale: vec![1.0, 0.5, 1.0, 0.5],
        zero_point: vec![0; 4],
        axis: Some(0),
    };
    let b = Operand {
        t: Tensor::from_vec(vec![4], vec![1i32, 2, 3, 4]).unwrap(),
        ty: Some(qtype(DType::I32, &[4], q)),
    };
    let op = Attrs {
        group: 2,
        ..attrs(&[1, 1], &[])
    }
    .op();
    let out = qtype(DType::I8, &[1, 4, 1, 1], per_tensor(true, 1.0, 0));
    for r in Rounding::ALL {
        let y = eval_i(&op, &[Some(&x), Some(&w)], &[&out], r).unwrap();
        assert_eq!(codes(&y[0]), vec![6, 6, 30, 20], "{r}");
        let y = eval_i(&op, &[Some(&x), Some(&w), Some(&b)], &[&out], r).unwrap();
        assert_eq!(codes(&y[0]), vec![7, 7, 33, 22], "{r}");
    }
    // The fake-quant path (ONNX's dequantize on axis 1, float ConvTranspose) agrees.
    check_exact(&op, &[Some(&x), Some(&w), Some(&b)], &[&out]);
}

#[test]
fn conv_transpose_accumulator_wraps_and_output_saturates() {
    // Stride 1, 3x3 kernel on a 3x3 input: the centre output sums all 9 taps of
    // (127 − −128) · 127; with output scale 1 it clamps at 127.
    let x = act_from(&[1, 1, 3, 3], vec![127; 9], 1.0, -128);
    let w = weight_codes(&[1, 1, 3, 3], vec![127; 9], vec![1.0]);
    let op = attrs(&[1, 1], &[1, 1, 1, 1]).op();
    let out = qtype(DType::I8, &[1, 1, 3, 3], per_tensor(true, 1.0, 0));
    let y = eval_i(&op, &[Some(&x), Some(&w)], &[&out], Rounding::Gemmlowp).unwrap();
    assert_eq!(codes(&y[0]), vec![127; 9]);
    // 9 · 255 · 127 = 291465 at the centre; / 1e5 = 2.91 -> 3; corners sum 4 taps:
    // 129540 -> 1.30 -> 1; edges 6 taps: 194310 -> 1.94 -> 2.
    let out = qtype(DType::I8, &[1, 1, 3, 3], per_tensor(true, 1e5, 0));
    let y = eval_i(&op, &[Some(&x), Some(&w)], &[&out], Rounding::Gemmlowp).unwrap();
    assert_eq!(codes(&y[0]), vec![1, 2, 1, 2, 3, 2, 1, 2, 1]);
}

#[test]
fn conv_transpose_parameter_errors() {
    let mut r = rng(17);
    let op = attrs(&[2, 2], &[1, 1, 1, 1]).op();
    let x = act(&mut r, &[1, 2, 3, 3], 0.1, 0);
    let out = qtype(DType::I8, &[1, 3, 5, 5], per_tensor(true, 0.5, 0));
    let err = |ops: &[Option<&Operand>]| {
        eval_i(&op, ops, &[&out], Rounding::Gemmlowp)
            .unwrap_err()
            .to_string()
    };
    // Per channel on axis 0 (the input channels) is not per output channel.
    let w = weight(&mut r, &[2, 3, 3, 3], Some(0), 8);
    let e = err(&[Some(&x), Some(&w)]);
    assert!(e.contains("per channel on axis 1"), "{e}");
    // Bias whose scale is not s_x · s_w.
    let w = weight(&mut r, &[2, 3, 3, 3], Some(1), 8);
    let mut b = bias_t(&mut r, 3, 0.1, &w);
    b.ty.as_mut().unwrap().quant.as_mut().unwrap().scale[2] *= 2.0;
    let e = err(&[Some(&x), Some(&w), Some(&b)]);
    assert!(e.contains("channel 2") && e.contains("s_x·s_w"), "{e}");
    // Bias of the wrong length.
    let b = bias_t(&mut r, 2, 0.1, &w);
    let e = err(&[Some(&x), Some(&w), Some(&b)]);
    assert!(e.contains("bias must have shape [3]"), "{e}");
    // Unquantized input.
    let xf = plain(Tensor::zeros(DType::F32, vec![1, 2, 3, 3]).unwrap());
    let e = err(&[Some(&xf), Some(&w)]);
    assert!(e.contains("not quantized"), "{e}");
    // Weight's dim 0 is not x's channel count.
    let w3 = weight(&mut r, &[3, 3, 3, 3], Some(1), 8);
    let e = err(&[Some(&x), Some(&w3)]);
    assert!(e.contains("dim 0"), "{e}");
    assert!(pare_ir::interp::has_int_kernel(&op));
}
