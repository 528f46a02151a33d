//! Empirical bias correction: on layers whose weight rounding is biased one
//! way, the corrected int8 graph's per-channel mean output error shrinks
//! (measured end to end by the integer interpreter, independently of the
//! pass's own bookkeeping), with either estimator and through a chain; on the
//! digits CNN the SQNR on held-out samples rises.

mod common;
#[path = "../../tests/support/mod.rs"]
mod support;

use common::{f32t, node1, rand_vec, wf32};
use pare_ir::interp::{run, run_with, QuantExec, RunOptions};
use pare_ir::{Graph, Op, Tensor};
use pare_passes::quantize::bias_correction::{
    correct_biases, mean_errors, BiasCorrectionOptions, Estimator,
};
use pare_passes::quantize::calibrate::{calibrate, CalibMethod, CalibOptions, InMemory};
use pare_passes::quantize::{quantize_int, IntOptions};
use pare_passes::{PassCx, PassManager, PassOptions};

/// `[64] → Gemm (transB) → channels`, weights biased to round down: each output
/// channel has one weight of 1.0 (fixing its scale at 1/127) and the rest at
/// (k + 0.45)/127, which all round down, so with inputs in [0, 1) the int8
/// layer's output is low by about 63 · 0.45/127 · E[x] ≈ 0.11 per channel.
fn biased_gemm(g: &mut Graph, x: pare_ir::ValueId, name: &str, out: usize) -> pare_ir::ValueId {
    let w: Vec<f32> = (0..out * 64)
        .map(|i| {
            if i % 64 == 0 {
                1.0
            } else {
                ((i % 7) as f32 + 10.0 + 0.45) / 127.0
            }
        })
        .collect();
    let w = wf32(g, &format!("{name}_w"), &[out, 64], w);
    let b: Vec<f32> = (0..out).map(|c| [0.1, -0.2, 0.3, 0.0][c % 4]).collect();
    let b = wf32(g, &format!("{name}_b"), &[out], b);
    let op = Op::Gemm {
        alpha: 1.0,
        beta: 1.0,
        trans_a: false,
        trans_b: true,
    };
    node1(
        g,
        op,
        &[Some(x), Some(w), Some(b)],
        name,
        f32t(&[16, out as u64]),
    )
}

/// One biased layer, x [16, 64] → [16, 4].
fn one_layer() -> Graph {
    let mut g = Graph::new("biased");
    let x = g.add_input("x", f32t(&[16, 64])).unwrap();
    let y = biased_gemm(&mut g, x, "fc", 4);
    g.outputs.push(y);
    g
}

/// Two biased layers joined by a ReLU, [16, 64] → [16, 64] → [16, 4]: the
/// second sees the first's error as well as its own.
fn two_layers() -> Graph {
    let mut g = Graph::new("biased2");
    let x = g.add_input("x", f32t(&[16, 64])).unwrap();
    let h = biased_gemm(&mut g, x, "fc1", 64);
    let r = node1(&mut g, Op::Relu {}, &[Some(h)], "relu", f32t(&[16, 64]));
    let y = biased_gemm(&mut g, r, "fc2", 4);
    g.outputs.push(y);
    g
}

fn uniform_batches(n: usize, seed: u64) -> Vec<Vec<Tensor>> {
    (0..n)
        .map(|i| {
            let v: Vec<f32> = rand_vec(16 * 64, seed + i as u64)
                .iter()
                .map(|x| (x + 1.0) / 2.0)
                .collect();
            vec![Tensor::from_vec(vec![16, 64], v).unwrap()]
        })
        .collect()
}

fn quantized(float: &Graph, calib: &[Vec<Tensor>], method: CalibMethod) -> Graph {
    let opts = CalibOptions {
        method,
        ..CalibOptions::default()
    };
    let cal = calibrate(float, &mut InMemory(calib), &opts, &mut |_| {}).unwrap();
    let mut q = float.clone();
    quantize_int(&mut q, &cal, &IntOptions::default()).unwrap();
    q
}

/// Mean over the output's channels (axis 1) of |mean(int8 − float)|, run end
/// to end: the float graph by the float interpreter, the int8 graph by the
/// integer one.
fn output_channel_bias(float: &Graph, quant: &Graph, data: &[Vec<Tensor>]) -> f64 {
    let mut sum = [0f64; 4];
    let mut n = 0usize;
    for x in data {
        let f = run(float, x).unwrap()[0].to_f64_vec();
        let q = run(quant, x).unwrap()[0].to_f64_vec();
        for (i, (a, b)) in f.iter().zip(&q).enumerate() {
            sum[i % 4] += b - a;
        }
        n += f.len() / 4;
    }
    sum.iter().map(|s| (s / n as f64).abs()).sum::<f64>() / 4.0
}

fn options(estimator: Estimator) -> BiasCorrectionOptions {
    BiasCorrectionOptions {
        estimator,
        ..BiasCorrectionOptions::default()
    }
}

