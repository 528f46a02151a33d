//! Sparse weights exported to ONNX and run by onnxruntime: a pruned float digits
//! CNN as `sparse_initializer`s (same outputs as pare's interpreter, and pare
//! imports the file back), and the pruned int8 / int4 CNN as bitmap + codes with a
//! decode subgraph (outputs identical to the dense export of the same codes), with
//! the file sizes against the plain int8 export measured and printed; pare reads
//! both forms back.

mod support;

use pare_ir::{Graph, Tensor};
use pare_onnx::proto::ModelProto;
use pare_passes::{pipeline_from_spec, PassCx, PassManager, PassOptions};
use prost::Message;
use std::path::{Path, PathBuf};
use std::process::Command;

const TEST_SAMPLES: usize = 500;

fn run_spec(g: &mut Graph, spec: &str) {
    let mut p = pipeline_from_spec(spec).unwrap_or_else(|e| panic!("{spec}: {e}"));
    let mut cx = PassCx::new(PassOptions {
        verify: true,
        ..PassOptions::default()
    });
    PassManager::new()
        .run(&mut p, g, &mut cx)
        .unwrap_or_else(|e| panic!("{spec}: {e}"));
    for l in &cx.log {
        if l.pass.starts_with("prune") || l.pass == "sparse-encode" {
            println!("; {}: {}", l.pass, l.message);
        }
    }
}

fn digits_cnn() -> Graph {
    let mut g = pare_onnx::import_file(&support::fixture("digits_cnn.onnx")).expect("import");
    run_spec(&mut g, "remove-identity,fold-constants,dce,fold-batchnorm");
    g
}

fn export(g: &Graph, path: &Path) -> u64 {
    pare_onnx::export_file(g, path, &pare_onnx::ExportOptions::default()).expect("export");
    std::fs::metadata(path).expect("exported file").len()
}

fn model(path: &Path) -> ModelProto {
    ModelProto::decode(&std::fs::read(path).expect("read model")[..]).expect("decode model")
}

