//! Imports every ONNX fixture and checks its structure, then exports and re-imports it.

mod common;

use common::{fixture, fixtures_dir, op_counts, param_count};
use pare_ir::{DType, Dim, Graph, TensorType};
use pare_onnx::{export_model, import_bytes, import_file, ExportOptions};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn counts(pairs: &[(&'static str, usize)]) -> std::collections::BTreeMap<&'static str, usize> {
    pairs.iter().copied().collect()
}

fn names(g: &Graph, ids: &[pare_ir::ValueId]) -> Vec<String> {
    ids.iter().map(|&v| g.value(v).name.clone()).collect()
}

fn batch_input() -> TensorType {
    TensorType::new(
        DType::F32,
        vec![
            Dim::Sym("batch".into()),
            Dim::Fixed(1),
            Dim::Fixed(8),
            Dim::Fixed(8),
        ],
    )
}

#[test]
fn digits_cnn_structure() -> TestResult {
    let g = import_file(&fixture("digits_cnn.onnx"))?;
    assert_eq!(
        op_counts(&g),
        counts(&[
            ("add", 1),
            ("clip", 1),
            ("conv", 5),
            ("flatten", 1),
            ("gemm", 2),
            ("max_pool", 1),
            ("relu", 4),
        ])
    );
    assert_eq!(names(&g, &g.inputs), ["input"]);
    assert_eq!(names(&g, &g.outputs), ["logits"]);
    assert_eq!(g.ty(g.inputs[0]), &batch_input());
    assert_eq!(
        g.ty(g.outputs[0]),
        &TensorType::new(DType::F32, vec![Dim::Sym("batch".into()), Dim::Fixed(10)])
    );
    // The PyTorch model has 39,082 parameters; exporting folded its three BatchNorms
    // (16 channels each, 96 scale/shift parameters) into the convs, leaving 38,986
    // initializer elements plus the two scalar Clip bounds (ReLU6).
    assert_eq!(param_count(&g), 39_082 - 96 + 2);
    assert_eq!(g.meta.opset, 17);
    assert_eq!(g.meta.ir_version, 8);
    assert_eq!(g.meta.producer_name, "pytorch");
    Ok(())
}

#[test]
fn other_fixtures_structure() -> TestResult {
    struct Case {
        file: &'static str,
        ops: usize,
        params: u64,
        output: &'static str,
        some_op: (&'static str, usize),
    }
    // Op counts exclude `Constant` nodes (they become weights); parameter counts are
    // initializer elements plus the elements of used `Constant` values (plus the `axes`
    // of opset-17 ReduceMean, which the importer turns from an attribute into a weight).
    let cases = [
        Case {
            file: "micro_cnn.onnx",
            ops: 7,
            params: 1_418 + 2,
            output: "logits",
            some_op: ("reduce_mean", 1),
        },
        Case {
            file: "digits_vae.onnx",
            ops: 15,
            params: 15_449 + 4,
            output: "recon",
            some_op: ("conv_transpose", 2),
        },
        Case {
            file: "digits_transformer.onnx",
            ops: 115,
            params: 9_482 + 58 + 1,
            output: "logits",
            some_op: ("layer_normalization", 3),
        },
        Case {
            file: "mobilenet_v2.onnx",
            ops: 139,
            params: 3_475_008 + 70,
            output: "logits",
            some_op: ("clip", 35),
        },
        Case {
            file: "mobilenet_v3_small.onnx",
            ops: 159,
            params: 2_529_712,
            output: "logits",
            some_op: ("hard_swish", 19),
        },
    ];
    for c in cases {
        let g = import_file(&fixture(c.file)).unwrap_or_else(|e| panic!("{e}"));
        let n: usize = op_counts(&g).values().sum();
        assert_eq!(n, c.ops, "{}: {:?}", c.file, op_counts(&g));
        assert_eq!(
            op_counts(&g).get(c.some_op.0).copied(),
            Some(c.some_op.1),
            "{}",
            c.file
        );
        assert_eq!(names(&g, &g.outputs), [c.output], "{}", c.file);
        assert_eq!(names(&g, &g.inputs), ["input"], "{}", c.file);
        assert_eq!(param_count(&g), c.params, "{}", c.file);
    }
    Ok(())
}

/// import(export(g)) == g for every fixture (meta aside: exports are opset 21, IR 10),
/// and a second round trip is byte-identical.
#[test]
fn fixtures_round_trip() -> TestResult {
    let mut files: Vec<_> = std::fs::read_dir(fixtures_dir())?
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "onnx"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 6,
        "expected the six ONNX fixtures, found {files:?}"
    );
    for f in files {
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
