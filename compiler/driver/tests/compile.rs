//! `pare compile` end to end on the shared fixtures: int8/int4/fp16/mixed
//! artifacts, the accuracy and size bounds, the measured report,
//! byte-identical reruns, bounded calibration memory, and one-line errors.

mod common;

use common::{digits_accuracy, fixture, json_of, pare, python, root, scratch, stderr};
use serde_json::Value;
use std::path::Path;

fn digits_train() -> String {
    format!("{}:x_train", fixture("digits.npz"))
}

/// Compiles `model` with `extra` args to `out`; returns the JSON report.
fn compile(model: &str, out: &Path, extra: &[&str]) -> Value {
    let out_s = out.to_string_lossy().into_owned();
    let mut args = vec!["compile", model, "-o", &out_s, "--json"];
    args.extend_from_slice(extra);
    json_of(&args)
}

#[test]
fn digits_cnn_int8_keeps_accuracy_and_shrinks_below_0_3x() {
    let dir = scratch("cnn_int8");
    let model = fixture("digits_cnn.onnx");
    let pir = dir.join("cnn.pir");
    let onnx = dir.join("cnn.onnx");
    let rep = compile(
        &model,
        &pir,
        &["--quantize", "int8", "--calib", &digits_train()],
    );
    compile(
        &model,
        &onnx,
        &["--quantize", "int8", "--calib", &digits_train()],
    );
    // Every layer runs in int8 (activations that became no-ops are folded away).
    let layers = rep["layers"].as_array().unwrap();
    let status = |l: &Value| l["status"].as_str().unwrap().to_string();
    assert!(
        layers
            .iter()
            .all(|l| ["int8", "folded"].contains(&status(l).as_str())),
        "{layers:?}"
    );
    assert!(
        layers.iter().any(|l| status(l) == "folded"),
        "the ReLUs after convs fold"
    );
    // The artifact size in the report is the file's.
    let size = std::fs::metadata(&pir).unwrap().len();
    assert_eq!(rep["artifact_bytes"]["value"].as_u64(), Some(size));
    assert!(rep["artifact_bytes"]["how"]
        .as_str()
        .unwrap()
        .starts_with("measured"));
    let onnx_size = std::fs::metadata(&onnx).unwrap().len();
    let float_size = std::fs::metadata(&model).unwrap().len();
    assert!(
        (onnx_size as f64) <= 0.3 * float_size as f64,
        "int8 ONNX {onnx_size} B vs float {float_size} B"
    );
    let float = digits_accuracy(&model);
    let int8 = digits_accuracy(&pir.to_string_lossy());
    assert!(float - int8 <= 0.003, "float {float}, int8 {int8}");
    assert!(rep["fidelity"]["agreement"]["value"].as_f64().unwrap() >= 0.99);
}

#[test]
fn digits_transformer_and_micro_cnn_int8_within_one_point() {
    let dir = scratch("int8_small");
    for name in ["digits_transformer.onnx", "micro_cnn.onnx"] {
        let model = fixture(name);
        let out = dir.join(name.replace(".onnx", ".pir"));
        compile(
            &model,
            &out,
            &["--quantize", "int8", "--calib", &digits_train()],
        );
        let (float, int8) = (
            digits_accuracy(&model),
            digits_accuracy(&out.to_string_lossy()),
        );
        assert!(float - int8 <= 0.01, "{name}: float {float}, int8 {int8}");
    }
}

#[test]
fn digits_vae_int8_reconstruction_mse_within_10_percent() {
    let dir = scratch("vae");
    let model = fixture("digits_vae.onnx");
    let out = dir.join("vae.pir");
    compile(
        &model,
        &out,
        &["--quantize", "int8", "--calib", &digits_train()],
    );
    let mse = |m: &str| {
        json_of(&[
            "eval",
            m,
            "--data",
            &fixture("digits.npz"),
            "--x",
            "x_test",
            "--y",
            "x_test",
            "--json",
        ])["mse"]
            .as_f64()
            .unwrap()
    };
    let (float, int8) = (mse(&model), mse(&out.to_string_lossy()));
    assert!(int8 <= 1.1 * float, "float {float}, int8 {int8}");
}

