//! Core ATen forms (what `ep.run_decompositions()` leaves) in small synthetic
//! `.pt2` programs: multi-output nodes whose every output is consumed by name
//! (`max_pool2d_with_indices`, `native_dropout`, `split*`), and `expand`, `where`,
//! `pow`, `rsqrt`, `neg`, `embedding`, `amax` and `var.correction`, each checked
//! against values computed here by hand.

mod support;

use pare_ir::Tensor;
use serde_json::{json, Value as Json};
use std::io::{Cursor, Read, Write};

const F32: i64 = 7;
const I64: i64 = 5;
const BOOL: i64 = 12;

/// The micro_cnn fixture with its `model.json` replaced by `model` (weights unused).
fn archive_with(model: &Json) -> Vec<u8> {
    let original = std::fs::read(support::fixture("micro_cnn.pt2")).expect("fixture");
    let mut z = zip::ZipArchive::new(Cursor::new(&original[..])).expect("fixture is a zip");
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for i in 0..z.len() {
        let mut f = z.by_index(i).expect("entry");
        let name = f.name().expect("entry name").to_string();
        let mut b = Vec::new();
        f.read_to_end(&mut b).expect("read entry");
        if name.ends_with("models/model.json") {
            b = serde_json::to_vec(model).expect("JSON");
        }
        w.start_file(name.as_str(), opts).expect("start entry");
        w.write_all(&b).expect("write entry");
    }
    w.finish().expect("finish zip").into_inner()
}

/// A tensor name with its dtype code and sizes.
type Decl<'a> = (&'a str, i64, Vec<i64>);

/// Imports a program over user inputs `inputs` whose nodes declare `values`.
fn import(inputs: &[Decl], nodes: Vec<Json>, values: &[Decl], outputs: &[&str]) -> pare_ir::Graph {
    let bytes = program(inputs, nodes, values, outputs);
    pare_pt2::import_bytes(&bytes, "aten.pt2").unwrap_or_else(|e| panic!("{e}"))
}

fn program(inputs: &[Decl], nodes: Vec<Json>, values: &[Decl], outputs: &[&str]) -> Vec<u8> {
    let mut tensor_values = serde_json::Map::new();
    for (n, dtype, sizes) in inputs.iter().chain(values) {
        let sizes: Vec<Json> = sizes.iter().map(|s| json!({ "as_int": s })).collect();
        tensor_values.insert(n.to_string(), json!({"dtype": dtype, "sizes": sizes}));
    }
    let model = json!({
        "schema_version": {"major": 8, "minor": 20},
        "graph_module": {
            "graph": {"nodes": nodes, "tensor_values": tensor_values},
            "signature": {
                "input_specs": inputs.iter().map(|(n, _, _)| json!({"user_input": {"arg": {"as_tensor": {"name": n}}}})).collect::<Vec<_>>(),
                "output_specs": outputs.iter().map(|n| json!({"user_output": {"arg": {"as_tensor": {"name": n}}}})).collect::<Vec<_>>(),
            },
        },
    });
    archive_with(&model)
}

/// A node with explicit output unions (as torch.export serializes tuple results).
fn node(target: &str, args: &[(&str, Json)], outputs: Json) -> Json {
    json!({
        "target": format!("torch.ops.aten.{target}"),
        "name": format!("n_{}", target.replace('.', "_")),
        "inputs": args.iter().map(|(n, a)| json!({"name": n, "arg": a, "kind": 1})).collect::<Vec<_>>(),
        "outputs": outputs,
    })
}

fn one(name: &str) -> Json {
    json!([{ "as_tensor": { "name": name } }])
}

fn t(name: &str) -> Json {
    json!({ "as_tensor": { "name": name } })
}

fn ints(v: &[i64]) -> Json {
    json!({ "as_ints": v })
}

fn seq(n: usize, scale: f32) -> Vec<f32> {
    (0..n)
        .map(|i| ((i * 7 % 11) as f32 - 5.0) * scale)
        .collect()
}

fn f32s(shape: &[usize], v: Vec<f32>) -> Tensor {
    Tensor::from_vec(shape.to_vec(), v).expect("tensor")
}

