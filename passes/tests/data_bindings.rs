//! Multi-input data: arrays bound to graph inputs by name or renamed, folders
//! of per-sample `.npz` files streamed in order, inputs held fixed (their
//! symbolic batch dims taken from the data), the single-input forms as
//! before, and one error per way the data can fail to fit — each naming the
//! input, what it takes and what was given.

use pare_ir::{Graph, Tensor};
use pare_passes::quantize::bindings::FixedInputs;
use pare_passes::quantize::calibrate::CalibData;
use pare_passes::quantize::data::DataSource;
use pare_passes::{pipeline_from_spec, PassCx, PassManager, PassOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// x + mask, and a recurrent-style state `h` whose batch is its axis 1.
const THREE_INPUTS: &str =
    "graph @g(%x \"x\": f32[N,3], %m \"mask\": f32[N,3], %h \"h\": f32[1,N,3]) -> (f32[1,N,3]) {
  %a \"a\": f32[N,3] = mul(%x, %m)
  %t \"t\": f32[1,N,3] = add(%a, %h)
  return %t
}
";

const X_MASK: &str = "graph @g(%x \"x\": f32[N,3], %m \"mask\": f32[N,3]) -> (f32[N,3]) {
  %y \"y\": f32[N,3] = mul(%x, %m)
  return %y
}
";

const INT_MASK: &str = "graph @g(%x \"x\": f32[N,3], %m \"mask\": i64[N,3]) -> (f32[N,3]) {
  %c \"c\": f32[N,3] = cast(%m) {to=f32}
  %y \"y\": f32[N,3] = mul(%x, %c)
  return %y
}
";

fn graph(src: &str) -> Graph {
    pare_ir::text::parse(src).unwrap()
}

fn dir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("data_bindings")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `rows` samples of shape `sample`, values `base + i`.
fn rows(rows: usize, sample: &[usize], base: f32) -> Tensor {
    let mut shape = vec![rows];
    shape.extend_from_slice(sample);
    let n: usize = shape.iter().product();
    Tensor::from_vec(shape, (0..n).map(|i| base + i as f32).collect()).unwrap()
}

fn write_npz(path: &Path, arrays: &[(&str, &Tensor)]) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, t) in arrays {
        zip.start_file(
            format!("{name}.npy"),
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        zip.write_all(&pare_npy::encode_npy(t).unwrap()).unwrap();
    }
    zip.finish().unwrap();
}

/// Every batch of `spec` with `fixed` for `g`, in batches of `batch`.
fn batches(g: &Graph, spec: &str, fixed: &str, batch: usize) -> Result<Vec<Vec<Tensor>>, String> {
    let fixed = if fixed.is_empty() {
        FixedInputs::default()
    } else {
        FixedInputs::parse(fixed).map_err(|e| e.to_string())?
    };
    let mut d = DataSource::parse(spec)
        .map_err(|e| e.to_string())?
        .open_with(g, &fixed, &[], batch, None)
        .map_err(|e| e.to_string())?;
    let out: Result<Vec<_>, _> = d.open().map_err(|e| e.to_string())?.collect();
    out.map_err(|e| e.to_string())
}

fn err(g: &Graph, spec: &str, fixed: &str) -> String {
    match batches(g, spec, fixed, 4) {
        Ok(_) => panic!("{spec} / {fixed} was accepted"),
        Err(e) => e,
    }
}