#[test]
fn compiles_are_byte_identical() {
    let dir = scratch("determinism");
    let model = fixture("digits_cnn.onnx");
    for ext in ["onnx", "pir"] {
        let a = dir.join(format!("a.{ext}"));
        let b = dir.join(format!("b.{ext}"));
        for out in [&a, &b] {
            compile(
                &model,
                out,
                &[
                    "--quantize",
                    "int8",
                    "--calib",
                    &digits_train(),
                    "--calib-samples",
                    "200",
                ],
            );
        }
        assert_eq!(
            std::fs::read(&a).unwrap(),
            std::fs::read(&b).unwrap(),
            "{ext}"
        );
    }
}

#[test]
fn int4_is_smaller_than_int8_and_fp16_halves_the_model() {
    let dir = scratch("int4_fp16");
    let model = fixture("digits_cnn.onnx");
    let (i8p, i4p, f16p) = (
        dir.join("i8.onnx"),
        dir.join("i4.onnx"),
        dir.join("f16.onnx"),
    );
    compile(
        &model,
        &i8p,
        &["--quantize", "int8", "--calib", &digits_train()],
    );
    compile(
        &model,
        &i4p,
        &["--quantize", "int4", "--calib", &digits_train()],
    );
    compile(&model, &f16p, &["--quantize", "fp16"]);
    let size = |p: &Path| std::fs::metadata(p).unwrap().len() as f64;
    let float = std::fs::metadata(&model).unwrap().len() as f64;
    assert!(
        size(&i4p) < 0.7 * size(&i8p),
        "int4 {} vs int8 {}",
        size(&i4p),
        size(&i8p)
    );
    assert!(
        size(&f16p) < 0.55 * float,
        "fp16 {} vs float {float}",
        size(&f16p)
    );
    let acc = digits_accuracy(&f16p.to_string_lossy());
    assert!(acc >= 0.99, "fp16 accuracy {acc}");
}

#[test]
fn mixed_precision_fits_18_percent_of_the_float_file() {
    let dir = scratch("mixed");
    let model = fixture("digits_cnn.onnx");
    let budget = (0.18 * std::fs::metadata(&model).unwrap().len() as f64) as u64;
    let out = dir.join("mixed.onnx");
    let rep = compile(
        &model,
        &out,
        &[
            "--quantize",
            "mixed",
            "--size-budget",
            &budget.to_string(),
            "--calib",
            &digits_train(),
        ],
    );
    let size = std::fs::metadata(&out).unwrap().len();
    assert!(size <= budget, "{size} > {budget}");
    let bits: Vec<u64> = rep["layers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["weight_bits"].as_u64())
        .collect();
    assert!(bits.contains(&4), "some layer must narrow: {bits:?}");
    // `pare eval` raises the QDQ file into the quantized IR: integer arithmetic.
    let (float, mixed) = (
        digits_accuracy(&model),
        digits_accuracy(&out.to_string_lossy()),
    );
    assert!(float - mixed <= 0.01, "float {float}, mixed {mixed}");
}

/// A conv net on 3×48×48 inputs (27 KiB per sample): if calibration held the
/// data or the activations, 640 samples would cost ~17 MiB more than 40.
#[test]
fn calibration_memory_does_not_grow_with_samples() {
    let dir = scratch("memory");
    let model = dir.join("net.pir");
    std::fs::write(&model, memory_net()).unwrap();
    let data = dir.join("calib.npy");
    let n = 640usize;
    let mut s: u32 = 1;
    let vals: Vec<f32> = (0..n * 3 * 48 * 48)
        .map(|_| {
            s = s.wrapping_mul(1664525).wrapping_add(1013904223);
            (s >> 8) as f32 / (1u32 << 24) as f32
        })
        .collect();
    let t = pare_ir::Tensor::from_vec(vec![n, 3, 48, 48], vals).unwrap();
    std::fs::write(&data, pare_npy::encode_npy(&t).unwrap()).unwrap();
    let rss = |samples: &str| {
        let rep = compile(
            &model.to_string_lossy(),
            &dir.join(format!("q{samples}.pir")),
            &[
                "--quantize",
                "int8",
                "--calib",
                &data.to_string_lossy(),
                "--calib-samples",
                samples,
                "--batch",
                "8",
            ],
        );
        assert_eq!(
            rep["calibration"]["samples"].as_u64().unwrap().to_string(),
            samples
        );
        rep["peak_rss_bytes"]["value"].as_u64().unwrap()
    };
    let (small, large) = (rss("40"), rss("640"));
    assert!(
        large < small + (4 << 20),
        "peak RSS {small} B with 40 samples, {large} B with 640"
    );
}

/// Conv 3→8 (3×3) + ReLU + global average pool over `[N, 3, 48, 48]`.
fn memory_net() -> String {
    let w: Vec<String> = (0..216)
        .map(|k| format!("{}", ((k * 37) % 17) as f32 / 40.0 - 0.2))
        .collect();
    format!(
        "graph @net(%x \"x\": f32[N,3,48,48]) -> (f32[N,8,1,1]) {{
  $w \"w\": f32[8,3,3,3] = [{}]
  $b \"b\": f32[8] = [0.01, -0.02, 0.03, 0.0, 0.01, -0.01, 0.02, 0.0]
  %c \"c\": f32[N,8,48,48] = conv(%x, $w, $b) {{auto_pad=\"NOTSET\", kernel_shape=[3,3], strides=[1,1], pads=[1,1,1,1], dilations=[1,1], group=1}}
  %r \"r\": f32[N,8,48,48] = relu(%c)
  %y \"y\": f32[N,8,1,1] = global_average_pool(%r)
  return %y
}}
",
        w.join(", ")
    )
}

