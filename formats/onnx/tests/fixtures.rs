//! Imports every ONNX fixture and checks its structure against the `onnx` package's
//! reading of the same file, then exports and re-imports it.

mod common;

use common::oracle::{self, DeclaredDim, DeclaredValue};
use common::{fixture, fixtures_dir, op_counts, param_count};
use pare_ir::{DType, Dim, Graph, TensorType, ValueId};
use pare_onnx::{export_model, import_bytes, import_file, ExportOptions};
use std::collections::BTreeMap;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn names(g: &Graph, ids: &[ValueId]) -> Vec<String> {
    ids.iter().map(|&v| g.value(v).name.clone()).collect()
}

/// pare's textual-IR name for an ONNX op type, from the op table's ONNX column (the
/// importer's own mapping for attribute-free ops).
fn ir_op_name(op_type: &str) -> String {
    match pare_ir::ops::by_onnx_name(op_type) {
        Some((name, _)) => name.to_string(),
        None => panic!("the op table has no row with ONNX form `{op_type}`"),
    }
}

/// Whether pare holds the `axes` attribute of `op_type` at `opset` as a weight input: the
/// ops whose axes later became an input (ReduceSum at 13, the other reductions at 18,
/// Squeeze/Unsqueeze at 13) are imported in their input form.
fn axes_attribute_becomes_weight(op_type: &str, opset: i64) -> bool {
    match op_type {
        "ReduceSum" | "Squeeze" | "Unsqueeze" => opset < 13,
        "ReduceMean" | "ReduceMax" | "ReduceMin" | "ReduceProd" | "ReduceL1" | "ReduceL2"
        | "ReduceLogSum" | "ReduceLogSumExp" | "ReduceSumSquare" => opset < 18,
        _ => false,
    }
}

/// Whether pare's dim is the declared one. For outputs (`inferred`), shape inference may
/// also prove a size the exporter left symbolic (the VAE's ConvTranspose output).
fn declared_dim_matches(want: &DeclaredDim, got: &Dim, inferred: bool) -> bool {
    match (want, got) {
        (DeclaredDim::Fixed(n), Dim::Fixed(m)) => n == m,
        (DeclaredDim::Named(n), Dim::Sym(s)) => n == s,
        (DeclaredDim::Named(_), Dim::Fixed(_)) => inferred,
        // An unnamed dim gets a fresh symbol of pare's choosing.
        (DeclaredDim::Unnamed(()), Dim::Sym(_)) => true,
        (DeclaredDim::Unnamed(()), Dim::Fixed(_)) => inferred,
        _ => false,
    }
}

fn check_declared(file: &str, what: &str, g: &Graph, ids: &[ValueId], want: &[DeclaredValue]) {
    let inferred = what == "outputs";
    assert_eq!(
        names(g, ids),
        want.iter().map(|v| v.name.clone()).collect::<Vec<_>>(),
        "{file}: graph {what}"
    );
    for (&id, w) in ids.iter().zip(want) {
        let got = &g.ty(id).shape;
        assert!(
            got.len() == w.shape.len()
                && w.shape
                    .iter()
                    .zip(got)
                    .all(|(a, b)| declared_dim_matches(a, b, inferred)),
            "{file}: {what} `{}` has shape {got:?}, the file declares {:?}",
            w.name,
            w.shape
        );
    }
}

/// Every fixture's import agrees with what the `onnx` package reads from the same file:
/// metadata, declared inputs and outputs, node counts per op and parameter elements.
/// The importer's normalizations are the explicit rules here: `Constant` nodes become
/// weights (no node; their elements count as parameters), and `axes` attributes of ops
/// whose later opsets take axes as an input become weights too.
#[test]
fn fixtures_match_the_onnx_package() -> TestResult {
    for file in onnx_fixtures()? {
        let stem = file
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or("file stem")?;
        let want = oracle::structure(stem);
        let g = import_file(&file).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(g.meta.producer_name, want.producer_name, "{stem}: producer");
        assert_eq!(g.meta.ir_version, want.ir_version, "{stem}: IR version");
        assert_eq!(g.meta.opset, want.opset, "{stem}: opset");
        check_declared(stem, "inputs", &g, &g.inputs, &want.inputs);
        check_declared(stem, "outputs", &g, &g.outputs, &want.outputs);

        let mut want_ops = BTreeMap::new();
        for (op_type, &n) in &want.op_counts {
            *want_ops.entry(ir_op_name(op_type)).or_insert(0) += n;
        }
        let got_ops: BTreeMap<String, usize> = op_counts(&g)
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        assert_eq!(got_ops, want_ops, "{stem}: ops");

        let axes: u64 = want
            .axes_attribute_elements
            .iter()
            .filter(|(op, _)| axes_attribute_becomes_weight(op, want.opset))
            .map(|(_, n)| n)
            .sum();
        assert_eq!(
            param_count(&g),
            want.initializer_elements + want.constant_elements + axes,
            "{stem}: parameter elements (initializers {} + Constants {} + axes attributes {axes})",
            want.initializer_elements,
            want.constant_elements
        );
    }
    Ok(())
}

