//! Palette (weight-sharing) weights exported to ONNX and run by onnxruntime: the
//! digits CNN's Conv and Gemm weights snapped to k ∈ {4, 5, 16, 17, 64, 256}
//! values (2- to 8-bit indices) per tensor or per output channel, as f32, f16 and
//! per-channel int8 codes, then stored as palettes. Each file passes
//! `onnx.checker`'s full check, holds its indices at their bit width (UINT4 /
//! UINT8) plus the codebooks and nothing dense for them, runs in onnxruntime
//! with outputs identical to the dense export of the same weights (and within
//! 1e-4 of pare's interpreter for float models), is written the same twice, and
//! reads back into pare with float palettes still palettes, byte for byte; with
//! external data on, the index and codebook initializers go to the data file.

mod support;

use pare_ir::palette::PaletteLayout;
use pare_ir::{palette, DType, Graph, PaletteSpec, Tensor, ValueDef, Weight};
use pare_onnx::proto::{ModelProto, TensorProto};
use pare_passes::{pipeline_from_spec, PassCx, PassManager, PassOptions};
use prost::Message;
use std::path::{Path, PathBuf};
use std::process::Command;

const TEST_SAMPLES: usize = 200;
const UINT8: i32 = 2;
const UINT4: i32 = 21;

fn run_spec(g: &mut Graph, spec: &str) {
    let mut p = pipeline_from_spec(spec).unwrap_or_else(|e| panic!("{spec}: {e}"));
    let mut cx = PassCx::new(PassOptions {
        verify: true,
        ..PassOptions::default()
    });
    PassManager::new()
        .run(&mut p, g, &mut cx)
        .unwrap_or_else(|e| panic!("{spec}: {e}"));
}

fn digits_cnn() -> Graph {
    let mut g = pare_onnx::import_file(&support::fixture("digits_cnn.onnx")).expect("import");
    run_spec(&mut g, "remove-identity,fold-constants,dce,fold-batchnorm");
    g
}

fn test_inputs() -> Tensor {
    let data = support::read_npz(&support::fixture("digits.npz"));
    let x = &data.iter().find(|(n, _)| n == "x_test").unwrap().1;
    Tensor::from_vec(
        vec![TEST_SAMPLES, 1, 8, 8],
        x.as_slice::<f32>().unwrap()[..TEST_SAMPLES * 64].to_vec(),
    )
    .unwrap()
}

/// `vals` snapped to at most `k` levels: values of the group itself at evenly
/// spaced ranks (a non-uniform codebook, like k-means gives).
fn snap(vals: &[f32], k: usize) -> Vec<f32> {
    let mut sorted = vals.to_vec();
    sorted.sort_by(f32::total_cmp);
    let mut levels: Vec<f32> = (0..k)
        .map(|i| sorted[i * (sorted.len() - 1) / (k - 1)])
        .collect();
    levels.dedup();
    vals.iter()
        .map(|&v| {
            *levels
                .iter()
                .min_by(|a, b| (*a - v).abs().total_cmp(&(*b - v).abs()))
                .unwrap()
        })
        .collect()
}

/// Stores every weight of rank ≥ 2 that can be a palette (Conv and Gemm weights:
/// f32, f16 or 8-bit codes) as one of `k` entries per tensor or per output
/// channel, its values first snapped to that many levels. Returns their names.
fn palettize(g: &mut Graph, k: usize, per_channel: bool) -> Vec<String> {
    let targets: Vec<_> = g
        .values()
        .filter_map(|(_, v)| match v.def {
            ValueDef::Weight(id) => Some((id, v.name.clone())),
            _ => None,
        })
        .collect();
    let mut names = Vec::new();
    for (id, name) in targets {
        let w = g.weight(id).clone();
        if w.ty.rank() < 2 || !palette::supports(&w.ty) {
            continue;
        }
        let t = w.tensor().unwrap();
        let rows = t.shape()[0];
        let groups = if per_channel { rows } else { 1 };
        let vals = t.to_f32_vec();
        let snapped: Vec<f32> = vals
            .chunks(vals.len() / groups)
            .flat_map(|c| snap(c, k))
            .collect();
        let t = Tensor::from_vec(t.shape().to_vec(), snapped)
            .unwrap()
            .cast(w.ty.dtype);
        let dense = Weight::with_type(w.ty.clone(), &t).unwrap();
        *g.weight_mut(id) = dense.to_palette(PaletteSpec { k, groups }).unwrap();
        names.push(name);
    }
    names
}

