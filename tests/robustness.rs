//! Hostile input: thousands of mutated fixture files (truncated, bit-flipped,
//! overwritten, spliced) go through import, verification and — when they still
//! import — the interpreter. Every one must give a result or an error: no panic,
//! no hang, no runaway allocation. Hand-broken textual IR likewise.

mod support;

/// Mutants per fixture; four fixtures give a few thousand files in all.
const MUTANTS_PER_MODEL: usize = 1200;

#[test]
fn mutated_onnx_files_error_cleanly() {
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    let (mut imported, mut ran, mut total) = (0, 0, 0);
    for model in [
        "micro_cnn.onnx",
        "digits_cnn.onnx",
        "digits_transformer.onnx",
        "digits_vae.onnx",
    ] {
        let original = std::fs::read(support::fixture(model)).expect("fixture");
        for _ in 0..MUTANTS_PER_MODEL {
            let bytes = support::mutate_bytes(&mut rng, &original);
            total += 1;
            let Ok(g) = pare_onnx::import_bytes(&bytes, None, model) else {
                continue;
            };
            imported += 1;
            // A graph the importer accepted must be well formed.
            pare_ir::verify::verify(&g)
                .unwrap_or_else(|e| panic!("{model} mutant accepted but invalid: {e}"));
            if let Some(inputs) = support::small_zero_inputs(&g) {
                let _ = pare_ir::interp::run(&g, &inputs);
                ran += 1;
            }
        }
    }
    println!("mutated ONNX files: {total} tried, {imported} still imported, {ran} run by the interpreter");
    assert!(total >= 4000);
}

#[test]
fn mutated_textual_ir_errors_cleanly() {
    let g = pare_onnx::import_file(&support::fixture("micro_cnn.onnx")).expect("import");
    let text = pare_ir::text::print(&g);
    let mut rng = fastrand::Rng::with_seed(7);
    let mut parsed = 0;
    for _ in 0..1000 {
        let bytes = support::mutate_bytes(&mut rng, text.as_bytes());
        let src = String::from_utf8_lossy(&bytes);
        if let Ok(g) = pare_ir::text::parse_with_weights(&src, &|_| None) {
            parsed += 1;
            let _ = pare_ir::verify::verify(&g);
        }
    }
    println!("mutated .pir files: 1000 tried, {parsed} parsed");
}

#[test]
fn hand_broken_models_name_the_problem() {
    let dir = support::scratch_dir("hand_broken");
    let original = std::fs::read(support::fixture("micro_cnn.onnx")).expect("fixture");
    // Truncated file.
    let p = dir.join("truncated.onnx");
    std::fs::write(&p, &original[..original.len() / 2]).unwrap();
    let e = pare_onnx::import_file(&p).unwrap_err().to_string();
    assert!(
        e.contains("truncated.onnx"),
        "error should name the file: {e}"
    );
    // Not a model at all.
    let p = dir.join("garbage.onnx");
    std::fs::write(&p, b"this is not a protobuf \xff\xff\xff").unwrap();
    let e = pare_onnx::import_file(&p).unwrap_err().to_string();
    assert!(
        e.contains("garbage.onnx"),
        "error should name the file: {e}"
    );
    // Missing file.
    let e = pare_onnx::import_file(&dir.join("missing.onnx"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing.onnx"), "{e}");
}
