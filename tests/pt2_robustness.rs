//! Hostile `.pt2` archives: thousands of mutants (truncated, bit-flipped, entries
//! removed, weight files shortened, sizes/strides/offsets/dtypes in the weight
//! config and values in `model.json` changed) go through import and — when they
//! still import — verification and the interpreter: each gives a result or an
//! error, never a panic. Hand-broken archives get errors naming the problem. Edited
//! and synthetic programs cover what the fixtures lack: a symbolic batch size,
//! scalar operands with `alpha`, `cat`, and causal attention with an explicit scale.

mod support;

use pare_ir::{Dim, Tensor};
use serde_json::Value as Json;
use std::io::{Cursor, Read, Write};

/// The archive's entries in order.
fn entries(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut z = zip::ZipArchive::new(Cursor::new(bytes)).expect("fixture is a zip");
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).expect("entry");
            let mut b = Vec::new();
            f.read_to_end(&mut b).expect("read entry");
            (f.name().expect("entry name").to_string(), b)
        })
        .collect()
}

fn build(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, b) in entries {
        w.start_file(name.as_str(), opts).expect("start entry");
        w.write_all(b).expect("write entry");
    }
    w.finish().expect("finish zip").into_inner()
}

/// Changes one random number (or deletes one random key) somewhere in `j`.
fn mutate_json(rng: &mut fastrand::Rng, j: &mut Json) {
    let mut count = 0usize;
    count_nodes(j, &mut count);
    let target = rng.usize(0..count.max(1));
    let mut seen = 0usize;
    edit_nth(rng, j, target, &mut seen);
}

fn count_nodes(j: &Json, n: &mut usize) {
    *n += 1;
    match j {
        Json::Array(a) => a.iter().for_each(|x| count_nodes(x, n)),
        Json::Object(o) => o.values().for_each(|x| count_nodes(x, n)),
        _ => {}
    }
}

fn edit_nth(rng: &mut fastrand::Rng, j: &mut Json, target: usize, seen: &mut usize) -> bool {
    if *seen == target {
        *j = match rng.u8(0..6) {
            0 => Json::from(-1),
            1 => Json::from(0),
            2 => Json::from(i64::MAX),
            3 => Json::from(1u64 << 40),
            4 => Json::Null,
            _ => Json::from("bogus"),
        };
        return true;
    }
    *seen += 1;
    match j {
        Json::Array(a) => {
            for x in a.iter_mut() {
                if edit_nth(rng, x, target, seen) {
                    return true;
                }
            }
        }
        Json::Object(o) => {
            let keys: Vec<String> = o.keys().cloned().collect();
            for k in keys {
                if *seen == target && rng.bool() {
                    o.remove(&k);
                    return true;
                }
                if let Some(x) = o.get_mut(&k) {
                    if edit_nth(rng, x, target, seen) {
                        return true;
                    }
                }
            }
        }
        _ => {}
    }
    false
}

fn mutate(rng: &mut fastrand::Rng, original: &[u8], files: &[(String, Vec<u8>)]) -> Vec<u8> {
    match rng.u8(0..7) {
        0 | 1 => support::mutate_bytes(rng, original),
        2 => {
            let mut f = files.to_vec();
            f.remove(rng.usize(0..f.len()));
            build(&f)
        }
        3 => {
            // Shorten or lengthen one weight file.
            let mut f = files.to_vec();
            let idx: Vec<usize> = (0..f.len())
                .filter(|&i| f[i].0.contains("/weight_"))
                .collect();
            let i = idx[rng.usize(0..idx.len())];
            if rng.bool() {
                let n = rng.usize(0..f[i].1.len().max(1));
                f[i].1.truncate(n);
            } else {
                f[i].1.extend_from_slice(&[0u8; 12]);
            }
            build(&f)
        }
        4 | 5 => {
            // Edit the weights config (sizes, strides, offsets, dtypes) or model.json.
            let mut f = files.to_vec();
            let want = if rng.u8(0..2) == 0 {
                "weights_config.json"
            } else {
                "model.json"
            };
            if let Some(e) = f.iter_mut().find(|(n, _)| n.ends_with(want)) {
                let mut j: Json = serde_json::from_slice(&e.1).expect("fixture JSON");
                for _ in 0..rng.usize(1..4) {
                    mutate_json(rng, &mut j);
                }
                e.1 = serde_json::to_vec(&j).expect("JSON");
            }
            build(&f)
        }
        _ => {
            // Corrupt one entry's bytes in place.
            let mut f = files.to_vec();
            let i = rng.usize(0..f.len());
            if !f[i].1.is_empty() {
                let k = rng.usize(0..f[i].1.len());
                f[i].1[k] = rng.u8(..);
            }
            build(&f)
        }
    }
}