fn close(got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!(
            (g - w).abs() <= 1e-5 * w.abs().max(1.0),
            "{got:?} vs {want:?}"
        );
    }
}

/// Both outputs of `max_pool2d_with_indices` are graph outputs; the indices are
/// torch's (within each H·W plane), not ONNX's (over the whole tensor).
#[test]
fn max_pool_with_indices_gives_values_and_plane_indices() {
    let g = import(
        &[("x", F32, vec![1, 2, 4, 4])],
        vec![node(
            "max_pool2d_with_indices.default",
            &[
                ("self", t("x")),
                ("kernel_size", ints(&[2, 2])),
                ("stride", ints(&[2, 2])),
            ],
            json!([{"as_tensor": {"name": "getitem"}}, {"as_tensor": {"name": "getitem_1"}}]),
        )],
        &[
            ("getitem", F32, vec![1, 2, 2, 2]),
            ("getitem_1", I64, vec![1, 2, 2, 2]),
        ],
        &["getitem", "getitem_1"],
    );
    let x = seq(32, 1.0);
    let got = pare_ir::interp::run(&g, &[f32s(&[1, 2, 4, 4], x.clone())]).expect("run");
    let (mut values, mut indices) = (Vec::new(), Vec::new());
    for ch in 0..2 {
        for oh in 0..2 {
            for ow in 0..2 {
                let mut best = (f32::MIN, 0i64);
                for kh in 0..2 {
                    for kw in 0..2 {
                        let (h, w) = (oh * 2 + kh, ow * 2 + kw);
                        let v = x[ch * 16 + h * 4 + w];
                        if v > best.0 {
                            best = (v, (h * 4 + w) as i64);
                        }
                    }
                }
                values.push(best.0);
                indices.push(best.1);
            }
        }
    }
    assert_eq!(got[0].to_f32_vec(), values);
    assert_eq!(
        got[1].to_f32_vec(),
        indices.iter().map(|&i| i as f32).collect::<Vec<_>>()
    );
    assert_eq!(got[1].dtype(), pare_ir::DType::I64);

    // Indices the program never uses may be left unnamed.
    let g = import(
        &[("x", F32, vec![1, 2, 4, 4])],
        vec![node(
            "max_pool2d_with_indices.default",
            &[("self", t("x")), ("kernel_size", ints(&[2]))],
            json!([{"as_tensor": {"name": "getitem"}}, {"as_none": true}]),
        )],
        &[("getitem", F32, vec![1, 2, 2, 2])],
        &["getitem"],
    );
    let got = pare_ir::interp::run(&g, &[f32s(&[1, 2, 4, 4], x)]).expect("run");
    assert_eq!(got[0].to_f32_vec(), values);
}

/// `split.Tensor` (uneven last chunk) and `split_with_sizes` list outputs, each
/// piece consumed by a later node by name.
#[test]
fn split_outputs_are_all_usable() {
    let g = import(
        &[("x", F32, vec![2, 5])],
        vec![
            node(
                "split.Tensor",
                &[
                    ("self", t("x")),
                    ("split_size", json!({"as_int": 2})),
                    ("dim", json!({"as_int": 1})),
                ],
                json!([{"as_tensors": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}]),
            ),
            node(
                "split_with_sizes.default",
                &[
                    ("self", t("x")),
                    ("split_sizes", ints(&[1, 4])),
                    ("dim", json!({"as_int": -1})),
                ],
                json!([{"as_tensors": [{"name": "d"}, {"name": "e"}]}]),
            ),
            node(
                "cat.default",
                &[
                    (
                        "tensors",
                        json!({"as_tensors": [{"name": "c"}, {"name": "b"}, {"name": "a"}, {"name": "e"}, {"name": "d"}]}),
                    ),
                    ("dim", json!({"as_int": 1})),
                ],
                one("out"),
            ),
        ],
        &[
            ("a", F32, vec![2, 2]),
            ("b", F32, vec![2, 2]),
            ("c", F32, vec![2, 1]),
            ("d", F32, vec![2, 1]),
            ("e", F32, vec![2, 4]),
            ("out", F32, vec![2, 10]),
        ],
        &["out"],
    );
    let x: Vec<f32> = (0..10).map(|i| i as f32).collect();
    let got = pare_ir::interp::run(&g, &[f32s(&[2, 5], x)]).expect("run");
    let want = [
        4., 2., 3., 0., 1., 1., 2., 3., 4., 0., //
        9., 7., 8., 5., 6., 6., 7., 8., 9., 5.,
    ];
    assert_eq!(got[0].to_f32_vec(), want);
}