/// `g` with every weight stored dense (the same values).
fn densified(g: &Graph) -> Graph {
    let mut d = g.clone();
    let ids: Vec<_> = d.weights().map(|(id, _)| id).collect();
    for id in ids {
        let w = d.weight(id).to_dense().unwrap();
        *d.weight_mut(id) = w;
    }
    d
}

fn export(g: &Graph, path: &Path) -> u64 {
    pare_onnx::export_file(g, path, &pare_onnx::ExportOptions::default()).expect("export");
    std::fs::metadata(path).expect("exported file").len()
}

fn model(path: &Path) -> ModelProto {
    ModelProto::decode(&std::fs::read(path).expect("read model")[..]).expect("decode model")
}

/// Runs `models` in onnxruntime (optimizations off and on) after the full
/// checker; returns each model's `[none, all]` outputs.
fn ort_outputs(dir: &Path, models: &[PathBuf]) -> Vec<[Tensor; 2]> {
    let out = Command::new(support::python())
        .arg(support::repo_root().join("tests/oracle/ort_palette.py"))
        .arg(support::fixture("digits.npz"))
        .arg("x_test")
        .arg(TEST_SAMPLES.to_string())
        .arg(dir)
        .args(models)
        .output()
        .expect("run ort_palette.py");
    print!("{}", String::from_utf8_lossy(&out.stdout));
    assert!(
        out.status.success(),
        "onnx.checker or onnxruntime failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (0..models.len())
        .map(|i| {
            [
                support::read_npy(&dir.join(format!("{i}_none.npy"))),
                support::read_npy(&dir.join(format!("{i}_all.npy"))),
            ]
        })
        .collect()
}

/// What the file holds for one palette weight.
#[derive(Debug, PartialEq)]
enum Written {
    Dense,
    /// Index and codebook bytes.
    Palette {
        indices: usize,
        codebook: usize,
        packed: bool,
    },
}

/// Checks how each palette weight of `g` was written to `m`: either dense (one
/// initializer of its dense bytes) or as indices (UINT4 for up to 4 bits, UINT8
/// above, or packed at exactly their bit width) and `[groups, k]` codebooks of its
/// own type, with no dense copy.
fn written(g: &Graph, m: &ModelProto) -> Vec<(String, Written)> {
    let graph = m.graph.as_ref().unwrap();
    let init = |n: &str| -> Option<&TensorProto> {
        graph
            .initializer
            .iter()
            .find(|t| t.name.as_deref() == Some(n))
    };
    let mut out = Vec::new();
    for (_, v) in g.values() {
        let ValueDef::Weight(id) = v.def else {
            continue;
        };
        let w = g.weight(id);
        let Some(spec) = w.palette_spec() else {
            continue;
        };
        let layout = PaletteLayout::of(&w.ty, spec).unwrap();
        let n = layout.elements();
        let name = &v.name;
        let Some(idx) = init(&format!("{name}.idx")) else {
            let dense = init(name).unwrap_or_else(|| panic!("`{name}` is in the file"));
            assert_eq!(dense.raw_data.as_ref().unwrap().len(), w.bytes().len());
            out.push((name.clone(), Written::Dense));
            continue;
        };
        assert!(init(name).is_none(), "`{name}` has no dense copy");
        // Typed: UINT4 (up to 4 bits) or UINT8 `[groups, n]`; packed: pare's rows of
        // `bits`-wide indices as UINT8 `[rows, row bytes]`, for widths ONNX lacks.
        let bits = spec.bits();
        let typed = if bits <= 4 {
            (UINT4, n.div_ceil(2))
        } else {
            (UINT8, n)
        };
        // One codebook: typed indices keep the weight's shape (read by a `Gather`).
        let group_dims: Vec<i64> = if spec.groups == 1 {
            w.ty.fixed_shape()
                .unwrap()
                .iter()
                .map(|&d| d as i64)
                .collect()
        } else {
            vec![spec.groups as i64, (n / spec.groups) as i64]
        };
        let packed = idx.dims != group_dims;
        let (code, len, dims) = if packed {
            assert!(
                bits != 4 && bits != 8,
                "`{name}`: {bits}-bit indices are typed"
            );
            let dims = vec![layout.rows as i64, layout.row_bytes as i64];
            (UINT8, layout.indices_len(), dims)
        } else {
            (typed.0, typed.1, group_dims)
        };
        assert_eq!(idx.data_type, Some(code), "`{name}`: index type");
        assert_eq!(idx.dims, dims, "`{name}`: index dims");
        let indices = idx.raw_data.as_ref().unwrap().len();
        assert_eq!(indices, len, "`{name}`: {n} indices of {bits} bits");
        if packed {
            let stored = w.stored_bytes();
            assert!(
                idx.raw_data.as_deref() == Some(&stored[layout.codebook_len()..]),
                "`{name}`: packed indices are pare's own"
            );
        }
        let book = init(&format!("{name}.cb"))
            .unwrap_or_else(|| panic!("`{name}`: its codebook is in the file"));
        let book_dims = if spec.groups == 1 && !packed {
            vec![spec.k as i64]
        } else {
            vec![spec.groups as i64, spec.k as i64]
        };
        assert_eq!(book.dims, book_dims);
        let bytes = book.raw_data.as_ref().unwrap();
        assert_eq!(bytes, &w.stored_bytes()[..layout.codebook_len()]);
        let codebook = bytes.len();
        out.push((
            name.clone(),
            Written::Palette {
                indices,
                codebook,
                packed,
            },
        ));
    }
    out
}

struct Case {
    label: String,
    graph: Graph,
    /// Compared with pare's interpreter too (float arithmetic in both).
    float: bool,
}

/// Exports each case and its dense twin, checks what was written, that export is
/// deterministic and that pare reads the palettes back; runs all in
/// onnxruntime and compares. Returns the palette forms written, per case.
fn check_cases(dir_name: &str, cases: &[Case]) -> Vec<Vec<(String, Written)>> {
    let dir = support::scratch_dir(dir_name);
    let x = test_inputs();
    let mut files = Vec::new();
    let mut forms = Vec::new();
    for c in cases {
        let pal = dir.join(format!("{}.onnx", c.label));
        let dense = dir.join(format!("{}_dense.onnx", c.label));
        let pal_bytes = export(&c.graph, &pal);
        let dense_bytes = export(&densified(&c.graph), &dense);
        let again = dir.join("again.onnx");
        export(&c.graph, &again);
        assert!(
            std::fs::read(&again).unwrap() == std::fs::read(&pal).unwrap(),
            "{}: export is deterministic",
            c.label
        );
        let form = written(&c.graph, &model(&pal));
        assert!(
            form.iter().any(|(_, f)| *f != Written::Dense),
            "{}: some weight is written as a palette",
            c.label
        );
        assert!(
            pal_bytes < dense_bytes,
            "{}: the palette file is smaller",
            c.label
        );
        println!(
            "{}: dense {dense_bytes} B, palette {pal_bytes} B ({:.2}x smaller)",
            c.label,
            dense_bytes as f64 / pal_bytes as f64
        );
        // pare reads what it wrote: float palettes come back as the same
        // palettes, and the file computes what the dense file computes (for
        // float models, exactly what the original graph computes).
        let read = |path: &Path| {
            let mut g = pare_onnx::import_file(path).expect("re-import");
            run_spec(&mut g, "fold-constants,dce");
            g
        };
        let imported = pare_onnx::import_file(&pal).expect("re-import");
        for (name, _) in form.iter().filter(|(_, f)| *f != Written::Dense) {
            let w = find_weight(&c.graph, name);
            if matches!(w.ty.dtype, DType::F32 | DType::F16) {
                let got = find_weight(&imported, name);
                assert_eq!(got.encoding(), w.encoding(), "{}: `{name}`", c.label);
                assert!(
                    got.stored_bytes() == w.stored_bytes(),
                    "{}: `{name}` bytes",
                    c.label
                );
            }
        }
        let run = |g: &Graph| pare_ir::interp::run(g, std::slice::from_ref(&x)).expect("interp");
        let got = run(&read(&pal))[0].to_le_bytes();
        assert!(
            got == run(&read(&dense))[0].to_le_bytes(),
            "{}: pare runs its palette export like its dense export",
            c.label
        );
        if c.float {
            assert!(
                got == run(&c.graph)[0].to_le_bytes(),
                "{}: pare runs its re-imported export like the original",
                c.label
            );
        }
        files.push(pal);
        files.push(dense);
        forms.push(form);
    }
    let outs = ort_outputs(&dir, &files);
    for (i, c) in cases.iter().enumerate() {
        let (pal, dense) = (&outs[2 * i], &outs[2 * i + 1]);
        for (level, (a, b)) in ["none", "all"].iter().zip(pal.iter().zip(dense)) {
            assert!(
                a.to_le_bytes() == b.to_le_bytes(),
                "{}: palette and dense exports of the same weights differ in onnxruntime \
                 (optimizations {level})",
                c.label
            );
        }
        if c.float {
            let ours = pare_ir::interp::run(&c.graph, std::slice::from_ref(&x)).expect("interp");
            let d = support::max_abs_diff(&ours[0], &pal[0]);
            assert!(
                d < 1e-4,
                "{}: onnxruntime differs from pare by {d}",
                c.label
            );
        }
    }
    forms
}

fn find_weight<'g>(g: &'g Graph, name: &str) -> &'g Weight {
    g.values()
        .find_map(|(_, v)| match v.def {
            ValueDef::Weight(id) if v.name == name => Some(g.weight(id)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("weight `{name}`"))
}

fn case(label: &str, mut graph: Graph, k: usize, per_channel: bool) -> Case {
    let float = !graph.values().any(|(_, v)| v.ty.quant.is_some());
    let names = palettize(&mut graph, k, per_channel);
    assert!(
        names.len() >= 5,
        "{label}: the CNN's weights are palettes: {names:?}"
    );
    Case {
        label: label.into(),
        graph,
        float,
    }
}

#[test]
fn float_palettes_of_every_bit_width_export_at_that_width_and_run_in_onnxruntime() {
    let f32s = digits_cnn();
    let mut f16s = f32s.clone();
    run_spec(&mut f16s, "quantize{scheme=fp16}");
    let cases = vec![
        case("f32_tensor_k4", f32s.clone(), 4, false),
        case("f32_tensor_k16", f32s.clone(), 16, false),
        case("f32_channel_k5", f32s.clone(), 5, true),
        case("f32_channel_k16", f32s.clone(), 16, true),
        case("f32_channel_k17", f32s.clone(), 17, true),
        case("f32_channel_k64", f32s.clone(), 64, true),
        case("f32_tensor_k256", f32s.clone(), 256, false),
        case("f32_channel_k256", f32s.clone(), 256, true),
        case("f16_tensor_k16", f16s.clone(), 16, false),
        case("f16_channel_k64", f16s, 64, true),
    ];
    let forms = check_cases("onnx_palette_float", &cases);
    let form = |label: &str, name: &str| {
        let i = cases.iter().position(|c| c.label == label).unwrap();
        forms[i].iter().find(|(n, _)| n == name).map(|(_, f)| f)
    };
    // fc1 (64 x 512) shrinks at every width; 256 per-channel codebooks of f32 are
    // larger than a 16 x 16 x 3 x 3 conv, which stays dense.
    for c in &cases {
        let fc1 = form(&c.label, "fc1.weight").or(form(&c.label, "fc1.weight_f16"));
        assert!(
            matches!(fc1, Some(Written::Palette { .. })),
            "{}: fc1 is a palette: {fc1:?}",
            c.label
        );
    }
    assert_eq!(
        form("f32_channel_k256", "onnx::Conv_56"),
        Some(&Written::Dense)
    );
    // fc1 (64 x 512) takes exactly its index bits plus the codebooks: 4 and 8 bits
    // typed (UINT4, UINT8), the other widths packed.
    for (label, k, groups) in [
        ("f32_tensor_k4", 4, 1),
        ("f32_tensor_k16", 16, 1),
        ("f32_channel_k5", 5, 64),
        ("f32_channel_k17", 17, 64),
        ("f32_channel_k64", 64, 64),
        ("f32_tensor_k256", 256, 1),
    ] {
        let bits = PaletteSpec { k, groups }.bits();
        let want = Written::Palette {
            indices: 64 * 512 * bits / 8,
            codebook: groups * k * 4,
            packed: bits != 4 && bits != 8,
        };
        assert_eq!(form(label, "fc1.weight"), Some(&want), "{label}");
    }
}

#[test]
fn int8_per_channel_codes_as_palettes_feed_the_dequantize_linear() {
    let mut g = digits_cnn();
    let calib = support::fixture("digits.npz");
    run_spec(
        &mut g,
        &format!(
            "quantize{{scheme=int8,calib={}:x_train,samples=256}}",
            calib.display()
        ),
    );
    let cases = vec![
        case("int8_channel_k16", g.clone(), 16, true),
        case("int8_channel_k5", g.clone(), 5, true),
        case("int8_channel_k64", g.clone(), 64, true),
        case("int8_tensor_k4", g, 4, false),
    ];
    let forms = check_cases("onnx_palette_int8", &cases);
    for (c, form) in cases.iter().zip(&forms) {
        let fc1 = form.iter().find(|(n, _)| n.starts_with("fc1.weight"));
        assert!(
            matches!(fc1, Some((_, Written::Palette { codebook, .. })) if *codebook > 0),
            "{}: fc1's int8 codes are a palette with an int8 codebook: {form:?}",
            c.label
        );
    }
}

/// Large index and codebook initializers go to the external data file like any
/// weight; onnxruntime reads them there (UINT4 and packed UINT8 alike) and
/// computes what the inline file computes.
#[test]
fn palettes_in_external_data_run_in_onnxruntime() {
    let dir = support::scratch_dir("onnx_palette_external");
    let mut files = Vec::new();
    for (label, k) in [("k16", 16), ("k5", 5)] {
        let mut g = digits_cnn();
        palettize(&mut g, k, true);
        let inline = dir.join(format!("{label}.onnx"));
        export(&g, &inline);
        let external = dir.join(format!("{label}_external.onnx"));
        let opts = pare_onnx::ExportOptions {
            external: Some(pare_onnx::ExternalDataOptions {
                location: format!("{label}.bin"),
                threshold: 1024,
            }),
            ..pare_onnx::ExportOptions::default()
        };
        pare_onnx::export_file(&g, &external, &opts).expect("export");
        let m = model(&external);
        let idx = (m.graph.unwrap().initializer.into_iter())
            .find(|t| t.name.as_deref() == Some("fc1.weight.idx"))
            .expect("fc1's indices");
        assert!(
            idx.raw_data.is_none(),
            "{label}: fc1's indices are external"
        );
        let back = pare_onnx::import_file(&external).expect("re-import");
        let same = find_weight(&back, "fc1.weight").stored_bytes()
            == find_weight(&g, "fc1.weight").stored_bytes();
        assert!(same, "{label}: fc1 comes back as the same palette");
        files.push(inline);
        files.push(external);
    }
    let outs = ort_outputs(&dir, &files);
    for pair in outs.chunks(2) {
        for (a, b) in pair[0].iter().zip(&pair[1]) {
            assert!(
                a.to_le_bytes() == b.to_le_bytes(),
                "external and inline differ"
            );
        }
    }
}

/// Damaged palette files (random bytes anywhere, or random contents and dims in
/// the decode's own initializers) import or fail with an error, never a panic,
/// and whatever imports as a palette is a valid one.
#[test]
fn damaged_palette_files_never_panic_the_importer() {
    let mut g = digits_cnn();
    palettize(&mut g, 5, true);
    let bytes = pare_onnx::export_model(&g, &pare_onnx::ExportOptions::default()).unwrap();
    let m = ModelProto::decode(&bytes[..]).unwrap();
    let mut rng = fastrand::Rng::with_seed(14);
    let (mut imported, mut palettes) = (0, 0);
    for i in 0..400 {
        let damaged = if i % 2 == 0 {
            support::mutate_bytes(&mut rng, &bytes)
        } else {
            let mut m = m.clone();
            let inits = &mut m.graph.as_mut().unwrap().initializer;
            let at = rng.usize(0..inits.len());
            let t = &mut inits[at];
            if rng.bool() {
                if let Some(raw) = t.raw_data.as_mut().filter(|r| !r.is_empty()) {
                    let j = rng.usize(0..raw.len());
                    raw[j] = rng.u8(..);
                }
            } else if !t.dims.is_empty() {
                let j = rng.usize(0..t.dims.len());
                t.dims[j] = [0, 1, -1, 3, 1 << 40][rng.usize(0..5)];
            }
            m.encode_to_vec()
        };
        if let Ok(back) = pare_onnx::import_bytes(&damaged, None, "damaged.onnx") {
            imported += 1;
            for (_, w) in back.weights() {
                if w.palette_spec().is_some() {
                    palettes += 1;
                    assert_eq!(w.bytes().len(), w.ty.num_elements().unwrap() as usize * 4);
                }
            }
        }
    }
    println!("{imported} of 400 damaged files imported, holding {palettes} palette weights");
    assert!(imported > 0 && palettes > 0);
}
