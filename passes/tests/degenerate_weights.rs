//! Degenerate weights in the passes that read weights besides `quantize`
//! (issue 12): equalization leaves dead (all-zero or all-denormal) channels
//! alone instead of scaling them, and their biases, up to their partner's
//! range; NaN weights are errors naming the constant in equalization and
//! weight-only quantization; fp16 keeps infinities (an f16 holds them, and the
//! model computes the same).

use pare_ir::{Graph, Tensor, Weight};
use pare_passes::quantize::equalize::{equalize, EqualizeOptions};

fn model(name: &str) -> Graph {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/degenerate")
        .join(name);
    pare_ir::text::parse(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Input `slot` of the node defining value `out`, as floats.
fn operand(g: &Graph, out: &str, slot: usize) -> Vec<f32> {
    let (_, n) = g
        .nodes()
        .find(|(_, n)| n.outputs.iter().any(|&o| g.value(o).name == out))
        .unwrap();
    let v = n.inputs[slot].unwrap();
    g.weight_of(v).unwrap().tensor().unwrap().to_f32_vec()
}

#[test]
fn equalization_leaves_dead_channels_alone() {
    let mut g = model("conv_dead_channels.pir");
    // Give the denormal channel a live partner in the depthwise conv.
    let (v, _) = g.values().find(|(_, x)| x.name == "w2").unwrap();
    let mut w2 = g.weight_of(v).unwrap().tensor().unwrap().to_f32_vec();
    w2[18..27].copy_from_slice(&[0.3, -0.1, 0.2, 0.1, 0.4, -0.2, 0.1, 0.05, 0.3]);
    let t = Tensor::from_vec(vec![5, 1, 3, 3], w2).unwrap();
    let nv = g.add_weight("w2_live", Weight::from_tensor(&t)).unwrap();
    g.replace_all_uses(v, nv);
    let x = vec![Tensor::from_vec(
        vec![2, 2, 4, 4],
        (0..64).map(|i| (i as f32 * 0.37).sin()).collect::<Vec<_>>(),
    )
    .unwrap()];
    let before = pare_ir::interp::run(&g, &x).unwrap();
    let eq = equalize(&mut g, &EqualizeOptions::default()).unwrap();
    assert_eq!(
        eq.pairs.len(),
        1,
        "the 1x1 conv and the depthwise conv pair up: {eq:?}"
    );
    let after = pare_ir::interp::run(&g, &x).unwrap();
    let (w1, b1) = (operand(&g, "c1", 1), operand(&g, "c1", 2));
    // Channel 1 (zeros) and 2 (denormals) keep their weights and biases: scaled
    // to their partner's range, the denormal channel's bias would have grown
    // by about 10^19 and taken the activation's range with it.
    assert_eq!(&w1[2..4], &[0.0, 0.0]);
    assert!(w1[4].abs() < 1e-30 && w1[5].abs() < 1e-30, "{w1:?}");
    assert_eq!((b1[1], b1[2]), (0.3, -0.2), "{b1:?}");
    assert!(b1.iter().all(|b| b.abs() < 10.0), "{b1:?}");
    let d = pare_ir::interp::run(&g, &x).unwrap()[0].to_f64_vec();
    let (a, b) = (before[0].to_f64_vec(), after[0].to_f64_vec());
    assert_eq!(d, b);
    let worst = a
        .iter()
        .zip(&b)
        .map(|(p, q)| (p - q).abs())
        .fold(0f64, f64::max);
    assert!(worst < 1e-5, "equalization changed the function by {worst}");
}

/// `model` with element 1 of constant `name` replaced by `bad`.
fn with_bad(name: &str, bad: f32) -> Graph {
    let mut g = model("gemm_dead_channels.pir");
    let (v, _) = g
        .values()
        .find(|(v, x)| x.name == name && g.weight_of(*v).is_some())
        .unwrap();
    let t = g.weight_of(v).unwrap().tensor().unwrap();
    let mut vals = t.to_f32_vec();
    vals[1] = bad;
    let t = Tensor::from_vec(t.shape().to_vec(), vals).unwrap();
    let nv = g
        .add_weight(format!("{name}_bad"), Weight::from_tensor(&t))
        .unwrap();
    g.replace_all_uses(v, nv);
    g
}

#[test]
fn nan_weights_are_errors_naming_the_constant() {
    let mut g = with_bad("w1", f32::NAN);
    let e = pare_passes::quantize::quantize_weights(&mut g, 8)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`w1_bad`") && e.contains("NaN at element 1"),
        "{e}"
    );

    let mut g = model("conv_dead_channels.pir");
    let (v, _) = g.values().find(|(_, x)| x.name == "w2").unwrap();
    let mut vals = g.weight_of(v).unwrap().tensor().unwrap().to_f32_vec();
    vals[3] = f32::INFINITY;
    let t = Tensor::from_vec(vec![5, 1, 3, 3], vals).unwrap();
    let nv = g.add_weight("w2_bad", Weight::from_tensor(&t)).unwrap();
    g.replace_all_uses(v, nv);
    let e = equalize(&mut g, &EqualizeOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`w2_bad`") && e.contains("inf at element 3"),
        "{e}"
    );
}

#[test]
fn fp16_keeps_infinite_weights() {
    let mut g = with_bad("b1", f32::INFINITY);
    let x = vec![Tensor::from_vec(vec![2, 4], vec![0.5f32; 8]).unwrap()];
    let want = pare_ir::interp::run(&g, &x).unwrap();
    pare_passes::quantize::quantize_fp16(&mut g).unwrap();
    let got = pare_ir::interp::run(&g, &x).unwrap();
    let (a, b) = (want[1].to_f64_vec(), got[1].to_f64_vec());
    assert!(
        a.iter().chain(&b).all(|v| v.is_finite()),
        "g3 does not read b1"
    );
    let m_want = want[0].to_f64_vec();
    let m_got = got[0].to_f64_vec();
    // b1[1] = inf reaches the matmul through w2's zero column: inf·0 = NaN in
    // column 1 in both, and column 0 gets inf·(-0.3) = -inf in both.
    for (p, q) in m_want.iter().zip(&m_got) {
        assert!(
            p.is_nan() == q.is_nan() && (p.is_nan() || p.is_infinite() == q.is_infinite()),
            "{m_want:?} vs {m_got:?}"
        );
    }
}

/// Every calibration method gives a range whose parameters are valid for a
/// value that was all zero, constant, confined to denormals, or partly
/// infinite (infinities left out): a normal scale and an in-range zero point.
#[test]
fn every_calibration_method_handles_degenerate_values() {
    use pare_passes::quantize::calibrate::{
        asymmetric_params, select_range, CalibMethod, Observer,
    };
    let cases: [(&str, Vec<f32>); 5] = [
        ("all zero", vec![0.0; 64]),
        ("constant", vec![0.75; 64]),
        ("negative constant", vec![-3.0; 64]),
        ("denormal", (0..64).map(|i| i as f32 * 1e-41).collect()),
        (
            "partly infinite",
            (0..64)
                .map(|i| {
                    if i % 7 == 0 {
                        f32::INFINITY
                    } else {
                        i as f32 * 0.1
                    }
                })
                .collect(),
        ),
    ];
    let methods = [
        CalibMethod::MinMax,
        CalibMethod::Percentile(99.9),
        CalibMethod::Mse,
        CalibMethod::Entropy,
        CalibMethod::Auto,
    ];
    for (what, xs) in &cases {
        let mut o = Observer::new();
        o.record_range(xs);
        o.start_histogram(2048);
        o.record_histogram(xs);
        for m in methods {
            let s = select_range(&o, m, 8).unwrap().expect("a range");
            let (lo, hi) = s.range;
            assert!(
                lo.is_finite() && hi.is_finite() && lo <= 0.0 && 0.0 <= hi,
                "{what}, {m}: {lo}..{hi}"
            );
            let (scale, zp) = asymmetric_params(lo, hi, 8);
            assert!(
                scale.is_normal() && (-128..=127).contains(&zp),
                "{what}, {m}: ({scale:e}, {zp})"
            );
        }
    }
}
