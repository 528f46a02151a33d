//! `pare compile --share`: weight sharing on the digits CNN, float and int8. The
//! weight store shrinks as the index width predicts, accuracy measured by
//! `pare eval` on the written artifact holds, the same compile gives the same
//! bytes, the fidelity is measured again after sharing, and bad specs fail clearly.

mod common;

use common::{digits_accuracy, fixture, json_of, pare, scratch, stderr};

#[test]
fn float_sharing_shrinks_weights_by_the_index_width_and_is_deterministic() {
    let dir = scratch("share_float");
    let cnn = fixture("digits_cnn.onnx");
    let calib = format!("{}:x_train", fixture("digits.npz"));
    let float_acc = digits_accuracy(&cnn);
    let out = |name: &str| dir.join(name).to_str().unwrap().to_string();
    let compile = |spec: &str, o: &str| {
        json_of(&[
            "compile",
            &cnn,
            "--quantize",
            "none",
            "--share",
            spec,
            "--calib",
            &calib,
            "-o",
            o,
            "--json",
        ])
    };
    let r16 = compile("kmeans:16", &out("k16.pir"));
    let s = &r16["share"];
    let (before, after) = (
        s["weight_bytes_before"].as_u64().unwrap(),
        s["weight_bytes_after"].as_u64().unwrap(),
    );
    // 4-bit indices: close to 8x on f32 weights (biases and codebooks stay).
    assert!(before >= 7 * after, "{before} -> {after}");
    assert!(std::fs::read_to_string(out("k16.pir"))
        .unwrap()
        .contains("palette(k=16, bits=4, groups=1)"));
    // Deterministic: the same compile writes the same bytes.
    compile("kmeans:16", &out("k16b.pir"));
    assert_eq!(
        std::fs::read(out("k16.pir")).unwrap(),
        std::fs::read(out("k16b.pir")).unwrap()
    );
    // 32 clusters weighted by sensitivity: within half a point of float.
    let r32 = compile("kmeans:32:weighted", &out("k32.pir"));
    assert_eq!(r32["share"]["sensitivity_weighted"], true);
    let acc = digits_accuracy(&out("k32.pir"));
    println!("float {float_acc:.4}, 32 clusters weighted {acc:.4}");
    assert!(acc >= float_acc - 0.005, "{acc} vs {float_acc}");
}

#[test]
fn int8_sharing_keeps_int8_codebooks_and_remeasures_fidelity() {
    let dir = scratch("share_int8");
    let cnn = fixture("digits_cnn.onnx");
    let calib = format!("{}:x_train", fixture("digits.npz"));
    let o = dir.join("m.pir");
    let r = json_of(&[
        "compile",
        &cnn,
        "--quantize",
        "int8",
        "--calib",
        &calib,
        "--share",
        "kmeans:16:per-channel",
        "-o",
        o.to_str().unwrap(),
        "--json",
    ]);
    let s = &r["share"];
    assert!(s["palette_weights"].as_u64().unwrap() >= 3, "{s}");
    let text = std::fs::read_to_string(&o).unwrap();
    // An int8 palette: the codebook holds codes, the scales stay in the type.
    assert!(
        text.contains("i8[64,512]") || text.contains("i8[64, 512]"),
        "fc1 int8"
    );
    assert!(
        text.contains("palette(k=16, bits=4, groups=64)"),
        "fc1 per-channel"
    );
    let layers = s["layers"].as_array().unwrap();
    assert!(layers.iter().any(|l| l
        .as_str()
        .unwrap()
        .starts_with("/fc1/Gemm: 32768 weights, k=16 per channel")));
    // The fidelity in the report is that of the shared model, under the default floor.
    assert!(r["fidelity"]["sqnr_db"]["value"].as_f64().unwrap() >= 20.0);
    let acc = digits_accuracy(o.to_str().unwrap());
    assert!(acc >= 0.98, "{acc}");
}

