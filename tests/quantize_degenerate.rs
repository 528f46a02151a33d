//! Degenerate weights and ranges under int8 (issue 12, point 1): all-zero,
//! all-denormal and constant weight channels, a whole zero weight, biases too
//! large for int32 at the min-max scale, constant and infinite activation
//! ranges, NaN and infinity in weights and calibration data. The graphs are
//! `tests/data/degenerate/*.pir`: a 1×1 conv and a depthwise conv, Gemm and
//! MatMul. Each quantizes to a graph the verifier accepts, whose integer
//! interpreter keeps every channel's bias, and whose QDQ ONNX onnxruntime runs
//! to the same codes (the RP2040 C side is `targets/tests/rp2040_degenerate.rs`).

mod support;

use pare_ir::{Graph, Tensor, ValueId};
use pare_passes::quantize::calibrate::{calibrate, CalibError, CalibOptions, InMemory};
use pare_passes::quantize::{quantize_int, IntOptions};
use std::collections::BTreeMap;
use std::path::Path;

fn model(name: &str) -> Graph {
    let path = support::repo_root()
        .join("tests/data/degenerate")
        .join(name);
    let text = std::fs::read_to_string(&path).expect("read model");
    pare_ir::text::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The calibration samples, which the checks also run on, so that no output
/// leaves its calibrated range (clipping is not what these tests are about).
fn calibration(g: &Graph) -> Tensor {
    samples(g, 64, 1)
}

/// `n` samples of `g`'s single input (batch dim bound to `n`), uniform in [0, 1).
fn samples(g: &Graph, n: usize, seed: u64) -> Tensor {
    let mut rng = fastrand::Rng::with_seed(seed);
    let shape: Vec<usize> = g
        .ty(g.inputs[0])
        .shape
        .iter()
        .map(|d| d.fixed().map_or(n, |x| x as usize))
        .collect();
    let len = shape.iter().product();
    Tensor::from_vec(shape, (0..len).map(|_| rng.f32()).collect::<Vec<f32>>()).unwrap()
}

/// Min-max ranges of every float value of `g` over `x`.
fn ranges(g: &Graph, x: &Tensor) -> BTreeMap<ValueId, (f32, f32)> {
    let mut r: BTreeMap<ValueId, (f32, f32)> = BTreeMap::new();
    let mut note = |v: ValueId, t: &Tensor| {
        if let Some(s) = t.as_slice::<f32>() {
            let e = r.entry(v).or_insert((f32::INFINITY, f32::NEG_INFINITY));
            for &y in s {
                e.0 = e.0.min(y);
                e.1 = e.1.max(y);
            }
        }
    };
    note(g.inputs[0], x);
    pare_ir::interp::run_observed(g, std::slice::from_ref(x), &mut note).expect("float run");
    r
}

/// The model quantized to int8 on 64 samples, [`calibration`] (the verifier
/// runs inside).
fn quantized(name: &str) -> (Graph, Graph) {
    let float = model(name);
    let mut q = float.clone();
    let r = ranges(&float, &calibration(&float));
    quantize_int(&mut q, &r, &IntOptions::default())
        .unwrap_or_else(|e| panic!("{name} quantizes: {e}"));
    (float, q)
}

/// Output `k`'s scale in the quantized graph (the dequantize_linear's scale).
fn output_scale(q: &Graph, k: usize) -> f32 {
    let out = q.outputs[k];
    let (_, n) = q
        .nodes()
        .find(|(_, n)| n.outputs.contains(&out))
        .expect("output producer");
    let s = n.inputs[1]
        .and_then(|v| q.weight_of(v))
        .expect("scale weight");
    s.tensor().unwrap().to_f32_vec()[0]
}

/// Whether element `i` of output `k` of model `name` is a dead channel's: the
/// conv's channels 1 (zero weights, bias 0.2) and 2 (denormal weights, bias 0)
/// of its depthwise layer, the MatMul's all-zero column 1, the all-zero Gemm.
/// Their output is their bias alone, so every runtime must give its code exactly.
fn dead(name: &str, k: usize, i: usize) -> bool {
    match (name, k) {
        ("conv_dead_channels.pir", 0) => matches!((i / 16) % 5, 1 | 2),
        ("gemm_dead_channels.pir", 0) => i % 2 == 1,
        ("gemm_dead_channels.pir", 2) => true,
        _ => false,
    }
}

/// Every output of the integer interpreter is within one output step (plus
/// the f32 rounding of large outputs) of the float model: a dead channel's bias
/// reaches its output. Before the fix the denormal channel failed the
/// verifier, and its bias scale `s_x·s_w` was 3.5e-44.
#[test]
fn dead_denormal_and_constant_channels_keep_their_bias() {
    for name in ["conv_dead_channels.pir", "gemm_dead_channels.pir"] {
        let (float, q) = quantized(name);
        let x = calibration(&float);
        let want = pare_ir::interp::run(&float, std::slice::from_ref(&x)).unwrap();
        let got = pare_ir::interp::run(&q, std::slice::from_ref(&x)).unwrap();
        for (k, (w, g)) in want.iter().zip(&got).enumerate() {
            let step = f64::from(output_scale(&q, k));
            let err = support::max_abs_diff(g, w);
            eprintln!("{name} output {k}: max error {err:.3e}, output step {step:.3e}");
            // Two quantized layers: the first one's rounding, through the
            // depthwise taps, adds a few steps; a lost bias would add 0.2–2.0.
            assert!(
                err <= 4.0 * step,
                "{name} output {k}: error {err} > 4 steps of {step}"
            );
            let (g, w) = (g.to_f64_vec(), w.to_f64_vec());
            for (i, (a, b)) in g.iter().zip(&w).enumerate() {
                if dead(name, k, i) {
                    assert!(
                        (a - b).abs() <= 0.5 * step + 1e-7,
                        "{name} output {k}[{i}]: {a} vs {b}"
                    );
                }
            }
        }
        // Every weight and bias scale is a normal f32, and biases keep headroom.
        for (v, _) in q.values().filter(|(v, _)| q.weight_of(*v).is_some()) {
            let Some(p) = &q.ty(v).quant else { continue };
            for &s in &p.scale {
                assert!(
                    s.is_normal(),
                    "{name}: `{}` has scale {s:e}",
                    q.value(v).name
                );
            }
        }
    }
}

/// A whole weight tensor of zeros with a zero bias: its output is 0 on every
/// sample, an empty range; it quantizes (scale 1) and stays exactly 0.
#[test]
fn an_all_zero_weight_gives_an_exact_zero_output() {
    let (float, q) = quantized("gemm_dead_channels.pir");
    assert_eq!(output_scale(&q, 2), 1.0);
    let x = samples(&float, 8, 3);
    let got = pare_ir::interp::run(&q, &[x]).unwrap();
    assert!(got[2].to_f32_vec().iter().all(|&y| y == 0.0));
}

fn write_npy_f32(path: &Path, t: &Tensor) {
    let shape: Vec<String> = t.shape().iter().map(|d| d.to_string()).collect();
    let shape = match shape.len() {
        1 => format!("({},)", shape[0]),
        _ => format!("({})", shape.join(", ")),
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for v in t.to_f32_vec() {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(path, bytes).unwrap();
}

/// onnxruntime runs pare's QDQ export of each degenerate graph to the integer
/// interpreter's codes: identical in every dead channel (their output is the
/// bias alone), and within one code elsewhere — onnxruntime requantizes with a
/// float multiply where pare's kernels use TFLite's fixed-point one (the
/// integer interpreter and the RP2040 C agree bit for bit:
/// `targets/tests/rp2040_degenerate.rs`).
#[test]
fn onnxruntime_runs_the_qdq_export_to_the_interpreters_codes() {
    let dir = support::scratch_dir("quantize_degenerate_ort");
    for name in ["conv_dead_channels.pir", "gemm_dead_channels.pir"] {
        let (float, q) = quantized(name);
        let stem = name.trim_end_matches(".pir");
        let onnx = dir.join(format!("{stem}.onnx"));
        pare_onnx::export_file(&q, &onnx, &Default::default()).expect("exports");
        let x = calibration(&float);
        let xin = dir.join(format!("{stem}_x.npy"));
        write_npy_f32(&xin, &x);
        let outdir = dir.join(format!("{stem}_ort"));
        let o = std::process::Command::new(support::python())
            .arg(support::repo_root().join("tests/oracle/ort_run_all.py"))
            .args([onnx.as_os_str(), xin.as_os_str(), outdir.as_os_str()])
            .output()
            .expect("run ort_run_all.py");
        assert!(
            o.status.success(),
            "onnxruntime failed on {name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let ours = pare_ir::interp::run(&q, &[x]).unwrap();
        for (k, ours) in ours.iter().enumerate() {
            let out_name = &q.value(q.outputs[k]).name;
            let theirs = support::read_npy(&outdir.join(format!("{out_name}.npy")));
            let step = f64::from(output_scale(&q, k));
            let (a, b) = (ours.to_f64_vec(), theirs.to_f64_vec());
            assert_eq!(a.len(), b.len(), "{name} output {k}");
            let differ = a.iter().zip(&b).filter(|(x, y)| x != y).count();
            let worst = a
                .iter()
                .zip(&b)
                .map(|(x, y)| ((x - y).abs() / step).round())
                .fold(0f64, f64::max);
            eprintln!(
                "{name} `{out_name}`: {differ} of {} codes differ (worst {worst} steps)",
                a.len()
            );
            assert!(
                worst <= 1.0,
                "{name} `{out_name}`: worst {worst} output steps"
            );
            for (i, (x, y)) in a.iter().zip(&b).enumerate() {
                assert!(
                    !dead(name, k, i) || x == y,
                    "{name} `{out_name}`[{i}]: {x} vs {y}"
                );
            }
        }
    }
}

/// NaN or infinity in a weight or bias is an error naming the constant, the
/// node and the element, at quantize time.
#[test]
fn non_finite_weights_are_errors_naming_the_tensor() {
    for (what, bad) in [("w1", f32::NAN), ("b1", f32::INFINITY)] {
        let text = std::fs::read_to_string(
            support::repo_root().join("tests/data/degenerate/gemm_dead_channels.pir"),
        )
        .unwrap();
        let float = pare_ir::text::parse(&text).unwrap();
        let mut g = float.clone();
        // Swap the constant for a copy with one bad element.
        let v = g
            .values()
            .find(|(v, x)| x.name == what && g.weight_of(*v).is_some())
            .map(|(v, _)| v)
            .expect("constant");
        let mut vals = g.weight_of(v).unwrap().tensor().unwrap().to_f32_vec();
        vals[1] = bad;
        let shape = g.weight_of(v).unwrap().tensor().unwrap().shape().to_vec();
        let t = Tensor::from_vec(shape, vals).unwrap();
        let nv = g
            .add_weight(format!("{what}_bad"), pare_ir::Weight::from_tensor(&t))
            .unwrap();
        for id in g.order().to_vec() {
            for slot in g.node(id).inputs.clone().iter().enumerate() {
                if *slot.1 == Some(v) {
                    g.node_mut(id).inputs[slot.0] = Some(nv);
                }
            }
        }
        let r = ranges(&float, &samples(&float, 8, 1));
        let e = quantize_int(&mut g, &r, &IntOptions::default())
            .expect_err("a non-finite weight cannot quantize")
            .to_string();
        assert!(
            e.contains(&format!("`{what}_bad`")) && e.contains("element 1") && e.contains("`g1`"),
            "{e}"
        );
    }
}

/// NaN in the calibration data is an error naming the input and the sample;
/// NaN the model computes from finite data names the value; infinities are
/// left out of the range with a note, and the graph still quantizes.
#[test]
fn nan_in_calibration_is_an_error_and_infinity_a_note() {
    let g = model("gemm_dead_channels.pir");
    let mut x = samples(&g, 6, 5).to_f32_vec();
    x[4 * 3 + 2] = f32::NAN; // sample 3
    let batch = vec![vec![Tensor::from_vec(vec![6, 4], x).unwrap()]];
    let e = calibrate(
        &g,
        &mut InMemory(&batch),
        &CalibOptions::default(),
        &mut |_| {},
    )
    .expect_err("NaN data");
    assert!(matches!(e, CalibError::NotANumber { .. }), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("`x`") && msg.contains("sample 3"), "{msg}");

    // log(x - x - 1) is NaN for every finite x: the model computes it.
    let text = "graph @nan(%x \"x\": f32[N,2]) -> (f32[N,2]) {\n  %d \"d\": f32[N,2] = sub(%x, %x)\n  $one \"one\": f32[] = [1.0]\n  %e \"e\": f32[N,2] = sub(%d, $one)\n  %l \"l\": f32[N,2] = log(%e)\n  return %l\n}\n";
    let g2 = pare_ir::text::parse(text).unwrap();
    let batch = vec![vec![Tensor::from_vec(vec![2, 2], vec![0.5f32; 4]).unwrap()]];
    let e = calibrate(
        &g2,
        &mut InMemory(&batch),
        &CalibOptions::default(),
        &mut |_| {},
    )
    .expect_err("computed NaN")
    .to_string();
    assert!(e.contains("`l`") && e.contains("computes NaN"), "{e}");

    // The all-zero gemm's output is 0 on every sample: an empty range, noted.
    let g = model("gemm_dead_channels.pir");
    let batch = vec![vec![calibration(&g)]];
    let cal = calibrate(
        &g,
        &mut InMemory(&batch),
        &CalibOptions::default(),
        &mut |_| {},
    )
    .expect("calibrates");
    let notes = cal.range_notes(&g);
    assert!(
        notes
            .iter()
            .any(|n| n.contains("value `g4`") && n.contains("0 on every")),
        "{notes:?}"
    );

    // Positive weights carry an infinite input to an infinite output, no NaN
    // (a zero weight would make inf·0 = NaN, an error like the one above).
    let text = "graph @inf(%x \"x\": f32[N,2]) -> (f32[N,1]) {\n  $w \"w\": f32[1,2] = [0.5, 0.25]\n  $b \"b\": f32[1] = [0.1]\n  %y \"y\": f32[N,1] = gemm(%x, $w, $b) {alpha=1.0, beta=1.0, trans_a=false, trans_b=true}\n  return %y\n}\n";
    let g = pare_ir::text::parse(text).unwrap();
    let x = vec![0.5f32, 0.25, f32::INFINITY, 1.0, 0.0, 0.75];
    let batch = vec![vec![Tensor::from_vec(vec![3, 2], x).unwrap()]];
    let cal = calibrate(
        &g,
        &mut InMemory(&batch),
        &CalibOptions::default(),
        &mut |_| {},
    )
    .expect("infinity is not an error");
    let notes = cal.range_notes(&g);
    assert!(
        notes
            .iter()
            .any(|n| n.contains("value `x`") && n.contains("1 infinite")),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.contains("value `y`") && n.contains("1 infinite")),
        "{notes:?}"
    );
    let mut q = g.clone();
    quantize_int(&mut q, &cal, &IntOptions::default()).expect("quantizes");
    let out = pare_ir::interp::run(&q, &batch[0]).unwrap();
    // The infinite sample saturates at the top of `y`'s range.
    let (y, hi) = (out[0].to_f32_vec(), cal.range(g.outputs[0]).unwrap().1);
    assert!(
        (y[1] - hi).abs() <= hi / 255.0 && y[1] >= y[0] && y[1] >= y[2],
        "{y:?} vs {hi}"
    );
}

/// A constant operand with -inf (an additive mask) has no integer code: its
/// node stays float with the reason, the rest quantizes, and the -inf passes.
#[test]
fn an_infinite_mask_constant_keeps_its_node_float() {
    let text = "graph @mask(%x \"x\": f32[N,3]) -> (f32[N,3]) {\n  $w \"w\": f32[3,3] = [0.5, 0.1, 0.0, -0.2, 0.4, 0.3, 0.1, 0.1, 0.6]\n  $m \"m\": f32[1,3] = [0.0, -inf, 0.0]\n  %g \"g\": f32[N,3] = gemm(%x, $w, _) {alpha=1.0, beta=1.0, trans_a=false, trans_b=true}\n  %y \"y\": f32[N,3] = add(%g, $m)\n  return %y\n}\n";
    let float = pare_ir::text::parse(text).unwrap();
    let x = samples(&float, 8, 6);
    let mut q = float.clone();
    let records = quantize_int(&mut q, &ranges(&float, &x), &IntOptions::default()).unwrap();
    let add = records.iter().find(|r| r.op == "add").expect("add record");
    let why = format!("{:?}", add.status);
    assert!(why.contains("`m`") && why.contains("not finite"), "{why}");
    let y = pare_ir::interp::run(&q, &[x]).unwrap()[0].to_f32_vec();
    assert!(
        y.chunks(3)
            .all(|r| r[1] == f32::NEG_INFINITY && r[0].is_finite()),
        "{y:?}"
    );
}