#[test]
fn arrays_bind_by_name_and_fixed_state_takes_the_batch_of_the_data() {
    let d = dir("by_name");
    let p = d.join("d.npz");
    write_npz(
        &p,
        &[("mask", &rows(5, &[3], 100.0)), ("x", &rows(5, &[3], 0.0))],
    );
    let got = batches(&graph(THREE_INPUTS), p.to_str().unwrap(), "h=zeros", 2).unwrap();
    let shapes: Vec<Vec<Vec<usize>>> = got
        .iter()
        .map(|b| b.iter().map(|t| t.shape().to_vec()).collect())
        .collect();
    assert_eq!(
        shapes,
        vec![
            vec![vec![2, 3], vec![2, 3], vec![1, 2, 3]],
            vec![vec![2, 3], vec![2, 3], vec![1, 2, 3]],
            vec![vec![1, 3], vec![1, 3], vec![1, 1, 3]],
        ]
    );
    // Inputs in the graph's order whatever the archive's order.
    assert_eq!(
        got[0][0].to_f32_vec(),
        (0..6).map(|i| i as f32).collect::<Vec<_>>()
    );
    assert_eq!(got[0][1].to_f32_vec()[0], 100.0);
    assert!(got[0][2].to_f32_vec().iter().all(|&v| v == 0.0));

    // ones, a number, and a one-sample file, broadcast along the batch dim.
    let st = d.join("h0.npy");
    std::fs::write(
        &st,
        pare_npy::encode_npy(&Tensor::from_vec(vec![1, 1, 3], vec![1f32, 2.0, 3.0]).unwrap())
            .unwrap(),
    )
    .unwrap();
    for (fixed, want) in [
        ("h=ones", vec![1f32; 6]),
        ("h=0.5", vec![0.5; 6]),
        (
            &format!("h={}", st.display())[..],
            vec![1., 2., 3., 1., 2., 3.],
        ),
    ] {
        let got = batches(&graph(THREE_INPUTS), p.to_str().unwrap(), fixed, 2).unwrap();
        assert_eq!(got[0][2].shape(), &[1, 2, 3]);
        assert_eq!(got[0][2].to_f32_vec(), want, "{fixed}");
    }
}

#[test]
fn renamed_bindings_and_the_single_input_forms() {
    let d = dir("renamed");
    let p = d.join("d.npz");
    write_npz(
        &p,
        &[
            ("x_train", &rows(4, &[3], 0.0)),
            ("m_train", &rows(4, &[3], 50.0)),
            ("y_train", &rows(4, &[], 0.0)),
        ],
    );
    let spec = format!("{}:x=x_train,mask=m_train", p.display());
    let got = batches(&graph(X_MASK), &spec, "", 4).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0][1].to_f32_vec()[0], 50.0);
    // `;` separates bindings too (the spelling pass specs need).
    let spec = format!("{}:x=x_train;mask=m_train", p.display());
    assert_eq!(batches(&graph(X_MASK), &spec, "", 4).unwrap(), got);
    // An input left out of the list binds by name; fixed inputs need no data.
    write_npz(
        &p,
        &[("x", &rows(4, &[3], 0.0)), ("m_train", &rows(4, &[3], 7.0))],
    );
    let spec = format!("{}:mask=m_train", p.display());
    assert_eq!(
        batches(&graph(X_MASK), &spec, "", 4).unwrap()[0][1].to_f32_vec()[0],
        7.0
    );
    // A KEY feeds the one input that needs data.
    let got = batches(
        &graph(X_MASK),
        &format!("{}:m_train", p.display()),
        "x=1",
        4,
    )
    .unwrap();
    assert_eq!(
        (got[0][0].to_f32_vec()[0], got[0][1].to_f32_vec()[0]),
        (1.0, 7.0)
    );

    // One-input models: the only array, FILE.npz:KEY, .npy, a folder of .npy.
    let one = graph("graph @g(%x \"x\": f32[N,3]) -> (f32[N,3]) {\n  %y \"y\": f32[N,3] = relu(%x)\n  return %y\n}\n");
    write_npz(&p, &[("whatever", &rows(3, &[3], 0.0))]);
    assert_eq!(
        batches(&one, p.to_str().unwrap(), "", 8).unwrap()[0][0].shape(),
        &[3, 3]
    );
    write_npz(
        &p,
        &[("a", &rows(3, &[3], 0.0)), ("b", &rows(2, &[3], 0.0))],
    );
    assert_eq!(
        batches(&one, &format!("{}:b", p.display()), "", 8).unwrap()[0][0].shape(),
        &[2, 3]
    );
    let npy = d.join("x.npy");
    std::fs::write(&npy, pare_npy::encode_npy(&rows(6, &[3], 0.0)).unwrap()).unwrap();
    assert_eq!(
        batches(&one, npy.to_str().unwrap(), "", 4).unwrap().len(),
        2
    );
    // random data for the inputs that are not fixed.
    let got = batches(&graph(THREE_INPUTS), "random:3:1", "h=zeros", 2).unwrap();
    assert_eq!(got[1][2].shape(), &[1, 1, 3]);
}

