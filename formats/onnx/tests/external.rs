//! External data: export beside the model, memory-mapped re-import, and the checks on
//! locations, offsets and lengths.

mod common;

use common::fixture;
use pare_ir::WeightBytes;
use pare_onnx::proto::ModelProto;
use pare_onnx::{export_file, export_model, import_file, ExportOptions, ExternalDataOptions};
use prost::Message;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn export_cnn(
    dir: &std::path::Path,
) -> Result<(pare_ir::Graph, std::path::PathBuf), Box<dyn std::error::Error>> {
    let g = import_file(&fixture("digits_cnn.onnx"))?;
    let path = dir.join("cnn.onnx");
    let opts = ExportOptions {
        value_info: false,
        external: Some(ExternalDataOptions {
            location: "cnn.onnx.data".into(),
            threshold: 256,
        }),
    };
    export_file(&g, &path, &opts)?;
    Ok((g, path))
}

/// Rewrites the exported model's first external tensor with `f`.
fn tamper(path: &std::path::Path, f: impl Fn(&mut pare_onnx::proto::TensorProto)) -> TestResult {
    let mut m = ModelProto::decode(std::fs::read(path)?.as_slice())?;
    let t = m
        .graph
        .as_mut()
        .ok_or("no graph")?
        .initializer
        .iter_mut()
        .find(|t| !t.external_data.is_empty())
        .ok_or("no external tensor")?;
    f(t);
    std::fs::write(path, m.encode_to_vec())?;
    Ok(())
}

#[test]
fn external_round_trip_maps_weights() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (g, path) = export_cnn(dir.path())?;
    let data = std::fs::read(dir.path().join("cnn.onnx.data"))?;
    assert!(data.len() > 100_000, "big weights should be external");
    let g2 = import_file(&path)?;
    let mut want = g.clone();
    want.meta.opset = 21;
    want.meta.ir_version = 10;
    assert!(g2 == want);
    let mapped = g2
        .weights()
        .filter(|(_, w)| matches!(w.storage(), WeightBytes::Mapped { .. }))
        .count();
    let owned = g2.weight_count() - mapped;
    assert!(mapped >= 5 && owned >= 2, "mapped {mapped}, owned {owned}");
    for (_, w) in g2.weights() {
        if let WeightBytes::Mapped { offset, .. } = w.storage() {
            assert_eq!(offset % 64, 0, "offsets are aligned");
        }
    }
    // No stray temporary files are left beside the outputs.
    let mut names: Vec<_> = std::fs::read_dir(dir.path())?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["cnn.onnx", "cnn.onnx.data"]);
    Ok(())
}

#[test]
fn escaping_locations_are_rejected() -> TestResult {
    for loc in ["../cnn.onnx.data", "sub/../../x", "/etc/passwd"] {
        let dir = tempfile::tempdir()?;
        let (_, path) = export_cnn(dir.path())?;
        tamper(&path, |t| t.external_data[0].value = Some(loc.into()))?;
        let e = import_file(&path).unwrap_err().to_string();
        assert!(e.contains("relative path") && e.contains(loc), "{e}");
    }
    let g = import_file(&fixture("micro_cnn.onnx"))?;
    let dir = tempfile::tempdir()?;
    let opts = ExportOptions {
        value_info: false,
        external: Some(ExternalDataOptions {
            location: "../out.data".into(),
            threshold: 0,
        }),
    };
    assert!(export_file(&g, &dir.path().join("m.onnx"), &opts).is_err());
    assert!(
        export_model(&g, &opts).is_err(),
        "export_model cannot write external data"
    );
    Ok(())
}

#[test]
fn lengths_and_offsets_are_checked() -> TestResult {
    type Tamper = fn(&mut pare_onnx::proto::TensorProto);
    let cases: [(&str, Tamper); 4] = [
        ("length", |t| t.external_data[2].value = Some("4".into())),
        ("outside", |t| {
            t.external_data[1].value = Some("999999999".into())
        }),
        ("byte count", |t| {
            t.external_data[1].value = Some("x".into())
        }),
        ("cannot map", |t| {
            t.external_data[0].value = Some("missing.data".into())
        }),
    ];
    for (want, f) in cases {
        let dir = tempfile::tempdir()?;
        let (_, path) = export_cnn(dir.path())?;
        tamper(&path, f)?;
        let e = import_file(&path).unwrap_err().to_string();
        assert!(
            e.contains(want) && e.contains("external data"),
            "{want}: {e}"
        );
    }
    // Without a base directory external data cannot be found.
    let dir = tempfile::tempdir()?;
    let (_, path) = export_cnn(dir.path())?;
    let e = pare_onnx::import_bytes(&std::fs::read(&path)?, None, "mem")
        .unwrap_err()
        .to_string();
    assert!(e.contains("base directory"), "{e}");
    Ok(())
}

/// A model whose weight is larger than 2 GiB imports without copying it: the weight
/// is a window of the memory-mapped data file. The file is sparse, so the test
/// needs no real disk space, and nothing reads its pages.
#[test]
fn weights_over_two_gib_are_mapped_not_copied() -> TestResult {
    use common::build::{model, node, vi};
    use pare_onnx::proto::{tensor_proto, StringStringEntryProto, TensorProto};
    let dir = tempfile::tempdir()?;
    let elements: i64 = 600 * 1024 * 1024; // 2.34 GiB of f32
    let data = std::fs::File::create(dir.path().join("big.data"))?;
    data.set_len(elements as u64 * 4)?;
    let entry = |k: &str, v: &str| StringStringEntryProto {
        key: Some(k.into()),
        value: Some(v.into()),
    };
    let w = TensorProto {
        name: Some("w".into()),
        dims: vec![elements],
        data_type: Some(1),
        data_location: Some(tensor_proto::DataLocation::External as i32),
        external_data: vec![
            entry("location", "big.data"),
            entry("offset", "0"),
            entry("length", &(elements * 4).to_string()),
        ],
        ..TensorProto::default()
    };
    let m = model(
        17,
        vec![node("Add", "add", &["x", "w"], &["y"], vec![])],
        vec![w],
        vec![vi("x", &[elements])],
        vec![vi("y", &[elements])],
    );
    let path = dir.path().join("big.onnx");
    std::fs::write(&path, m.encode_to_vec())?;
    let g = import_file(&path)?;
    let (_, w) = g.weights().next().ok_or("no weight")?;
    assert!(
        matches!(w.storage(), WeightBytes::Mapped { len, .. } if *len == elements as usize * 4)
    );
    assert_eq!(pare_ir::analysis::weight_bytes(&g), elements as u64 * 4);
    Ok(())
}
