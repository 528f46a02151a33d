//! Cross-layer equalization: a hand-built chain gets balanced per-channel
//! weight ranges and keeps its function; ReLU6 pairs are skipped with a
//! reason; on the digits CNN and MobileNetV2 the float outputs do not move.

mod common;
#[path = "../../tests/support/mod.rs"]
mod support;

use common::{f32t, gauss_vec, node1, wf32};
use pare_ir::ops::AutoPad;
use pare_ir::{Graph, Op, Tensor};
use pare_passes::quantize::equalize::{equalize, EqualizeOptions};
use pare_passes::{PassCx, PassManager, PassOptions};

fn conv(group: i64, k: i64) -> Op {
    Op::Conv {
        auto_pad: AutoPad::NotSet,
        kernel_shape: vec![k, k],
        strides: vec![1, 1],
        pads: vec![k / 2; 4],
        dilations: vec![1, 1],
        group,
    }
}

/// conv 3→4 (3×3) → `act` → depthwise 4 (3×3) → relu → pointwise 4→5, with
/// channel ranges that differ by up to 100×.
fn chain(act: Op, bounds: &[f32]) -> Graph {
    let mut g = Graph::new("chain");
    let x = g.add_input("x", f32t(&[2, 3, 6, 6])).unwrap();
    let spread = |n: usize, per: usize, seed: u64| -> Vec<f32> {
        gauss_vec(n, seed)
            .iter()
            .enumerate()
            .map(|(i, v)| v * [0.02f32, 1.0, 0.3, 2.0][(i / per) % 4])
            .collect()
    };
    let w1 = wf32(&mut g, "w1", &[4, 3, 3, 3], spread(108, 27, 1));
    let b1 = wf32(&mut g, "b1", &[4], vec![0.1, -0.2, 0.05, 0.3]);
    let w2 = wf32(&mut g, "w2", &[4, 1, 3, 3], spread(36, 9, 2));
    let b2 = wf32(&mut g, "b2", &[4], vec![0.0, 0.1, -0.1, 0.2]);
    let w3 = wf32(&mut g, "w3", &[5, 4, 1, 1], gauss_vec(20, 3));
    let c1 = node1(
        &mut g,
        conv(1, 3),
        &[Some(x), Some(w1), Some(b1)],
        "c1",
        f32t(&[2, 4, 6, 6]),
    );
    let mut act_in = vec![Some(c1)];
    for (i, &b) in bounds.iter().enumerate() {
        act_in.push(Some(wf32(&mut g, &format!("bound{i}"), &[], vec![b])));
    }
    let a1 = node1(&mut g, act, &act_in, "a1", f32t(&[2, 4, 6, 6]));
    let c2 = node1(
        &mut g,
        conv(4, 3),
        &[Some(a1), Some(w2), Some(b2)],
        "c2",
        f32t(&[2, 4, 6, 6]),
    );
    let a2 = node1(&mut g, Op::Relu {}, &[Some(c2)], "a2", f32t(&[2, 4, 6, 6]));
    let c3 = node1(
        &mut g,
        conv(1, 1),
        &[Some(a2), Some(w3)],
        "c3",
        f32t(&[2, 5, 6, 6]),
    );
    g.outputs.push(c3);
    g
}

fn run(g: &Graph, x: &[Tensor]) -> Vec<Tensor> {
    pare_ir::interp::run(g, x).unwrap()
}

/// Largest |a − b| over the largest |a|, across all outputs.
fn rel_change(a: &[Tensor], b: &[Tensor]) -> f64 {
    let (mut diff, mut scale) = (0f64, 0f64);
    for (ta, tb) in a.iter().zip(b) {
        for (p, q) in ta.to_f64_vec().iter().zip(tb.to_f64_vec()) {
            diff = diff.max((p - q).abs());
            scale = scale.max(p.abs());
        }
    }
    diff / scale
}

fn weight(g: &Graph, node: &str) -> Tensor {
    let (_, n) = g.nodes().find(|(_, n)| n.name == node).unwrap();
    g.weight_of(n.inputs[1].unwrap()).unwrap().tensor().unwrap()
}

