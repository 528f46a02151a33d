//! Palette weights through ONNX without onnxruntime: every codebook size and
//! grouping comes back from export → import as the same palette (same stored
//! bytes), in the index form its bit width calls for; a palette that is not
//! smaller is written dense; and decode subgraphs that differ in any way from
//! what pare writes import as ordinary nodes, not as a palette.

use pare_ir::{DType, Graph, Op, PaletteSpec, Tensor, TensorType, Weight, WeightEncoding};
use pare_onnx::proto::ModelProto;
use pare_onnx::{export_model, import_bytes, ExportOptions};
use prost::Message;

const UINT8: i32 = 2;
const UINT4: i32 = 21;

/// `y = x · wᵀ` over one weight `w` ([rows, cols]), in `w`'s type.
fn gemm(w: Weight) -> Graph {
    let mut g = Graph::new("palette");
    let shape = w.ty.fixed_shape().unwrap();
    let x = g
        .add_input("x", TensorType::fixed(w.ty.dtype, &[2, shape[1]]))
        .unwrap();
    let wv = g.add_weight("fc.weight", w).unwrap();
    let trans = Op::Gemm {
        alpha: 1.0,
        beta: 1.0,
        trans_a: false,
        trans_b: true,
    };
    let ty = TensorType::fixed(g.ty(x).dtype, &[2, shape[0]]);
    let (_, outs) = g
        .add_node("fc", trans, vec![Some(x), Some(wv)], vec![("y".into(), ty)])
        .unwrap();
    g.outputs.push(outs[0]);
    g
}

/// A [rows, cols] weight of `dtype` taking `levels` distinct values per group
/// of rows (different per group), stored as a palette of `spec`.
fn palette(dtype: DType, rows: usize, cols: usize, levels: usize, spec: PaletteSpec) -> Weight {
    let group = |i: usize| (i / cols) / (rows / spec.groups);
    let vals: Vec<f32> = (0..rows * cols)
        .map(|i| ((i * 7 + i / cols) % levels) as f32 * 0.375 - group(i) as f32 * 0.125)
        .collect();
    let t = Tensor::from_vec(vec![rows, cols], vals)
        .unwrap()
        .cast(dtype);
    Weight::from_tensor(&t).to_palette(spec).unwrap()
}

