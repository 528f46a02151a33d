//! `pare eval` on the shared fixtures: the figures the fixtures README states
//! (digits CNN accuracy 0.992, VAE reconstruction MSE 0.02447), agreement with a
//! reference, the JSON keys, folders of samples, and one-line errors.

mod common;

use common::{fixture, pare, root, stderr, stdout};
use pare_npy::{encode_npy, DataSpec, Dataset};
use serde_json::Value;
use std::collections::BTreeSet;

/// Runs `pare eval ... --json`, expecting success; returns the object.
fn eval_json(args: &[&str]) -> serde_json::Map<String, Value> {
    let mut all = vec!["eval"];
    all.extend_from_slice(args);
    all.push("--json");
    let o = pare(&all);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    match serde_json::from_slice(&o.stdout).expect("one JSON object") {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

fn keys(m: &serde_json::Map<String, Value>) -> BTreeSet<&str> {
    m.keys().map(String::as_str).collect()
}

/// Runs `pare eval`, expecting exit 1 with one stderr line; returns it.
fn eval_error(args: &[&str]) -> String {
    let mut all = vec!["eval"];
    all.extend_from_slice(args);
    let o = pare(&all);
    assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
    let e = stderr(&o);
    assert_eq!(e.trim_end().lines().count(), 1, "one line: {e}");
    e
}

#[test]
fn digits_cnn_accuracy_matches_the_fixture_readme() {
    let (m, d) = (fixture("digits_cnn.onnx"), fixture("digits.npz"));
    let j = eval_json(&[&m, "--data", &d, "--x", "x_test", "--y", "y_test"]);
    assert_eq!(keys(&j), BTreeSet::from(["accuracy", "n"]));
    assert_eq!(j["n"], 500);
    assert_eq!(j["accuracy"], 0.992, "fixtures README: test accuracy 0.992");

    // The same figure through the `FILE.npz:KEY` form and the terminal table.
    let o = pare(&[
        "eval",
        &m,
        "--data",
        &format!("{d}:x_test"),
        "--y",
        "y_test",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("accuracy        0.9920 (496 of 500 correct)"),
        "{text}"
    );
    assert!(text.contains("n               500"), "{text}");
}

#[test]
fn batch_size_and_limit_do_not_change_the_figures() {
    let (m, d) = (fixture("digits_cnn.onnx"), fixture("digits.npz"));
    let base = [
        "--data", &d, "--x", "x_test", "--y", "y_test", "--limit", "37",
    ];
    let a = eval_json(&[&[m.as_str()][..], &base, &["--batch", "1"]].concat());
    let b = eval_json(&[&[m.as_str()][..], &base, &["--batch", "8"]].concat());
    let c = eval_json(&[&[m.as_str()][..], &base, &["--batch", "500"]].concat());
    assert_eq!(a["n"], 37);
    assert_eq!(a, b);
    assert_eq!(a, c);
    // The count is whole samples: accuracy * 37 is an integer.
    let correct = a["accuracy"].as_f64().unwrap() * 37.0;
    assert!((correct - correct.round()).abs() < 1e-9, "{a:?}");
}

#[test]
fn digits_vae_reconstruction_mse_matches_the_fixture_readme() {
    let j = eval_json(&[
        &fixture("digits_vae.onnx"),
        "--data",
        &fixture("digits.npz"),
        "--x",
        "x_test",
        "--y",
        "x_test",
    ]);
    assert_eq!(keys(&j), BTreeSet::from(["mse", "n"]));
    let mse = j["mse"].as_f64().unwrap();
    assert!(
        (mse - 0.02447).abs() < 1e-4,
        "fixtures README: MSE 0.02447, got {mse}"
    );
}

#[test]
fn a_model_agrees_with_itself_exactly() {
    let (m, d) = (fixture("digits_cnn.onnx"), fixture("digits.npz"));
    let j = eval_json(&[&m, "--data", &d, "--x", "x_test", "--reference", &m]);
    assert_eq!(
        keys(&j),
        BTreeSet::from(["agreement", "max_abs_error", "n", "sqnr_db", "sqnr_db_note"])
    );
    assert_eq!(j["agreement"], 1.0);
    assert_eq!(j["max_abs_error"], 0.0);
    assert_eq!(j["sqnr_db"], Value::Null, "JSON has no infinity");
    assert!(j["sqnr_db_note"].as_str().unwrap().contains("infinite"));

    // With labels too, every key that applies.
    let j = eval_json(&[
        &m,
        "--data",
        &d,
        "--x",
        "x_test",
        "--y",
        "y_test",
        "--reference",
        &m,
    ]);
    assert_eq!(
        keys(&j),
        BTreeSet::from([
            "accuracy",
            "agreement",
            "max_abs_error",
            "n",
            "sqnr_db",
            "sqnr_db_note"
        ])
    );
    let o = pare(&["eval", &m, "--data", &d, "--x", "x_test", "--reference", &m]);
    let text = stdout(&o);
    assert!(
        text.contains("logits / logits         inf           0"),
        "{text}"
    );
}

#[test]
fn a_batch_one_export_is_run_sample_by_sample_against_the_onnx() {
    // The .pt2 takes x [1,1,8,8]; the .onnx a symbolic batch. Same function.
    let d = fixture("digits.npz");
    let j = eval_json(&[
        &fixture("digits_cnn.pt2"),
        "--data",
        &d,
        "--x",
        "x_test",
        "--y",
        "y_test",
        "--reference",
        &fixture("digits_cnn.onnx"),
        "--limit",
        "100",
        "--batch",
        "7",
    ]);
    assert_eq!(j["n"], 100);
    assert_eq!(j["agreement"], 1.0);
    let err = j["max_abs_error"].as_f64().unwrap();
    assert!(err < 1e-4, "{err}");
    assert!(j["sqnr_db"].as_f64().unwrap() > 60.0, "{j:?}");
    // Vae outputs are not class scores: no agreement key.
    let j = eval_json(&[
        &fixture("digits_vae.onnx"),
        "--data",
        &d,
        "--x",
        "x_test",
        "--reference",
        &fixture("digits_vae.pt2"),
        "--limit",
        "20",
    ]);
    // (pare imports both files to the same kernels, so the SQNR may be infinite.)
    let k = keys(&j);
    assert!(!k.contains("agreement"), "{k:?}");
    for key in ["max_abs_error", "n", "sqnr_db"] {
        assert!(k.contains(key), "{k:?}");
    }
}

#[test]
fn folders_of_samples_give_the_same_outputs_as_the_archive() {
    let dir = root().join("target/test-scratch/eval/folder");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let npz = fixture("digits.npz");
    let x = Dataset::open(&DataSpec::parse(&format!("{npz}:x_test")).unwrap()).unwrap();
    // 12 samples: single samples [1,8,8], batches of one [1,1,8,8] and of five.
    let batches: Vec<_> = x.batches(1, Some(7)).map(|b| b.unwrap()).collect();
    for (i, b) in batches.iter().enumerate() {
        let t = if i % 2 == 0 {
            b.clone().reshaped(vec![1, 8, 8]).unwrap()
        } else {
            b.clone()
        };
        std::fs::write(dir.join(format!("{i:02}.npy")), encode_npy(&t).unwrap()).unwrap();
    }
    let five = x.batches(5, Some(12)).nth(1).unwrap().unwrap();
    assert_eq!(five.shape(), [5, 1, 8, 8]);
    std::fs::write(dir.join("07-11.npy"), encode_npy(&five).unwrap()).unwrap();

    let m = fixture("digits_cnn.onnx");
    let folder = format!("{}/", dir.display());
    let j = eval_json(&[&m, "--data", &folder, "--reference", &m, "--batch", "4"]);
    assert_eq!(j["n"], 12);
    assert_eq!(j["agreement"], 1.0);

    // Labels live in an .npz: a folder has none.
    let e = eval_error(&[&m, "--data", &folder, "--y", "y_test"]);
    assert!(e.contains("--y names an array of the --data .npz"), "{e}");
}

#[test]
fn bad_data_exits_1_with_one_line() {
    let (m, d) = (fixture("digits_cnn.onnx"), fixture("digits.npz"));
    let e = eval_error(&[&m, "--data", &d, "--x", "nope", "--y", "y_test"]);
    assert!(
        e.contains(
            "digits.npz: array `nope`: no array `nope` (arrays: x_train, y_train, x_test, y_test)"
        ),
        "{e}"
    );
    let e = eval_error(&[&m, "--data", &d, "--x", "x_test", "--y", "nope"]);
    assert!(e.contains("no array `nope`"), "{e}");
    let e = eval_error(&[&m, "--data", &d, "--y", "y_test"]);
    assert!(e.contains("holds 4 arrays; name one"), "{e}");

    // Shape mismatch: both the data and the model input are named.
    let e = eval_error(&[
        &fixture("mobilenet_v2.onnx"),
        "--data",
        &d,
        "--x",
        "x_test",
        "--reference",
        &m,
    ]);
    assert!(
        e.contains("digits.npz:x_test` have shape [1, 8, 8]")
            && e.contains(
                "model input `input` f32[1,3,224,224] takes samples of shape [3,224,224]"
            ),
        "{e}"
    );
    let e = eval_error(&[&m, "--data", &d, "--x", "y_test", "--y", "y_test"]);
    assert!(
        e.contains("model input `input`") && e.contains("array `y_test`: shape [500] has rank 1"),
        "{e}"
    );

    let e = eval_error(&[&m, "--data", &d, "--x", "x_test", "--y", "y_train"]);
    assert!(
        e.contains("digits.npz:y_train` holds 1297 targets but") && e.contains("holds 500 samples"),
        "{e}"
    );
    let e = eval_error(&[
        &fixture("digits_vae.onnx"),
        "--data",
        &d,
        "--x",
        "x_test",
        "--y",
        "y_test",
    ]);
    assert!(
        e.contains("integer labels") && e.contains("need class scores") && e.contains("`recon`"),
        "{e}"
    );
    let e = eval_error(&[&m, "--data", &d, "--x", "x_test", "--y", "x_test"]);
    assert!(
        e.contains("targets") && e.contains("gives samples of shape [10]"),
        "{e}"
    );
    let e = eval_error(&[
        &m,
        "--data",
        &d,
        "--x",
        "x_test",
        "--reference",
        &fixture("digits_vae.onnx"),
    ]);
    assert!(
        e.contains("but the reference's `recon` gives [1, 8, 8]"),
        "{e}"
    );
    let e = eval_error(&[&m, "--data", "missing.npz", "--x", "x", "--y", "y"]);
    assert!(
        e.contains("missing.npz") && e.contains("cannot read"),
        "{e}"
    );
}

#[test]
fn eval_usage_errors_exit_2() {
    let (m, d) = (fixture("digits_cnn.onnx"), fixture("digits.npz"));
    for args in [
        vec!["eval", m.as_str(), "--data", d.as_str(), "--x", "x_test"],
        vec!["eval", m.as_str(), "--x", "x_test", "--y", "y_test"],
        vec![
            "eval",
            m.as_str(),
            "--data",
            d.as_str(),
            "--y",
            "y_test",
            "--batch",
            "0",
        ],
        vec![
            "eval",
            m.as_str(),
            "--data",
            d.as_str(),
            "--y",
            "y_test",
            "--limit",
            "0",
        ],
    ] {
        assert_eq!(pare(&args).status.code(), Some(2), "{args:?}");
    }
}
