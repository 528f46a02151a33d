//! The pass table on the command line: `pare opt --list [--json]`, pass specs
//! with typed options on `pare opt --passes`, and `pare compile` running its
//! pipeline through the pass manager (`--print-after-all`).

mod common;

use common::{pare, root, scratch, stderr};

fn example() -> String {
    root()
        .join("examples/micro_cnn/model.onnx")
        .to_string_lossy()
        .into_owned()
}

#[test]
fn list_json_describes_every_pass_with_typed_options() {
    let o = pare(&["opt", "--list", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON object");
    let passes = v["passes"].as_array().unwrap();
    let names: Vec<&str> = passes.iter().map(|p| p["name"].as_str().unwrap()).collect();
    for want in [
        "bias-correct",
        "equalize",
        "fold-luts",
        "fp16",
        "mixed-precision",
        "quantize",
        "dce",
        "fold-constants",
        "raise-qdq",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    let quantize = passes.iter().find(|p| p["name"] == "quantize").unwrap();
    let scheme = quantize["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "scheme")
        .unwrap();
    assert_eq!(scheme["default"], "int8");
    assert!(
        scheme["type"].as_str().unwrap().contains("int4"),
        "{scheme}"
    );
    assert!(!scheme["help"].as_str().unwrap().is_empty());
    let calib = quantize["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "calib")
        .unwrap();
    assert!(calib["default"].is_null());
    assert_eq!(v["pipelines"][0]["name"], "cleanup");
    let text = pare(&["opt", "--list"]);
    assert!(text.status.success());
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("mixed-precision") && text.contains("budget: int"),
        "{text}"
    );
}

#[test]
fn opt_runs_quantization_specs_and_names_what_is_wrong() {
    let d = scratch("opt-spec");
    let out = d.join("q.pir");
    let out_s = out.to_str().unwrap();
    let o = pare(&[
        "opt",
        &example(),
        "--passes",
        "fold-constants,dce,quantize{scheme=int8,calib=random:16:1},bias-correct{calib=random:16:1}",
        "--print-after-all",
        "-o",
        out_s,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("!q("), "the written graph is quantized");
    let err = stderr(&o);
    for pass in ["fold-constants", "dce", "quantize", "bias-correct"] {
        assert!(err.contains(&format!("; after {pass}\n")), "{pass}: {err}");
    }
    // The quantized graph runs: the integer interpreter on the example digits.
    let input = root().join("examples/micro_cnn/digits.npy");
    let run_dir = d.join("run");
    let r = pare(&[
        "run",
        out_s,
        "--input",
        input.to_str().unwrap(),
        "-o",
        run_dir.to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{}", stderr(&r));
    for (spec, want) in [
        ("quantize{scheme=int3}", "one of int8, int4, fp16"),
        ("quantize{bits=4}", "its options: scheme, calib"),
        ("quantize{scheme=int8", "unmatched `{`"),
        ("quantize{scheme=int8}", "needs calibration data"),
        ("mixed-precision{calib=random:4:1}", "`budget`"),
    ] {
        let o = pare(&["opt", &example(), "--passes", spec, "-o", out_s]);
        assert_eq!(o.status.code(), Some(1), "{spec}");
        let e = stderr(&o);
        assert!(e.contains(want), "{spec}: {e}");
        assert_eq!(e.trim_end().lines().count(), 1, "{e}");
    }
}

#[test]
fn compile_runs_its_pipeline_through_the_pass_manager() {
    let d = scratch("compile-print");
    let out = d.join("q.pir");
    let o = pare(&[
        "compile",
        &example(),
        "--quantize",
        "int8",
        "--calib",
        "random:32:1",
        "--bias-correction",
        "auto",
        "--sensitivity-samples",
        "0",
        "--print-after-all",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    for pass in [
        "remove-identity",
        "fold-constants",
        "dce",
        "fuse-matmul-bias",
        "quantize",
        "bias-correct",
    ] {
        assert!(err.contains(&format!("; after {pass}\n")), "{pass}: {err}");
    }
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(
        table.contains("calibration: 32 samples of random:32:1"),
        "{table}"
    );
}
