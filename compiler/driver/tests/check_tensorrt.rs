//! `pare check MODEL --target tensorrt`: each TensorRT explicit-quantization rule is
//! stated and the nodes breaking it named. Models built by
//! tests/oracle/make_trt_rule_cases.py break exactly one rule each; onnxruntime's
//! `quantize_static` default output (asymmetric activations) fails with its nodes
//! named, and its symmetric per-channel output breaks only the residual-add
//! placement (it quantizes both inputs of the residual Add, where TensorRT fuses
//! the add into the conv only with the conv side left raw).

mod common;

use common::{fixture, pare, python, root, scratch, stderr, stdout};
use std::process::Command;

fn run_python(args: &[&str]) {
    let o = Command::new(python())
        .args(args)
        .output()
        .expect("runs python");
    assert!(
        o.status.success(),
        "python {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The rules `model` breaks, from `pare check --json`, and the exit code.
fn broken(model: &str) -> (Vec<String>, Option<i32>, serde_json::Value) {
    let o = pare(&["check", model, "--target", "tensorrt", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{model}: {e}: {}", stderr(&o)));
    let rules = v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["passed"] == false)
        .map(|r| r["rule"].as_str().unwrap().to_string())
        .collect();
    (rules, o.status.code(), v)
}

#[test]
fn each_case_breaks_exactly_its_rule() {
    let dir = scratch("trt_rules");
    let script = root().join("tests/oracle/make_trt_rule_cases.py");
    run_python(&[script.to_str().unwrap(), dir.to_str().unwrap()]);
    let clean = dir.join("clean.onnx");
    let (rules, code, _) = broken(clean.to_str().unwrap());
    assert_eq!((rules, code), (vec![], Some(0)));
    for rule in [
        "opset",
        "standard-ops",
        "symmetric-int8",
        "weight-axis",
        "weighted-op-inputs",
        "residual-add",
        "concat-scales",
    ] {
        let m = dir.join(format!("{rule}.onnx"));
        let (rules, code, v) = broken(m.to_str().unwrap());
        assert_eq!(rules, vec![rule.to_string()], "{v}");
        assert_eq!(code, Some(1));
        // The violation names a node.
        let r = v["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["rule"] == rule)
            .unwrap();
        assert!(
            !r["violations"][0]["node"].as_str().unwrap().is_empty(),
            "{v}"
        );
    }
    // The table names the rule, the node and why; the error says how many broke.
    let o = pare(&[
        "check",
        dir.join("weight-axis.onnx").to_str().unwrap(),
        "--target",
        "tensorrt",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("FAIL weight-axis"), "{}", stdout(&o));
    assert!(stdout(&o).contains("awdequant"), "{}", stdout(&o));
    assert!(stdout(&o).contains("expected 0"), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("1 of 7 TensorRT rules broken"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn onnxruntime_default_fails_and_symmetric_breaks_only_the_residual_placement() {
    let dir = scratch("trt_ort");
    let script = root().join("tests/oracle/ort_quantize_trt.py");
    let (cnn, data) = (fixture("digits_cnn.onnx"), fixture("digits.npz"));
    let default = dir.join("ort_default.onnx");
    let symmetric = dir.join("ort_symmetric.onnx");
    for (out, extra) in [(&default, None), (&symmetric, Some("--symmetric"))] {
        let mut args = vec![
            script.to_str().unwrap(),
            &cnn,
            &data,
            "x_train",
            "16",
            out.to_str().unwrap(),
        ];
        args.extend(extra);
        run_python(&args);
    }
    let (rules, code, v) = broken(default.to_str().unwrap());
    assert_eq!(
        (rules, code),
        (vec!["symmetric-int8".to_string()], Some(1)),
        "{v}"
    );
    let r = &v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "symmetric-int8")
        .unwrap()["violations"];
    assert!(
        r.as_array().unwrap().iter().any(|x| x["why"]
            .as_str()
            .unwrap()
            .contains("zero point -128")
            && x["op"] == "QuantizeLinear"),
        "{r}"
    );
    let (rules, code, v) = broken(symmetric.to_str().unwrap());
    assert_eq!(
        (rules, code),
        (vec!["residual-add".to_string()], Some(1)),
        "{v}"
    );
}

#[test]
fn bad_files_fail_clearly() {
    let dir = scratch("trt_bad");
    let junk = dir.join("junk.onnx");
    std::fs::write(&junk, b"\x0a\xff\xff\xff\xff\x0f not a model").unwrap();
    let o = pare(&["check", junk.to_str().unwrap(), "--target", "tensorrt"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("junk.onnx"), "{}", stderr(&o));
    let o = pare(&["check", &fixture("digits_cnn.pt2"), "--target", "tensorrt"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("reads .onnx files"), "{}", stderr(&o));
}