#[test]
fn a_folder_of_per_sample_archives_streams_in_file_name_order() {
    let d = dir("folder");
    for i in 0..5 {
        // Written out of order; read sorted by name.
        let k = (i * 3) % 5;
        let x = Tensor::from_vec(vec![3], vec![k as f32; 3]).unwrap();
        let m = Tensor::from_vec(vec![3], vec![10.0 + k as f32; 3]).unwrap();
        write_npz(&d.join(format!("s{k:02}.npz")), &[("x", &x), ("mask", &m)]);
    }
    std::fs::write(d.join("notes.txt"), "ignored").unwrap();
    let spec = format!("{}/", d.display());
    let got = batches(&graph(X_MASK), &spec, "", 2).unwrap();
    let firsts: Vec<f32> = got
        .iter()
        .flat_map(|b| {
            b[0].to_f32_vec()
                .chunks(3)
                .map(|r| r[0])
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(firsts, vec![0.0, 1.0, 2.0, 3.0, 4.0]);
    assert_eq!(got[2][1].to_f32_vec(), vec![14.0; 3]);
    // A sample missing an input fails naming the file and the array.
    write_npz(&d.join("s05.npz"), &[("x", &rows(1, &[3], 0.0))]);
    let e = err(&graph(X_MASK), &spec, "");
    assert!(e.contains("s05.npz") && e.contains("mask"), "{e}");
}

/// A scratch archive `name/d.npz` holding `arrays`; its path.
fn archive(name: &str, arrays: &[(&str, &Tensor)]) -> String {
    let p = dir(name).join("d.npz");
    write_npz(&p, arrays);
    p.to_string_lossy().into_owned()
}

#[test]
fn an_input_without_data_is_named_with_what_the_archive_holds() {
    let spec = archive("missing", &[("x", &rows(4, &[3], 0.0))]);
    let e = err(&graph(X_MASK), &spec, "");
    assert!(
        e.contains("no data for input mask f32[N,3]") && e.contains("holds x"),
        "{e}"
    );
    assert!(e.contains("calib-fixed") && e.contains("mask=ARRAY"), "{e}");
}

#[test]
fn an_array_no_input_is_named_after_is_an_error_unless_it_is_fixed() {
    let (x, m) = (rows(4, &[3], 0.0), rows(4, &[3], 0.0));
    let spec = archive("extra", &[("x", &x), ("mask", &m), ("junk", &m)]);
    let e = err(&graph(X_MASK), &spec, "");
    assert!(
        e.contains("holds array junk that no model input is named after (inputs: x f32[N,3], mask f32[N,3])"),
        "{e}"
    );
    // An array named after a fixed input is overridden by the fixed value.
    let spec = archive("overridden", &[("x", &x), ("mask", &m), ("h", &m)]);
    let got = batches(&graph(THREE_INPUTS), &spec, "h=ones", 4).unwrap();
    assert!(got[0][2].to_f32_vec().iter().all(|&v| v == 1.0));
}

#[test]
fn a_wrong_rank_or_wrong_dims_name_the_input_and_its_samples() {
    let m = rows(4, &[3], 0.0);
    let spec = archive("rank", &[("x", &rows(4, &[3, 1], 0.0)), ("mask", &m)]);
    let e = err(&graph(X_MASK), &spec, "");
    assert!(
        e.contains("input `x` takes f32[N,3]")
            && e.contains("whole inputs of shape [N,3]")
            && e.contains("[3, 1]"),
        "{e}"
    );
    let spec = archive("dims", &[("x", &rows(4, &[4], 0.0)), ("mask", &m)]);
    let e = err(&graph(X_MASK), &spec, "");
    assert!(
        e.contains("input `x` takes f32[N,3] (samples of shape [3] along axis 0,")
            && e.contains("shape [4]"),
        "{e}"
    );
}

#[test]
fn float_data_for_an_integer_input_is_a_dtype_error() {
    let spec = archive(
        "dtype",
        &[("x", &rows(4, &[3], 0.0)), ("mask", &rows(4, &[3], 0.0))],
    );
    let e = err(&graph(INT_MASK), &spec, "");
    assert!(
        e.contains("input `mask` takes i64[N,3] (i64)") && e.contains("holds f32 data"),
        "{e}"
    );
    // Integer data of another width is fine, as float data is for float inputs.
    let ints = Tensor::from_vec(vec![4, 3], vec![1i32; 12]).unwrap();
    let spec = archive("dtype_ok", &[("x", &rows(4, &[3], 0.0)), ("mask", &ints)]);
    let got = batches(&graph(INT_MASK), &spec, "", 4).unwrap();
    assert_eq!(got[0][1].dtype(), pare_ir::DType::I64);
}

#[test]
fn bound_arrays_must_hold_the_same_number_of_samples() {
    let spec = archive(
        "count",
        &[("x", &rows(4, &[3], 0.0)), ("mask", &rows(3, &[3], 0.0))],
    );
    let e = err(&graph(X_MASK), &spec, "");
    assert!(
        e.contains("(input `x`) holds 4 samples") && e.contains("(input `mask`) holds 3"),
        "{e}"
    );
}

#[test]
fn bindings_and_fixed_values_must_name_model_inputs() {
    let g = graph(X_MASK);
    let (x, m) = (rows(4, &[3], 0.0), rows(4, &[3], 0.0));
    let spec = archive("names", &[("x", &x), ("m", &m)]);
    let e = err(&g, &format!("{spec}:x=x;msk=m"), "");
    assert!(
        e.contains("`msk`, which is not a model input (inputs: x f32[N,3], mask f32[N,3])"),
        "{e}"
    );
    let e = err(&g, &format!("{spec}:x=x;mask=nope"), "");
    assert!(e.contains("no array `nope` (arrays: x, m)"), "{e}");
    let e = err(&g, &format!("{spec}:mask=m"), "mask=zeros");
    assert!(e.contains("both bound"), "{e}");
    let e = err(&g, &format!("{spec}:mask=m"), "hh=zeros");
    assert!(e.contains("fixed input `hh` is not a model input"), "{e}");
    let e = err(&g, &spec, "x=zeros,mask=ones");
    assert!(e.contains("every model input is fixed"), "{e}");
    // The one-input forms on a model with more inputs that need data.
    let npy = dir("names_npy").join("x.npy");
    std::fs::write(&npy, pare_npy::encode_npy(&x).unwrap()).unwrap();
    let e = err(&g, npy.to_str().unwrap(), "");
    assert!(
        e.contains("feeds one input, but 2 inputs need data (x f32[N,3], mask f32[N,3])"),
        "{e}"
    );
}

#[test]
fn fixed_values_of_the_wrong_shape_or_unknown_dims_are_named() {
    let (x, m) = (rows(4, &[3], 0.0), rows(4, &[3], 0.0));
    let spec = archive("fixed", &[("x", &x), ("m", &m)]);
    let st = dir("fixed_state").join("h.npy");
    std::fs::write(&st, pare_npy::encode_npy(&rows(2, &[3], 0.0)).unwrap()).unwrap();
    let e = err(
        &graph(THREE_INPUTS),
        &format!("{spec}:mask=m"),
        &format!("h={}", st.display()),
    );
    assert!(
        e.contains("fixed input `h` takes f32[1,N,3] (one sample: shape [1, 1, 3])"),
        "{e}"
    );
    // A symbolic dim of a fixed input that no data input has.
    let lone = graph("graph @g(%x \"x\": f32[N,3], %h \"h\": f32[1,B,3]) -> (f32[N,3]) {\n  %y \"y\": f32[N,3] = relu(%x)\n  return %y\n}\n");
    let e = err(&lone, &format!("{spec}:x=x"), "h=zeros");
    assert!(
        e.contains("dim `B` is not a dim of any input that reads data"),
        "{e}"
    );
}

/// The same bindings inside a pass spec: `;` separates them there, since
/// options are split at commas.
#[test]
fn pass_specs_take_bindings_and_fixed_inputs() {
    let d = dir("spec");
    let p = d.join("d.npz");
    write_npz(
        &p,
        &[("a", &rows(16, &[3], 0.0)), ("b", &rows(16, &[3], 1.0))],
    );
    let spec = format!(
        "quantize{{scheme=int8,calib={}:x=a;mask=b,calib-fixed=h=zeros;c=ones}}",
        p.display()
    );
    // c is no input of this graph: the error says so, which proves the option reached the data.
    let g0 = graph(THREE_INPUTS);
    let mut g = g0.clone();
    let mut cx = PassCx::new(PassOptions::default());
    let mut pipe = pipeline_from_spec(&spec).unwrap();
    let e = PassManager::new()
        .run(&mut pipe, &mut g, &mut cx)
        .unwrap_err()
        .to_string();
    assert!(e.contains("fixed input `c` is not a model input"), "{e}");
    let spec = spec.replace(";c=ones", "");
    let mut pipe = pipeline_from_spec(&spec).unwrap();
    PassManager::new().run(&mut pipe, &mut g, &mut cx).unwrap();
    let cal = cx.quant.calibration.as_ref().unwrap();
    assert!(
        cal.0.contains("x=a;mask=b") && cal.0.contains("fixed: h=zeros"),
        "{}",
        cal.0
    );
    assert_eq!(cal.1.samples(), 16);
    // A bad binding is refused when the spec is read, before any model.
    let e = pipeline_from_spec("quantize{calib=d.npz:x=a;mask,calib-fixed=h=zeros}")
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("calib"), "{e}");
    let e = pipeline_from_spec("quantize{calib=d.npz,calib-fixed=h=lots}")
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("calib-fixed") && e.contains("zeros|ones"), "{e}");
}

