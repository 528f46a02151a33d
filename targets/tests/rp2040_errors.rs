//! What the RP2040 target refuses, and how it says so: float islands named by
//! node and op, a model that never enters the integer domain, bad C names.

mod common;

use common::{digits, fixture, quantized_fixture};
use pare_targets::rp2040::{emit, lower, EmitOptions, Rp2040Error};

#[test]
fn float_islands_are_named_by_node_and_op() {
    let g = quantized_fixture("digits_transformer.onnx", &digits(64));
    let err = emit(&g, &EmitOptions::default()).expect_err("the transformer keeps float nodes");
    let msg = err.to_string();
    assert!(matches!(err, Rp2040Error::Unsupported(_)), "{msg}");
    assert!(
        msg.contains("stays float: `layer_normalization` has no integer kernel"),
        "{msg}"
    );
    // Every offending node on its own line, named.
    assert!(
        msg.lines()
            .skip(1)
            .all(|l| l.trim_start().starts_with("node `")),
        "{msg}"
    );
}

#[test]
fn a_float_model_is_refused_at_its_input() {
    let g = pare_onnx::import_file(&fixture("micro_cnn.onnx")).expect("imports");
    let msg = lower(&g).expect_err("float model").to_string();
    assert!(
        msg.contains("not quantized") && msg.contains("--quantize int8"),
        "{msg}"
    );
}

#[test]
fn the_name_must_be_a_c_identifier() {
    let g = quantized_fixture("micro_cnn.onnx", &digits(64));
    for bad in ["1model", "my-model", ""] {
        let err = emit(
            &g,
            &EmitOptions {
                name: bad.to_string(),
                ..EmitOptions::default()
            },
        )
        .expect_err("bad name");
        assert!(matches!(err, Rp2040Error::BadName(_)), "{err}");
    }
}