#[test]
fn bad_requests_fail_with_one_line() {
    let dir = scratch("errors");
    let model = fixture("digits_cnn.onnx");
    let out = dir.join("x.onnx").to_string_lossy().into_owned();
    let cases: &[(&[&str], &str)] = &[
        (&["--quantize", "int8"], "needs --calib"),
        (
            &[
                "--quantize",
                "int8",
                "--calib",
                &format!("{}:nope", fixture("digits.npz")),
            ],
            "x_train",
        ),
        (
            &[
                "--quantize",
                "int8",
                "--calib",
                &digits_train(),
                "--size-budget",
                "1000",
            ],
            "mixed only",
        ),
        (
            &["--quantize", "mixed", "--calib", &digits_train()],
            "--size-budget",
        ),
        (
            &[
                "--quantize",
                "mixed",
                "--calib",
                &digits_train(),
                "--size-budget",
                "5000",
            ],
            "budget",
        ),
        (
            &[
                "--quantize",
                "int8",
                "--calib",
                &digits_train(),
                "--calib-method",
                "bogus",
            ],
            "calib-method",
        ),
    ];
    for (extra, want) in cases {
        let mut args = vec!["compile", model.as_str(), "-o", out.as_str()];
        args.extend_from_slice(extra);
        let o = pare(&args);
        assert_eq!(o.status.code(), Some(1), "{extra:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains(want), "{extra:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(!Path::new(&out).exists(), "{extra:?} left an artifact");
    }
}

/// The QDQ ONNX pare writes, run by onnxruntime's integer kernels, agrees with
/// pare's integer interpreter on ≥ 99 % of top-1 predictions (digits test split).
#[test]
fn onnxruntime_and_the_integer_interpreter_agree_on_pares_qdq_onnx() {
    let dir = scratch("ort_agreement");
    for name in ["digits_cnn", "digits_transformer"] {
        let model = fixture(&format!("{name}.onnx"));
        let onnx = dir.join(format!("{name}.onnx"));
        compile(
            &model,
            &onnx,
            &["--quantize", "int8", "--calib", &digits_train()],
        );
        let ort_out = dir.join(format!("{name}.ort.npy"));
        let o = std::process::Command::new(python())
            .arg(root().join("tests/oracle/ort_run.py"))
            .args([
                onnx.as_os_str(),
                fixture("digits.npz").as_ref(),
                "x_test".as_ref(),
                ort_out.as_os_str(),
            ])
            .output()
            .expect("run ort_run.py");
        assert!(
            o.status.success(),
            "onnxruntime failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let x = dir.join("x_test.npy");
        let all = pare_npy::read_npz(Path::new(&fixture("digits.npz"))).unwrap();
        let xt = &all.iter().find(|(k, _)| k == "x_test").unwrap().1;
        std::fs::write(&x, pare_npy::encode_npy(xt).unwrap()).unwrap();
        let out_dir = dir.join(format!("{name}_pare"));
        let r = pare(&[
            "run",
            &onnx.to_string_lossy(),
            "--input",
            &x.to_string_lossy(),
            "-o",
            &out_dir.to_string_lossy(),
        ]);
        assert!(r.status.success(), "{}", stderr(&r));
        let ours = pare_npy::read_npy(&out_dir.join("logits.npy")).unwrap();
        let theirs = pare_npy::read_npy(&ort_out).unwrap();
        let top1 = |t: &pare_ir::Tensor| -> Vec<usize> {
            t.to_f64_vec()
                .chunks(10)
                .map(|r| (0..10).fold(0, |b, i| if r[i] > r[b] { i } else { b }))
                .collect()
        };
        let (a, b) = (top1(&ours), top1(&theirs));
        assert_eq!(a.len(), 500);
        let agree = a.iter().zip(&b).filter(|(x, y)| x == y).count() as f64 / a.len() as f64;
        eprintln!("{name}: onnxruntime vs pare integer interpreter top-1 agreement {agree:.4}");
        assert!(agree >= 0.99, "{name}: agreement {agree}");
    }
}

/// `--fake-quant` runs the quantized graph through float kernels: the figures
/// stay close to the integer run's but are computed differently (the
/// transformer's means and softmax round differently), and `--rounding single`
/// is accepted.
#[test]
fn eval_fake_quant_and_rounding_modes() {
    let dir = scratch("fake_quant");
    let model = fixture("digits_transformer.onnx");
    let pir = dir.join("t.pir");
    compile(
        &model,
        &pir,
        &[
            "--quantize",
            "int8",
            "--calib",
            &digits_train(),
            "--calib-samples",
            "300",
        ],
    );
    let digits = fixture("digits.npz");
    let run = |extra: &[&str]| {
        let mut args = vec!["eval", pir.to_str().unwrap(), "--data", &digits];
        args.extend_from_slice(&["--x", "x_test", "--reference", &model, "--json"]);
        args.extend_from_slice(extra);
        let v = json_of(&args);
        (
            v["sqnr_db"].as_f64().unwrap(),
            v["max_abs_error"].as_f64().unwrap(),
        )
    };
    let int = run(&[]);
    let fake = run(&["--fake-quant"]);
    let single = run(&["--rounding", "single"]);
    assert!(
        int.0 > 20.0 && fake.0 > 20.0 && single.0 > 20.0,
        "{int:?} {fake:?} {single:?}"
    );
    assert_ne!(int, fake, "fake-quant must take the float path");
    assert!((int.0 - fake.0).abs() < 1.0, "{int:?} vs {fake:?}");
}

#[test]
fn weight_only_modes_need_no_calibration_and_keep_accuracy() {
    let dir = scratch("weight_only");
    let model = fixture("digits_cnn.onnx");
    for (scheme, max_ratio) in [("int8-weights", 0.3), ("int4-weights", 0.17)] {
        let out = dir.join(format!("{scheme}.onnx"));
        let rep = compile(&model, &out, &["--quantize", scheme]);
        assert!(rep.get("calibration").is_none());
        let ratio = rep["size_ratio"]["value"].as_f64().unwrap();
        assert!(ratio <= max_ratio, "{scheme}: {ratio}");
        let acc = digits_accuracy(&out.to_string_lossy());
        assert!(acc >= 0.985, "{scheme}: accuracy {acc}");
    }
}
