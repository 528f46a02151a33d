//! Dynamic-shape `.pt2` programs: `aten.sym_size.int`, Python-operator nodes on sym
//! ints (`_operator.mul`, ...) and size lists mixing sym ints with constants
//! (`as_sym_ints`), imported, inferred with torch's symbol names, run at several
//! batch sizes, and folded by `cleanup` down to constant shapes.

mod support;

use pare_ir::{Dim, Graph, Op, Tensor};
use serde_json::{json, Value as Json};
use std::io::{Cursor, Read, Write};

const F32: i64 = 7;

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

/// A size as torch serializes it: a number, or the symbol `s0` (hint 3).
fn size(s: &str) -> Json {
    match s.parse::<i64>() {
        Ok(n) => json!({ "as_int": n }),
        Err(_) => json!({"as_expr": {"expr_str": s, "hint": {"as_int": 3}}}),
    }
}

/// A program over user inputs `x: f32[s0,8,8]`, `w: f32[4,64]`, `b: f32[4]`.
fn program(nodes: Vec<Json>, values: &[(&str, &[&str])], output: &str) -> Graph {
    let mut tensor_values = serde_json::Map::new();
    let inputs: [(&str, &[&str]); 3] =
        [("x", &["s0", "8", "8"]), ("w", &["4", "64"]), ("b", &["4"])];
    for (n, sizes) in inputs.iter().chain(values) {
        let sizes: Vec<Json> = sizes.iter().map(|s| size(s)).collect();
        tensor_values.insert(n.to_string(), json!({"dtype": F32, "sizes": sizes}));
    }
    let model = json!({
        "schema_version": {"major": 8, "minor": 20},
        "graph_module": {
            "graph": {
                "nodes": nodes,
                "tensor_values": tensor_values,
                "sym_int_values": {"sym_size_int": size("s0")},
            },
            "signature": {
                "input_specs": inputs.iter().map(|(n, _)| json!({"user_input": {"arg": {"as_tensor": {"name": n}}}})).collect::<Vec<_>>(),
                "output_specs": [{"user_output": {"arg": {"as_tensor": {"name": output}}}}],
            },
        },
        "range_constraints": {"s0": {"min_val": 2, "max_val": 1024}},
    });
    pare_pt2::import_bytes(&archive_with(&model), "symint.pt2").unwrap_or_else(|e| panic!("{e}"))
}

fn node(target: &str, name: &str, args: &[(&str, Json)], outputs: Json) -> Json {
    json!({
        "target": target,
        "name": name,
        "inputs": args.iter().map(|(n, a)| json!({"name": n, "arg": a, "kind": 1})).collect::<Vec<_>>(),
        "outputs": outputs,
    })
}

fn t(name: &str) -> Json {
    json!({ "as_tensor": { "name": name } })
}

fn sym(name: &str) -> Json {
    json!({ "as_sym_int": { "as_name": name } })
}

fn sym_out(name: &str) -> Json {
    json!([{ "as_sym_int": { "as_name": name } }])
}

fn tensor_out(name: &str) -> Json {
    json!([{ "as_tensor": { "name": name } }])
}

fn sym_size(x: &str, dim: i64, out: &str) -> Json {
    node(
        "torch.ops.aten.sym_size.int",
        out,
        &[("self", t(x)), ("dim", json!({ "as_int": dim }))],
        sym_out(out),
    )
}

/// `view(x, [batch, 64])` then `linear(w, b)`.
fn view_linear(batch: &str) -> Vec<Json> {
    vec![
        node(
            "torch.ops.aten.view.default",
            "view",
            &[
                ("self", t("x")),
                (
                    "size",
                    json!({"as_sym_ints": [{"as_name": batch}, {"as_int": 64}]}),
                ),
            ],
            tensor_out("view"),
        ),
        node(
            "torch.ops.aten.linear.default",
            "linear",
            &[("input", t("view")), ("weight", t("w")), ("bias", t("b"))],
            tensor_out("linear"),
        ),
    ]
}

