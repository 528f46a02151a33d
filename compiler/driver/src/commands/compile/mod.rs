//! `pare compile`: cleanup → (calibrate → quantize | fp16) → write the artifact →
//! measure it → report. Every figure in the report is measured on what was
//! written or on the given data, and says how.

mod calib;
mod fidelity;
mod mixed;
mod refine;
mod report;
mod report_techniques;
mod rp2040;
mod rp2040_fw;

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
    /// `--input-shape` overrides, applied when the model is read.
    pub input_shapes: Vec<crate::model_io::InputShape>,
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
    /// The C name of the model for `--target rp2040` (default `model`).
    pub name: Option<String>,
    /// The device profile for `--target rp2040` (default `rp2040`).
    pub device: Option<String>,
    pub output: PathBuf,
    /// `--no-emulate`: skip counting instructions under QEMU (rp2040).
    pub no_emulate: bool,
    /// `--save-graph`: also write the quantized graph here.
    pub save_graph: Option<PathBuf>,
    pub report: Option<PathBuf>,
    pub json: bool,
    pub equalize: refine::Mode,
    pub bias_correction: refine::Mode,
}

pub use refine::Mode;

/// What `pare compile` writes.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Target {
    /// A model file (.pir or .onnx).
    Model(Format),
    /// A directory of C99 for the RP2040 (int8 kernels on a static arena).
    Rp2040,
}

pub fn compile(a: &CompileArgs) -> Result<()> {
    let target = target_of(a)?;
    if let Some(p) = &a.save_graph {
        if model_io::format_of(p)? == Format::Pt2 {
            bail!("{}: --save-graph writes .pir or .onnx", p.display());
        }
    }
    if a.scheme == Scheme::Mixed && a.size_budget.is_none() {
        bail!("--quantize mixed needs --size-budget BYTES");
    }
    if a.scheme != Scheme::Mixed && a.size_budget.is_some() {
        bail!("--size-budget applies to --quantize mixed only");
    }
    let mut float_graph = cleaned(&a.model, &a.input_shapes)?;
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
            let bytes = encode(&g, target, &a.output)?;
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
                    let chosen = match target {
                        Target::Model(format) => mixed::fit(
                            base,
                            &cal.calibration,
                            &samples,
                            budget,
                            &mixed::Measure {
                                size: &|g| {
                                    let b = model_io::encode(g, format, &a.output)?;
                                    Ok((b.len() as u64, Some(b)))
                                },
                                what: "the artifact",
                                no_int4: &|_, _| None,
                            },
                        )?,
                        Target::Rp2040 => mixed::fit(
                            base,
                            &cal.calibration,
                            &samples,
                            budget,
                            &mixed::Measure {
                                size: &|g| Ok((rp2040::generate(g, a)?.const_bytes(), None)),
                                what: &format!(
                                    "the const data of {}_weights.c (what lands in flash besides code)",
                                    rp2040::name_of(a)
                                ),
                                no_int4: &rp2040::no_int4,
                            },
                        )?,
                    };
                    return Ok(refine::Quantized {
                        graph: chosen.graph,
                        records: chosen.records,
                        bytes: chosen.bytes,
                        sensitivity: chosen.sensitivity,
                        int8_only: chosen.int8_only,
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
                    int8_only: Vec::new(),
                })
            };
            let encode = |g: &Graph| encode(g, target, &a.output);
            let out = refine::run(&float_graph, spec, a, &quantize, &encode)?;
            rep.set_calibration(&out.calibrated, out.calib_seconds);
            let q = out.quantized;
            rep.sensitivity = q.sensitivity;
            rep.int8_only = q.int8_only;
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
    match target {
        Target::Model(_) => {
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
        }
        Target::Rp2040 => {
            let device = rp2040::device_of(a)?;
            let e = rp2040::generate(&graph, a)?;
            // Before anything is written: an image that does not fit fails the compile,
            // at once when the planned sizes already tell, else once built and measured.
            rp2040::planned_fit(&e, device)?;
            let fw = rp2040::measure_firmware(&e, device, !a.no_emulate)?;
            let mut files = rp2040::files(&e);
            rep.artifact_bytes = files.iter().map(|(_, b)| b.len() as u64).sum();
            rep.target = Some((
                rp2040::report_json(&e, &a.output, &files, &fw),
                rp2040::table(&e, &a.output, &files, &fw),
            ));
            rep.finish();
            let text = serde_json::to_string_pretty(&rep.to_json())? + "\n";
            files.push(("report.json".to_string(), text.into_bytes()));
            rp2040::write_dir(&a.output, &files)?;
        }
    }
    if let Some(path) = &a.save_graph {
        model_io::save(&graph, path)?;
    }
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
fn cleaned(path: &Path, shapes: &[model_io::InputShape]) -> Result<Graph> {
    let mut g = model_io::load_shaped(path, shapes)?;
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

/// What to write: `--target rp2040` (a directory), else a model file whose
/// format `--target` (pir or onnx) and the extension of `-o` agree on.
fn target_of(a: &CompileArgs) -> Result<Target> {
    if a.target.as_deref() == Some("rp2040") {
        if !matches!(a.scheme, Scheme::Int8 | Scheme::Int4 | Scheme::Mixed) {
            bail!(
                "--target rp2040 runs integer kernels: use --quantize int8 (or int4, or mixed), not {}",
                a.scheme.name()
            );
        }
        if a.output.is_file() {
            bail!(
                "{}: is a file; --target rp2040 writes a directory",
                a.output.display()
            );
        }
        return Ok(Target::Rp2040);
    }
    if a.name.is_some() {
        bail!("--name applies to --target rp2040 only");
    }
    if a.device.is_some() {
        bail!("--device applies to --target rp2040 only");
    }
    if a.no_emulate {
        bail!("--no-emulate applies to --target rp2040 only");
    }
    let by_ext = model_io::format_of(&a.output)?;
    let want = match a.target.as_deref() {
        None => by_ext,
        Some("onnx") => Format::Onnx,
        Some("pir") => Format::Pir,
        Some(other) => bail!("unknown --target `{other}` (expected pir, onnx or rp2040)"),
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
    Ok(Target::Model(want))
}

/// The artifact's bytes for a model-file target (none for rp2040, which emits
/// its files after the report is complete).
fn encode(g: &Graph, target: Target, out: &Path) -> Result<Vec<u8>> {
    match target {
        Target::Model(f) => model_io::encode(g, f, out),
        Target::Rp2040 => Ok(Vec::new()),
    }
}
