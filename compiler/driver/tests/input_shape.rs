//! `--input-shape NAME=D0,D1,...` on `pare run`, `pare eval` and `pare compile`:
//! a declared (even fixed) input shape replaced at import, inference re-run;
//! errors name the input, or the node that cannot take the shape.

mod common;

use common::{fixture, image_calib, json_of, pare, scratch, stderr};
use pare_ir::Tensor;
use std::path::Path;

fn write_npy(path: &Path, shape: &[usize], seed: u64) {
    let n: usize = shape.iter().product();
    let mut rng = fastrand_like(seed);
    let v: Vec<f32> = (0..n).map(|_| rng()).collect();
    let t = Tensor::from_vec(shape.to_vec(), v).expect("tensor");
    std::fs::write(path, pare_npy::encode_npy(&t).expect("npy")).expect("write");
}

/// A small deterministic generator of floats in [0, 1) (no extra dependency).
fn fastrand_like(seed: u64) -> impl FnMut() -> f32 {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 40) as f32) / (1u64 << 24) as f32
    }
}

/// `pare compile` of micro_cnn at 16×16 in int8 on 8 seeded random images
/// (written to `dir`), with `extra` arguments.
fn compile_micro16(dir: &Path, extra: &[&str]) -> std::process::Output {
    let x16 = dir.join("x16.npy");
    write_npy(&x16, &[8, 1, 16, 16], 3);
    let (m, x) = (fixture("micro_cnn.onnx"), x16.to_string_lossy().to_string());
    let mut args = vec![
        "compile",
        m.as_str(),
        "--input-shape",
        "input=1,1,16,16",
        "--quantize",
        "int8",
        "--calib",
        x.as_str(),
        "--sensitivity-samples",
        "0",
    ];
    args.extend_from_slice(extra);
    pare(&args)
}

fn read_npy(path: &Path) -> Tensor {
    pare_npy::read_npy(path).expect("reads the output")
}

#[test]
fn run_takes_a_fixed_input_at_another_size() {
    let dir = scratch("shape_run");
    let x = dir.join("x96.npy");
    write_npy(&x, &[1, 3, 96, 96], 1);
    let m = fixture("mobilenet_v3_small.onnx");
    let input = format!("input={}", x.display());
    let out = dir.join("out");
    let out_s = out.to_string_lossy().into_owned();
    // Declared [1,3,224,224]: the 96x96 sample is refused as it is ...
    let o = pare(&["run", &m, "--input", &input, "-o", &out_s]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    // ... and taken with the override: MobileNetV3 pools globally, so any size works.
    let o = pare(&[
        "run",
        &m,
        "--input-shape",
        "input=1,3,96,96",
        "--input",
        &input,
        "-o",
        &out_s,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let y = read_npy(&out.join("logits.npy"));
    assert_eq!(y.shape(), &[1, 1000]);
    assert!(y.to_f32_vec().iter().all(|v| v.is_finite()));
}

#[test]
fn errors_name_the_input_or_the_node() {
    let dir = scratch("shape_errors");
    let x = dir.join("x.npy");
    write_npy(&x, &[1, 1, 16, 16], 2);
    let input = format!("input={}", x.display());
    let out = dir.join("out").to_string_lossy().into_owned();
    let run = |model: &str, shape: &str| {
        pare(&[
            "run",
            &fixture(model),
            "--input-shape",
            shape,
            "--input",
            &input,
            "-o",
            &out,
        ])
    };
    // Not an input: the model's inputs are listed.
    let o = run("micro_cnn.onnx", "image=1,1,16,16");
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("--input-shape") && e.contains("`image` is not an input of the model"),
        "{e}"
    );
    assert!(e.contains("`input` f32[batch,1,8,8]"), "{e}");
    // digits_cnn flattens into a Linear of 16*2*2 inputs: 16x16 cannot work, and
    // the Gemm (or MatMul) that rejects it is named.
    let o = run("digits_cnn.onnx", "input=1,1,16,16");
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("the model cannot take input `input` as [1, 1, 16, 16]"),
        "{e}"
    );
    assert!(e.contains("node `"), "{e}");
    assert!(e.contains("(gemm)"), "{e}");
    // A rank the first conv cannot take.
    let o = run("micro_cnn.onnx", "input=1,16,16");
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("node `") && e.contains("(conv)"), "{e}");
    // Malformed values are usage errors (exit 2).
    for bad in ["input", "input=1,x,16", "=1,1,8,8", "input=1,0,8,8"] {
        let o = run("micro_cnn.onnx", bad);
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("NAME=D0,D1,..."),
            "{bad}: {}",
            stderr(&o)
        );
    }
    // micro_cnn pools with ReduceMean: 16x16 runs.
    let o = run("micro_cnn.onnx", "input=1,1,16,16");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        read_npy(&Path::new(&out).join("logits.npy")).shape(),
        &[1, 10]
    );
}