#[test]
fn mutated_pt2_archives_error_cleanly() {
    let mut rng = fastrand::Rng::with_seed(0x9172);
    let (mut imported, mut total) = (0, 0);
    for model in ["micro_cnn.pt2", "digits_transformer.pt2"] {
        let original = std::fs::read(support::fixture(model)).expect("fixture");
        let files = entries(&original);
        for _ in 0..1500 {
            let bytes = mutate(&mut rng, &original, &files);
            total += 1;
            let Ok(g) = pare_pt2::import_bytes(&bytes, model) else {
                continue;
            };
            imported += 1;
            pare_ir::verify::verify(&g)
                .unwrap_or_else(|e| panic!("{model} mutant accepted but invalid: {e}"));
            if let Some(inputs) = support::small_zero_inputs(&g) {
                let _ = pare_ir::interp::run(&g, &inputs);
            }
        }
    }
    println!("mutated .pt2 archives: {total} tried, {imported} still imported");
    assert!(total >= 3000);
}

/// Rewrites the micro_cnn fixture with `edit` applied to its entries.
fn micro_with(edit: impl FnOnce(&mut Vec<(String, Vec<u8>)>)) -> Vec<u8> {
    let original = std::fs::read(support::fixture("micro_cnn.pt2")).expect("fixture");
    let mut files = entries(&original);
    edit(&mut files);
    build(&files)
}

fn err(bytes: &[u8]) -> String {
    pare_pt2::import_bytes(bytes, "broken.pt2")
        .expect_err("the archive must be rejected")
        .to_string()
}

fn edit_json(files: &mut [(String, Vec<u8>)], suffix: &str, f: impl FnOnce(&mut Json)) {
    let e = files
        .iter_mut()
        .find(|(n, _)| n.ends_with(suffix))
        .expect("entry");
    let mut j: Json = serde_json::from_slice(&e.1).expect("JSON");
    f(&mut j);
    e.1 = serde_json::to_vec(&j).expect("JSON");
}

#[test]
fn old_pickled_layout_is_explained() {
    let bytes = micro_with(|f| {
        f.retain(|(n, _)| !n.ends_with("archive_format"));
        f.push(("archive/data.pkl".into(), b"\x80\x02}q\x00.".to_vec()));
    });
    let e = err(&bytes);
    assert!(e.contains("broken.pt2") && e.contains("data.pkl"), "{e}");
    assert!(e.contains("torch >= 2.9") && e.contains("ONNX"), "{e}");
    let pickled = micro_with(|f| {
        edit_json(f, "model_weights_config.json", |j| {
            j["config"]["c1.bias"]["use_pickle"] = Json::Bool(true);
        })
    });
    let e = err(&pickled);
    assert!(e.contains("c1.bias") && e.contains("pickled"), "{e}");
}

#[test]
fn missing_weight_file_names_the_weight() {
    let bytes = micro_with(|f| f.retain(|(n, _)| !n.ends_with("/weight_3")));
    let e = err(&bytes);
    assert!(
        e.contains("c2.bias") && e.contains("weight_3") && e.contains("missing"),
        "{e}"
    );
}

#[test]
fn weight_sizes_disagreeing_with_bytes_are_rejected() {
    let bytes = micro_with(|f| {
        edit_json(f, "model_weights_config.json", |j| {
            j["config"]["fc.weight"]["tensor_meta"]["sizes"][1] = serde_json::json!({"as_int": 17});
        })
    });
    let e = err(&bytes);
    assert!(e.contains("fc.weight") && e.contains("bytes"), "{e}");
}

#[test]
fn header_checks_name_what_was_found() {
    let big = micro_with(|f| {
        if let Some(e) = f.iter_mut().find(|(n, _)| n.ends_with("byteorder")) {
            e.1 = b"big".to_vec();
        }
    });
    assert!(err(&big).contains("byte order `big`"), "{}", err(&big));
    let version = micro_with(|f| {
        if let Some(e) = f.iter_mut().find(|(n, _)| n.ends_with("archive_version")) {
            e.1 = b"7".to_vec();
        }
    });
    assert!(
        err(&version).contains("archive version `7`"),
        "{}",
        err(&version)
    );
    assert!(err(b"not a zip").contains("zip"));
}

