//! `pare compile`: parses its flags into a pipeline of registered passes
//! (`cleanup`, `prepare-int`, then `quantize{scheme}` or the variant search of
//! `pare_passes::ptq::search` over `[equalize,] quantize|mixed-precision
//! [,bias-correct]`), runs it through the pass manager, writes the artifact,
//! measures it and reports. Every figure in the report is measured on what
//! was written or on the given data, and says how.

mod calib;
mod lowrank;
mod prune;
mod report;
mod report_floor;
mod report_techniques;
mod rp2040;
mod rp2040_fw;
mod share;
mod tensorrt;

use crate::model_io::{self, Format};
use anyhow::{bail, Context, Result};
use pare_ir::quant::Rounding;
use pare_ir::Graph;
use pare_passes::ptq::{self, FidelityFloor, SearchOptions};
use pare_passes::quantize::calibrate::BoxError;
use pare_passes::quantize::mixed::sensitivities;
use pare_passes::{Pass, PassCx, PassManager, PassOptions, Pipeline, Step};
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
    /// No quantization: the float model (after --prune) as it is.
    None,
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
            Scheme::None => "none",
        }
    }
}

/// `pare compile`'s command line.
#[derive(clap::Args, Debug)]
pub struct CompileArgs {
    /// Float model (.onnx, .pt2 or .pir).
    pub model: PathBuf,
    /// Scheme: int8 (weights and activations), int4 (weights; int8
    /// activations), fp16 (weights), or mixed (int8/int4 per layer to fit
    /// --size-budget).
    #[arg(long = "quantize", value_enum)]
    pub scheme: Scheme,
    /// Use this shape for a model input instead of its declared one (even a
    /// fixed one), e.g. `input=1,3,96,96`; repeatable. Shape inference re-runs
    /// and names the node that cannot take the shape.
    #[arg(long = "input-shape", value_name = "NAME=D0,D1,...", value_parser = crate::model_io::parse_input_shape)]
    pub input_shapes: Vec<crate::model_io::InputShape>,
    /// Calibration data: FILE.npz (arrays bound to the model's inputs by
    /// name), FILE.npz:INPUT=ARRAY,... (renamed), FILE.npz:KEY, FILE.npy, DIR/
    /// (.npy files, or per-sample .npz files by input name), or seeded random
    /// inputs of the model's input shapes, random:N:SEED[:uniform|normal]
    /// (not needed for fp16 and the weight-only schemes).
    #[arg(long, value_name = "DATA[:BINDINGS]")]
    pub calib: Option<String>,
    /// Inputs held fixed during calibration (recurrent state):
    /// NAME=zeros|ones|NUMBER|FILE.npz[:KEY]|FILE.npy, comma-separated; their
    /// symbolic dims (the batch) follow the calibration data.
    #[arg(long, value_name = "NAME=VALUE,...")]
    pub calib_fixed: Option<String>,
    /// Use at most this many calibration samples.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub calib_samples: Option<u64>,
    /// How activation ranges are chosen: minmax, percentile[:P], mse,
    /// entropy, or auto (per tensor, the least simulated quantization
    /// error). minmax is the default: on the fixtures it matched or beat the
    /// clipping methods on end accuracy (and reads the data once).
    #[arg(long, default_value = "minmax")]
    pub calib_method: String,
    /// Calibration batch size (models with a fixed batch use theirs).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..))]
    pub batch: u64,
    /// Upper bound on the artifact's size in bytes (with --quantize mixed).
    #[arg(long, value_name = "BYTES")]
    pub size_budget: Option<u64>,
    /// Calibration samples each layer's sensitivity (output error with only
    /// that layer's weight quantized) is measured on; 0 skips it (mixed
    /// precision needs it and uses at least 1).
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub sensitivity_samples: u64,
    /// Requantization rounding of the integer kernels: gemmlowp or single.
    #[arg(long, default_value = "gemmlowp")]
    pub rounding: String,
    /// Cross-layer equalization of the float model before calibration
    /// (Nagel et al. 2019): off, on, or auto (tried, kept only if the
    /// SQNR vs float measured on calibration samples improves). Pairs
    /// joined by a ReLU6 are left alone: rescaling would move the clip.
    #[arg(long, default_value = "off", value_name = "MODE", value_parser = parse_mode)]
    pub equalize: Mode,
    /// Empirical bias correction after quantization: off, on, or auto
    /// (tried, kept only if the measured SQNR vs float improves).
    #[arg(long, default_value = "auto", value_name = "MODE", value_parser = parse_mode)]
    pub bias_correction: Mode,
    /// The fidelity the quantized model must hold against the float model on
    /// the calibration data: `agreement=A,sqnr=DB` (top-1 agreement checked
    /// only where output 0 holds class scores), `raises=N` (most float
    /// islands kept, default 16), or `none`. Below it, compile keeps the
    /// most sensitive values float until it holds; if it cannot, it fails
    /// and writes nothing.
    #[arg(long, default_value = "agreement=0.98,sqnr=20", value_name = "SPEC", value_parser = parse_floor)]
    pub min_fidelity: FidelityFloor,
    /// Artifact kind: pir (textual IR), onnx (QDQ ONNX), tflite (a TFLite
    /// flatbuffer, NHWC; --quantize none, fp16 or int8) or rp2040 (a
    /// directory of int8 C99: NAME.h, NAME.c, NAME_weights.c, the kernels
    /// and report.json); default from -o's extension.
    #[arg(long)]
    pub target: Option<String>,
    /// C name of the model with --target rp2040: file names, `NAME_invoke`,
    /// macros `NAME_*` in upper case.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Device profile with --target rp2040 (rp2040, esp32, cortex-m4, ...): the
    /// firmware image is cross-built and measured against its RAM and flash.
    #[arg(long, value_name = "PROFILE")]
    pub device: Option<String>,
    /// With --target rp2040: do not count the instructions of an inference
    /// under QEMU (minutes for a large model); the report says they were not
    /// measured. Flash and RAM are still measured on the cross-built image.
    #[arg(long)]
    pub no_emulate: bool,
    /// Prune the float model before quantizing: `structured:R[:l1|l2]` removes
    /// the fraction R of every dependency group's channels (residual chains,
    /// depthwise convs, concats, attention heads and FFN units go together),
    /// `unstructured:R` zeroes the smallest fraction R of the weights (stored
    /// sparse), `N:M` keeps N of every M consecutive weights (e.g. 2:4).
    #[arg(long, value_name = "SPEC")]
    pub prune: Option<String>,
    /// After structured pruning, re-fit every layer after a cut by least
    /// squares on the --calib data (channel pruning with reconstruction): each
    /// reproduces the original model's outputs from the pruned inputs.
    #[arg(long)]
    pub prune_refit: bool,
    /// Calibration samples read for act/recon importance and --prune-refit
    /// (a fully connected layer needs more samples than it has inputs).
    #[arg(long, value_name = "N", default_value_t = 2048)]
    pub prune_samples: usize,
    /// Factorize the constant weights of Gemm/MatMul layers into two smaller
    /// ones (after --prune, before quantization): `energy:E` (singular-value
    /// energy kept), `size:S` (factorized size as a fraction), `error:E`
    /// (relative output error on --calib), optionally `:plain` for plain SVD
    /// instead of the data-aware (whitened) one. k×k convs: Tucker-2 or
    /// spatial separation, whichever is smaller, or `:tucker` / `:spatial`.
    /// Only where params and MACs drop.
    #[arg(long, value_name = "SPEC")]
    pub lowrank: Option<String>,
    /// Layers (node names, comma-separated) that --lowrank leaves whole.
    #[arg(long, value_name = "NAME,...", value_delimiter = ',')]
    pub lowrank_keep: Vec<String>,
    /// Weight sharing after quantization: `kmeans:K` clusters each Conv/Gemm/
    /// MatMul weight into K values (2-256) stored as a codebook + packed
    /// ceil(log2 K)-bit indices; `:per-channel` (a codebook per output channel),
    /// `:rows=N` (per N rows), `:weighted` (errors weighted by each input
    /// channel's mean square on --calib), `:gptq` (indices assigned by error
    /// feedback on each layer's input Gram on --calib, codebooks refit to the
    /// output error). Only where the bytes drop.
    #[arg(long, value_name = "SPEC")]
    pub share: Option<String>,
    /// Weighted layers (node names, comma-separated) --target tensorrt leaves
    /// float, input and weight (e.g. a sensitive classifier).
    #[arg(long, value_name = "NAME,...", value_delimiter = ',')]
    pub keep_float: Vec<String>,
    /// Layers (node names, comma-separated) that --share leaves unshared.
    #[arg(long, value_name = "NAME,...", value_delimiter = ',')]
    pub share_keep: Vec<String>,
    /// Per-layer cluster counts overriding --share's K: `NAME=K`, comma-separated
    /// (e.g. a 4-entry codebook for the largest, least sensitive layer).
    #[arg(long, value_name = "NAME=K,...", value_delimiter = ',')]
    pub share_k: Vec<String>,
    /// Layers (node names, comma-separated) that --prune leaves whole.
    #[arg(long, value_name = "NAME,...", value_delimiter = ',')]
    pub prune_keep: Vec<String>,
    /// Round each group's kept channel count up to a multiple of this (target
    /// kernels that work in blocks of 4, 8 or 16).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub prune_multiple: u64,
    /// The ratio applies to each dependency group (`group`), or to all
    /// channels ranked together (`global`, each group normalized by its mean).
    /// (Default: group for structured, global for unstructured pruning.)
    #[arg(long, value_name = "SCOPE", value_parser = ["group", "global"])]
    pub prune_scope: Option<String>,
    /// Also write the quantized graph the artifact was made from (.pir or
    /// .onnx), to run it with `pare run` / `pare eval` (e.g. against the C).
    #[arg(long, value_name = "FILE")]
    pub save_graph: Option<PathBuf>,
    /// Output artifact (a directory with --target rp2040).
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
    /// Also write the report as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Print the graph (textual IR, weights elided) to stderr after every
    /// pass of the compile pipeline.
    #[arg(long)]
    pub print_after_all: bool,
}

