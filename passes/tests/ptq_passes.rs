//! The quantization passes as the registry builds them from specs: run
//! through the pass manager on small graphs, with seeded random calibration
//! data, and checked by running the interpreter before and after.

use pare_ir::interp::{run, run_with, QuantExec, RunOptions};
use pare_ir::{Graph, Tensor};
use pare_passes::quantize::data::DataSource;
use pare_passes::quantize::LayerStatus;
use pare_passes::{pipeline_from_spec, PassCx, PassManager, PassOptions};

const GEMM_RELU: &str = "graph @g(%x \"x\": f32[N,3]) -> (f32[N,2]) {
  $w \"w\": f32[2,3] = [0.1, -0.5, 0.25, 1.0, 0.3, -0.75]
  $b \"b\": f32[2] = [0.3, -0.1]
  %g \"g\": f32[N,2] = gemm(%x, $w, $b) {alpha=1.0, beta=1.0, trans_a=false, trans_b=true}
  %y \"y\": f32[N,2] = relu(%g)
  return %y
}
";

fn two_gemms() -> String {
    let v = |n: usize, seed: u64| -> String {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                format!(
                    "{:.3}",
                    ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "graph @mixed(%x \"x\": f32[N,16]) -> (f32[N,4]) {{
  $w1 \"w1\": f32[8,16] = [{}]
  $b1 \"b1\": f32[8] = [{}]
  $w2 \"w2\": f32[4,8] = [{}]
  $b2 \"b2\": f32[4] = [{}]
  %h \"h\": f32[N,8] = gemm(%x, $w1, $b1) {{alpha=1.0, beta=1.0, trans_a=false, trans_b=true}}
  %r \"r\": f32[N,8] = relu(%h)
  %y \"y\": f32[N,4] = gemm(%r, $w2, $b2) {{alpha=1.0, beta=1.0, trans_a=false, trans_b=true}}
  return %y
}}
",
        v(128, 1),
        v(8, 2),
        v(32, 3),
        v(4, 4)
    )
}

fn run_spec(src: &str, spec: &str) -> Result<(Graph, Graph, PassCx), pare_passes::PassError> {
    let float = pare_ir::text::parse(src).unwrap();
    let mut g = float.clone();
    let mut cx = PassCx::new(PassOptions {
        verify: true,
        ..PassOptions::default()
    });
    let mut p = pipeline_from_spec(spec)?;
    PassManager::new().run(&mut p, &mut g, &mut cx)?;
    Ok((float, g, cx))
}

/// The largest output difference of `q` (integer interpreter) against `float`
/// on 16 seeded samples.
fn max_error(float: &Graph, q: &Graph) -> f64 {
    let x = DataSource::parse("random:16:99")
        .unwrap()
        .open(float, 16, None)
        .unwrap()
        .take(16)
        .unwrap();
    let opts = RunOptions {
        quant: QuantExec::Integer(Default::default()),
    };
    let mut worst = 0f64;
    for b in &x {
        let want = run(float, b).unwrap();
        let got = run_with(q, b, &opts, &mut |_, _| {}).unwrap();
        for (w, o) in want.iter().zip(&got) {
            for (a, c) in w.to_f64_vec().iter().zip(o.to_f64_vec()) {
                worst = worst.max((a - c).abs());
            }
        }
    }
    worst
}

fn int8_values(g: &Graph) -> usize {
    g.nodes()
        .flat_map(|(_, n)| n.outputs.clone())
        .filter(|&v| g.ty(v).quant.is_some())
        .count()
}

#[test]
fn quantize_int8_from_random_data_stays_close_to_float() {
    let (float, q, cx) = run_spec(GEMM_RELU, "quantize{scheme=int8,calib=random:32:1}").unwrap();
    assert!(int8_values(&q) >= 2, "{}", pare_ir::text::print(&q));
    assert!(cx.quant.float.is_some() && cx.quant.calibration.is_some());
    assert!(cx
        .quant
        .records
        .iter()
        .any(|r| r.status == LayerStatus::Int8));
    let e = max_error(&float, &q);
    assert!(e < 0.03, "max error {e}");
    assert!(
        e > 0.0,
        "an int8 graph that matches float exactly is suspicious"
    );
}

