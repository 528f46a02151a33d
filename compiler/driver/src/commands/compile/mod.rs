//! `pare compile`: cleanup → (calibrate → quantize | fp16) → write the artifact →
//! measure it → report. Every figure in the report is measured on what was
//! written or on the given data, and says how.

mod calib;
mod fidelity;
mod mixed;
mod refine;
mod report;
mod report_techniques;

use crate::model_io::{self, Format};
use anyhow::{bail, Context, Result};
use pare_ir::quant::Rounding;
use pare_ir::Graph;
use pare_passes::quantize::mixed::sensitivities;
use pare_passes::quantize::{self, IntOptions};
use pare_passes::{PassCx, PassManager, PassOptions};
use std::path::{Path, PathBuf};

/// The quantization scheme asked for.
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scheme {
    /// int8 weights (per channel) and activations (TFLite's full-integer spec).
    Int8,
    /// int4 weights (per channel, packed) with int8 activations.
    Int4,
    /// fp16 weights, f32 arithmetic.
    Fp16,
    /// int8 or int4 per layer, chosen to fit --size-budget.
    Mixed,
    /// int8 weights (per channel) widened before float ops; no calibration.
    #[value(name = "int8-weights")]
    Int8Weights,
    /// int4 weights (per channel, packed) widened before float ops; no calibration.
    #[value(name = "int4-weights")]
    Int4Weights,
}

impl Scheme {
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Int8 => "int8",
            Scheme::Int4 => "int4",
            Scheme::Fp16 => "fp16",
            Scheme::Mixed => "mixed",
            Scheme::Int8Weights => "int8-weights",
            Scheme::Int4Weights => "int4-weights",
        }
    }
}

/// Everything `pare compile` was asked.
#[derive(Debug)]
pub struct CompileArgs {
    pub model: PathBuf,
    pub scheme: Scheme,
    pub calib: Option<String>,
    pub calib_samples: Option<usize>,
    pub calib_method: String,
    pub batch: usize,
    pub size_budget: Option<u64>,
    /// Calibration samples each layer's sensitivity is measured on (0: skip,
    /// except for mixed precision, which needs it).
    pub sensitivity_samples: usize,
    pub rounding: Rounding,
    pub target: Option<String>,
    pub output: PathBuf,
    pub report: Option<PathBuf>,
    pub json: bool,
    pub equalize: refine::Mode,
    pub bias_correction: refine::Mode,
}

pub use refine::Mode;