/// Runs `models` in onnxruntime on the digits test set (optimizations off and
/// on); returns each model's `[none, all]` outputs.
fn ort_outputs(dir: &Path, models: &[&Path]) -> Vec<[Tensor; 2]> {
    let out = Command::new(support::python())
        .arg(support::repo_root().join("tests/oracle/ort_sparse.py"))
        .arg(support::fixture("digits.npz"))
        .arg("x_test")
        .arg(TEST_SAMPLES.to_string())
        .arg(dir)
        .args(models)
        .output()
        .expect("run ort_sparse.py");
    print!("{}", String::from_utf8_lossy(&out.stdout));
    assert!(
        out.status.success(),
        "onnxruntime failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (0..models.len())
        .map(|i| {
            [
                support::read_npy(&dir.join(format!("{i}_none.npy"))),
                support::read_npy(&dir.join(format!("{i}_all.npy"))),
            ]
        })
        .collect()
}

fn test_inputs() -> (Tensor, Vec<i64>) {
    let data = support::read_npz(&support::fixture("digits.npz"));
    let get = |k: &str| data.iter().find(|(n, _)| n == k).unwrap().1.clone();
    let x = get("x_test");
    let x = Tensor::from_vec(
        vec![TEST_SAMPLES, 1, 8, 8],
        x.as_slice::<f32>().unwrap()[..TEST_SAMPLES * 64].to_vec(),
    )
    .unwrap();
    let y = get("y_test").as_slice::<i64>().unwrap()[..TEST_SAMPLES].to_vec();
    (x, y)
}

fn accuracy(logits: &Tensor, labels: &[i64]) -> f64 {
    let v = logits.to_f32_vec();
    let classes = v.len() / labels.len();
    let hits = v
        .chunks_exact(classes)
        .zip(labels)
        .filter(|(row, &y)| {
            let best = (0..classes)
                .max_by(|&a, &b| row[a].total_cmp(&row[b]).then(b.cmp(&a)))
                .unwrap();
            best as i64 == y
        })
        .count();
    hits as f64 / labels.len() as f64
}

#[test]
fn pruned_float_model_exports_sparse_initializers_that_onnxruntime_runs() {
    let dir = support::scratch_dir("onnx_sparse_float");
    let mut g = digits_cnn();
    // INT64 indices (what onnx.checker accepts) pay off below 1/3 density.
    run_spec(&mut g, "prune-unstructured{ratio=0.8}");
    let path = dir.join("pruned.onnx");
    let bytes = export(&g, &path);
    let m = model(&path);
    let graph = m.graph.as_ref().unwrap();
    assert!(
        !graph.sparse_initializer.is_empty(),
        "the pruned weights are sparse initializers"
    );
    let (x, _) = test_inputs();
    let ours = pare_ir::interp::run(&g, &[x]).expect("interp");
    let [none, all] = &ort_outputs(&dir, &[&path])[0];
    for theirs in [none, all] {
        let d = support::max_abs_diff(&ours[0], theirs);
        assert!(d < 1e-4, "onnxruntime differs from pare by {d}");
    }
    // pare reads what it wrote: the same weights, still stored sparse.
    let back = pare_onnx::import_file(&path).expect("re-import");
    let sparse_back = back.weights().filter(|(_, w)| w.is_sparse()).count();
    assert_eq!(
        sparse_back,
        graph.sparse_initializer.len(),
        "each sparse initializer comes back sparse"
    );
    let again = pare_ir::interp::run(&back, &[test_inputs().0]).expect("interp");
    assert_eq!(again[0].to_le_bytes(), ours[0].to_le_bytes());
    println!("pruned float digits CNN: {bytes} bytes");
}

/// Quantizes the digits CNN (pruned by `prune` first, a pass spec, when given),
/// and returns the dense-coded graph and its sparse-encoded twin.
fn quantized(scheme: &str, prune: Option<&str>) -> (Graph, Graph) {
    let mut g = digits_cnn();
    let calib = support::fixture("digits.npz");
    let prune_spec = prune.map_or(String::new(), |p| format!("{p},"));
    run_spec(
        &mut g,
        &format!(
            "{prune_spec}quantize{{scheme={scheme},calib={}:x_train,samples=256}}",
            calib.display()
        ),
    );
    let mut sparse = g.clone();
    run_spec(&mut sparse, "sparse-encode");
    (g, sparse)
}

/// Pruning at 50 % three ways, then int8 or int4: the sparse ONNX export runs in
/// onnxruntime with outputs identical to the dense export of the same codes, is
/// smaller, and is written the same twice. Prints sizes against the plain
/// (unpruned) export and accuracy on 500 test digits.
#[test]
fn pruned_int8_and_int4_export_bitmaps_onnxruntime_decodes_exactly() {
    let (_, labels) = test_inputs();
    let prunings = [
        ("global", "prune-unstructured{ratio=0.5}"),
        ("layer", "prune-unstructured{ratio=0.5,scope=layer}"),
        ("2:4", "prune-unstructured{pattern=2:4}"),
    ];
    for scheme in ["int8", "int4"] {
        let dir = support::scratch_dir(&format!("onnx_sparse_{scheme}"));
        let path = |n: &str| -> PathBuf { dir.join(format!("{n}.onnx")) };
        let (plain, _) = quantized(scheme, None);
        let plain_bytes = export(&plain, &path("plain"));
        let mut files = vec![path("plain")];
        let mut sizes = Vec::new();
        for (label, spec) in prunings {
            let (dense, sparse) = quantized(scheme, Some(spec));
            let dense_bytes = export(&dense, &path(&format!("{label}_dense")));
            let sparse_bytes = export(&sparse, &path(&format!("{label}_sparse")));
            let again = dir.join("again.onnx");
            export(&sparse, &again);
            assert_eq!(
                std::fs::read(&again).unwrap(),
                std::fs::read(path(&format!("{label}_sparse"))).unwrap(),
                "{scheme} {label}: export is deterministic"
            );
            let decoded = model(&path(&format!("{label}_sparse")))
                .graph
                .unwrap()
                .node
                .iter()
                .filter(|n| n.op_type.as_deref() == Some("CumSum"))
                .count();
            assert!(
                decoded >= 1,
                "{scheme} {label}: fc1 (half zero or more) is decoded in the graph"
            );
            assert!(
                sparse_bytes < dense_bytes,
                "{scheme} {label}: the sparse export is smaller"
            );
            // pare reads what it wrote: the decode subgraph folds back into the
            // same codes, so pare's interpreter gives what the dense file gives.
            let read = |n: &str| {
                let mut g = pare_onnx::import_file(&path(n)).expect("re-import");
                run_spec(&mut g, "fold-constants,dce");
                pare_ir::interp::run(&g, &[test_inputs().0]).expect("interp")
            };
            assert_eq!(
                read(&format!("{label}_dense"))[0].to_le_bytes(),
                read(&format!("{label}_sparse"))[0].to_le_bytes(),
                "{scheme} {label}: pare runs its sparse export like the dense one"
            );
            files.push(path(&format!("{label}_dense")));
            files.push(path(&format!("{label}_sparse")));
            sizes.push((label, dense_bytes, sparse_bytes));
        }
        let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
        let outs = ort_outputs(&dir, &refs);
        let acc_plain = accuracy(&outs[0][1], &labels);
        println!("digits CNN {scheme}: plain {plain_bytes} B, accuracy {acc_plain:.3}");
        for (k, (label, dense_bytes, sparse_bytes)) in sizes.into_iter().enumerate() {
            let (d, s) = (&outs[1 + 2 * k], &outs[2 + 2 * k]);
            // The same codes: identical outputs, with and without ORT's optimizations.
            for (level, (a, b)) in ["none", "all"].iter().zip(d.iter().zip(s)) {
                assert_eq!(
                    a.to_le_bytes(),
                    b.to_le_bytes(),
                    "{scheme} {label}: sparse and dense exports of the same codes differ (optimizations {level})"
                );
            }
            println!(
                "  pruned 50% {label:>6}: dense {dense_bytes} B, sparse {sparse_bytes} B = {:.3} x plain, accuracy {:.3}",
                sparse_bytes as f64 / plain_bytes as f64,
                accuracy(&s[1], &labels)
            );
        }
    }
}