#[test]
fn unknown_ops_are_listed_together() {
    let bytes = micro_with(|f| {
        edit_json(f, "models/model.json", |j| {
            let nodes = j["graph_module"]["graph"]["nodes"]
                .as_array_mut()
                .expect("nodes");
            nodes[1]["target"] = Json::from("torch.ops.aten.frobnicate.default");
            nodes[4]["target"] = Json::from("torch.ops.aten.wibble.Tensor");
        })
    });
    let e = err(&bytes);
    assert!(
        e.contains("aten.frobnicate.default (node `relu`)")
            && e.contains("aten.wibble.Tensor (node `relu_1`)"),
        "{e}"
    );
}

/// A batch size left symbolic by `torch.export` (`Dim("batch")`) becomes a
/// symbolic dim: the whole test set then runs in one call.
#[test]
fn symbolic_batch_becomes_a_symbolic_dim() {
    let bytes = micro_with(|f| {
        edit_json(f, "models/model.json", |j| {
            let sym = serde_json::json!({"as_expr": {"expr_str": "s0", "hint": {"as_int": 1}}});
            let values = j["graph_module"]["graph"]["tensor_values"]
                .as_object_mut()
                .expect("tensor_values");
            for (name, meta) in values.iter_mut() {
                if !name.starts_with("p_") {
                    meta["sizes"][0] = sym.clone();
                }
            }
            j["range_constraints"] = serde_json::json!({"s0": {"min_val": 1, "max_val": 1024}});
        })
    });
    let g =
        pare_pt2::import_bytes(&bytes, "micro_cnn_dynamic.pt2").unwrap_or_else(|e| panic!("{e}"));
    let input = g.ty(g.inputs[0]);
    assert_eq!(input.shape[0], Dim::Sym("s0".into()), "{input}");
    let x = support::read_npz(&support::fixture("digits.npz"))
        .into_iter()
        .find(|(n, _)| n == "x_test")
        .expect("x_test")
        .1;
    let want = support::read_npy(&support::fixture("micro_cnn.test_logits.npy"));
    let got = pare_ir::interp::run(&g, &[x]).expect("run the batch");
    let diff = support::max_abs_diff(&got[0], &want);
    println!("micro_cnn with symbolic batch: max abs diff {diff:.3e}");
    assert!(diff <= 1e-4, "{diff}");
}

/// A program over user inputs only, in the micro_cnn archive (its weights unused).
fn synthetic(
    inputs: &[(&str, Vec<i64>)],
    nodes: Vec<Json>,
    values: &[(&str, Vec<i64>)],
    output: &str,
) -> Vec<u8> {
    let tv = |sizes: &[i64]| serde_json::json!({"dtype": 7, "sizes": sizes.iter().map(|s| serde_json::json!({"as_int": s})).collect::<Vec<_>>()});
    let mut tensor_values = serde_json::Map::new();
    for (n, s) in inputs.iter().chain(values) {
        tensor_values.insert(n.to_string(), tv(s));
    }
    let model = serde_json::json!({
        "schema_version": {"major": 8, "minor": 20},
        "graph_module": {
            "graph": {"nodes": nodes, "tensor_values": tensor_values},
            "signature": {
                "input_specs": inputs.iter().map(|(n, _)| serde_json::json!({"user_input": {"arg": {"as_tensor": {"name": n}}}})).collect::<Vec<_>>(),
                "output_specs": [{"user_output": {"arg": {"as_tensor": {"name": output}}}}],
            },
        },
    });
    micro_with(|f| {
        if let Some(e) = f.iter_mut().find(|(n, _)| n.ends_with("models/model.json")) {
            e.1 = serde_json::to_vec(&model).expect("JSON");
        }
    })
}

fn node(target: &str, args: &[(&str, Json)], out: &str) -> Json {
    serde_json::json!({
        "target": format!("torch.ops.aten.{target}"),
        "name": out,
        "inputs": args.iter().map(|(n, a)| serde_json::json!({"name": n, "arg": a, "kind": 1})).collect::<Vec<_>>(),
        "outputs": [{"as_tensor": {"name": out}}],
    })
}

fn t(name: &str) -> Json {
    serde_json::json!({"as_tensor": {"name": name}})
}