#[test]
fn a_relu_chain_is_balanced_and_keeps_its_function() {
    let mut g = chain(Op::Relu {}, &[]);
    let x = vec![Tensor::from_vec(vec![2, 3, 6, 6], gauss_vec(216, 7)).unwrap()];
    let before = run(&g, &x);
    let eq = equalize(&mut g, &EqualizeOptions::default()).unwrap();
    assert!(eq.converged, "{eq:?}");
    assert_eq!(eq.pairs.len(), 2, "{eq:?}");
    assert_eq!(eq.pairs[0].first, "c1");
    assert_eq!(eq.pairs[1].second, "c3");
    assert_eq!(eq.pairs[0].activation, Some("relu"));
    let after = run(&g, &x);
    let rel = rel_change(&before, &after);
    assert!(rel < 1e-5, "outputs moved by {rel:e} relative");
    // Every joined channel now has the same range on both sides.
    let (w1, w2, w3) = (weight(&g, "c1"), weight(&g, "c2"), weight(&g, "c3"));
    let max_of = |v: &[f32]| v.iter().fold(0f32, |m, x| m.max(x.abs()));
    for c in 0..4 {
        let r1 = max_of(&w1.as_slice::<f32>().unwrap()[c * 27..(c + 1) * 27]);
        let r2 = max_of(&w2.as_slice::<f32>().unwrap()[c * 9..(c + 1) * 9]);
        let r3: f32 = (0..5)
            .map(|o| w3.as_slice::<f32>().unwrap()[o * 4 + c].abs())
            .fold(0.0, f32::max);
        assert!((r1 / r2 - 1.0).abs() < 1e-3, "channel {c}: {r1} vs {r2}");
        assert!((r2 / r3 - 1.0).abs() < 1e-3, "channel {c}: {r2} vs {r3}");
    }
    // Ranges that differed 100× are closer now.
    assert!(eq.pairs[0].first_precision.1 > eq.pairs[0].first_precision.0);
}

#[test]
fn relu6_pairs_are_skipped_with_the_reason() {
    let mut g = chain(Op::Clip {}, &[0.0, 6.0]);
    let eq = equalize(&mut g, &EqualizeOptions::default()).unwrap();
    assert_eq!(eq.pairs.len(), 1, "only c2 → relu → c3: {eq:?}");
    assert_eq!(eq.skipped.len(), 1);
    assert_eq!(eq.skipped[0].first, "c1");
    assert!(eq.skipped[0].reason.contains("upper bound"), "{eq:?}");
    // A Clip with only a lower bound of 0 is a ReLU.
    let mut g = chain(Op::Clip {}, &[0.0]);
    let eq = equalize(&mut g, &EqualizeOptions::default()).unwrap();
    assert_eq!(eq.pairs.len(), 2, "{eq:?}");
}

fn cleaned(name: &str) -> Graph {
    let mut g = pare_onnx::import_file(&support::fixture(name)).expect("fixture imports");
    let mut cx = PassCx::new(PassOptions::default());
    let mut p = pare_passes::pipeline("cleanup").unwrap();
    PassManager::new().run(&mut p, &mut g, &mut cx).unwrap();
    g
}

/// Random inputs for a graph with one `[N, …]` input (N = `n` when symbolic).
fn random_input(g: &Graph, n: usize, seed: u64) -> Vec<Tensor> {
    let ty = g.ty(g.inputs[0]);
    let shape: Vec<usize> = ty
        .shape
        .iter()
        .map(|d| d.fixed().map_or(n, |v| v as usize))
        .collect();
    let len = shape.iter().product();
    vec![Tensor::from_vec(shape, gauss_vec(len, seed)).unwrap()]
}

fn preserves(name: &str, expect_pairs: bool) {
    let g = cleaned(name);
    let mut eq = g.clone();
    let rec = equalize(&mut eq, &EqualizeOptions::default()).unwrap();
    eprintln!(
        "{name}: {} pairs equalized in {} sweeps, {} skipped",
        rec.pairs.len(),
        rec.sweeps,
        rec.skipped.len()
    );
    for p in &rec.pairs {
        eprintln!(
            "  {} →{:?}→ {}: s ∈ [{:.3}, {:.3}], precision {:.3}→{:.3} / {:.3}→{:.3}",
            p.first,
            p.activation,
            p.second,
            p.scale_range.0,
            p.scale_range.1,
            p.first_precision.0,
            p.first_precision.1,
            p.second_precision.0,
            p.second_precision.1
        );
    }
    for s in &rec.skipped {
        eprintln!("  skipped {} → {}: {}", s.first, s.second, s.reason);
    }
    assert_eq!(!rec.pairs.is_empty(), expect_pairs, "{rec:?}");
    for seed in [11, 12] {
        let x = random_input(&g, 4, seed);
        let rel = rel_change(&run(&g, &x), &run(&eq, &x));
        eprintln!("  seed {seed}: outputs moved by {rel:.2e} relative");
        assert!(rel < 1e-5, "{name}: outputs moved by {rel:e} relative");
    }
}

#[test]
fn digits_cnn_keeps_its_function() {
    preserves("digits_cnn.onnx", true);
}

#[test]
fn mobilenet_v2_keeps_its_function() {
    preserves("mobilenet_v2.onnx", true);
}