/// What holds for any export of these trained models, whichever exporter wrote it.
#[test]
fn fixtures_model_invariants() -> TestResult {
    let batch = || Dim::Sym("batch".into());
    struct Case {
        file: &'static str,
        input: Vec<Dim>,
        output: (&'static str, Vec<Dim>),
        ops: &'static [(&'static str, usize)],
    }
    let digits_input = vec![batch(), Dim::Fixed(1), Dim::Fixed(8), Dim::Fixed(8)];
    let image_input = vec![
        Dim::Fixed(1),
        Dim::Fixed(3),
        Dim::Fixed(224),
        Dim::Fixed(224),
    ];
    let cases = [
        Case {
            file: "digits_cnn.onnx",
            input: digits_input.clone(),
            output: ("logits", vec![batch(), Dim::Fixed(10)]),
            ops: &[("conv", 5), ("gemm", 2), ("max_pool", 1)],
        },
        Case {
            file: "digits_transformer.onnx",
            input: digits_input.clone(),
            output: ("logits", vec![batch(), Dim::Fixed(10)]),
            ops: &[("layer_normalization", 3), ("softmax", 1)],
        },
        Case {
            file: "micro_cnn.onnx",
            input: digits_input.clone(),
            output: ("logits", vec![batch(), Dim::Fixed(10)]),
            ops: &[("conv", 2), ("gemm", 1)],
        },
        Case {
            file: "digits_vae.onnx",
            input: digits_input.clone(),
            // Only the batch and channel dims: exporters name or fix the spatial ones.
            output: ("recon", vec![batch(), Dim::Fixed(1)]),
            ops: &[("conv", 2), ("conv_transpose", 2)],
        },
        Case {
            file: "mobilenet_v2.onnx",
            input: image_input.clone(),
            output: ("logits", vec![Dim::Fixed(1), Dim::Fixed(1000)]),
            ops: &[("conv", 52)],
        },
        Case {
            file: "mobilenet_v3_small.onnx",
            input: image_input.clone(),
            output: ("logits", vec![Dim::Fixed(1), Dim::Fixed(1000)]),
            ops: &[("conv", 52), ("hard_swish", 19)],
        },
    ];
    for c in cases {
        let g = import_file(&fixture(c.file)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(names(&g, &g.inputs), ["input"], "{}", c.file);
        assert_eq!(
            g.ty(g.inputs[0]),
            &TensorType::new(DType::F32, c.input),
            "{}",
            c.file
        );
        assert_eq!(names(&g, &g.outputs), [c.output.0], "{}", c.file);
        let out = g.ty(g.outputs[0]);
        assert_eq!(out.dtype, DType::F32, "{}", c.file);
        assert!(
            out.shape.starts_with(&c.output.1),
            "{}: output shape {:?}",
            c.file,
            out.shape
        );
        let ops = op_counts(&g);
        for &(op, n) in c.ops {
            assert_eq!(ops.get(op).copied(), Some(n), "{}: {op} in {ops:?}", c.file);
        }
    }
    Ok(())
}

fn onnx_fixtures() -> Result<Vec<std::path::PathBuf>, std::io::Error> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(fixtures_dir())? {
        let p = e?.path();
        if p.extension().is_some_and(|e| e == "onnx") {
            files.push(p);
        }
    }
    files.sort();
    assert!(
        files.len() >= 6,
        "expected the six ONNX fixtures, found {files:?}"
    );
    Ok(files)
}

/// import(export(g)) == g for every fixture (meta aside: exports are opset 21, IR 10),
/// symbolic dims of intermediate values included (the export's `value_info` carries the
/// names, e.g. onnxsim's `unk__N`, that re-inference alone would not recover), and a
/// second round trip is byte-identical.
#[test]
fn fixtures_round_trip() -> TestResult {
    for f in onnx_fixtures()? {
        let g1 = import_file(&f).unwrap_or_else(|e| panic!("{e}"));
        let bytes = export_model(&g1, &ExportOptions::default())?;
        let g2 = import_bytes(&bytes, None, "export").unwrap_or_else(|e| panic!("{e}"));
        let mut want = g1.clone();
        want.meta.opset = 21;
        want.meta.ir_version = 10;
        assert!(g2 == want, "{}: round trip changed the graph", f.display());
        let again = export_model(&g2, &ExportOptions::default())?;
        assert_eq!(bytes, again, "{}: export is not deterministic", f.display());
    }
    Ok(())
}

/// The export declares only the intermediate types re-inference would not give back:
/// none for the CNN (every dim follows from the input's), the value_info symbols
/// onnxsim wrote for the transformer's reshapes to `-1`.
#[test]
fn exports_declare_only_what_inference_cannot_recover() -> TestResult {
    use prost::Message;
    let infos = |file: &str| -> Result<Vec<String>, Box<dyn std::error::Error>> {
        let g = import_file(&fixture(file))?;
        let bytes = export_model(&g, &ExportOptions::default())?;
        let m = pare_onnx::proto::ModelProto::decode(bytes.as_slice())?;
        let graph = m.graph.ok_or("no graph")?;
        Ok(graph
            .value_info
            .into_iter()
            .map(|v| v.name.unwrap_or_default())
            .collect())
    };
    assert_eq!(infos("digits_cnn.onnx")?, Vec::<String>::new());
    assert!(!infos("digits_transformer.onnx")?.is_empty());
    Ok(())
}
