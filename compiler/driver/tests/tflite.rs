//! `pare compile --target tflite`: the written flatbuffer is what LiteRT loads and runs
//! (`tests/oracle/litert_run.py`, pip ai-edge-litert): float models within 1e-5 relative
//! of pare's float interpreter, int8 models bit for bit with pare's integer interpreter
//! under LiteRT's reference kernels and within 1 LSB under the default (XNNPACK) path;
//! the file itself is deterministic, `TFL3` version 3 with 16-byte aligned buffers, a
//! signature and pare's metadata, and has no layout transposes.

mod common;

use common::{fixture, fixture_path, image_calib, pare, python, root, scratch, stderr};
use pare_tflite::schema::{self as fb, BuiltinOperator};
use std::path::{Path, PathBuf};

/// `x_test` of digits.npz (NCHW) as an .npy in `dir`.
fn x_test(dir: &Path) -> PathBuf {
    let all = pare_npy::read_npz(&fixture_path("digits.npz")).expect("reads digits.npz");
    let x = &all.iter().find(|(k, _)| k == "x_test").expect("x_test").1;
    let p = dir.join("x_test.npy");
    std::fs::write(&p, pare_npy::encode_npy(x).expect("encodes")).expect("writes");
    p
}

fn y_test() -> Vec<i64> {
    let all = pare_npy::read_npz(&fixture_path("digits.npz")).expect("reads digits.npz");
    all.iter()
        .find(|(k, _)| k == "y_test")
        .expect("y_test")
        .1
        .to_i64_vec()
}

