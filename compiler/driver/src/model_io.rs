//! Loading and saving models by file extension.

use anyhow::{bail, Context, Result};
use pare_ir::Graph;
use std::path::Path;

/// Model file formats pare reads and writes.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Format {
    Onnx,
    /// torch.export archive (read only).
    Pt2,
    Pir,
}

pub fn format_of(path: &Path) -> Result<Format> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("onnx") => Ok(Format::Onnx),
        Some("pt2") => Ok(Format::Pt2),
        Some("pir") => Ok(Format::Pir),
        other => bail!(
            "{}: unsupported model format `{}` (expected .onnx, .pt2 or .pir)",
            path.display(),
            other
                .map(|e| format!(".{e}"))
                .unwrap_or_else(|| "no extension".into())
        ),
    }
}

/// Reads a model; errors name the file.
pub fn load(path: &Path) -> Result<Graph> {
    match format_of(path)? {
        Format::Onnx => Ok(pare_onnx::import_file(path)?),
        Format::Pt2 => Ok(pare_pt2::import_file(path)?),
        Format::Pir => {
            let src = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let g = pare_ir::text::parse(&src).with_context(|| format!("{}", path.display()))?;
            pare_ir::verify::verify(&g)
                .with_context(|| format!("{}: invalid graph", path.display()))?;
            Ok(g)
        }
    }
}

/// `--input-shape NAME=D0,D1,...`: a model input's shape to use instead of the
/// declared one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputShape {
    pub name: String,
    pub dims: Vec<u64>,
}

/// Parses `NAME=D0,D1,...` (clap's value parser for `--input-shape`).
pub fn parse_input_shape(s: &str) -> std::result::Result<InputShape, String> {
    let (name, dims) = s
        .rsplit_once('=')
        .filter(|(n, _)| !n.is_empty())
        .ok_or_else(|| format!("`{s}`: expected NAME=D0,D1,... (e.g. input=1,3,96,96)"))?;
    let dims = dims
        .split(',')
        .map(|d| match d.trim().parse::<u64>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!(
                "`{s}`: dimension `{d}` is not a positive integer (expected NAME=D0,D1,...)"
            )),
        })
        .collect::<std::result::Result<Vec<u64>, String>>()?;
    Ok(InputShape {
        name: name.to_string(),
        dims,
    })
}

/// Reads a model and gives the named inputs the shapes of `--input-shape`
/// (inference re-runs; a node that cannot take a shape is named).
pub fn load_shaped(path: &Path, shapes: &[InputShape]) -> Result<Graph> {
    let mut g = load(path)?;
    reshape_inputs(&mut g, shapes, path)?;
    Ok(g)
}

fn reshape_inputs(g: &mut Graph, shapes: &[InputShape], path: &Path) -> Result<()> {
    let pairs: Vec<(String, Vec<u64>)> = shapes
        .iter()
        .map(|s| (s.name.clone(), s.dims.clone()))
        .collect();
    pare_ir::infer::override_input_shapes(g, &pairs)
        .with_context(|| format!("{}: --input-shape", path.display()))
}

/// Writes a model atomically (a failed write leaves no partial file).
pub fn save(g: &Graph, path: &Path) -> Result<()> {
    match format_of(path)? {
        Format::Onnx => pare_onnx::export_file(g, path, &pare_onnx::ExportOptions::default())
            .with_context(|| format!("writing {}", path.display())),
        Format::Pt2 => bail!(
            "{}: pare cannot write .pt2 archives (write .onnx or .pir instead)",
            path.display()
        ),
        Format::Pir => pare_ir::fsutil::write_atomic(path, pare_ir::text::print(g).as_bytes())
            .with_context(|| format!("writing {}", path.display())),
    }
}

/// A model's bytes in `format` (for writers that measure before writing);
/// `path` only names the artifact in errors.
pub fn encode(g: &Graph, format: Format, path: &Path) -> Result<Vec<u8>> {
    match format {
        Format::Onnx => pare_onnx::export_model(g, &pare_onnx::ExportOptions::default())
            .with_context(|| format!("encoding {}", path.display())),
        Format::Pir => Ok(pare_ir::text::print(g).into_bytes()),
        Format::Pt2 => bail!(
            "{}: pare cannot write .pt2 archives (write .onnx or .pir instead)",
            path.display()
        ),
    }
}

/// Reads a model to execute it: a graph in ONNX's QDQ form (quantize/dequantize
/// pairs around float ops, as pare's `--target onnx` and other tools write it)
/// is raised into pare's quantized IR, so that it runs in the integer
/// interpreter like the `.pir` of the same compile.
/// `shapes` override input shapes as in [`load_shaped`].
pub fn load_executable(path: &Path, shapes: &[InputShape]) -> Result<Graph> {
    let mut g = load(path)?;
    let has_qdq = g.nodes().any(|(_, n)| {
        matches!(
            n.op,
            pare_ir::Op::QuantizeLinear { .. } | pare_ir::Op::DequantizeLinear { .. }
        )
    });
    if has_qdq {
        let mut cx = pare_passes::PassCx::new(pare_passes::PassOptions {
            verify: true,
            ..pare_passes::PassOptions::default()
        });
        let mut p = pare_passes::pipeline_from_names(&["raise-qdq", "dce"])?;
        pare_passes::PassManager::new()
            .run(&mut p, &mut g, &mut cx)
            .with_context(|| {
                format!("{}: reading its quantize/dequantize pairs", path.display())
            })?;
    }
    reshape_inputs(&mut g, shapes, path)?;
    Ok(g)
}