pub fn compile(a: &CompileArgs) -> Result<()> {
    let format = target_format(a)?;
    if a.scheme == Scheme::Mixed && a.size_budget.is_none() {
        bail!("--quantize mixed needs --size-budget BYTES");
    }
    if a.scheme != Scheme::Mixed && a.size_budget.is_some() {
        bail!("--size-budget applies to --quantize mixed only");
    }
    let mut float_graph = cleaned(&a.model)?;
    if matches!(a.scheme, Scheme::Int8 | Scheme::Int4 | Scheme::Mixed) {
        prepare_for_int8(&mut float_graph, &a.model)?;
    }
    let mut rep = report::Report::new(a, &float_graph);
    let (graph, bytes) = match a.scheme {
        Scheme::Fp16 | Scheme::Int8Weights | Scheme::Int4Weights => {
            let mut g = float_graph.clone();
            let records = match a.scheme {
                Scheme::Fp16 => quantize::quantize_fp16(&mut g).context("fp16 weights")?,
                Scheme::Int8Weights => quantize::quantize_weights(&mut g, 8)?,
                _ => quantize::quantize_weights(&mut g, 4)?,
            };
            rep.layers = records.iter().map(report::LayerRow::from_record).collect();
            let bytes = model_io::encode(&g, format, &a.output)?;
            (g, bytes)
        }
        Scheme::Int8 | Scheme::Int4 | Scheme::Mixed => {
            let spec = a.calib.as_deref().with_context(|| {
                format!("--quantize {} needs --calib DATA[:KEY]", a.scheme.name())
            })?;
            let weight_bits = if a.scheme == Scheme::Int4 { 4 } else { 8 };
            let quantize = |base: &Graph, cal: &calib::Calibrated| -> Result<refine::Quantized> {
                if let Some(budget) = a.size_budget {
                    let samples = calib::samples(spec, base, a, a.sensitivity_samples.max(1))?;
                    let chosen =
                        mixed::fit(base, &cal.calibration, &samples, budget, format, &a.output)?;
                    return Ok(refine::Quantized {
                        graph: chosen.graph,
                        records: chosen.records,
                        bytes: Some(chosen.bytes),
                        sensitivity: chosen.sensitivity,
                    });
                }
                let mut g = base.clone();
                let opts = IntOptions {
                    weight_bits,
                    ..IntOptions::default()
                };
                let records = quantize::quantize_int(&mut g, &cal.calibration, &opts)?;
                Ok(refine::Quantized {
                    graph: g,
                    records,
                    bytes: None,
                    sensitivity: Vec::new(),
                })
            };
            let encode = |g: &Graph| model_io::encode(g, format, &a.output);
            let out = refine::run(&float_graph, spec, a, &quantize, &encode)?;
            rep.set_calibration(&out.calibrated, out.calib_seconds);
            let q = out.quantized;
            rep.sensitivity = q.sensitivity;
            if a.size_budget.is_none() && a.sensitivity_samples > 0 {
                // Each layer's sensitivity at the scheme's width, for the report
                // (mixed precision measured its own above).
                let samples = calib::samples(spec, &float_graph, a, a.sensitivity_samples)?;
                rep.sensitivity = sensitivities(&float_graph, &samples, &[weight_bits])
                    .context("measuring layer sensitivity")?;
            }
            rep.layers = q
                .records
                .iter()
                .map(report::LayerRow::from_record)
                .collect();
            rep.fidelity = Some(out.fidelity);
            rep.techniques = Some(out.summary);
            let bytes = match q.bytes {
                Some(b) => b,
                None => encode(&q.graph)?,
            };
            (q.graph, bytes)
        }
    };
    let _ = graph;
    pare_ir::fsutil::write_atomic(&a.output, &bytes)
        .with_context(|| format!("writing {}", a.output.display()))?;
    rep.set_artifact(&a.output)?;
    if let Some(b) = a.size_budget {
        if rep.artifact_bytes > b {
            bail!(
                "{}: the artifact is {} bytes, over the budget of {b}",
                a.output.display(),
                rep.artifact_bytes
            );
        }
    }
    rep.finish();
    if let Some(path) = &a.report {
        let text = serde_json::to_string_pretty(&rep.to_json())? + "\n";
        pare_ir::fsutil::write_atomic(path, text.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&rep.to_json())?);
    } else {
        print!("{}", rep.table());
    }
    Ok(())
}

/// The model after the cleanup pipeline (what every scheme starts from).
fn cleaned(path: &Path) -> Result<Graph> {
    let mut g = model_io::load(path)?;
    let mut cx = PassCx::new(PassOptions {
        verify: true,
        ..PassOptions::default()
    });
    let mut p = pare_passes::pipeline_or_err("cleanup")?;
    PassManager::new()
        .run(&mut p, &mut g, &mut cx)
        .with_context(|| format!("{}", path.display()))?;
    Ok(g)
}

/// Float rewrites that make the integer graph more accurate (and are exact in
/// float): biases of `nn.Linear`-style MatMul + Add move into the int32
/// accumulator of a Gemm.
fn prepare_for_int8(g: &mut Graph, path: &Path) -> Result<()> {
    let mut cx = PassCx::new(PassOptions {
        verify: true,
        ..PassOptions::default()
    });
    let mut p = pare_passes::pipeline_from_names(&["fuse-matmul-bias", "dce"])?;
    PassManager::new()
        .run(&mut p, g, &mut cx)
        .with_context(|| format!("{}", path.display()))?;
    Ok(())
}

fn target_format(a: &CompileArgs) -> Result<Format> {
    let by_ext = model_io::format_of(&a.output)?;
    let want = match a.target.as_deref() {
        None => by_ext,
        Some("onnx") => Format::Onnx,
        Some("pir") => Format::Pir,
        Some(other) => bail!("unknown --target `{other}` (expected pir or onnx)"),
    };
    if want != by_ext {
        bail!(
            "{}: the extension does not match --target {}",
            a.output.display(),
            a.target.as_deref().unwrap_or_default()
        );
    }
    if want == Format::Pt2 {
        bail!("{}: pare cannot write .pt2 archives", a.output.display());
    }
    Ok(want)
}