/// Compiles `model` to `dir/NAME.tflite` (and the graph it was made from to
/// `dir/NAME.pir`); returns both paths.
fn compile(dir: &Path, model: &str, name: &str, extra: &[&str]) -> (PathBuf, PathBuf) {
    let out = dir.join(format!("{name}.tflite"));
    let graph = dir.join(format!("{name}.pir"));
    let mut args = vec![
        "compile",
        model,
        "--target",
        "tflite",
        "-o",
        out.to_str().unwrap(),
        "--save-graph",
        graph.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = pare(&args);
    assert!(o.status.success(), "pare {args:?}: {}", stderr(&o));
    (out, graph)
}

/// Output 0 of `model` run by LiteRT on `x` (NCHW), with the `resolver`.
fn litert(model: &Path, x: &Path, resolver: &str, out: &Path) -> pare_ir::Tensor {
    let o = std::process::Command::new(python())
        .arg(root().join("tests/oracle/litert_run.py"))
        .args([model.as_os_str(), x.as_os_str(), out.as_os_str()])
        .args(["--resolver", resolver, "--nchw"])
        .output()
        .expect("run litert_run.py");
    assert!(
        o.status.success(),
        "LiteRT ({resolver}) on {}: {} (install the oracle with `bash scripts/setup-tests.sh`)",
        model.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    pare_npy::read_npy(out).expect("reads LiteRT's output")
}

/// Output `name` of `graph` run by pare's interpreter (integer kernels for int8).
fn pare_run(graph: &Path, x: &Path, dir: &Path, name: &str) -> pare_ir::Tensor {
    pare_run_shaped(graph, x, dir, name, &[])
}

/// [`pare_run`] with extra arguments (`--input-shape`); an empty `name` reads the
/// model's only output.
fn pare_run_shaped(
    graph: &Path,
    x: &Path,
    dir: &Path,
    name: &str,
    extra: &[&str],
) -> pare_ir::Tensor {
    let out = dir.join(format!(
        "{}_run",
        graph.file_stem().unwrap().to_string_lossy()
    ));
    let mut args = vec![
        "run",
        graph.to_str().unwrap(),
        "--input",
        x.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = pare(&args);
    assert!(o.status.success(), "pare run: {}", stderr(&o));
    let file = if name.is_empty() {
        // The model's only output, whatever its name.
        let mut files: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        files.remove(0)
    } else {
        out.join(format!("{name}.npy"))
    };
    pare_npy::read_npy(&file).expect("reads pare's output")
}

fn accuracy(logits: &pare_ir::Tensor, y: &[i64]) -> f64 {
    let c = logits.shape()[1];
    let v = logits.to_f64_vec();
    let hits = v
        .chunks(c)
        .zip(y)
        .filter(|(r, &y)| (0..c).fold(0, |b, i| if r[i] > r[b] { i } else { b }) as i64 == y)
        .count();
    hits as f64 / y.len() as f64
}

/// max |a - b| / max |b|.
fn rel_err(a: &pare_ir::Tensor, b: &pare_ir::Tensor) -> f64 {
    assert_eq!(a.shape(), b.shape());
    let (a, b) = (a.to_f64_vec(), b.to_f64_vec());
    let diff = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    let mag = b.iter().map(|y| y.abs()).fold(0.0, f64::max);
    diff / mag
}

fn ops(bytes: &[u8]) -> Vec<BuiltinOperator> {
    let m = fb::root_as_model(bytes).expect("the flatbuffer verifier accepts the file");
    let codes: Vec<_> = m
        .operator_codes()
        .unwrap()
        .iter()
        .map(|c| c.builtin_code())
        .collect();
    let sg = m.subgraphs().unwrap().get(0);
    sg.operators()
        .unwrap()
        .iter()
        .map(|o| codes[o.opcode_index() as usize])
        .collect()
}

fn float_parity(fixture_name: &str, output: &str) {
    let dir = scratch(&format!("tflite_float_{fixture_name}"));
    let x = x_test(&dir);
    let model = fixture(&format!("{fixture_name}.onnx"));
    let (tfl, graph) = compile(&dir, &model, "float", &["--quantize", "none"]);
    let ours = pare_run(&graph, &x, &dir, output);
    let theirs = litert(&tfl, &x, "default", &dir.join("litert.npy"));
    let err = rel_err(&theirs, &ours);
    let bytes = std::fs::read(&tfl).unwrap();
    eprintln!(
        "{fixture_name} float .tflite: {} B, {} ops, LiteRT vs pare max rel err {err:.2e}",
        bytes.len(),
        ops(&bytes).len()
    );
    assert!(
        err <= 1e-5,
        "{fixture_name}: LiteRT differs from pare by {err:e} relative"
    );
    let refk = litert(&tfl, &x, "ref", &dir.join("litert_ref.npy"));
    assert!(rel_err(&refk, &ours) <= 1e-5, "reference kernels differ");
}

#[test]
fn float_digits_cnn_runs_in_litert_as_in_pare() {
    float_parity("digits_cnn", "logits");
}

#[test]
fn float_micro_cnn_runs_in_litert_as_in_pare() {
    float_parity("micro_cnn", "logits");
}

/// `xnn_lsb`: how far LiteRT's default (XNNPACK) kernels may be from pare on the
/// output codes. They round requantization and means differently from TFLite's
/// reference kernels (1 LSB per op); through a deep stack that can reach 2.
fn int8_parity(fixture_name: &str, xnn_lsb: f64) {
    int_parity(fixture_name, "int8", xnn_lsb);
}

/// [`int8_parity`] for `--quantize scheme` (int8, or int4: 4-bit weights written as
/// TFLite INT4 for CONV_2D, as int8 values for DEPTHWISE_CONV_2D).
fn int_parity(fixture_name: &str, scheme: &str, xnn_lsb: f64) {
    let dir = scratch(&format!("tflite_{scheme}_{fixture_name}"));
    let x = x_test(&dir);
    let y = y_test();
    let model = fixture(&format!("{fixture_name}.onnx"));
    let calib = format!("{}:x_train", fixture("digits.npz"));
    let (tfl, graph) = compile(
        &dir,
        &model,
        scheme,
        &["--quantize", scheme, "--calib", &calib],
    );
    let ours = pare_run(&graph, &x, &dir, "logits");
    let refk = litert(&tfl, &x, "ref", &dir.join("litert_ref.npy"));
    let xnn = litert(&tfl, &x, "default", &dir.join("litert.npy"));
    // The logits are DEQUANTIZE(int8): equal floats are equal int8 codes, and a
    // difference divided by the output scale counts LSBs.
    let bytes = std::fs::read(&tfl).unwrap();
    let m = fb::root_as_model(&bytes).unwrap();
    let sg = m.subgraphs().unwrap().get(0);
    let codes = m.operator_codes().unwrap();
    let last = sg
        .operators()
        .unwrap()
        .iter()
        .rev()
        .find(|o| {
            codes.get(o.opcode_index() as usize).builtin_code() == BuiltinOperator::DEQUANTIZE
        })
        .expect("the output is dequantized");
    let q = sg
        .tensors()
        .unwrap()
        .get(last.inputs().unwrap().get(0) as usize);
    let scale = f64::from(q.quantization().unwrap().scale().unwrap().get(0));
    let lsb = |a: &pare_ir::Tensor| -> f64 {
        a.to_f64_vec()
            .iter()
            .zip(ours.to_f64_vec())
            .map(|(a, b)| ((a - b) / scale).abs().round())
            .fold(0.0, f64::max)
    };
    let (acc, acc_ref, acc_xnn) = (accuracy(&ours, &y), accuracy(&refk, &y), accuracy(&xnn, &y));
    eprintln!(
        "{fixture_name} {scheme} .tflite: {} B, {} ops; accuracy on the 500 test digits: pare {acc:.3}, LiteRT reference {acc_ref:.3}, LiteRT XNNPACK {acc_xnn:.3}; max diff vs pare: reference {} LSB, XNNPACK {} LSB",
        bytes.len(),
        ops(&bytes).len(),
        lsb(&refk),
        lsb(&xnn)
    );
    assert!(
        !ops(&bytes).contains(&BuiltinOperator::TRANSPOSE),
        "{:?}",
        ops(&bytes)
    );
    assert_eq!(
        refk.to_f32_vec(),
        ours.to_f32_vec(),
        "{fixture_name}: LiteRT's reference kernels differ from pare's integer interpreter ({} LSB at most)",
        lsb(&refk)
    );
    assert!(
        lsb(&xnn) <= xnn_lsb,
        "{fixture_name}: XNNPACK is {} LSB off",
        lsb(&xnn)
    );
}

#[test]
fn int8_digits_cnn_is_bit_exact_with_litert_reference_kernels() {
    int8_parity("digits_cnn", 1.0);
}

#[test]
fn int4_digits_cnn_is_bit_exact_with_litert_reference_kernels() {
    int_parity("digits_cnn", "int4", 1.0);
}

#[test]
fn int8_micro_cnn_is_bit_exact_with_litert_reference_kernels() {
    int8_parity("micro_cnn", 2.0);
}

#[test]
fn fp16_digits_cnn_keeps_f16_weights_and_runs_in_litert() {
    let dir = scratch("tflite_fp16");
    let x = x_test(&dir);
    let (tfl, graph) = compile(
        &dir,
        &fixture("digits_cnn.onnx"),
        "fp16",
        &["--quantize", "fp16"],
    );
    let bytes = std::fs::read(&tfl).unwrap();
    let m = fb::root_as_model(&bytes).unwrap();
    let sg = m.subgraphs().unwrap().get(0);
    let f16 = sg
        .tensors()
        .unwrap()
        .iter()
        .filter(|t| t.type_() == fb::TensorType::FLOAT16)
        .count();
    let deq = ops(&bytes)
        .iter()
        .filter(|&&o| o == BuiltinOperator::DEQUANTIZE)
        .count();
    assert!(
        f16 >= 10 && deq == f16,
        "{f16} f16 constants, {deq} DEQUANTIZE"
    );
    let ours = pare_run(&graph, &x, &dir, "logits");
    let theirs = litert(&tfl, &x, "default", &dir.join("litert.npy"));
    let err = rel_err(&theirs, &ours);
    eprintln!(
        "digits_cnn fp16 .tflite: {} B, LiteRT vs pare max rel err {err:.2e}",
        bytes.len()
    );
    assert!(
        err <= 1e-5,
        "fp16: LiteRT differs from pare by {err:e} relative"
    );
}

#[test]
fn the_file_is_deterministic_aligned_signed_and_free_of_layout_transposes() {
    let dir = scratch("tflite_file");
    let calib = format!("{}:x_train", fixture("digits.npz"));
    let args = ["--quantize", "int8", "--calib", calib.as_str()];
    let model = fixture("digits_cnn.onnx");
    let (a, _) = compile(&dir, &model, "a", &args);
    let (b, _) = compile(&dir, &model, "b", &args);
    let bytes = std::fs::read(&a).unwrap();
    assert_eq!(bytes, std::fs::read(&b).unwrap(), "same input, same bytes");
    assert_eq!(
        &bytes[4..8],
        b"TFL3",
        "file identifier after the root offset"
    );
    assert!(fb::model_buffer_has_identifier(&bytes));
    let m = fb::root_as_model(&bytes).unwrap();
    assert_eq!(m.version(), 3);
    let base = bytes.as_ptr() as usize;
    for buf in m.buffers().unwrap().iter() {
        if let Some(d) = buf.data() {
            let off = d.bytes().as_ptr() as usize - base;
            assert_eq!(off % 16, 0, "a buffer starts at {off}, not 16-byte aligned");
        }
    }
    let sig = m.signature_defs().unwrap().get(0);
    let names = |v: pare_tflite::flatbuffers::Vector<
        '_,
        pare_tflite::flatbuffers::ForwardsUOffset<fb::TensorMap<'_>>,
    >| {
        v.iter()
            .map(|t| t.name().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(sig.inputs().unwrap()), ["input"]);
    assert_eq!(names(sig.outputs().unwrap()), ["logits"]);
    let meta = m.metadata().unwrap().get(0);
    assert_eq!(meta.name(), Some(pare_tflite::PRODUCER_METADATA));
    let text = m
        .buffers()
        .unwrap()
        .get(meta.buffer() as usize)
        .data()
        .unwrap()
        .bytes();
    assert!(String::from_utf8_lossy(text).starts_with("pare "));
    let ops = ops(&bytes);
    assert!(!ops.contains(&BuiltinOperator::TRANSPOSE), "{ops:?}");
    use BuiltinOperator as B;
    assert_eq!(
        ops,
        [
            B::QUANTIZE,
            B::CONV_2D,
            B::CONV_2D,
            B::CONV_2D,
            B::ADD,
            B::DEPTHWISE_CONV_2D,
            B::CONV_2D,
            B::MAX_POOL_2D,
            B::RESHAPE,
            // int8 fully connected layers run as 1x1 convs (see pare-tflite's lowering).
            B::CONV_2D,
            B::CONV_2D,
            B::DEQUANTIZE,
            B::RESHAPE
        ]
    );
}

/// The random-init MobileNets (structure only): LiteRT runs them as pare does.
fn float_mobilenet(fixture_name: &str) {
    let dir = scratch(&format!("tflite_{fixture_name}"));
    let x = image_calib(&dir, 1, 224);
    let (tfl, graph) = compile(
        &dir,
        &fixture(&format!("{fixture_name}.onnx")),
        "float",
        &["--quantize", "none"],
    );
    let out = pare_run_shaped(&graph, &x, &dir, "", &[]);
    let theirs = litert(&tfl, &x, "default", &dir.join("litert.npy"));
    let bytes = std::fs::read(&tfl).unwrap();
    let kinds = ops(&bytes);
    let err = rel_err(&theirs, &out);
    eprintln!(
        "{fixture_name} float .tflite: {} B, {} ops, LiteRT vs pare max rel err {err:.2e}",
        bytes.len(),
        kinds.len()
    );
    assert!(!kinds.contains(&BuiltinOperator::TRANSPOSE), "{kinds:?}");
    assert!(
        err <= 1e-5,
        "{fixture_name}: LiteRT differs from pare by {err:e} relative"
    );
}

#[test]
fn float_mobilenet_v2_runs_in_litert_as_in_pare() {
    float_mobilenet("mobilenet_v2");
}

#[test]
fn float_mobilenet_v3_small_runs_in_litert_as_in_pare() {
    float_mobilenet("mobilenet_v3_small");
}

#[test]
fn float_vae_with_a_fixed_batch_runs_in_litert_as_in_pare() {
    let dir = scratch("tflite_vae");
    let all = pare_npy::read_npz(&fixture_path("digits.npz")).unwrap();
    let xt = &all.iter().find(|(k, _)| k == "x_test").unwrap().1;
    let x20 =
        pare_ir::Tensor::from_vec(vec![20, 1, 8, 8], xt.to_f32_vec()[..20 * 64].to_vec()).unwrap();
    let x = dir.join("x20.npy");
    std::fs::write(&x, pare_npy::encode_npy(&x20).unwrap()).unwrap();
    let model = fixture("digits_vae.onnx");
    // TRANSPOSE_CONV takes its output shape as a constant: a symbolic batch is refused
    // naming the node.
    let o = pare(&[
        "compile",
        &model,
        "--target",
        "tflite",
        "--quantize",
        "none",
        "-o",
        dir.join("sym.tflite").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("/dec/t1/ConvTranspose") && stderr(&o).contains("--input-shape"),
        "{}",
        stderr(&o)
    );
    let (tfl, graph) = compile(
        &dir,
        &model,
        "float",
        &["--quantize", "none", "--input-shape", "input=1,1,8,8"],
    );
    let ours = pare_run_shaped(
        &graph,
        &x,
        &dir,
        "recon",
        &["--input-shape", "input=20,1,8,8"],
    );
    let theirs = litert(&tfl, &x, "default", &dir.join("litert.npy"));
    let bytes = std::fs::read(&tfl).unwrap();
    let kinds = ops(&bytes);
    let err = rel_err(&theirs, &ours);
    eprintln!(
        "digits_vae float .tflite: {} B, {} ops, LiteRT vs pare max rel err {err:.2e}",
        bytes.len(),
        kinds.len()
    );
    // The decoder's Linear writes its rows in HWC order: the reshape to an image needs
    // no TRANSPOSE.
    assert!(!kinds.contains(&BuiltinOperator::TRANSPOSE), "{kinds:?}");
    assert!(kinds.contains(&BuiltinOperator::TRANSPOSE_CONV));
    assert!(
        err <= 1e-5,
        "VAE: LiteRT differs from pare by {err:e} relative"
    );
}

#[test]
fn float_transformer_runs_in_litert_as_in_pare() {
    float_parity("digits_transformer", "logits");
}

/// The digits transformer int8: LayerNorm stays a float island (DEQUANTIZE, its
/// MEAN/SUB/MUL/RSQRT decomposition, QUANTIZE) and SOFTMAX's int8 kernel rounds
/// differently from pare's table, so LiteRT's reference kernels are within 1 LSB of
/// pare rather than bit-exact.
#[test]
fn int8_transformer_runs_in_litert_within_one_lsb() {
    let dir = scratch("tflite_int8_transformer");
    let x = x_test(&dir);
    let y = y_test();
    let calib = format!("{}:x_train", fixture("digits.npz"));
    let (tfl, graph) = compile(
        &dir,
        &fixture("digits_transformer.onnx"),
        "int8",
        &["--quantize", "int8", "--calib", &calib],
    );
    let bytes = std::fs::read(&tfl).unwrap();
    let scale = output_scale(&bytes);
    let ours = pare_run(&graph, &x, &dir, "logits");
    let refk = litert(&tfl, &x, "ref", &dir.join("ref.npy"));
    let xnn = litert(&tfl, &x, "default", &dir.join("xnn.npy"));
    let lsb = |a: &pare_ir::Tensor| {
        let d: Vec<f64> = a
            .to_f64_vec()
            .iter()
            .zip(ours.to_f64_vec())
            .map(|(a, b)| ((a - b) / scale).abs().round())
            .collect();
        (
            d.iter().filter(|&&v| v > 0.0).count(),
            d.iter().fold(0.0, |m: f64, &v| m.max(v)),
        )
    };
    eprintln!(
        "digits_transformer int8 .tflite: {} B, {} ops; accuracy on the 500 test digits: pare {:.3}, LiteRT reference {:.3}, XNNPACK {:.3}; differing from pare (count, max LSB): reference {:?}, XNNPACK {:?}",
        bytes.len(),
        ops(&bytes).len(),
        accuracy(&ours, &y),
        accuracy(&refk, &y),
        accuracy(&xnn, &y),
        lsb(&refk),
        lsb(&xnn)
    );
    assert!(lsb(&refk).1 <= 1.0, "reference kernels: {:?}", lsb(&refk));
    assert!((accuracy(&refk, &y) - accuracy(&ours, &y)).abs() <= 0.004);
}

#[test]
fn an_op_without_a_tflite_form_is_named() {
    let dir = scratch("tflite_unsupported");
    let out = dir.join("m.tflite");
    // The VAE's int8 SiLU is a lookup table in pare: no TFLite kernel computes it.
    let calib = format!("{}:x_train", fixture("digits.npz"));
    let o = pare(&[
        "compile",
        &fixture("digits_vae.onnx"),
        "--target",
        "tflite",
        "--quantize",
        "int8",
        "--calib",
        &calib,
        "--input-shape",
        "input=1,1,8,8",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("node `/dec/Mul` (silu)") && e.contains("lookup table"),
        "{e}"
    );
    assert!(!out.exists(), "nothing is written on failure");
}

/// The output scale of an int8 model: that of the input of its last DEQUANTIZE.
fn output_scale(bytes: &[u8]) -> f64 {
    let m = fb::root_as_model(bytes).unwrap();
    let sg = m.subgraphs().unwrap().get(0);
    let codes = m.operator_codes().unwrap();
    let deq = sg
        .operators()
        .unwrap()
        .iter()
        .rev()
        .find(|o| {
            codes.get(o.opcode_index() as usize).builtin_code() == BuiltinOperator::DEQUANTIZE
        })
        .expect("the output is dequantized");
    let t = sg
        .tensors()
        .unwrap()
        .get(deq.inputs().unwrap().get(0) as usize);
    f64::from(t.quantization().unwrap().scale().unwrap().get(0))
}

/// One int8 op after a conv (models from `tests/oracle/make_tflite_op_models.py`):
/// written and bit-exact with LiteRT's reference kernels (or, for the ops whose
/// TFLite kernel rounds differently from pare's lookup tables, within 1 LSB), or
/// refused naming the node when TFLite's int8 kernel needs other parameters or is
/// another function.
#[test]
fn int8_ops_match_litert_or_are_refused_by_name() {
    let dir = scratch("tflite_int8_ops");
    let o = std::process::Command::new(python())
        .arg(root().join("tests/oracle/make_tflite_op_models.py"))
        .arg(&dir)
        .output()
        .expect("run make_tflite_op_models.py");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let x = dir.join("x.npy");
    let int8 = [
        "--quantize",
        "int8",
        "--calib",
        "random:64:1",
        "--min-fidelity",
        "none",
    ];
    for (name, max_lsb) in [
        ("tanh", 0.0),
        ("global_average_pool", 0.0),
        ("mul", 0.0),
        ("relu_concat", 0.0),
        ("softmax", 1.0),
        ("leaky_relu", 1.0),
        ("hard_swish", 1.0),
    ] {
        let (tfl, graph) = compile(
            &dir,
            dir.join(format!("{name}.onnx")).to_str().unwrap(),
            name,
            &int8,
        );
        let bytes = std::fs::read(&tfl).unwrap();
        let scale = output_scale(&bytes);
        let ours = pare_run(&graph, &x, &dir, "y");
        let refk = litert(&tfl, &x, "ref", &dir.join(format!("{name}_ref.npy")));
        let xnn = litert(&tfl, &x, "default", &dir.join(format!("{name}_xnn.npy")));
        let lsb = |a: &pare_ir::Tensor| {
            let d: Vec<f64> = a
                .to_f64_vec()
                .iter()
                .zip(ours.to_f64_vec())
                .map(|(a, b)| ((a - b) / scale).abs().round())
                .collect();
            (
                d.iter().filter(|&&v| v > 0.0).count(),
                d.iter().fold(0.0, |m: f64, &v| m.max(v)),
            )
        };
        let ((rn, rmax), (xn, xmax)) = (lsb(&refk), lsb(&xnn));
        eprintln!(
            "{name}: {:?}; outputs differing from pare: reference {rn} (max {rmax} LSB), XNNPACK {xn} (max {xmax} LSB) of {}",
            ops(&bytes),
            ours.len()
        );
        assert!(
            rmax <= max_lsb,
            "{name}: LiteRT's reference kernels are {rmax} LSB from pare"
        );
    }
    for (name, node, why) in [
        (
            "sigmoid",
            "the_sigmoid",
            "needs output scale 0.00390625 and zero point -128",
        ),
        (
            "average_pool",
            "the_averagepool",
            "averages the codes without requantizing",
        ),
    ] {
        let out = dir.join(format!("{name}.tflite"));
        let model = dir.join(format!("{name}.onnx"));
        let mut args = vec![
            "compile",
            model.to_str().unwrap(),
            "--target",
            "tflite",
            "-o",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(&int8);
        let o = pare(&args);
        let e = stderr(&o);
        assert!(!o.status.success(), "{name} was written");
        assert!(e.contains(node) && e.contains(why), "{name}: {e}");
    }
}

/// The input quantization `(scale, zero point)` of an int8 model: its first QUANTIZE's.
fn input_quant(bytes: &[u8]) -> (f32, i32) {
    let m = fb::root_as_model(bytes).unwrap();
    let sg = m.subgraphs().unwrap().get(0);
    let codes = m.operator_codes().unwrap();
    let q = sg
        .operators()
        .unwrap()
        .iter()
        .find(|o| codes.get(o.opcode_index() as usize).builtin_code() == BuiltinOperator::QUANTIZE)
        .expect("the input is quantized");
    let t = sg
        .tensors()
        .unwrap()
        .get(q.outputs().unwrap().get(0) as usize);
    let qp = t.quantization().unwrap();
    (
        qp.scale().unwrap().get(0),
        qp.zero_point().unwrap().get(0) as i32,
    )
}

/// MobileNetV2 int8 (random init: structure only): LiteRT's reference kernels equal
/// pare's integer interpreter bit for bit (the 7×7 MEAN included), XNNPACK runs it.
///
/// The images are first put on the input's quantization grid: ONNX's QuantizeLinear
/// (pare) rounds a tie half to even, TFLite's QUANTIZE half away from zero, and these
/// images hit exact ties (one pixel in 150,528 here). On the grid both quantize the
/// same, so the comparison is of the integer kernels alone.
#[test]
fn int8_mobilenet_v2_is_bit_exact_with_litert_reference_kernels() {
    let dir = scratch("tflite_int8_mobilenet_v2");
    let calib = image_calib(&dir, 16, 224);
    let (tfl, graph) = compile(
        &dir,
        &fixture("mobilenet_v2.onnx"),
        "int8",
        &[
            "--quantize",
            "int8",
            "--calib",
            calib.to_str().unwrap(),
            "--min-fidelity",
            "none",
            "--bias-correction",
            "off",
            "--sensitivity-samples",
            "0",
        ],
    );
    let bytes = std::fs::read(&tfl).unwrap();
    let (s, z) = input_quant(&bytes);
    let imgs = pare_npy::read_npy(&calib).unwrap().to_f32_vec();
    let on_grid: Vec<f32> = imgs[..2 * 3 * 224 * 224]
        .iter()
        .map(|&v| {
            let q = ((v / s).round_ties_even() as i32 + z).clamp(-128, 127);
            (q - z) as f32 * s
        })
        .collect();
    let x = dir.join("x2.npy");
    let two = pare_ir::Tensor::from_vec(vec![2, 3, 224, 224], on_grid).unwrap();
    std::fs::write(&x, pare_npy::encode_npy(&two).unwrap()).unwrap();
    let ours = pare_run_shaped(
        &graph,
        &x,
        &dir,
        "",
        &["--input-shape", "input=2,3,224,224"],
    );
    let refk = litert(&tfl, &x, "ref", &dir.join("ref.npy"));
    let xnn = litert(&tfl, &x, "default", &dir.join("xnn.npy"));
    let scale = output_scale(&bytes);
    let lsb = |a: &pare_ir::Tensor| {
        let d: Vec<f64> = a
            .to_f64_vec()
            .iter()
            .zip(ours.to_f64_vec())
            .map(|(a, b)| ((a - b) / scale).abs().round())
            .collect();
        (
            d.iter().filter(|&&v| v > 0.0).count(),
            d.iter().fold(0.0, |m: f64, &v| m.max(v)),
        )
    };
    let kinds = ops(&bytes);
    eprintln!(
        "mobilenet_v2 int8 .tflite: {} B, {} ops; differing from pare: reference {:?}, XNNPACK {:?} (count, max LSB)",
        bytes.len(),
        kinds.len(),
        lsb(&refk),
        lsb(&xnn)
    );
    assert!(!kinds.contains(&BuiltinOperator::TRANSPOSE), "{kinds:?}");
    assert_eq!(
        lsb(&refk),
        (0, 0.0),
        "LiteRT's reference kernels differ from pare"
    );
}

#[test]
fn the_target_follows_the_extension_and_refuses_what_it_cannot_write() {
    let dir = scratch("tflite_flags");
    let model = fixture("digits_cnn.onnx");
    // `-o m.tflite` alone picks the target.
    let out = dir.join("m.tflite");
    let o = pare(&[
        "compile",
        &model,
        "--quantize",
        "fp16",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(&std::fs::read(&out).unwrap()[4..8], b"TFL3");
    for (args, want) in [
        (
            vec!["--quantize", "int8-weights"],
            "--target tflite writes float, fp16 or integer models",
        ),
        (
            vec!["--quantize", "none", "--name", "x"],
            "--name applies to --target rp2040 only",
        ),
    ] {
        let mut full = vec![
            "compile",
            model.as_str(),
            "--target",
            "tflite",
            "-o",
            out.to_str().unwrap(),
        ];
        full.extend(args.iter().copied());
        let o = pare(&full);
        assert!(!o.status.success(), "{full:?}");
        assert!(stderr(&o).contains(want), "{}", stderr(&o));
    }
    let onnx = dir.join("m.onnx");
    let o = pare(&[
        "compile",
        &model,
        "--target",
        "tflite",
        "--quantize",
        "none",
        "-o",
        onnx.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("--target tflite writes a .tflite file"),
        "{}",
        stderr(&o)
    );
}

/// Every filetest graph (the shapes pare's passes write) that `--target tflite`
/// accepts loads and runs in LiteRT, with both op resolvers.
#[test]
fn every_filetest_graph_written_loads_and_runs_in_litert() {
    let dir = scratch("tflite_filetests");
    let mut files = Vec::new();
    let mut dirs = vec![root().join("tests/filetests")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "pir") {
                files.push(p);
            }
        }
    }
    files.sort();
    let mut written = 0;
    for f in &files {
        let stem = f.strip_prefix(root().join("tests/filetests")).unwrap();
        let name = stem.to_string_lossy().replace(['/', '.'], "_");
        let out = dir.join(format!("{name}.tflite"));
        let o = pare(&[
            "compile",
            f.to_str().unwrap(),
            "--target",
            "tflite",
            "--quantize",
            "none",
            "-o",
            out.to_str().unwrap(),
        ]);
        if o.status.success() {
            written += 1;
        } else {
            // Refusals name what they refuse (or are the verifier's negative cases).
            assert!(
                !stderr(&o).contains("panicked"),
                "{}: {}",
                f.display(),
                stderr(&o)
            );
        }
    }
    assert!(
        written >= 60,
        "only {written} of {} filetest graphs written",
        files.len()
    );
    let o = std::process::Command::new(python())
        .arg(root().join("tests/oracle/litert_smoke.py"))
        .arg(&dir)
        .output()
        .expect("run litert_smoke.py");
    let report = String::from_utf8_lossy(&o.stdout);
    eprintln!("{report}");
    assert!(
        o.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