fn seq(n: usize, scale: f32) -> Vec<f32> {
    (0..n)
        .map(|i| ((i * 7 % 11) as f32 - 5.0) * scale)
        .collect()
}

#[test]
fn scalar_operands_alpha_and_cat() {
    let bytes = synthetic(
        &[("a", vec![2, 3]), ("b", vec![2, 3])],
        vec![
            node(
                "add.Tensor",
                &[
                    ("self", t("a")),
                    ("other", t("b")),
                    ("alpha", serde_json::json!({"as_int": 2})),
                ],
                "s",
            ),
            node(
                "mul.Tensor",
                &[
                    ("self", t("s")),
                    ("other", serde_json::json!({"as_float": 0.5})),
                ],
                "m",
            ),
            node(
                "sub.Tensor",
                &[
                    ("self", t("m")),
                    ("other", serde_json::json!({"as_int": 1})),
                ],
                "d",
            ),
            node(
                "cat.default",
                &[
                    (
                        "tensors",
                        serde_json::json!({"as_tensors": [{"name": "d"}, {"name": "a"}]}),
                    ),
                    ("dim", serde_json::json!({"as_int": -1})),
                ],
                "out",
            ),
        ],
        &[
            ("s", vec![2, 3]),
            ("m", vec![2, 3]),
            ("d", vec![2, 3]),
            ("out", vec![2, 6]),
        ],
        "out",
    );
    let g = pare_pt2::import_bytes(&bytes, "synthetic.pt2").unwrap_or_else(|e| panic!("{e}"));
    let (a, b) = (seq(6, 1.0), seq(6, 0.25));
    let ta = Tensor::from_vec(vec![2, 3], a.clone()).unwrap();
    let tb = Tensor::from_vec(vec![2, 3], b.clone()).unwrap();
    let got = pare_ir::interp::run(&g, &[ta, tb]).expect("run");
    let mut want = Vec::new();
    for r in 0..2 {
        for c in 0..3 {
            want.push((a[r * 3 + c] + 2.0 * b[r * 3 + c]) * 0.5 - 1.0);
        }
        want.extend_from_slice(&a[r * 3..r * 3 + 3]);
    }
    assert_eq!(got[0].shape(), &[2, 6]);
    assert_eq!(got[0].to_f32_vec(), want);
}

#[test]
fn causal_attention_with_explicit_scale() {
    let shape = vec![1, 2, 3, 4];
    let bytes = synthetic(
        &[
            ("q", shape.clone()),
            ("k", shape.clone()),
            ("v", shape.clone()),
        ],
        vec![node(
            "scaled_dot_product_attention.default",
            &[
                ("query", t("q")),
                ("key", t("k")),
                ("value", t("v")),
                ("is_causal", serde_json::json!({"as_bool": true})),
                ("scale", serde_json::json!({"as_float": 0.3})),
            ],
            "out",
        )],
        &[("out", shape.clone())],
        "out",
    );
    let g = pare_pt2::import_bytes(&bytes, "attention.pt2").unwrap_or_else(|e| panic!("{e}"));
    let (q, k, v) = (seq(24, 0.1), seq(24, -0.2), seq(24, 0.3));
    let ins: Vec<Tensor> = [&q, &k, &v]
        .iter()
        .map(|d| Tensor::from_vec(vec![1, 2, 3, 4], d.to_vec()).unwrap())
        .collect();
    let got = pare_ir::interp::run(&g, &ins).expect("run")[0].to_f32_vec();
    // Reference: per head, softmax over keys j <= i of 0.3 * q_i·k_j, times v.
    let mut want = Vec::new();
    for h in 0..2 {
        let at = |m: &[f32], i: usize, e: usize| m[h * 12 + i * 4 + e];
        for i in 0..3 {
            let s: Vec<f32> = (0..=i)
                .map(|j| 0.3 * (0..4).map(|e| at(&q, i, e) * at(&k, j, e)).sum::<f32>())
                .collect();
            let mx = s.iter().cloned().fold(f32::MIN, f32::max);
            let w: Vec<f32> = s.iter().map(|x| (x - mx).exp()).collect();
            let z: f32 = w.iter().sum();
            for e in 0..4 {
                want.push((0..=i).map(|j| w[j] / z * at(&v, j, e)).sum::<f32>());
            }
        }
    }
    let diff = got
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(
        diff < 1e-6,
        "attention differs by {diff}: {got:?} vs {want:?}"
    );
}
