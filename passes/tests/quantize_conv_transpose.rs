//! int8 quantization of ConvTranspose, with and without groups: the weight is
//! quantized per channel on axis 1 (the `C_out/group` channels of a group, shared
//! by the groups), the bias per output channel at `s_x·s_w[c mod C_out/group]`; the
//! integer interpreter tracks the float graph; the QDQ ONNX export raises back to
//! the same quantized graph; weight-only quantization uses the same axis.

mod common;

use common::{f32t, node1, rand_vec, wf32};
use pare_ir::interp::{run_with, QuantExec, RunOptions};
use pare_ir::ops::AutoPad;
use pare_ir::quant::Rounding;
use pare_ir::{Graph, Op, QParams, Tensor, ValueId};
use pare_passes::quantize::{quantize_int, quantize_weights, IntOptions, LayerStatus};
use pare_passes::{PassCx, PassManager, PassOptions};
use std::collections::BTreeMap;

const C: usize = 4;
const MG: usize = 3;

/// x [2, 4, 3, 3] → ConvTranspose (3x3, stride 2, pad 1, output_padding 1) → Relu.
/// Weight channel j of group g is scaled by (j + 1)·(g + 1)/2, so each group has its
/// own magnitudes and a channel's axis-1 scale is set by the larger group.
fn graph(group: usize) -> Graph {
    let m = MG * group;
    let mut g = Graph::new("ct");
    let x = g.add_input("x", f32t(&[2, C as u64, 3, 3])).unwrap();
    let cg = C / group;
    let w: Vec<f32> = rand_vec(C * MG * 9, 7)
        .iter()
        .enumerate()
        .map(|(k, v)| {
            let (ci, j) = (k / (MG * 9), (k / 9) % MG);
            v * (j + 1) as f32 * (ci / cg + 1) as f32 / 2.0
        })
        .collect();
    let w = wf32(&mut g, "w", &[C, MG, 3, 3], w);
    let b = wf32(&mut g, "b", &[m], rand_vec(m, 9));
    let op = Op::ConvTranspose {
        auto_pad: AutoPad::NotSet,
        kernel_shape: vec![3, 3],
        strides: vec![2, 2],
        pads: vec![1, 1, 1, 1],
        dilations: vec![1, 1],
        group: group as i64,
        output_padding: vec![1, 1],
        output_shape: vec![],
    };
    let shape = [2, m as u64, 6, 6];
    let y = node1(&mut g, op, &[Some(x), Some(w), Some(b)], "y", f32t(&shape));
    let r = node1(&mut g, Op::Relu {}, &[Some(y)], "r", f32t(&shape));
    g.outputs.push(r);
    g
}

fn input(seed: u64) -> Tensor {
    Tensor::from_vec(vec![2, C, 3, 3], rand_vec(2 * C * 9, seed)).unwrap()
}

/// The inputs calibrated on and tested with.
const SEEDS: [u64; 3] = [1, 2, 3];

/// Min-max ranges of every f32 value over the inputs of [`SEEDS`].
fn minmax_ranges(g: &Graph) -> BTreeMap<ValueId, (f32, f32)> {
    let mut r: BTreeMap<ValueId, (f32, f32)> = BTreeMap::new();
    let mut note = |v: ValueId, t: &Tensor| {
        let Some(s) = t.as_slice::<f32>() else { return };
        let e = r.entry(v).or_insert((f32::INFINITY, f32::NEG_INFINITY));
        for &x in s {
            e.0 = e.0.min(x);
            e.1 = e.1.max(x);
        }
    };
    for seed in SEEDS {
        let x = input(seed);
        note(g.inputs[0], &x);
        pare_ir::interp::run_observed(g, std::slice::from_ref(&x), &mut note).unwrap();
    }
    r
}

fn conv_transpose(g: &Graph) -> &pare_ir::Node {
    g.nodes()
        .map(|(_, n)| n)
        .find(|n| matches!(n.op, Op::ConvTranspose { .. }))
        .expect("a ConvTranspose node")
}

fn quant(g: &Graph, n: &pare_ir::Node, slot: usize) -> QParams {
    let v = n.inputs[slot].unwrap();
    g.ty(v)
        .quant
        .clone()
        .unwrap_or_else(|| panic!("input {slot} is not quantized"))
}

fn quantized(group: usize) -> Graph {
    let mut g = graph(group);
    let ranges = minmax_ranges(&g);
    let records = quantize_int(&mut g, &ranges, &IntOptions::default()).expect("quantizes");
    let rec = records
        .iter()
        .find(|r| r.op == "conv_transpose")
        .expect("a record for the ConvTranspose");
    assert_eq!(rec.status, LayerStatus::Int8, "{rec:?}");
    g
}