#[test]
fn the_same_spec_gives_the_same_graph() {
    let spec = "quantize{scheme=int8,calib=random:32:7,method=mse}";
    let a = run_spec(GEMM_RELU, spec).unwrap().1;
    let b = run_spec(GEMM_RELU, spec).unwrap().1;
    assert_eq!(pare_ir::text::print(&a), pare_ir::text::print(&b));
    let c = run_spec(
        GEMM_RELU,
        "quantize{scheme=int8,calib=random:32:8,method=mse}",
    )
    .unwrap()
    .1;
    assert_ne!(
        pare_ir::text::print(&a),
        pare_ir::text::print(&c),
        "the seed must matter"
    );
}

#[test]
fn quantization_passes_say_what_they_need() {
    let e = run_spec(GEMM_RELU, "quantize{scheme=int8}")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("needs calibration data") && e.contains("calib="),
        "{e}"
    );
    let e = run_spec(GEMM_RELU, "bias-correct{calib=random:4:1}")
        .unwrap_err()
        .to_string();
    assert!(e.contains("earlier `quantize`"), "{e}");
    let e = run_spec(
        GEMM_RELU,
        "quantize{scheme=int8,calib=random:4:1},quantize{scheme=int8,calib=random:4:1}",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("already quantized"), "{e}");
}

#[test]
fn bias_correct_after_quantize_corrects_layers_and_keeps_accuracy() {
    let spec = "quantize{scheme=int8,calib=random:64:5},bias-correct{calib=random:64:5}";
    let (float, q, cx) = run_spec(&two_gemms(), spec).unwrap();
    let rec = cx.quant.correction.expect("bias-correct reports");
    assert_eq!(rec.layers.len(), 2, "{rec:?}");
    let plain = run_spec(&two_gemms(), "quantize{scheme=int8,calib=random:64:5}")
        .unwrap()
        .1;
    let (ec, ep) = (max_error(&float, &q), max_error(&float, &plain));
    assert!(ec < 0.1 && ep < 0.1, "corrected {ec}, plain {ep}");
    assert_ne!(pare_ir::text::print(&q), pare_ir::text::print(&plain));
}

#[test]
fn mixed_precision_fits_the_budget_by_narrowing_layers() {
    // All int8: 128 + 32 weight bytes, 48 bytes of int32 bias, a few of scales.
    let all8 = run_spec(&two_gemms(), "quantize{scheme=int8,calib=random:16:2}")
        .unwrap()
        .1;
    let size8 = pare_ir::analysis::weight_bytes(&all8);
    assert!(size8 > 200, "{size8}");
    let (float, q, cx) = run_spec(
        &two_gemms(),
        "mixed-precision{budget=170,calib=random:16:2,sensitivity-samples=8}",
    )
    .unwrap();
    // Only the 128-element weight at 4 bits saves enough.
    let biggest = cx
        .quant
        .records
        .iter()
        .max_by_key(|r| r.weight_bytes_before)
        .unwrap();
    assert_eq!(biggest.weight_bits, Some(4), "{:?}", cx.quant.records);
    assert!(pare_ir::analysis::weight_bytes(&q) <= 170);
    assert_eq!(cx.quant.sensitivity.len(), 2);
    assert!(max_error(&float, &q) < 0.5);
    let e = run_spec(&two_gemms(), "mixed-precision{budget=50,calib=random:16:2}")
        .unwrap_err()
        .to_string();
    assert!(e.contains("budget 50"), "{e}");
}

#[test]
fn equalize_and_fp16_keep_the_function() {
    let src = "graph @cle(%x \"x\": f32[N,2,3,3]) -> (f32[N,2,3,3]) {
  $w1 \"w1\": f32[2,2,1,1] = [10.0, -20.0, 0.1, 0.2]
  $b1 \"b1\": f32[2] = [1.0, 0.01]
  $w2 \"w2\": f32[2,2,1,1] = [0.05, 3.0, -0.02, 4.0]
  $b2 \"b2\": f32[2] = [0.0, 0.5]
  %c1 \"c1\": f32[N,2,3,3] = conv(%x, $w1, $b1) {auto_pad=\"NOTSET\", kernel_shape=[1,1], strides=[1,1], pads=[0,0,0,0], dilations=[1,1], group=1}
  %r \"r\": f32[N,2,3,3] = relu(%c1)
  %c2 \"c2\": f32[N,2,3,3] = conv(%r, $w2, $b2) {auto_pad=\"NOTSET\", kernel_shape=[1,1], strides=[1,1], pads=[0,0,0,0], dilations=[1,1], group=1}
  return %c2
}
";
    let (float, g, cx) = run_spec(src, "equalize").unwrap();
    assert_eq!(cx.quant.equalization.unwrap().pairs.len(), 1);
    assert_ne!(pare_ir::text::print(&float), pare_ir::text::print(&g));
    assert!(max_error(&float, &g) < 1e-4);
    let (float, g, _) = run_spec(GEMM_RELU, "fp16").unwrap();
    let e = max_error(&float, &g);
    assert!(e > 0.0 && e < 0.01, "{e}");
}