#[test]
fn eval_and_compile_take_the_override() {
    let dir = scratch("shape_eval");
    let data = image_calib(&dir, 4, 96);
    let d = data.to_string_lossy().into_owned();
    let m = fixture("mobilenet_v3_small.onnx");
    // The model against itself at 96x96: identical outputs.
    let v = json_of(&[
        "eval",
        &m,
        "--data",
        &d,
        "--reference",
        &m,
        "--input-shape",
        "input=1,3,96,96",
        "--json",
    ]);
    assert_eq!(v["n"], 4, "{v}");
    assert_eq!(v["agreement"], 1.0, "{v}");
    // compile: micro_cnn quantized at 16x16 (calibration data of that size).
    let pir = dir.join("micro16.pir");
    // Eight random images: one flipped top-1 is 0.875 agreement; this test
    // is about the shape override, not the fidelity floor.
    let o = compile_micro16(
        &dir,
        &["--min-fidelity", "none", "-o", &pir.to_string_lossy()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&pir).expect("the .pir");
    assert!(
        text.contains("\"input\": f32[1,1,16,16]"),
        "{}",
        &text[..text.len().min(400)]
    );
}

/// `pare inspect --input-shape` counts MACs at the given shape: a model whose
/// symbolic or small declared dims would not say what it costs at the size it
/// is run at (PP-OCR's recognizer cannot be typed with H = W = 1 at all).
#[test]
fn inspect_counts_macs_at_the_given_shape() {
    let macs = |extra: &[&str]| -> u64 {
        let m = fixture("micro_cnn.onnx");
        let mut args = vec!["inspect", m.as_str(), "--json"];
        args.extend_from_slice(extra);
        let v = json_of(&args);
        v["macs"].as_u64().unwrap_or_else(|| panic!("no MACs: {v}"))
    };
    let declared = macs(&[]);
    let larger = macs(&["--input-shape", "input=1,1,16,16"]);
    assert!(
        larger > declared,
        "{larger} MACs at 16x16 vs {declared} declared"
    );
    let o = pare(&[
        "inspect",
        &fixture("micro_cnn.onnx"),
        "--input-shape",
        "nosuch=1,1,16,16",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("nosuch"), "{}", stderr(&o));
}

/// On eight random images the fidelity floor's best candidate island scores
/// better before bias correction than after it: it is not kept, and the
/// whole-model last resort holds the floor. No raise the report lists
/// measures worse than the model before it.
#[test]
fn a_raise_that_measures_worse_once_finished_is_not_kept() {
    let dir = scratch("raise_guard");
    let report = dir.join("r.json");
    let o = compile_micro16(
        &dir,
        &[
            "-o",
            &dir.join("m.pir").to_string_lossy(),
            "--report",
            &report.to_string_lossy(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    for r in v["fidelity_floor"]["raised"].as_array().unwrap() {
        let (b, a) = (&r["before"], &r["after"]);
        let more = a["agreement"].as_f64() > b["agreement"].as_f64()
            || a["sqnr_db"].as_f64() > b["sqnr_db"].as_f64()
            || a["sqnr_db"].is_null();
        assert!(more, "a raise measured worse: {r}");
    }
    // The island (`/ReduceMean`: 0.875 → 0.875, 39.2 → 36.0 dB once
    // finished) was dropped; float activations everywhere agree on all 8.
    let raised = v["fidelity_floor"]["raised"].as_array().unwrap();
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert_eq!(raised[0]["value"], "every value (int8 weights)");
    assert_eq!(raised[0]["after"]["agreement"], 1.0);
}