/// `native_dropout` (its mask used by `where`), `pow`, `expand` with -1, `rsqrt`,
/// `neg` and `where` with a scalar branch.
#[test]
fn elementwise_core_aten_forms() {
    let g = import(
        &[
            ("x", F32, vec![2, 3]),
            ("b", F32, vec![1, 3]),
            ("cond", BOOL, vec![2, 3]),
        ],
        vec![
            node(
                "native_dropout.default",
                &[
                    ("input", t("x")),
                    ("p", json!({"as_float": 0.5})),
                    ("train", json!({"as_bool": false})),
                ],
                json!([{"as_tensor": {"name": "drop"}}, {"as_tensor": {"name": "mask"}}]),
            ),
            node(
                "pow.Tensor_Scalar",
                &[("self", t("drop")), ("exponent", json!({"as_int": 2}))],
                one("sq"),
            ),
            node(
                "expand.default",
                &[("self", t("b")), ("size", ints(&[2, -1]))],
                one("e"),
            ),
            node("rsqrt.default", &[("self", t("e"))], one("r")),
            node("neg.default", &[("self", t("r"))], one("n")),
            node(
                "where.self",
                &[
                    ("condition", t("mask")),
                    ("self", t("sq")),
                    ("other", t("n")),
                ],
                one("w"),
            ),
            node(
                "add.Tensor",
                &[("self", t("w")), ("other", t("n"))],
                one("s"),
            ),
            node(
                "where.ScalarOther",
                &[
                    ("condition", t("cond")),
                    ("self", t("s")),
                    ("other", json!({"as_float": 0.5})),
                ],
                one("out"),
            ),
        ],
        &[
            ("drop", F32, vec![2, 3]),
            ("mask", BOOL, vec![2, 3]),
            ("sq", F32, vec![2, 3]),
            ("e", F32, vec![2, 3]),
            ("r", F32, vec![2, 3]),
            ("n", F32, vec![2, 3]),
            ("w", F32, vec![2, 3]),
            ("s", F32, vec![2, 3]),
            ("out", F32, vec![2, 3]),
        ],
        &["out", "mask"],
    );
    let x = seq(6, 0.5);
    let b = [0.25f32, 4.0, 1.0];
    let cond = [true, false, true, true, true, false];
    let ins = [
        f32s(&[2, 3], x.clone()),
        f32s(&[1, 3], b.to_vec()),
        Tensor::from_vec(vec![2, 3], cond.to_vec()).expect("cond"),
    ];
    let got = pare_ir::interp::run(&g, &ins).expect("run");
    let want: Vec<f32> = (0..6)
        .map(|i| {
            if cond[i] {
                x[i] * x[i] - 1.0 / b[i % 3].sqrt()
            } else {
                0.5
            }
        })
        .collect();
    close(&got[0].to_f32_vec(), &want);
    assert_eq!(got[1].dtype(), pare_ir::DType::Bool);
    assert_eq!(got[1].shape(), &[2, 3]);
    assert_eq!(got[1].to_f32_vec(), vec![1.0; 6]);
}

