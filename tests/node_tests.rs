//! ONNX backend node tests (generated from the onnx wheel's own generators by
//! `tests/oracle/gen_node_tests.py`) run through pare's importer and interpreter.
//!
//! `tests/conformance/node_manifest.txt` lists the cases pare passes; every one of
//! them must keep passing (the manifest only grows). Cases outside the manifest are
//! run too and reported, so a newly passing case is visible. `PARE_BLESS=1` rewrites
//! the manifest to the passing set.

mod support;

use std::collections::BTreeSet;
use std::path::Path;

/// The tolerance ONNX's own backend test runner uses.
const RTOL: f64 = 1e-3;
const ATOL: f64 = 1e-7;

fn run_case(dir: &Path) -> Result<(), String> {
    let g = pare_onnx::import_file(&dir.join("model.onnx")).map_err(|e| format!("import: {e}"))?;
    let mut sets: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    sets.sort();
    for set in sets {
        let read_all = |kind: &str| -> Result<Vec<pare_ir::Tensor>, String> {
            let mut out = Vec::new();
            for i in 0.. {
                let p = set.join(format!("{kind}_{i}.pb"));
                if !p.exists() {
                    break;
                }
                out.push(
                    pare_onnx::read_tensor_pb(&p)
                        .map_err(|e| format!("reading {}: {e}", p.display()))?,
                );
            }
            Ok(out)
        };
        let inputs = read_all("input")?;
        let expected = read_all("output")?;
        let actual = pare_ir::interp::run(&g, &inputs).map_err(|e| format!("run: {e}"))?;
        if actual.len() != expected.len() {
            return Err(format!(
                "{} outputs, expected {}",
                actual.len(),
                expected.len()
            ));
        }
        for (i, (a, e)) in actual.iter().zip(&expected).enumerate() {
            support::compare_onnx_style(a, e, RTOL, ATOL)
                .map_err(|m| format!("output {i}: {m}"))?;
        }
    }
    Ok(())
}

#[test]
fn onnx_backend_node_tests() {
    let data = support::oracle_data("node");
    let manifest_path = support::repo_root().join("tests/conformance/node_manifest.txt");
    let manifest_text = std::fs::read_to_string(&manifest_path).unwrap_or_default();
    let manifest: BTreeSet<String> = manifest_text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();

    let mut cases: Vec<_> = std::fs::read_dir(&data)
        .expect("node test dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("model.onnx").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    cases.sort();

    let mut passed = BTreeSet::new();
    let mut regressions = Vec::new();
    for case in &cases {
        let dir = data.join(case);
        // A panic is a bug in pare, never an expected failure: let it fail the test.
        match run_case(&dir) {
            Ok(()) => {
                passed.insert(case.clone());
            }
            Err(e) if manifest.contains(case) => regressions.push(format!("{case}: {e}")),
            Err(e) => {
                if std::env::var_os("PARE_NODE_VERBOSE").is_some() {
                    eprintln!("not passing (not in manifest): {case}: {e}");
                }
            }
        }
    }
    let missing: Vec<_> = manifest.iter().filter(|c| !cases.contains(c)).collect();
    let new: Vec<_> = passed.iter().filter(|c| !manifest.contains(*c)).collect();
    println!(
        "node tests: {} of {} generated cases pass; manifest {} cases; {} newly passing",
        passed.len(),
        cases.len(),
        manifest.len(),
        new.len()
    );
    if std::env::var_os("PARE_BLESS").is_some() {
        let mut text = String::from(
            "# ONNX backend node tests pare passes (onnx 1.16.2 generators). Only grows.\n# Regenerate: PARE_BLESS=1 cargo test -p pare-tests --test node_tests\n",
        );
        for c in &passed {
            text.push_str(c);
            text.push('\n');
        }
        std::fs::write(&manifest_path, text).expect("write manifest");
        println!(
            "blessed {} cases into {}",
            passed.len(),
            manifest_path.display()
        );
        return;
    }
    for c in &new {
        println!("newly passing, add to the manifest: {c}");
    }
    assert!(
        missing.is_empty(),
        "manifest cases missing from the generated data: {missing:?}"
    );
    assert!(
        regressions.is_empty(),
        "{} manifest cases fail:\n{}",
        regressions.len(),
        regressions.join("\n")
    );
    assert!(
        manifest.len() >= 700,
        "the manifest shrank to {} cases",
        manifest.len()
    );
}