fn weight<'g>(g: &'g Graph, name: &str) -> &'g Weight {
    g.values()
        .find_map(|(_, v)| match v.def {
            pare_ir::ValueDef::Weight(id) if v.name == name => Some(g.weight(id)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("weight `{name}`"))
}

fn x(dtype: DType, cols: usize) -> Tensor {
    let v = (0..2 * cols).map(|i| (i % 5) as f32 - 2.0).collect();
    Tensor::from_vec(vec![2, cols], v).unwrap().cast(dtype)
}

#[test]
fn every_width_and_grouping_round_trips_as_the_same_palette() {
    let (rows, cols) = (8, 1200);
    for dtype in [DType::F32, DType::F16] {
        for k in [2, 4, 5, 16, 17, 64, 256] {
            for groups in [1, 2, rows] {
                let spec = PaletteSpec { k, groups };
                let g = gemm(palette(dtype, rows, cols, k.min(40), spec));
                let bytes = export_model(&g, &ExportOptions::default()).unwrap();
                assert_eq!(bytes, export_model(&g, &ExportOptions::default()).unwrap());
                let m = ModelProto::decode(&bytes[..]).unwrap();
                let graph = m.graph.as_ref().unwrap();
                let label = format!("{dtype} k={k} groups={groups}");
                let idx = graph
                    .initializer
                    .iter()
                    .find(|t| t.name.as_deref() == Some("fc.weight.idx"))
                    .unwrap_or_else(|| panic!("{label}: written as a palette"));
                let bits = spec.bits();
                let group_dims = vec![groups as i64, (rows * cols / groups) as i64];
                // One codebook and typed indices: the indices keep the weight's shape.
                let typed_dims = if groups == 1 {
                    vec![rows as i64, cols as i64]
                } else {
                    group_dims
                };
                let packed = (UINT8, vec![rows as i64, (cols * bits).div_ceil(8) as i64]);
                let typed = (if bits <= 4 { UINT4 } else { UINT8 }, typed_dims);
                let have = (idx.data_type.unwrap(), idx.dims.clone());
                match bits {
                    4 | 8 => assert_eq!(have, typed, "{label}"),
                    _ => assert!(have == typed || have == packed, "{label}: {have:?}"),
                }
                let back = import_bytes(&bytes, None, "palette.onnx").unwrap();
                let (w, got) = (weight(&g, "fc.weight"), weight(&back, "fc.weight"));
                assert_eq!(got.encoding(), WeightEncoding::Palette(spec), "{label}");
                assert!(
                    got.stored_bytes() == w.stored_bytes(),
                    "{label}: stored bytes"
                );
                assert_eq!(back.weights().count(), g.weights().count(), "{label}");
                let run = |g: &Graph| {
                    pare_ir::interp::run(g, &[x(dtype, cols)]).unwrap()[0].to_le_bytes()
                };
                assert!(run(&back) == run(&g), "{label}: same outputs");
            }
        }
    }
}

#[test]
fn a_palette_that_is_not_smaller_is_written_dense() {
    // 256 f32 entries for 6 values: the codebook alone is larger.
    let g = gemm(palette(
        DType::F32,
        2,
        3,
        3,
        PaletteSpec { k: 256, groups: 1 },
    ));
    let bytes = export_model(&g, &ExportOptions::default()).unwrap();
    let m = ModelProto::decode(&bytes[..]).unwrap();
    let graph = m.graph.unwrap();
    assert!(graph
        .node
        .iter()
        .all(|n| n.op_type.as_deref() == Some("Gemm")));
    assert_eq!(graph.initializer.len(), 1);
    assert_eq!(graph.initializer[0].raw_data.as_ref().unwrap().len(), 6 * 4);
}

/// A change to an exported file.
type Edit = dyn Fn(&mut pare_onnx::proto::GraphProto);

/// Exports a 5-entry (3-bit, packed) palette of two codebooks, lets `edit` change
/// the file, and imports it.
fn edited(edit: impl Fn(&mut pare_onnx::proto::GraphProto)) -> Graph {
    let spec = PaletteSpec { k: 5, groups: 2 };
    let g = gemm(palette(DType::F32, 4, 1200, 5, spec));
    let bytes = export_model(&g, &ExportOptions::default()).unwrap();
    let mut m = ModelProto::decode(&bytes[..]).unwrap();
    edit(m.graph.as_mut().unwrap());
    import_bytes(&m.encode_to_vec(), None, "edited.onnx").unwrap()
}

#[test]
fn decode_subgraphs_that_differ_from_pares_import_as_nodes() {
    let palettes = |g: &Graph| {
        g.weights()
            .filter(|(_, w)| w.palette_spec().is_some())
            .count()
    };
    assert_eq!(
        palettes(&edited(|_| {})),
        1,
        "the unedited file gives the palette"
    );
    let cases: Vec<(&str, Box<Edit>)> = vec![
        (
            "another attribute value",
            Box::new(|g| {
                let n = g
                    .node
                    .iter_mut()
                    .find(|n| n.op_type.as_deref() == Some("BitShift"))
                    .unwrap();
                n.attribute[0].s = Some(b"LEFT".to_vec());
            }),
        ),
        (
            "a decoded value read elsewhere",
            Box::new(|g| {
                let n = g
                    .node
                    .iter()
                    .find(|n| n.op_type.as_deref() == Some("GatherElements"))
                    .unwrap();
                let out = n.output[0].clone();
                g.output.push(pare_onnx::proto::ValueInfoProto {
                    name: Some(out),
                    ..Default::default()
                });
            }),
        ),
        (
            "another powers constant",
            Box::new(|g| {
                let n = g
                    .node
                    .iter()
                    .find(|n| n.op_type.as_deref() == Some("Mul"))
                    .unwrap();
                let c = n.input[1].clone();
                let t = g
                    .initializer
                    .iter_mut()
                    .find(|t| t.name.as_deref() == Some(c.as_str()))
                    .unwrap();
                t.raw_data.as_mut().unwrap()[0] = 3;
            }),
        ),
    ];
    for (label, edit) in cases {
        let g = edited(edit);
        assert_eq!(palettes(&g), 0, "{label}: not a palette");
        assert!(
            g.nodes()
                .any(|(_, n)| matches!(n.op, Op::GatherElements { .. })),
            "{label}: the decode stays as nodes"
        );
    }
}

#[test]
fn palettes_with_external_data_round_trip() {
    let spec = PaletteSpec { k: 16, groups: 8 };
    let g = gemm(palette(DType::F32, 8, 1200, 16, spec));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("palette.onnx");
    let opts = ExportOptions {
        external: Some(pare_onnx::ExternalDataOptions {
            location: "palette.bin".into(),
            threshold: 256,
        }),
        ..ExportOptions::default()
    };
    pare_onnx::export_file(&g, &path, &opts).unwrap();
    let m = ModelProto::decode(&std::fs::read(&path).unwrap()[..]).unwrap();
    let idx = (m.graph.unwrap().initializer.into_iter())
        .find(|t| t.name.as_deref() == Some("fc.weight.idx"))
        .unwrap();
    assert!(idx.raw_data.is_none() && !idx.external_data.is_empty());
    let data = std::fs::metadata(dir.path().join("palette.bin"))
        .unwrap()
        .len();
    assert!(data >= 8 * 1200 / 2, "the indices are in the data file");
    let back = pare_onnx::import_file(&path).unwrap();
    let (w, got) = (weight(&g, "fc.weight"), weight(&back, "fc.weight"));
    assert_eq!(got.encoding(), WeightEncoding::Palette(spec));
    assert!(got.stored_bytes() == w.stored_bytes());
}

/// A lookup that only looks like the one-codebook decode: `Gather` on a 1-D f32
/// table of 1000 entries (too many for a codebook) by `Cast` uint8 indices. It
/// imports as ordinary nodes, not as an error and not as a palette.
#[test]
fn a_gather_lookup_no_palette_can_be_imports_as_nodes() {
    let mut g = Graph::new("lookup");
    let table: Vec<f32> = (0..1000).map(|i| i as f32 * 0.5).collect();
    let t = g
        .add_weight(
            "table",
            Weight::from_tensor(&Tensor::from_vec(vec![1000], table).unwrap()),
        )
        .unwrap();
    let idx = g
        .add_weight(
            "idx",
            Weight::from_tensor(
                &Tensor::from_vec(vec![2, 3], vec![0u8, 9, 200, 3, 3, 255]).unwrap(),
            ),
        )
        .unwrap();
    let (_, wide) = g
        .add_node(
            "widen",
            Op::Cast { to: DType::I64 },
            vec![Some(idx)],
            vec![("idx64".into(), TensorType::fixed(DType::I64, &[2, 3]))],
        )
        .unwrap();
    let (_, outs) = g
        .add_node(
            "lookup",
            Op::Gather { axis: 0 },
            vec![Some(t), Some(wide[0])],
            vec![("y".into(), TensorType::fixed(DType::F32, &[2, 3]))],
        )
        .unwrap();
    g.outputs.push(outs[0]);
    let bytes = export_model(&g, &ExportOptions::default()).unwrap();
    let back = import_bytes(&bytes, None, "lookup.onnx").expect("imports");
    assert!(back.weights().all(|(_, w)| w.palette_spec().is_none()));
    let run = |g: &Graph| pare_ir::interp::run(g, &[]).unwrap()[0].to_le_bytes();
    assert_eq!(run(&back), run(&g));
}
