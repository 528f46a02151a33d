//! The `pare` command line as build systems use it: JSON contract, output files,
//! exit codes (0 ok, 1 bad input, 2 usage) and one-line errors naming the file.

mod common;

use common::{fixture_path as fixture, pare, root, scratch, stderr};
use std::path::Path;

fn example() -> String {
    root()
        .join("examples/micro_cnn/model.onnx")
        .to_string_lossy()
        .into_owned()
}

#[test]
fn inspect_json_is_a_stable_contract() {
    let o = pare(&["inspect", &example(), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON object");
    for key in [
        "inputs",
        "outputs",
        "ops",
        "params",
        "weight_bytes",
        "macs",
        "opset",
        "producer",
    ] {
        assert!(v.get(key).is_some(), "missing key {key}: {v}");
    }
    assert_eq!(
        v["params"], 1418,
        "micro_cnn has 1,418 parameters (fixtures README)"
    );
    assert_eq!(v["opset"], 17);
    assert_eq!(v["inputs"][0]["name"], "input");
    assert_eq!(v["inputs"][0]["dtype"], "f32");
    assert_eq!(v["inputs"][0]["shape"][1], 1);
    assert!(
        v["inputs"][0]["shape"][0].is_string(),
        "batch stays symbolic"
    );
    assert_eq!(v["outputs"][0]["name"], "logits");
    assert!(v["ops"]["conv"].as_u64().unwrap() == 2, "{}", v["ops"]);
    // conv 1->8 3x3 and conv 8->16 3x3 on 8x8 / 4x4 maps, plus the 16->10 linear layer.
    assert!(v["macs"].as_u64().unwrap() > 10_000);
    let text = pare(&["inspect", &example()]);
    assert!(text.status.success());
    assert!(String::from_utf8_lossy(&text.stdout).contains("params       1,418"));
}

#[test]
fn run_writes_outputs_as_npy() {
    let out = scratch("run");
    let input = root().join("examples/micro_cnn/digits.npy");
    let o = pare(&[
        "run",
        &example(),
        "--input",
        &format!("input={}", input.display()),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let bytes = std::fs::read(out.join("logits.npy")).expect("logits.npy written");
    assert!(bytes.starts_with(b"\x93NUMPY"));
    // Positional binding gives the same file.
    let out2 = scratch("run_positional");
    let o = pare(&[
        "run",
        &example(),
        "--input",
        input.to_str().unwrap(),
        "-o",
        out2.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(bytes, std::fs::read(out2.join("logits.npy")).unwrap());
}

#[test]
fn convert_round_trips_through_text_and_is_deterministic() {
    let d = scratch("convert");
    let pir = d.join("m.pir");
    let onnx = d.join("m.onnx");
    let onnx2 = d.join("m2.onnx");
    assert!(pare(&["convert", &example(), "-o", pir.to_str().unwrap()])
        .status
        .success());
    let o = pare(&[
        "convert",
        pir.to_str().unwrap(),
        "-o",
        onnx.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(pare(&[
        "convert",
        pir.to_str().unwrap(),
        "-o",
        onnx2.to_str().unwrap()
    ])
    .status
    .success());
    assert_eq!(
        std::fs::read(&onnx).unwrap(),
        std::fs::read(&onnx2).unwrap(),
        "byte-identical artifacts"
    );
}

#[test]
fn opt_runs_passes_and_pipelines() {
    let d = scratch("opt");
    let out = d.join("o.pir");
    let o = pare(&[
        "opt",
        &example(),
        "--pipeline",
        "cleanup",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = pare(&[
        "opt",
        &example(),
        "--passes",
        "dce,fold-constants",
        "--print-after-all",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("dce"),
        "print-after-all names the pass: {}",
        stderr(&o)
    );
    let o = pare(&[
        "opt",
        &example(),
        "--passes",
        "no-such-pass",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no-such-pass"), "{}", stderr(&o));
    let o = pare(&["opt", "--list"]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("cleanup"));
}

#[test]
fn bad_input_exits_1_with_one_line_naming_the_file() {
    let d = scratch("bad");
    let broken = d.join("broken.onnx");
    std::fs::write(&broken, b"\x08\x07\x12garbage").unwrap();
    let o = pare(&["inspect", broken.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert_eq!(e.trim_end().lines().count(), 1, "one line: {e}");
    assert!(e.contains("broken.onnx"), "{e}");

    let o = pare(&["inspect", "model.tflite2"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("unsupported model format"),
        "{}",
        stderr(&o)
    );

    let o = pare(&[
        "run",
        &example(),
        "--input",
        "nosuch=x.npy",
        "-o",
        d.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("x.npy"), "{}", stderr(&o));

    // A failed compile leaves no artifact behind.
    let target = d.join("never.onnx");
    let o = pare(&[
        "convert",
        broken.to_str().unwrap(),
        "-o",
        target.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!target.exists());
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(pare(&[]).status.code(), Some(2));
    assert_eq!(pare(&["inspect"]).status.code(), Some(2));
    assert_eq!(pare(&["frobnicate"]).status.code(), Some(2));
    let help = pare(&["--help"]);
    assert!(help.status.success());
    let h = String::from_utf8_lossy(&help.stdout);
    for cmd in ["inspect", "run", "convert", "opt", "eval"] {
        assert!(h.contains(cmd), "{h}");
    }
}

#[test]
fn output_names_are_sanitized() {
    let d = scratch("sanitize");
    let pir = d.join("m.pir");
    assert!(pare(&["convert", &example(), "-o", pir.to_str().unwrap()])
        .status
        .success());
    // Rename the output value to something with path characters.
    let text = std::fs::read_to_string(&pir).unwrap();
    let renamed = text.replace("\"logits\"", "\"../lo gits/x\"");
    assert_ne!(renamed, text, "the printed IR names the output");
    std::fs::write(&pir, renamed).unwrap();
    let input = root().join("examples/micro_cnn/digits.npy");
    let out = d.join("out");
    let o = pare(&[
        "run",
        pir.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.join(".._lo_gits_x.npy").exists());
}

/// A little-endian f32 `.npy` file.
fn write_npy(path: &Path, shape: &[usize], data: &[f32]) {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let mut header = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': ({},), }}",
        dims.join(", ")
    );
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&(header.len() as u16).to_le_bytes());
    b.extend_from_slice(header.as_bytes());
    b.extend(data.iter().flat_map(|v| v.to_le_bytes()));
    std::fs::write(path, b).unwrap();
}

#[test]
fn pt2_archives_are_read_but_not_written() {
    let d = scratch("pt2");
    let model = fixture("micro_cnn.pt2");
    let model = model.to_str().unwrap();
    let o = pare(&["inspect", model, "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(j["inputs"][0]["name"], "x", "{j}");

    // run on the .pt2 and on its .pir conversion give the same bytes.
    let x = d.join("x.npy");
    let data: Vec<f32> = (0..64).map(|i| (i % 7) as f32 / 7.0).collect();
    write_npy(&x, &[1, 1, 8, 8], &data);
    let pir = d.join("m.pir");
    let onnx = d.join("m.onnx");
    for out in [&pir, &onnx] {
        let o = pare(&["convert", model, "-o", out.to_str().unwrap()]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let o = pare(&[
        "opt",
        model,
        "--pipeline",
        "cleanup",
        "-o",
        d.join("opt.pir").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut outputs = Vec::new();
    for (i, m) in [model, pir.to_str().unwrap(), onnx.to_str().unwrap()]
        .into_iter()
        .enumerate()
    {
        let out = d.join(format!("out{i}"));
        let o = pare(&[
            "run",
            m,
            "--input",
            x.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{m}: {}", stderr(&o));
        outputs.push(std::fs::read(out.join("linear.npy")).expect("linear.npy written"));
    }
    assert_eq!(outputs[0], outputs[1]);
    assert_eq!(outputs[0], outputs[2]);

    // Writing .pt2 is refused, naming the file; nothing is left behind.
    let target = d.join("out.pt2");
    let o = pare(&[
        "convert",
        pir.to_str().unwrap(),
        "-o",
        target.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("out.pt2") && stderr(&o).contains("cannot write"),
        "{}",
        stderr(&o)
    );
    assert!(!target.exists());

    // A broken archive: exit 1, one line naming the file.
    let broken = d.join("broken.pt2");
    std::fs::write(&broken, b"PK\x03\x04garbage").unwrap();
    let o = pare(&["inspect", broken.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o).trim_end().lines().count(), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("broken.pt2"), "{}", stderr(&o));
}
