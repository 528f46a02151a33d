//! Benchmark: pare's reference interpreter against onnxruntime (one thread each) on
//! the fixture models, in the same run, printing medians and the ratio.
//!
//! Run with `cargo bench -p pare-tests` after `bash scripts/setup-tests.sh`. Wall
//! time is noisy on shared machines; read the ratio, not the absolute numbers.

#[path = "../support/mod.rs"]
mod support;

use std::process::Command;
use std::time::Instant;

const RUNS: usize = 10;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let refs = support::oracle_data("fixtures");
    let py = support::python();
    println!(
        "{:<24} {:>12} {:>14} {:>8}",
        "model", "pare (ms)", "onnxruntime", "ratio"
    );
    for model in [
        "micro_cnn.onnx",
        "digits_cnn.onnx",
        "digits_transformer.onnx",
        "mobilenet_v2.onnx",
        "mobilenet_v3_small.onnx",
    ] {
        let path = support::fixture(model);
        let npz = refs.join(model.replace(".onnx", ".npz"));
        let g = pare_onnx::import_file(&path).expect("import");
        let arrays = support::read_npz(&npz);
        let inputs: Vec<_> = g
            .inputs
            .iter()
            .map(|&v| {
                let key = format!("in_{}", g.value(v).name);
                arrays
                    .iter()
                    .find(|(n, _)| *n == key)
                    .expect("input in refs")
                    .1
                    .clone()
            })
            .collect();
        pare_ir::interp::run(&g, &inputs).expect("warm-up run");
        let pare = median(
            (0..RUNS)
                .map(|_| {
                    let t = Instant::now();
                    pare_ir::interp::run(&g, &inputs).expect("run");
                    t.elapsed().as_secs_f64()
                })
                .collect(),
        );
        let out = Command::new(&py)
            .arg(support::repo_root().join("tests/oracle/bench_ort.py"))
            .arg(&path)
            .arg(&npz)
            .arg(RUNS.to_string())
            .output()
            .expect("run bench_ort.py");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ort: f64 = String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("seconds");
        println!(
            "{model:<24} {:>12.3} {:>11.3} ms {:>7.1}x",
            pare * 1e3,
            ort * 1e3,
            pare / ort
        );
    }
}