fn seq(n: usize, scale: f32) -> Vec<f32> {
    (0..n)
        .map(|i| ((i * 7 % 11) as f32 - 5.0) * scale)
        .collect()
}

/// Runs `g` at batch `n` and checks `x.view(n, 64) @ wᵀ + b`.
fn check_run(g: &Graph, n: usize) {
    let (x, w, b) = (seq(n * 64, 0.25), seq(4 * 64, 0.125), seq(4, 1.0));
    let inputs = [
        Tensor::from_vec(vec![n, 8, 8], x.clone()).expect("x"),
        Tensor::from_vec(vec![4, 64], w.clone()).expect("w"),
        Tensor::from_vec(vec![4], b.clone()).expect("b"),
    ];
    let got = pare_ir::interp::run(g, &inputs).unwrap_or_else(|e| panic!("batch {n}: {e}"));
    assert_eq!(got[0].shape(), &[n, 4], "batch {n}");
    let got = got[0].to_f32_vec();
    for r in 0..n {
        for o in 0..4 {
            let want: f32 = b[o] + (0..64).map(|k| x[r * 64 + k] * w[o * 64 + k]).sum::<f32>();
            let g = got[r * 4 + o];
            assert!(
                (g - want).abs() <= 1e-4 * want.abs().max(1.0),
                "batch {n} [{r},{o}]: {g} vs {want}"
            );
        }
    }
}

fn live_shape_nodes(g: &Graph) -> usize {
    g.order()
        .iter()
        .filter(|&&id| matches!(g.node(id).op, Op::Shape { .. }))
        .count()
}

/// The brief's model: the batch read with `sym_size.int` feeds a `view` size list.
#[test]
fn sym_size_feeds_view_and_folds_away() {
    let mut nodes = vec![sym_size("x", 0, "sym_size_int")];
    nodes.extend(view_linear("sym_size_int"));
    let mut g = program(
        nodes,
        &[("view", &["s0", "64"]), ("linear", &["s0", "4"])],
        "linear",
    );

    let out = g.ty(g.outputs[0]).clone();
    assert_eq!(
        out.shape,
        vec![Dim::Sym("s0".into()), Dim::Fixed(4)],
        "{out}"
    );
    assert_eq!(g.ty(g.inputs[0]).shape[0], Dim::Sym("s0".into()));
    assert_eq!(live_shape_nodes(&g), 1, "sym_size lowers to one Shape");
    check_run(&g, 3);
    check_run(&g, 5);

    pare_passes::run_pipeline(&mut g, "cleanup").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(live_shape_nodes(&g), 0, "cleanup leaves no Shape node");
    let out = g.ty(g.outputs[0]).clone();
    assert_eq!(
        out.shape,
        vec![Dim::Sym("s0".into()), Dim::Fixed(4)],
        "{out}"
    );
    check_run(&g, 3);
    check_run(&g, 5);
}

/// Python-operator nodes on sym ints: `((s0 * 8) // 8 + 2) - 2` is still the batch.
#[test]
fn sym_int_operators_compute_sizes() {
    let op = |target: &str, out: &str, a: Json, b: Json| {
        node(target, out, &[("a", a), ("b", b)], sym_out(out))
    };
    let int = |n: i64| json!({ "as_int": n });
    let mut nodes = vec![
        sym_size("x", -3, "sym_size_int"),
        op("_operator.mul", "mul", sym("sym_size_int"), int(8)),
        op("_operator.floordiv", "floordiv", sym("mul"), int(8)),
        op(
            "_operator.add",
            "add",
            sym("floordiv"),
            json!({"as_sym_int": {"as_int": 2}}),
        ),
        op("_operator.sub", "sub", sym("add"), int(2)),
    ];
    nodes.extend(view_linear("sub"));
    let g = program(
        nodes,
        &[("view", &["s0", "64"]), ("linear", &["s0", "4"])],
        "linear",
    );
    assert_eq!(g.ty(g.outputs[0]).shape[1], Dim::Fixed(4));
    check_run(&g, 3);
    check_run(&g, 5);
}