/// `embedding` rows, then `amax` over the last dim and an unbiased `var.correction`.
#[test]
fn embedding_amax_and_variance() {
    let g = import(
        &[("w", F32, vec![5, 3]), ("idx", I64, vec![2, 2])],
        vec![
            node(
                "embedding.default",
                &[("weight", t("w")), ("indices", t("idx"))],
                one("emb"),
            ),
            node(
                "amax.default",
                &[("self", t("emb")), ("dim", ints(&[-1]))],
                one("mx"),
            ),
            node(
                "var.correction",
                &[
                    ("self", t("emb")),
                    ("dim", ints(&[1])),
                    ("correction", json!({"as_int": 1})),
                    ("keepdim", json!({"as_bool": true})),
                ],
                one("v"),
            ),
        ],
        &[
            ("emb", F32, vec![2, 2, 3]),
            ("mx", F32, vec![2, 2]),
            ("v", F32, vec![2, 1, 3]),
        ],
        &["emb", "mx", "v"],
    );
    let w = seq(15, 0.3);
    let idx = [4i64, 0, 2, 2];
    let ins = [
        f32s(&[5, 3], w.clone()),
        Tensor::from_vec(vec![2, 2], idx.to_vec()).expect("idx"),
    ];
    let got = pare_ir::interp::run(&g, &ins).expect("run");
    let emb: Vec<f32> = idx
        .iter()
        .flat_map(|&i| w[i as usize * 3..i as usize * 3 + 3].to_vec())
        .collect();
    assert_eq!(got[0].to_f32_vec(), emb);
    let mx: Vec<f32> = emb
        .chunks(3)
        .map(|r| r.iter().cloned().fold(f32::MIN, f32::max))
        .collect();
    assert_eq!(got[1].to_f32_vec(), mx);
    let mut var = Vec::new();
    for b in 0..2 {
        for k in 0..3 {
            let (p, q) = (emb[b * 6 + k], emb[b * 6 + 3 + k]);
            let m = (p + q) / 2.0;
            var.push((p - m).powi(2) + (q - m).powi(2));
        }
    }
    assert_eq!(got[2].shape(), &[2, 1, 3]);
    close(&got[2].to_f32_vec(), &var);
}

/// Training-mode dropout and a split whose sizes disagree with its outputs are
/// refused with errors naming the node.
#[test]
fn bad_core_aten_nodes_are_named() {
    let err = |nodes: Vec<Json>, values: &[Decl]| {
        let bytes = program(&[("x", F32, vec![2, 4])], nodes, values, &["y"]);
        pare_pt2::import_bytes(&bytes, "bad.pt2")
            .expect_err("must be rejected")
            .to_string()
    };
    let e = err(
        vec![node(
            "native_dropout.default",
            &[
                ("input", t("x")),
                ("p", json!({"as_float": 0.1})),
                ("train", json!({"as_bool": true})),
            ],
            json!([{"as_tensor": {"name": "y"}}, {"as_tensor": {"name": "m"}}]),
        )],
        &[("y", F32, vec![2, 4]), ("m", BOOL, vec![2, 4])],
    );
    assert!(
        e.contains("n_native_dropout_default") && e.contains("training"),
        "{e}"
    );
    let e = err(
        vec![node(
            "split.Tensor",
            &[
                ("self", t("x")),
                ("split_size", json!({"as_int": 3})),
                ("dim", json!({"as_int": 1})),
            ],
            json!([{"as_tensors": [{"name": "y"}]}]),
        )],
        &[("y", F32, vec![2, 3])],
    );
    assert!(e.contains("n_split_Tensor") && e.contains("[3, 1]"), "{e}");
}