/// `--equalize` / `--bias-correction`: off, on or auto.
fn parse_mode(s: &str) -> Result<Mode, String> {
    s.parse()
}

/// `--min-fidelity`: `agreement=A,sqnr=DB` or `none`.
fn parse_floor(s: &str) -> Result<FidelityFloor, String> {
    s.parse()
}

impl CompileArgs {
    /// `--rounding` as the named mode.
    pub fn rounding_mode(&self) -> Result<Rounding> {
        self.rounding
            .parse()
            .map_err(|e| anyhow::anyhow!("--rounding: {e}"))
    }

    /// `--calib-samples` as a count.
    pub fn calib_samples(&self) -> Result<Option<usize>> {
        Ok(self.calib_samples.map(usize::try_from).transpose()?)
    }
}

pub use pare_passes::ptq::Mode;

/// What `pare compile` writes.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Target {
    /// A model file (.pir or .onnx).
    Model(Format),
    /// A directory of C99 for the RP2040 (int8 kernels on a static arena).
    Rp2040,
    /// ONNX in TensorRT's explicit-quantization form (symmetric int8 Q/DQ).
    Tensorrt,
    /// A `.tflite` flatbuffer (LiteRT, TFLite Micro).
    Tflite,
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
    // A bad --rounding or --calib-method fails before any work.
    a.rounding_mode()?;
    let method = calib::method(a)?;
    let int = matches!(a.scheme, Scheme::Int8 | Scheme::Int4 | Scheme::Mixed);
    let spec = match (int, a.calib.as_deref()) {
        (true, None) => bail!("--quantize {} needs --calib DATA[:KEY]", a.scheme.name()),
        (true, Some(spec)) => Some(spec),
        (false, _) => None,
    };
    if a.calib_fixed.is_some() && spec.is_none() {
        bail!("--calib-fixed holds inputs fixed during calibration; --quantize {} reads no calibration data", a.scheme.name());
    }
    // Every step is a pass run by one manager: the verifier after each, and
    // `--print-after-all` shows them all.
    let mut manager = PassManager::new();
    if a.print_after_all {
        manager = manager.print_after_all(super::opt::print_after);
    }
    let (hook, bar) = calib::progress();
    let mut cx = PassCx::new(PassOptions {
        verify: true,
        ..PassOptions::default()
    });
    cx.progress = Some(hook);
    let prune_spec = a
        .prune
        .as_deref()
        .map(prune::PruneSpec::parse)
        .transpose()?;
    if prune_spec.is_none() && (!a.prune_keep.is_empty() || a.prune_multiple != 1 || a.prune_refit)
    {
        bail!("--prune-keep, --prune-multiple and --prune-refit apply to --prune only");
    }
    if a.scheme == Scheme::None
        && prune_spec.is_none()
        && a.lowrank.is_none()
        && a.share.is_none()
        && target != Target::Tflite
    {
        bail!("--quantize none writes the float model: give --prune, --lowrank or --share (or use `pare convert`)");
    }
    if let Some(spec) = &a.share {
        share::ShareSpec::parse(spec)?;
        pare_passes::share::parse_layer_k(&a.share_k)
            .map_err(|e| anyhow::anyhow!("--share-k: {e}"))?;
    } else if !a.share_keep.is_empty() || !a.share_k.is_empty() {
        bail!("--share-keep and --share-k apply to --share only");
    }
    let mut float_graph = model_io::load_shaped(&a.model, &a.input_shapes)?;
    let mut prepare = float_pipeline(int)?;
    manager
        .run(&mut prepare, &mut float_graph, &mut cx.clone())
        .with_context(|| format!("{}", a.model.display()))?;
    let pruned = match &prune_spec {
        Some(spec) => Some(prune::run(a, spec, &mut float_graph, &mut manager, &cx)?),
        None => None,
    };
    let lowrank = match &a.lowrank {
        Some(spec) => Some(lowrank::run(a, spec, &mut float_graph, &mut manager, &cx)?),
        None => None,
    };
    let mut rep = report::Report::new(a, &float_graph);
    rep.lowrank = lowrank;
    let (graph, bytes) = match spec {
        Some(spec) if target == Target::Tensorrt => {
            let q = tensorrt::quantize(a, spec, &float_graph, method, &mut manager, &cx)?;
            rep.fidelity = Some(q.fidelity);
            let (json, text) = tensorrt::check(a, &q.bytes, &q.notes)?;
            rep.target = Some(("tensorrt", json, text));
            (q.graph, q.bytes)
        }
        None if a.scheme == Scheme::None => {
            let bytes = encode(&float_graph, target, &a.output)?;
            (float_graph.clone(), bytes)
        }
        None => {
            let mut g = float_graph.clone();
            let scheme = match a.scheme {
                Scheme::Fp16 => ptq::Scheme::Fp16,
                Scheme::Int8Weights => ptq::Scheme::Int8Weights,
                _ => ptq::Scheme::Int4Weights,
            };
            let pass = ptq::Quantize {
                scheme,
                data: None,
                method,
            };
            let mut p = Pipeline::new(scheme.name(), vec![Step::Once(Box::new(pass))]);
            let mut qcx = cx.clone();
            manager
                .run(&mut p, &mut g, &mut qcx)
                .with_context(|| format!("{}: {} weights", a.model.display(), scheme.name()))?;
            rep.layers = qcx
                .quant
                .records
                .iter()
                .map(report::LayerRow::from_record)
                .collect();
            let bytes = encode(&g, target, &a.output)?;
            (g, bytes)
        }
        Some(spec) => {
            let weight_bits = if a.scheme == Scheme::Int4 { 4 } else { 8 };
            let quantize = || -> Result<Box<dyn Pass>> {
                let data = Some(calib::data(spec, a, None)?);
                let Some(budget) = a.size_budget else {
                    let scheme = if weight_bits == 4 {
                        ptq::Scheme::Int4
                    } else {
                        ptq::Scheme::Int8
                    };
                    return Ok(Box::new(ptq::Quantize {
                        scheme,
                        data,
                        method,
                    }));
                };
                Ok(Box::new(ptq::MixedPrecision {
                    budget,
                    sensitivity_samples: usize::try_from(a.sensitivity_samples)?.max(1),
                    data,
                    method,
                    measure: target_measure(a, target)?,
                }))
            };
            let encode_for_budget =
                |g: &Graph| -> Result<Vec<u8>, BoxError> { Ok(encode(g, target, &a.output)?) };
            let quantize = || -> Result<Box<dyn Pass>, BoxError> { Ok(quantize()?) };
            let opts = SearchOptions {
                equalize: a.equalize,
                bias_correction: a.bias_correction,
                data: calib::data(spec, a, None)?,
                rounding: a.rounding_mode()?,
                size_budget: a.size_budget,
                floor: a.min_fidelity,
                no_islands: (target == Target::Rp2040).then(|| {
                    "--target rp2040 runs integer kernels only: no layer can be kept float"
                        .to_string()
                }),
            };
            let out = ptq::search(
                &float_graph,
                &opts,
                &mut manager,
                &cx,
                &quantize,
                &encode_for_budget,
            )
            .with_context(|| format!("{}", a.model.display()))?;
            let mut quant = out.quant;
            let calibrated = calib::Calibrated::take(&mut quant)
                .context("the quantization pass calibrated nothing")?;
            rep.set_calibration(&calibrated, quant.calib_seconds);
            rep.sensitivity = quant.sensitivity;
            rep.int8_only = quant.int8_only;
            if a.size_budget.is_none() && a.sensitivity_samples > 0 {
                // Each layer's sensitivity at the scheme's width, for the report
                // (mixed precision measured its own above).
                let n = usize::try_from(a.sensitivity_samples)?;
                let samples = calib::samples(spec, &float_graph, a, n)?;
                rep.sensitivity = sensitivities(&float_graph, &samples, &[weight_bits])
                    .context("measuring layer sensitivity")?;
            }
            rep.layers = quant
                .records
                .iter()
                .map(report::LayerRow::from_record)
                .collect();
            rep.fidelity = Some(out.fidelity);
            rep.techniques = Some(out.summary);
            rep.floor = out.floor;
            let bytes = match quant.artifact {
                Some(b) => b,
                None => encode(&out.graph, target, &a.output)?,
            };
            (out.graph, bytes)
        }
    };
    bar.finish_and_clear();
    // Quantization writes dense codes: weights pruned unstructured are stored
    // sparse again where that is smaller, and the artifact re-encoded.
    let (graph, bytes) = match &prune_spec {
        Some(prune::PruneSpec::Unstructured { .. } | prune::PruneSpec::Pattern { .. }) => {
            let mut g = graph;
            let pass =
                pare_passes::pass_by_name("sparse-encode").context("the sparse-encode pass")?;
            let mut p = Pipeline::new("sparse-encode", vec![Step::Once(pass)]);
            manager
                .run(&mut p, &mut g, &mut cx.clone())
                .with_context(|| format!("{}: storing pruned weights sparse", a.model.display()))?;
            let bytes = encode(&g, target, &a.output)?;
            (g, bytes)
        }
        _ => (graph, bytes),
    };
    // Sharing changes values: the artifact is encoded again and its fidelity measured again.
    let (graph, bytes) = match &a.share {
        Some(spec) => {
            let mut g = graph;
            let (json, text, fidelity) =
                share::run(a, spec, &mut g, &float_graph, &mut manager, &cx)?;
            let bytes = encode(&g, target, &a.output)?;
            let (json, text) = if target == Target::Model(model_io::Format::Onnx) {
                share::with_onnx_storage(json, text, &g, &bytes)?
            } else {
                (json, text)
            };
            rep.share = Some((json, text));
            if let Some(f) = fidelity {
                // The floor holds for what is written, so it is checked again.
                let misses = a.min_fidelity.misses(&f);
                if !misses.is_empty() {
                    bail!(
                        "{}: the model shared by --share {spec} misses the fidelity floor: {}; use more clusters, :per-channel, --share-keep for the most sensitive layers, or --min-fidelity none",
                        a.model.display(),
                        misses.join("; ")
                    );
                }
                rep.fidelity = Some(f);
            }
            (g, bytes)
        }
        None => (graph, bytes),
    };
    if let Some(p) = &pruned {
        rep.prune = Some(prune::to_json(p, &graph)?);
    }
    // Below the floor nothing is written: the measured table says why.
    let hold_floor = |rep: &report::Report| -> Result<()> {
        if let Some(f) = rep.floor.as_ref().filter(|f| !f.met) {
            eprint!("{}", report_floor::table(f));
            bail!(
                "{}: the quantized model misses the fidelity floor ({}): {}",
                a.model.display(),
                f.floor,
                report_floor::verdict(f)
            );
        }
        Ok(())
    };
    if let (Target::Tensorrt, Some(f)) = (target, &rep.fidelity) {
        let misses = a.min_fidelity.misses(f);
        if !misses.is_empty() {
            bail!(
                "{}: the TensorRT int8 model misses the fidelity floor: {}; calibrate on more or better data, try --calib-method, or --min-fidelity none",
                a.model.display(),
                misses.join("; ")
            );
        }
    }
    match target {
        Target::Model(_) | Target::Tensorrt | Target::Tflite => {
            hold_floor(&rep)?;
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
            // A device the model cannot fit says so first; then the floor.
            hold_floor(&rep)?;
            let fw = rp2040::measure_firmware(&e, device, !a.no_emulate)?;
            let mut files = rp2040::files(&e);
            rep.artifact_bytes = files.iter().map(|(_, b)| b.len() as u64).sum();
            rep.target = Some((
                "rp2040",
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

/// The float part of the compile pipeline: `cleanup` (what every scheme
/// starts from), then for the integer schemes `prepare-int` (biases of
/// `nn.Linear`-style MatMul + Add move into the int32 accumulator of a Gemm,
/// exact in float).
fn float_pipeline(int: bool) -> Result<Pipeline> {
    let mut p = pare_passes::pipeline_or_err("cleanup")?;
    if int {
        p.steps
            .extend(pare_passes::pipeline_or_err("prepare-int")?.steps);
        p.name = "cleanup,prepare-int".into();
    }
    Ok(p)
}

/// What `--size-budget` is measured on: the encoded model file, or for
/// `--target rp2040` the const data of NAME_weights.c (what lands in flash
/// besides code), with the layers the target cannot store in 4 bits.
fn target_measure(a: &CompileArgs, target: Target) -> Result<ptq::TargetMeasure> {
    Ok(match target {
        Target::Tensorrt => bail!("--target tensorrt takes no --size-budget"),
        Target::Model(format) => {
            let out = a.output.clone();
            ptq::TargetMeasure {
                size: Box::new(move |g| {
                    let b = model_io::encode(g, format, &out)?;
                    Ok((b.len() as u64, Some(b)))
                }),
                what: "the artifact".into(),
                no_int4: Box::new(pare_passes::quantize::mixed_fit::any_int4),
            }
        }
        Target::Tflite => ptq::TargetMeasure {
            size: Box::new(|g| {
                let b = pare_tflite::write(g)?;
                Ok((b.len() as u64, Some(b)))
            }),
            what: "the .tflite file".into(),
            no_int4: Box::new(pare_passes::quantize::mixed_fit::any_int4),
        },
        Target::Rp2040 => {
            let opts = rp2040::emit_options(a)?;
            ptq::TargetMeasure {
                what: format!(
                    "the const data of {}_weights.c (what lands in flash besides code)",
                    opts.name
                ),
                size: Box::new(move |g| {
                    Ok((pare_targets::rp2040::emit(g, &opts)?.const_bytes(), None))
                }),
                no_int4: Box::new(pare_targets::rp2040::no_int4),
            }
        }
    })
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
    if a.target.as_deref() == Some("tensorrt") {
        if a.scheme != Scheme::Int8 {
            bail!(
                "--target tensorrt writes int8 explicit-quantization ONNX: use --quantize int8 (fp16 and int4-weights for TensorRT are not implemented yet), not {}",
                a.scheme.name()
            );
        }
        if model_io::format_of(&a.output)? != Format::Onnx {
            bail!(
                "{}: --target tensorrt writes a .onnx file",
                a.output.display()
            );
        }
        if a.share.is_some() || a.size_budget.is_some() {
            bail!("--target tensorrt takes neither --share nor --size-budget (TensorRT reads dense int8 weights)");
        }
    }
    if !a.keep_float.is_empty() && a.target.as_deref() != Some("tensorrt") {
        bail!("--keep-float applies to --target tensorrt only");
    }
    let tflite_ext = a.output.extension().and_then(|e| e.to_str()) == Some("tflite");
    if a.target.as_deref() == Some("tflite") || (a.target.is_none() && tflite_ext) {
        if !matches!(
            a.scheme,
            Scheme::Int8 | Scheme::Int4 | Scheme::Mixed | Scheme::Fp16 | Scheme::None
        ) {
            bail!(
                "--target tflite writes float, fp16 or integer models: use --quantize none, fp16, int8, int4 or mixed, not {}",
                a.scheme.name()
            );
        }
        if !tflite_ext {
            bail!(
                "{}: --target tflite writes a .tflite file",
                a.output.display()
            );
        }
        reject_rp2040_flags(a)?;
        return Ok(Target::Tflite);
    }
    reject_rp2040_flags(a)?;
    let by_ext = model_io::format_of(&a.output)?;
    let want = match a.target.as_deref() {
        None => by_ext,
        Some("onnx") => Format::Onnx,
        Some("pir") => Format::Pir,
        Some("tensorrt") => Format::Onnx,
        Some(other) => {
            bail!("unknown --target `{other}` (expected pir, onnx, tflite, tensorrt or rp2040)")
        }
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
    if a.target.as_deref() == Some("tensorrt") {
        return Ok(Target::Tensorrt);
    }
    Ok(Target::Model(want))
}

/// The flags that only `--target rp2040` reads.
fn reject_rp2040_flags(a: &CompileArgs) -> Result<()> {
    if a.name.is_some() {
        bail!("--name applies to --target rp2040 only");
    }
    if a.device.is_some() {
        bail!("--device applies to --target rp2040 only");
    }
    if a.no_emulate {
        bail!("--no-emulate applies to --target rp2040 only");
    }
    Ok(())
}

/// The artifact's bytes for a model-file target (none for rp2040, which emits
/// its files after the report is complete).
fn encode(g: &Graph, target: Target, out: &Path) -> Result<Vec<u8>> {
    match target {
        Target::Model(f) => model_io::encode(g, f, out),
        Target::Tensorrt => model_io::encode(g, Format::Onnx, out),
        Target::Tflite => {
            pare_tflite::write(g).with_context(|| format!("writing {} as TFLite", out.display()))
        }
        Target::Rp2040 => Ok(Vec::new()),
    }
}
