//! `pare compile --target tensorrt --quantize int8`: ONNX in TensorRT's explicit
//! quantization form. The written file passes `pare check --target tensorrt` and
//! onnx.checker's full check, onnxruntime runs it with the accuracy pare's own
//! interpreter measures on it (the same Q/DQ arithmetic), the compile is
//! deterministic, and what TensorRT cannot take is refused clearly.

mod common;

use common::{digits_accuracy, fixture, json_of, pare, python, scratch, stderr};
use std::process::Command;

/// onnxruntime's test accuracy on the digits for `model` (full onnx.checker first).
fn ort_accuracy(model: &str) -> f64 {
    let code = format!(
        "import onnx, onnxruntime as ort, numpy as np\n\
         onnx.checker.check_model(onnx.load({model:?}), full_check=True)\n\
         d = np.load({data:?})\n\
         s = ort.InferenceSession({model:?}, providers=['CPUExecutionProvider'])\n\
         y = s.run(None, {{s.get_inputs()[0].name: d['x_test'].astype(np.float32)}})[0]\n\
         print((y.argmax(-1) == d['y_test']).mean())\n",
        data = fixture("digits.npz"),
    );
    let o = Command::new(python())
        .args(["-c", &code])
        .output()
        .expect("runs python");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).trim().parse().unwrap()
}

#[test]
fn int8_for_tensorrt_passes_the_rules_and_runs_in_onnxruntime() {
    let dir = scratch("tensorrt_target");
    let calib = format!("{}:x_train", fixture("digits.npz"));
    for m in ["digits_cnn", "digits_transformer"] {
        let out = dir.join(format!("{m}.onnx"));
        let out = out.to_str().unwrap();
        let r = json_of(&[
            "compile",
            &fixture(&format!("{m}.onnx")),
            "--target",
            "tensorrt",
            "--quantize",
            "int8",
            "--calib",
            &calib,
            "-o",
            out,
            "--json",
        ]);
        let t = &r["tensorrt"];
        assert!(
            t["rules"]
                .as_array()
                .unwrap()
                .iter()
                .all(|x| x["passed"] == true),
            "{t}"
        );
        let o = pare(&["check", out, "--target", "tensorrt"]);
        assert!(o.status.success(), "{m}: {}", stderr(&o));
        let (ort, ours, float) = (
            ort_accuracy(out),
            digits_accuracy(out),
            digits_accuracy(&fixture(&format!("{m}.onnx"))),
        );
        // The same Q/DQ arithmetic in both runtimes; within 1 pt of float.
        assert!(
            (ort - ours).abs() <= 0.002 + 1e-9,
            "{m}: onnxruntime {ort}, pare {ours}"
        );
        assert!(
            float - ours <= 0.01 + 1e-9,
            "{m}: int8 {ours} vs float {float}"
        );
        // Deterministic: the same compile gives the same bytes.
        let again = dir.join(format!("{m}_again.onnx"));
        json_of(&[
            "compile",
            &fixture(&format!("{m}.onnx")),
            "--target",
            "tensorrt",
            "--quantize",
            "int8",
            "--calib",
            &calib,
            "-o",
            again.to_str().unwrap(),
            "--json",
        ]);
        assert_eq!(
            std::fs::read(out).unwrap(),
            std::fs::read(&again).unwrap(),
            "{m}"
        );
    }
}

#[test]
fn what_tensorrt_cannot_take_is_refused_and_nothing_written() {
    let dir = scratch("tensorrt_bad");
    let cnn = fixture("digits_cnn.onnx");
    let calib = format!("{}:x_train", fixture("digits.npz"));
    for (args, want) in [
        (
            vec!["--quantize", "fp16", "-o", "m.onnx"],
            "use --quantize int8",
        ),
        (
            vec!["--quantize", "int8", "--calib", &calib, "-o", "m.pir"],
            "writes a .onnx file",
        ),
        (vec!["--quantize", "int8", "-o", "m.onnx"], "--calib"),
        (
            vec![
                "--quantize",
                "int8",
                "--calib",
                &calib,
                "--share",
                "kmeans:16",
                "-o",
                "m.onnx",
            ],
            "neither --share",
        ),
    ] {
        let mut full = vec!["compile", cnn.as_str(), "--target", "tensorrt"];
        let out_idx = args.iter().position(|&a| a == "-o").unwrap() + 1;
        let out = dir.join(args[out_idx]);
        let out_s = out.to_str().unwrap().to_string();
        let args: Vec<&str> = args
            .iter()
            .enumerate()
            .map(|(i, &a)| if i == out_idx { out_s.as_str() } else { a })
            .collect();
        full.extend(args);
        let o = pare(&full);
        assert_eq!(o.status.code(), Some(1), "{full:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{full:?}: {}", stderr(&o));
        assert!(!out.exists());
    }
}