#[test]
fn a_biased_layer_is_corrected_by_either_estimator() {
    let float = one_layer();
    let calib = uniform_batches(4, 100);
    let held_out = uniform_batches(8, 500);
    for estimator in [Estimator::Sequential, Estimator::WeightError] {
        let mut q = quantized(&float, &calib, CalibMethod::MinMax);
        let before = output_channel_bias(&float, &q, &held_out);
        let opts = options(estimator);
        let errs = mean_errors(&float, &q, &mut InMemory(&calib), &opts).unwrap();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].0, "fc");
        let rec =
            correct_biases(&float, &mut q, &mut InMemory(&calib), &opts, &mut |_, _| {}).unwrap();
        let after = output_channel_bias(&float, &q, &held_out);
        eprintln!(
            "{estimator:?}: mean |per-channel output bias| {before:.4} → {after:.4}; {rec:?}"
        );
        assert_eq!(rec.layers.len(), 1);
        assert_eq!(rec.samples, 64);
        assert!(
            before > 0.05,
            "the construction should bias the output: {before}"
        );
        assert!(after < before / 5.0, "{estimator:?}: {before} → {after}");
        assert!(rec.layers[0].max_shift > 0.05, "{rec:?}");
        // The pass's own measure agrees.
        let mean_abs = |e: &[f64]| e.iter().map(|x| x.abs()).sum::<f64>() / e.len() as f64;
        let errs_after = mean_errors(&float, &q, &mut InMemory(&calib), &opts).unwrap();
        assert!(mean_abs(&errs_after[0].1) < mean_abs(&errs[0].1) / 5.0);
    }
}

#[test]
fn a_chain_is_corrected_in_order() {
    let float = two_layers();
    let calib = uniform_batches(4, 100);
    let held_out = uniform_batches(8, 500);
    let mut q = quantized(&float, &calib, CalibMethod::MinMax);
    let before = output_channel_bias(&float, &q, &held_out);
    let opts = options(Estimator::Sequential);
    let rec = correct_biases(&float, &mut q, &mut InMemory(&calib), &opts, &mut |_, _| {}).unwrap();
    let after = output_channel_bias(&float, &q, &held_out);
    eprintln!("mean |per-channel output bias| {before:.4} → {after:.4}");
    assert_eq!(rec.layers.len(), 2);
    assert!(after < before / 5.0, "{before} → {after}");
    // Every layer's remaining error, measured on the corrected graph, is small.
    for (name, e) in mean_errors(&float, &q, &mut InMemory(&calib), &opts).unwrap() {
        let worst = e.iter().fold(0f64, |m, x| m.max(x.abs()));
        assert!(worst < 0.01, "{name}: {worst}");
    }
}

fn cleaned(name: &str) -> Graph {
    let mut g = pare_onnx::import_file(&support::fixture(name)).expect("fixture imports");
    let mut cx = PassCx::new(PassOptions::default());
    let mut p = pare_passes::pipeline("cleanup").unwrap();
    PassManager::new().run(&mut p, &mut g, &mut cx).unwrap();
    g
}

fn sqnr(float: &Graph, quant: &Graph, data: &[Vec<Tensor>]) -> f64 {
    let (mut s, mut n) = (0f64, 0f64);
    let opts = RunOptions {
        quant: QuantExec::Integer(Default::default()),
    };
    for x in data {
        let f = run(float, x).unwrap();
        let q = run_with(quant, x, &opts, &mut |_, _| {}).unwrap();
        for (a, b) in f[0].to_f64_vec().iter().zip(q[0].to_f64_vec()) {
            s += a * a;
            n += (a - b) * (a - b);
        }
    }
    10.0 * (s / n).log10()
}

/// Calibrated and corrected on 256 training samples, measured on 512 others.
#[test]
fn digits_cnn_gains_sqnr_on_held_out_samples() {
    let g = cleaned("digits_cnn.onnx");
    let x = support::read_npz(&support::fixture("digits.npz"));
    let xs = &x.iter().find(|(k, _)| k == "x_train").unwrap().1;
    let rows = |s: usize, e: usize| {
        let v = xs.as_slice::<f32>().unwrap()[s * 64..e * 64].to_vec();
        vec![Tensor::from_vec(vec![e - s, 1, 8, 8], v).unwrap()]
    };
    let calib: Vec<_> = (0..8).map(|i| rows(i * 32, i * 32 + 32)).collect();
    let eval: Vec<_> = (8..24).map(|i| rows(i * 32, i * 32 + 32)).collect();
    let method: CalibMethod = "auto".parse().unwrap();
    let plain = quantized(&g, &calib, method);
    let s0 = sqnr(&g, &plain, &eval);
    for estimator in [Estimator::Sequential, Estimator::WeightError] {
        let mut q = plain.clone();
        let opts = BiasCorrectionOptions {
            max_samples: 256,
            ..options(estimator)
        };
        let rec = correct_biases(&g, &mut q, &mut InMemory(&calib), &opts, &mut |_, _| {}).unwrap();
        let s1 = sqnr(&g, &q, &eval);
        eprintln!(
            "digits_cnn: SQNR {s0:.2} dB → {s1:.2} dB with {estimator:?} ({} layers)",
            rec.layers.len()
        );
        assert_eq!(rec.layers.len(), 7);
        assert!(s1 > s0 + 0.1, "{estimator:?}: {s0} → {s1}");
    }
}