#[test]
fn weight_per_channel_on_axis_1_and_bias_per_output_channel() {
    for group in [1, 2] {
        let float = graph(group);
        let g = quantized(group);
        let n = conv_transpose(&g);
        let x = quant(&g, n, 0);
        let w = quant(&g, n, 1);
        let b = quant(&g, n, 2);
        assert_eq!(w.axis, Some(1), "group {group}");
        assert_eq!(
            w.scale.len(),
            MG,
            "group {group}: one scale per channel of a group"
        );
        // Each axis-1 scale covers channel j of every group (min-max: max |w| / 127).
        let wf = float
            .weight_of(conv_transpose(&float).inputs[1].unwrap())
            .unwrap()
            .tensor()
            .unwrap()
            .to_f32_vec();
        for (j, &s) in w.scale.iter().enumerate() {
            let max = (0..C)
                .flat_map(|ci| &wf[(ci * MG + j) * 9..(ci * MG + j + 1) * 9])
                .fold(0f32, |a, v| a.max(v.abs()));
            assert!(
                (s - max / 127.0).abs() <= 1e-6 * s,
                "group {group} channel {j}"
            );
        }
        // Bias channel c = g·MG + j at s_x · s_w[j].
        assert_eq!(b.scale.len(), MG * group);
        for (c, &sb) in b.scale.iter().enumerate() {
            let want = (f64::from(x.scale[0]) * f64::from(w.scale[c % MG])) as f32;
            assert_eq!(sb, want, "group {group} bias channel {c}");
        }
    }
}

/// The integer graph's error against float: 8-bit inputs into sums of up to 16
/// products dominate it, so it is judged as a signal-to-noise ratio (and a worst
/// case relative to the output's range) rather than in output steps.
#[test]
fn integer_interpreter_tracks_float() {
    for group in [1, 2] {
        let float = graph(group);
        let g = quantized(group);
        for seed in SEEDS {
            let x = input(seed);
            let want = pare_ir::interp::run(&float, std::slice::from_ref(&x)).unwrap();
            let want = want[0].to_f32_vec();
            let peak = want.iter().fold(0f32, |a, v| a.max(v.abs()));
            let signal: f64 = want.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
            for r in Rounding::ALL {
                let opts = RunOptions {
                    quant: QuantExec::Integer(r),
                };
                let got = run_with(&g, std::slice::from_ref(&x), &opts, &mut |_, _| {}).unwrap();
                let got = got[0].to_f32_vec();
                let err: Vec<f32> = got.iter().zip(&want).map(|(a, b)| a - b).collect();
                let noise: f64 = err.iter().map(|&e| f64::from(e) * f64::from(e)).sum();
                let sqnr = 10.0 * (signal / noise.max(f64::MIN_POSITIVE)).log10();
                let worst = err.iter().fold(0f32, |a, e| a.max(e.abs()));
                eprintln!(
                    "group {group} seed {seed} {r}: SQNR {sqnr:.1} dB, max error {worst} of {peak}"
                );
                assert!(
                    sqnr >= 30.0,
                    "group {group} seed {seed} {r}: SQNR {sqnr} dB"
                );
                assert!(
                    worst <= 0.03 * peak,
                    "group {group} seed {seed} {r}: max error {worst}, output peak {peak}"
                );
            }
        }
    }
}

#[test]
fn qdq_export_raises_back_with_groups() {
    for group in [1, 2] {
        let g = quantized(group);
        let bytes = pare_onnx::export_model(&g, &Default::default()).expect("exports");
        let mut back = pare_onnx::import_bytes(&bytes, None, "ct.onnx").expect("imports");
        let mut cx = PassCx::new(PassOptions {
            verify: true,
            ..PassOptions::default()
        });
        let mut p = pare_passes::pipeline_from_names(&["raise-qdq", "dce"]).unwrap();
        PassManager::new()
            .run(&mut p, &mut back, &mut cx)
            .expect("raises");
        let n = conv_transpose(&back);
        assert!(
            pare_ir::infer::is_quantized_node(&back, n),
            "group {group}: ConvTranspose left in QDQ form"
        );
        let orig = conv_transpose(&g);
        for slot in 0..3 {
            assert_eq!(
                quant(&back, n, slot),
                quant(&g, orig, slot),
                "group {group} input {slot}"
            );
        }
        let x = input(4);
        let opts = RunOptions::default();
        let a = run_with(&g, std::slice::from_ref(&x), &opts, &mut |_, _| {}).unwrap();
        let b = run_with(&back, std::slice::from_ref(&x), &opts, &mut |_, _| {}).unwrap();
        assert_eq!(a, b, "group {group}: raised graph computes differently");
    }
}

#[test]
fn weight_only_uses_axis_1() {
    for group in [1, 2] {
        let float = graph(group);
        let mut g = graph(group);
        quantize_weights(&mut g, 8).expect("quantizes weights");
        let dq = g
            .nodes()
            .map(|(_, n)| n)
            .find(|n| matches!(n.op, Op::DequantizeLinear { .. }))
            .expect("a dequantize_linear");
        assert!(matches!(dq.op, Op::DequantizeLinear { axis: 1, .. }));
        let x = input(1);
        let want = pare_ir::interp::run(&float, std::slice::from_ref(&x)).unwrap();
        let got = pare_ir::interp::run(&g, std::slice::from_ref(&x)).unwrap();
        let worst = got[0]
            .to_f32_vec()
            .iter()
            .zip(want[0].to_f32_vec())
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(worst < 0.05, "group {group}: max error {worst}");
    }
}