/// A sym-int bound in `slice` and an `expand` size list keep their run-time values.
#[test]
fn sym_ints_in_slice_bounds_and_expand_sizes() {
    let nodes = vec![
        sym_size("x", 0, "sym_size_int"),
        node(
            "torch.ops.aten.slice.Tensor",
            "slice",
            &[
                ("self", t("w")),
                ("dim", json!({"as_int": 1})),
                ("start", json!({"as_int": 0})),
                ("end", sym("sym_size_int")),
            ],
            tensor_out("slice"),
        ),
        node(
            "torch.ops.aten.expand.default",
            "expand",
            &[
                ("self", t("b")),
                (
                    "size",
                    json!({"as_sym_ints": [{"as_name": "sym_size_int"}, {"as_int": -1}]}),
                ),
            ],
            tensor_out("expand"),
        ),
        node(
            "torch.ops.aten.mm.default",
            "mm",
            &[("self", t("expand")), ("mat2", t("slice"))],
            tensor_out("mm"),
        ),
    ];
    let g = program(
        nodes,
        &[
            ("slice", &["4", "s0"]),
            ("expand", &["s0", "4"]),
            ("mm", &["s0", "s0"]),
        ],
        "mm",
    );
    for n in [3usize, 5] {
        let (w, b) = (seq(4 * 64, 0.5), seq(4, 1.0));
        let inputs = [
            Tensor::from_vec(vec![n, 8, 8], vec![0.0f32; n * 64]).expect("x"),
            Tensor::from_vec(vec![4, 64], w.clone()).expect("w"),
            Tensor::from_vec(vec![4], b.clone()).expect("b"),
        ];
        let got = pare_ir::interp::run(&g, &inputs).unwrap_or_else(|e| panic!("batch {n}: {e}"));
        assert_eq!(got[0].shape(), &[n, n], "batch {n}");
        let got = got[0].to_f32_vec();
        for i in 0..n {
            for j in 0..n {
                let want: f32 = (0..4).map(|k| b[k] * w[k * 64 + j]).sum();
                let g = got[i * n + j];
                assert!(
                    (g - want).abs() <= 1e-5 * want.abs().max(1.0),
                    "batch {n} [{i},{j}]: {g} vs {want}"
                );
            }
        }
    }
}

/// A sym int that no node defined is an error naming it, not a panic.
#[test]
fn undefined_sym_int_is_an_error() {
    let model_nodes = view_linear("nowhere");
    let mut tensor_values = serde_json::Map::new();
    for (n, sizes) in [
        ("x", vec!["s0", "8", "8"]),
        ("w", vec!["4", "64"]),
        ("b", vec!["4"]),
        ("view", vec!["s0", "64"]),
        ("linear", vec!["s0", "4"]),
    ] {
        let sizes: Vec<Json> = sizes.iter().map(|s| size(s)).collect();
        tensor_values.insert(n.to_string(), json!({"dtype": F32, "sizes": sizes}));
    }
    let input_specs: Vec<Json> = ["x", "w", "b"]
        .iter()
        .map(|n| json!({"user_input": {"arg": {"as_tensor": {"name": n}}}}))
        .collect();
    let model = json!({
        "schema_version": {"major": 8, "minor": 20},
        "graph_module": {
            "graph": {"nodes": model_nodes, "tensor_values": tensor_values},
            "signature": {
                "input_specs": input_specs,
                "output_specs": [{"user_output": {"arg": {"as_tensor": {"name": "linear"}}}}],
            },
        },
    });
    let err = pare_pt2::import_bytes(&archive_with(&model), "symint.pt2")
        .expect_err("undefined sym int")
        .to_string();
    assert!(err.contains("nowhere"), "{err}");
}
