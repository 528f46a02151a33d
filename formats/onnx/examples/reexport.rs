//! Imports an ONNX model and writes it back at opset 21:
//! `cargo run -p pare-onnx --example reexport -- IN.onnx OUT.onnx [EXTERNAL_THRESHOLD_BYTES]`.
//! Used to check exported models by hand with onnx.checker and onnxruntime.

use pare_onnx::{export_file, import_file, ExportOptions, ExternalDataOptions};
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output, rest @ ..] = args.as_slice() else {
        return Err("usage: reexport IN.onnx OUT.onnx [EXTERNAL_THRESHOLD_BYTES]".into());
    };
    let g = import_file(&PathBuf::from(input))?;
    let external = match rest.first() {
        Some(t) => Some(ExternalDataOptions {
            location: format!(
                "{}.data",
                PathBuf::from(output)
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default()
            ),
            threshold: t.parse()?,
        }),
        None => None,
    };
    let opts = ExportOptions {
        value_info: false,
        external,
    };
    export_file(&g, &PathBuf::from(output), &opts)?;
    Ok(())
}