/// A voice-activity model's layout: audio `[1, 8]` and a state `[2, 1, 4]`
/// whose batch is its axis 1, both fixed. The archive holds each input whole
/// per sample (`input [S,1,8]`, `h [S,2,1,4]`): one sample per run, the sample
/// axis dropped; a wrong whole shape names both accepted layouts.
#[test]
fn whole_inputs_along_a_new_axis_feed_one_sample_per_run() {
    const VAD: &str = "graph @g(%x \"input\": f32[1,8], %h \"h\": f32[2,1,4]) -> (f32[2,1,4]) {
  %s \"s\": f32[2,1,4] = relu(%h)
  return %s
}
";
    let d = dir("whole");
    let p = d.join("d.npz");
    write_npz(
        &p,
        &[
            ("input", &rows(3, &[1, 8], 0.0)),
            ("h", &rows(3, &[2, 1, 4], 100.0)),
        ],
    );
    let got = batches(&graph(VAD), p.to_str().unwrap(), "", 4).unwrap();
    assert_eq!(got.len(), 3, "one sample per run");
    for (i, b) in got.iter().enumerate() {
        assert_eq!(b[0].shape(), &[1, 8]);
        assert_eq!(b[1].shape(), &[2, 1, 4]);
        assert_eq!(b[1].to_f32_vec()[0], 100.0 + 8.0 * i as f32);
    }
    // Audio given as slices along its axis 0 still pairs with whole states.
    write_npz(
        &p,
        &[
            ("input", &rows(3, &[8], 0.0)),
            ("h", &rows(3, &[2, 1, 4], 0.0)),
        ],
    );
    assert_eq!(
        batches(&graph(VAD), p.to_str().unwrap(), "", 4)
            .unwrap()
            .len(),
        3
    );
    write_npz(
        &p,
        &[
            ("input", &rows(3, &[8], 0.0)),
            ("h", &rows(3, &[2, 2, 4], 0.0)),
        ],
    );
    let e = err(&graph(VAD), p.to_str().unwrap(), "");
    assert!(
        e.contains("input `h`")
            && e.contains("whole inputs of shape [2,1,4]")
            && e.contains("[2, 2, 4]"),
        "{e}"
    );
}
