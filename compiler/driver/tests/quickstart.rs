//! The README's first command (`scripts/quickstart.sh`) as a test: its compile and eval
//! steps on the shipped example (micro CNN → int8 RP2040 C, calibrated on
//! `examples/micro_cnn/data.npz:x_calib`), and its data checked against the fixture split
//! that `examples/micro_cnn/make_input.py` says it comes from.

mod common;

use common::{fixture, json_of, pare, root, scratch, stderr};

fn example(file: &str) -> String {
    root()
        .join("examples/micro_cnn")
        .join(file)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn quickstart_compile_and_eval_steps_work_on_the_shipped_example() {
    let dir = scratch("quickstart");
    let c_dir = dir.join("micro_cnn_rp2040");
    let pir = dir.join("micro_cnn.int8.pir");
    let o = pare(&[
        "compile",
        &example("model.onnx"),
        "--target",
        "rp2040",
        "--quantize",
        "int8",
        "--calib",
        &format!("{}:x_calib", example("data.npz")),
        "--save-graph",
        pir.to_str().unwrap(),
        "--no-emulate",
        "-o",
        c_dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    for f in ["model.h", "model.c", "model_weights.c", "report.json"] {
        assert!(c_dir.join(f).is_file(), "{f} written");
    }
    // The held-out accuracy the quickstart prints: the fixture README gives the float
    // model 0.968 on these 500 digits; int8 must stay within a point of it.
    let ev = json_of(&[
        "eval",
        pir.to_str().unwrap(),
        "--data",
        &example("data.npz"),
        "--x",
        "x_test",
        "--y",
        "y_test",
        "--reference",
        &example("model.onnx"),
        "--json",
    ]);
    assert_eq!(ev["n"], 500);
    let acc = ev["accuracy"].as_f64().expect("accuracy");
    assert!(acc >= 0.958, "int8 accuracy {acc} on the test split");
    assert!(ev["agreement"].as_f64().unwrap() >= 0.99, "{ev}");
}

#[test]
fn the_example_data_is_the_fixture_split() {
    // Same float model, same 500 digits: the float accuracy on data.npz must be the
    // fixture README's 0.968 on digits.npz:x_test, and equal to eval on the fixture.
    let shipped = json_of(&[
        "eval",
        &example("model.onnx"),
        "--data",
        &example("data.npz"),
        "--x",
        "x_test",
        "--y",
        "y_test",
        "--json",
    ]);
    let fixture_eval = json_of(&[
        "eval",
        &example("model.onnx"),
        "--data",
        &fixture("digits.npz"),
        "--x",
        "x_test",
        "--y",
        "y_test",
        "--json",
    ]);
    assert_eq!(shipped, fixture_eval);
    assert_eq!(shipped["accuracy"], 0.968);
}