/// `unbind`, `chunk` and `roll` as hand-built nodes, against values worked out here.
#[test]
fn unbind_chunk_and_roll() {
    let g = import(
        &[("x", F32, vec![3, 2, 5])],
        vec![
            node(
                "unbind.int",
                &[("self", t("x")), ("dim", json!({"as_int": 0}))],
                json!([{"as_tensors": [{"name": "q"}, {"name": "k"}, {"name": "v"}]}]),
            ),
            node(
                "chunk.default",
                &[
                    ("self", t("v")),
                    ("chunks", json!({"as_int": 2})),
                    ("dim", json!({"as_int": -1})),
                ],
                json!([{"as_tensors": [{"name": "c0"}, {"name": "c1"}]}]),
            ),
            node(
                "roll.default",
                &[
                    ("self", t("q")),
                    ("shifts", ints(&[1, -2])),
                    ("dims", ints(&[0, 1])),
                ],
                one("r"),
            ),
        ],
        &[
            ("q", F32, vec![2, 5]),
            ("k", F32, vec![2, 5]),
            ("v", F32, vec![2, 5]),
            ("c0", F32, vec![2, 3]),
            ("c1", F32, vec![2, 2]),
            ("r", F32, vec![2, 5]),
        ],
        &["k", "c0", "c1", "r"],
    );
    let x: Vec<f32> = (0..30).map(|i| i as f32).collect();
    let got = pare_ir::interp::run(&g, &[f32s(&[3, 2, 5], x)]).expect("run");
    close(
        &got[0].to_f32_vec(),
        &(10..20).map(|i| i as f32).collect::<Vec<_>>(),
    );
    close(&got[1].to_f32_vec(), &[20.0, 21.0, 22.0, 25.0, 26.0, 27.0]);
    close(&got[2].to_f32_vec(), &[23.0, 24.0, 28.0, 29.0]);
    // q = [[0..5], [5..10]]: rows swapped (shift 1 of 2), columns moved left by 2.
    close(
        &got[3].to_f32_vec(),
        &[7.0, 8.0, 9.0, 5.0, 6.0, 2.0, 3.0, 4.0, 0.0, 1.0],
    );
}

/// Lowering errors are typed: the node, its target and a `LowerError` saying what
/// was expected.
#[test]
fn lowering_errors_are_typed_and_name_the_node() {
    let reject = |nodes: Vec<Json>, values: &[Decl]| {
        let bytes = program(&[("x", F32, vec![2, 4])], nodes, values, &["y"]);
        pare_pt2::import_bytes(&bytes, "bad.pt2").expect_err("must be rejected")
    };
    let e = reject(
        vec![node(
            "chunk.default",
            &[("self", t("x"))],
            json!([{"as_tensors": [{"name": "y"}]}]),
        )],
        &[("y", F32, vec![2, 4])],
    );
    match &e.kind {
        pare_pt2::ErrorKind::Node {
            node,
            target,
            source,
        } => match source.as_ref() {
            pare_pt2::LowerError::MissingArg { arg, .. } => assert_eq!(
                (node.as_str(), target.as_str(), arg.as_str()),
                ("n_chunk_default", "torch.ops.aten.chunk.default", "chunks")
            ),
            other => panic!("expected a missing argument, got {other}"),
        },
        other => panic!("expected a node error, got {other}"),
    }
    assert_eq!(
        e.to_string(),
        "bad.pt2: node `n_chunk_default` (torch.ops.aten.chunk.default): argument `chunks` (an int) is missing"
    );
    let e = reject(
        vec![node(
            "index.Tensor",
            &[
                ("self", t("x")),
                ("indices", json!({"as_optional_tensors": [t("x"), t("x")]})),
            ],
            one("y"),
        )],
        &[("y", F32, vec![2, 4])],
    );
    let msg = e.to_string();
    assert!(
        msg.contains("n_index_Tensor") && msg.contains("several index tensors"),
        "{msg}"
    );
    // A transposing re-stride is not a reshape: refused with the reason.
    let e = reject(
        vec![node(
            "as_strided.default",
            &[
                ("self", t("x")),
                ("size", ints(&[4, 2])),
                ("stride", ints(&[1, 4])),
            ],
            one("y"),
        )],
        &[("y", F32, vec![4, 2])],
    );
    let msg = e.to_string();
    assert!(
        msg.contains("n_as_strided_default") && msg.contains("raw storage"),
        "{msg}"
    );
    let e = reject(
        vec![node(
            "flip.default",
            &[("self", t("x")), ("dims", ints(&[2]))],
            one("y"),
        )],
        &[("y", F32, vec![2, 4])],
    );
    let pare_pt2::ErrorKind::Node { source, .. } = &e.kind else {
        panic!("expected a node error, got {e}");
    };
    assert!(
        matches!(
            source.as_ref(),
            pare_pt2::LowerError::DimOutOfRange { dim: 2, rank: 2 }
        ),
        "{e}"
    );
}
