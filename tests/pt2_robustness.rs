//! Hostile `.pt2` archives: thousands of mutants (truncated, bit-flipped, entries
//! removed, weight files shortened, sizes/strides/offsets/dtypes in the weight
//! config and values in `model.json` changed) go through import and — when they
//! still import — verification and the interpreter: each gives a result or an
//! error, never a panic. Hand-broken archives get errors naming the problem.

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
        0 => original[..rng.usize(0..original.len())].to_vec(),
        1 => {
            let mut b = original.to_vec();
            for _ in 0..rng.usize(1..8) {
                let i = rng.usize(0..b.len());
                b[i] ^= 1 << rng.u8(0..8);
            }
            b
        }
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

fn small_inputs(g: &pare_ir::Graph) -> Option<Vec<Tensor>> {
    g.inputs
        .iter()
        .map(|&v| {
            let ty = g.ty(v);
            let shape: Vec<usize> = ty
                .shape
                .iter()
                .map(|d| match d {
                    Dim::Fixed(n) => *n as usize,
                    Dim::Sym(_) => 1,
                })
                .collect();
            if shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))? > 1 << 16 {
                return None;
            }
            Tensor::zeros(ty.dtype, shape).ok()
        })
        .collect()
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
            if let Some(inputs) = small_inputs(&g) {
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