#[test]
fn bad_share_specs_fail_clearly_and_write_nothing() {
    let dir = scratch("share_bad");
    let out = dir.join("m.onnx");
    let cnn = fixture("digits_cnn.onnx");
    for (spec, want) in [
        ("kmeans:300", "out of range"),
        ("kmeans", "cluster count"),
        ("palette:16", "expected kmeans:K"),
        ("kmeans:16:per-row", "unknown part"),
        ("kmeans:16:weighted", "--calib"),
        ("kmeans:16:gptq", "--calib"),
    ] {
        let o = pare(&[
            "compile",
            &cnn,
            "--quantize",
            "none",
            "--share",
            spec,
            "-o",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(1), "{spec}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{spec}: {}", stderr(&o));
        assert!(!out.exists());
    }
    for (layer_k, want) in [
        ("/fc1/Gemm=1", "cluster count from 2 to 256"),
        ("/fc1/Gemm", "NAME=K"),
        ("/nope/Gemm=4", "does not have"),
    ] {
        let o = pare(&[
            "compile",
            &cnn,
            "--quantize",
            "none",
            "--share",
            "kmeans:16",
            "--share-k",
            layer_k,
            "-o",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(1), "{layer_k}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{layer_k}: {}", stderr(&o));
        assert!(!out.exists());
    }
    // Too few clusters for the default fidelity floor: nothing is written.
    let o = pare(&[
        "compile",
        &cnn,
        "--quantize",
        "int8",
        "--calib",
        &format!("{}:x_train", fixture("digits.npz")),
        "--share",
        "kmeans:4",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("misses the fidelity floor"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
}

#[test]
fn the_report_says_what_the_onnx_file_stores_and_onnx_accuracy_holds() {
    let dir = scratch("share_onnx");
    let cnn = fixture("digits_cnn.onnx");
    let o = dir.join("m.onnx");
    let r = json_of(&[
        "compile",
        &cnn,
        "--quantize",
        "none",
        "--share",
        "kmeans:16",
        "-o",
        o.to_str().unwrap(),
        "--json",
    ]);
    let st = &r["share"]["onnx_storage"];
    let weights = st["weights"].as_array().unwrap();
    assert_eq!(weights.len(), 7, "{st}");
    let fc1 = weights
        .iter()
        .find(|w| w["weight"] == "fc1.weight")
        .expect("fc1 stored as a palette");
    // 32768 four-bit indices in the weight's shape and 16 f32 entries, read back
    // from the file.
    assert_eq!(fc1["indices"], "UINT4 [64, 512]");
    assert_eq!(fc1["index_bytes"], 16384);
    assert_eq!(fc1["codebook_bytes"], 64);
    assert_eq!(st["written_dense"], 0);
    let file = std::fs::metadata(&o).unwrap().len();
    assert!(file * 6 < 159_681, "{file} B");
    assert!(digits_accuracy(o.to_str().unwrap()) >= 0.98);
}

/// `pare compile --target rp2040` of the digits CNN with `--share`, report.json's
/// `rp2040` section.
fn rp2040(dir: &std::path::Path, share: Option<&str>) -> serde_json::Value {
    let d = dir.to_string_lossy().into_owned();
    let calib = format!("{}:x_train", fixture("digits.npz"));
    let cnn = fixture("digits_cnn.onnx");
    let mut args = vec![
        "compile",
        &cnn,
        "--target",
        "rp2040",
        "--quantize",
        "int8",
        "--calib",
        &calib,
        "--no-emulate",
        "-o",
        &d,
    ];
    if let Some(s) = share {
        args.extend(["--share", s]);
    }
    let o = pare(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let rep: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("report.json")).expect("report"))
            .expect("json");
    rep["rp2040"].clone()
}

#[test]
fn shared_int8_weights_reach_rp2040_flash_as_palettes() {
    let dir = scratch("share_rp2040");
    let shared = rp2040(&dir.join("shared"), Some("kmeans:16:weighted"));
    let dense = rp2040(&dir.join("dense"), None);
    let layers = shared["layers"].as_array().expect("layers");
    let palettes: Vec<&serde_json::Value> = layers
        .iter()
        .filter(|l| l["weight_encoding"] == "palette")
        .collect();
    assert!(palettes.len() >= 5, "{layers:?}");
    for l in &palettes {
        assert!(l["kernel"].as_str().unwrap().ends_with("_palette"), "{l}");
        assert_eq!(l["weight_palette"]["index_bits"], 4, "{l}");
    }
    let flash = |r: &serde_json::Value| r["firmware"]["flash_bytes"]["value"].as_u64();
    match (flash(&shared), flash(&dense)) {
        // 4-bit indices: well under the int8 image (weights are most of it).
        (Some(s), Some(d)) => assert!(s * 10 < d * 7, "flash {s} vs dense {d}"),
        other => panic!(
            "flash not measured (is arm-none-eabi-gcc installed?): {other:?}\n{}",
            shared["firmware"]
        ),
    }
}

/// `:gptq` assigns indices by error feedback on each layer's input Gram: every
/// layer's output error on calib drops below nearest-centroid assignment's, and
/// at 4 clusters the test accuracy rises; `--share-k` gives one layer its own k.
#[test]
fn error_feedback_lowers_output_error_and_share_k_sets_one_layer() {
    let dir = scratch("share_gptq");
    let cnn = fixture("digits_cnn.onnx");
    let calib = format!("{}:x_train", fixture("digits.npz"));
    let compile = |spec: &str, extra: &[&str], o: &str| {
        let o = dir.join(o).to_str().unwrap().to_string();
        let mut args = vec![
            "compile",
            &cnn,
            "--quantize",
            "none",
            "--share",
            spec,
            "--calib",
            &calib,
            "--min-fidelity",
            "none",
            "-o",
            &o,
            "--json",
        ];
        args.extend_from_slice(extra);
        (json_of(&args), o)
    };
    let (_, plain_out) = compile("kmeans:4", &["--share-k", "/fc2/Gemm=16"], "plain.onnx");
    let (fed, fed_out) = compile("kmeans:4:gptq", &["--share-k", "/fc2/Gemm=16"], "fed.onnx");
    assert_eq!(fed["share"]["error_feedback"], true);
    let layers: Vec<String> = fed["share"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect();
    assert!(
        layers
            .iter()
            .any(|l| l.starts_with("/fc2/Gemm:") && l.contains("k=16 per tensor")),
        "{layers:?}"
    );
    assert!(
        layers
            .iter()
            .any(|l| l.starts_with("/fc1/Gemm:") && l.contains("k=4 per tensor")),
        "{layers:?}"
    );
    // "relative output error on calib A (nearest centroid) -> B (error feedback...)"
    let mut fed_layers = 0;
    for l in layers.iter().filter(|l| l.contains("(error feedback")) {
        let num = |after: &str| -> f64 {
            let t = &l[l.find(after).unwrap() + after.len()..];
            t.split_whitespace().next().unwrap().parse().unwrap()
        };
        let (near, fb) = (num("on calib "), num("-> "));
        assert!(fb < near, "{l}");
        fed_layers += 1;
    }
    assert!(fed_layers >= 5, "{layers:?}");
    let (a_plain, a_fed) = (digits_accuracy(&plain_out), digits_accuracy(&fed_out));
    assert!(
        a_fed > a_plain,
        "error feedback {a_fed} vs nearest {a_plain}"
    );
}