#[test]
fn fold_luts_removes_a_relu_whose_table_is_the_identity() {
    let src = "graph @g(%x \"x\": f32[N,4]) -> (f32[N,4]) {
  $s \"s\": f32[] = [0.1]
  $z \"z\": i8[] = [-128]
  %q \"q\": i8[N,4] !q(bits=8, signed=true, scale=[0.1], zp=[-128]) = quantize_linear(%x, $s, $z) {axis=1, saturate=true, block_size=0}
  %r \"r\": i8[N,4] !q(bits=8, signed=true, scale=[0.1], zp=[-128]) = relu(%q)
  %y \"y\": f32[N,4] = dequantize_linear(%r, $s, $z) {axis=1, block_size=0}
  return %y
}
";
    let (float, g, _) = run_spec(src, "fold-luts").unwrap();
    assert!(g.nodes().all(|(_, n)| n.op.name() != "relu"));
    assert_eq!(max_error(&float, &g), 0.0);
    let x = Tensor::from_vec(vec![1, 4], vec![-1.0f32, 0.0, 0.5, 30.0]).unwrap();
    assert_eq!(
        run(&float, std::slice::from_ref(&x)).unwrap(),
        run(&g, &[x]).unwrap()
    );
}

#[test]
fn the_variant_search_keeps_the_best_measured_variant() {
    use pare_passes::ptq::{search, DataOptions, Mode, Quantize, Scheme, SearchOptions};
    use pare_passes::quantize::calibrate::{BoxError, CalibMethod};
    let float = pare_ir::text::parse(&two_gemms()).unwrap();
    let data = DataOptions {
        source: DataSource::parse("random:32:3").unwrap(),
        fixed: Default::default(),
        samples: None,
        batch: 8,
    };
    let quantize = || -> Result<Box<dyn pare_passes::Pass>, BoxError> {
        Ok(Box::new(Quantize {
            scheme: Scheme::Int8,
            data: Some(data.clone()),
            method: CalibMethod::MinMax,
        }))
    };
    let encode = |_: &Graph| -> Result<Vec<u8>, BoxError> { Ok(Vec::new()) };
    let cx = PassCx::new(PassOptions {
        verify: true,
        ..PassOptions::default()
    });
    let opts = |bias: Mode| SearchOptions {
        equalize: Mode::Off,
        bias_correction: bias,
        data: data.clone(),
        rounding: Default::default(),
        size_budget: None,
        floor: pare_passes::ptq::FidelityFloor::NONE,
        no_islands: None,
    };
    let mut printed = Vec::new();
    let mut m = PassManager::new().print_after_all(|name, _| printed.push(name.to_string()));
    let out = search(&float, &opts(Mode::Auto), &mut m, &cx, &quantize, &encode).unwrap();
    drop(m);
    assert_eq!(printed, ["quantize", "bias-correct"]);
    let s = &out.summary;
    assert_eq!(s.trials.len(), 2);
    let best = s
        .trials
        .iter()
        .map(|t| t.fidelity.sqnr_db)
        .fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(s.chosen().unwrap().fidelity.sqnr_db, best);
    assert_eq!(out.fidelity.sqnr_db, best);
    assert_eq!(out.fidelity.samples, 32);
    assert!(out.quant.calibration.is_some() && !out.quant.records.is_empty());
    let mut m = PassManager::new();
    let off = search(&float, &opts(Mode::Off), &mut m, &cx, &quantize, &encode).unwrap();
    assert_eq!(off.summary.trials.len(), 1);
    assert!(off.summary.correction.is_none());
    let on = search(&float, &opts(Mode::On), &mut m, &cx, &quantize, &encode).unwrap();
    assert_eq!(on.summary.trials.len(), 1);
    assert!(on.summary.trials[0].bias_corrected);
}
