//! ONNX export: every fixture, as imported and after `cleanup`, is written by pare,
//! checked by `onnx.checker` (full check) and run by onnxruntime, which must give
//! the same outputs as on the original model. Export is deterministic.

mod support;

use std::process::Command;

const FIXTURES: [&str; 6] = [
    "micro_cnn.onnx",
    "digits_cnn.onnx",
    "digits_transformer.onnx",
    "digits_vae.onnx",
    "mobilenet_v2.onnx",
    "mobilenet_v3_small.onnx",
];

#[test]
fn exported_fixtures_pass_checker_and_match_onnxruntime() {
    let py = support::python();
    let refs = support::oracle_data("fixtures");
    let dir = support::scratch_dir("onnx_export");
    let mut failures = Vec::new();
    for model in FIXTURES {
        let src = support::fixture(model);
        let g = pare_onnx::import_file(&src).expect("import");
        let mut cleaned = g.clone();
        pare_passes::run_pipeline(&mut cleaned, "cleanup").expect("cleanup");
        for (label, graph) in [("imported", &g), ("cleanup", &cleaned)] {
            let out = dir.join(format!("{label}_{model}"));
            pare_onnx::export_file(graph, &out, &pare_onnx::ExportOptions::default())
                .expect("export");
            let result = Command::new(&py)
                .arg(support::repo_root().join("tests/oracle/check_onnx.py"))
                .arg(&src)
                .arg(&out)
                .arg(refs.join(model.replace(".onnx", ".npz")))
                .arg("1e-4")
                .arg("1e-5")
                .output()
                .expect("run check_onnx.py");
            let stdout = String::from_utf8_lossy(&result.stdout);
            print!("{model} ({label}): {stdout}");
            if !result.status.success() {
                failures.push(format!(
                    "{model} ({label}): {stdout}{}",
                    String::from_utf8_lossy(&result.stderr)
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "exported models failed:\n{}",
        failures.join("\n")
    );
}

#[test]
fn export_is_deterministic_and_round_trips() {
    for model in ["digits_transformer.onnx", "digits_cnn.onnx"] {
        let g = pare_onnx::import_file(&support::fixture(model)).expect("import");
        let a = pare_onnx::export_model(&g, &pare_onnx::ExportOptions::default()).expect("export");
        let b = pare_onnx::export_model(&g.clone(), &pare_onnx::ExportOptions::default())
            .expect("export");
        assert_eq!(a, b, "{model}: two exports differ");
        let mut again = pare_onnx::import_bytes(&a, None, model).expect("re-import");
        // Export always writes opset 21 / IR version 10; everything else must survive.
        assert_eq!((again.meta.opset, again.meta.ir_version), (21, 10));
        again.meta = g.meta.clone();
        assert_eq!(
            pare_ir::text::print(&again),
            pare_ir::text::print(&g),
            "{model}: export→import changed the graph"
        );
    }
}
