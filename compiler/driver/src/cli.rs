//! Command-line grammar (clap). Kept separate from the commands so `--help` text is
//! easy to review in one place.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// pare compiles trained models (ONNX, PyTorch .pt2, .pir) for edge devices.
///
/// Model files are chosen by extension: `.onnx` (ONNX protobuf), `.pt2`
/// (torch.export archive, torch >= 2.9; read only) or `.pir` (pare's textual IR).
#[derive(Parser, Debug)]
#[command(
    name = "pare",
    version,
    propagate_version = true,
    after_help = "Examples:\n  pare inspect model.onnx --json\n  pare run model.onnx --input input=x.npy -o out/\n  pare opt model.onnx --pipeline cleanup -o model.pir\n  pare eval model.onnx --data data.npz --x x_test --y y_test\n\nExit codes: 0 success, 1 bad input or failed compile, 2 usage error."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Show a model's inputs, outputs, ops, parameters, weight bytes and MACs.
    Inspect {
        /// Model file (.onnx, .pt2 or .pir).
        model: PathBuf,
        /// Print one JSON object (stable keys: inputs, outputs, ops, params,
        /// weight_bytes, macs, opset, producer).
        #[arg(long)]
        json: bool,
    },
    /// Run a model with pare's reference interpreter and write each output as .npy.
    Run {
        /// Model file (.onnx, .pt2 or .pir).
        model: PathBuf,
        /// An input as `[NAME=]FILE.npy`; without NAME, inputs bind in order.
        #[arg(long = "input", short = 'i', value_name = "[NAME=]FILE.npy")]
        inputs: Vec<String>,
        /// An .npz archive whose arrays bind to inputs by name.
        #[arg(long = "inputs", value_name = "FILE.npz")]
        npz: Option<PathBuf>,
        /// Use this shape for a model input instead of its declared one (even a
        /// fixed one), e.g. `input=1,3,96,96`; repeatable. Shape inference re-runs
        /// and names the node that cannot take the shape.
        #[arg(long = "input-shape", value_name = "NAME=D0,D1,...", value_parser = crate::model_io::parse_input_shape)]
        input_shapes: Vec<crate::model_io::InputShape>,
        /// Directory for `<output name>.npy` files (created if missing).
        #[arg(short = 'o', long = "out-dir", value_name = "DIR")]
        out_dir: PathBuf,
        #[command(flatten)]
        exec: ExecArgs,
    },
    /// Measure a model on a dataset streamed in batches: accuracy against integer
    /// labels, MSE against float targets, agreement/SQNR/max error against a
    /// reference model.
    #[command(
        after_help = "Examples:\n  pare eval digits_cnn.onnx --data digits.npz --x x_test --y y_test\n  pare eval vae.onnx --data digits.npz --x x_test --y x_test --json\n  pare eval int8.pir --data digits.npz --x x_test --reference float.onnx\n\nJSON keys (those that apply): n, accuracy, mse, agreement, sqnr_db, max_abs_error.\nAn infinite SQNR (outputs identical to the reference) is null in JSON, with\nsqnr_db_note saying so; the terminal prints inf."
    )]
    Eval {
        /// Model file (.onnx, .pt2 or .pir) with one input.
        model: PathBuf,
        /// Samples: FILE.npz (with --x KEY), FILE.npz:KEY, FILE.npy (samples along
        /// axis 0) or a directory of .npy files (one sample or one batch per file,
        /// in file-name order).
        #[arg(long, value_name = "DATA")]
        data: String,
        /// The array of the --data .npz holding the samples (may be left out when
        /// the archive holds one array).
        #[arg(long, value_name = "KEY")]
        x: Option<String>,
        /// The array of the --data .npz holding targets: integer class ids [n]
        /// (accuracy, argmax over the last axis of output 0) or floats of the
        /// output's shape (mean squared error).
        #[arg(long, value_name = "KEY", required_unless_present = "reference")]
        y: Option<String>,
        /// A model to compare against on the same inputs (top-1 agreement, SQNR,
        /// max abs error per output).
        #[arg(long, value_name = "FLOAT_MODEL")]
        reference: Option<PathBuf>,
        /// Use this shape for a model input (of the model and of --reference) instead of its declared one (even a
        /// fixed one), e.g. `input=1,3,96,96`; repeatable. Shape inference re-runs
        /// and names the node that cannot take the shape.
        #[arg(long = "input-shape", value_name = "NAME=D0,D1,...", value_parser = crate::model_io::parse_input_shape)]
        input_shapes: Vec<crate::model_io::InputShape>,
        /// Samples per batch (batch-1 models run sample by sample).
        #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..))]
        batch: u64,
        /// Evaluate only the first N samples.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        limit: Option<u64>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        exec: ExecArgs,
    },
    /// Quantize a model and write the artifact, with a measured report.
    ///
    /// Calibration streams DATA in batches (an `.npz` array `FILE.npz:KEY`, an
    /// `.npy` file or a folder of `.npy` files) with bounded memory. Every figure
    /// in the report was measured on the written artifact or the given data.
    Compile {
        /// Float model (.onnx, .pt2 or .pir).
        model: PathBuf,
        /// Scheme: int8 (weights and activations), int4 (weights; int8
        /// activations), fp16 (weights), or mixed (int8/int4 per layer to fit
        /// --size-budget).
        #[arg(long = "quantize", value_enum)]
        scheme: crate::commands::compile::Scheme,
        /// Use this shape for a model input instead of its declared one (even a
        /// fixed one), e.g. `input=1,3,96,96`; repeatable. Shape inference re-runs
        /// and names the node that cannot take the shape.
        #[arg(long = "input-shape", value_name = "NAME=D0,D1,...", value_parser = crate::model_io::parse_input_shape)]
        input_shapes: Vec<crate::model_io::InputShape>,
        /// Calibration data: FILE.npz[:KEY], FILE.npy or DIR/ (not needed for fp16).
        #[arg(long, value_name = "DATA[:KEY]")]
        calib: Option<String>,
        /// Use at most this many calibration samples.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        calib_samples: Option<u64>,
        /// How activation ranges are chosen: minmax, percentile[:P], mse,
        /// entropy, or auto (per tensor, the least simulated quantization
        /// error). minmax is the default: on the fixtures it matched or beat the
        /// clipping methods on end accuracy (and reads the data once).
        #[arg(long, default_value = "minmax")]
        calib_method: String,
        /// Calibration batch size (models with a fixed batch use theirs).
        #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..))]
        batch: u64,
        /// Upper bound on the artifact's size in bytes (with --quantize mixed).
        #[arg(long, value_name = "BYTES")]
        size_budget: Option<u64>,
        /// Calibration samples each layer's sensitivity (output error with only
        /// that layer's weight quantized) is measured on; 0 skips it (mixed
        /// precision needs it and uses at least 1).
        #[arg(long, default_value_t = 16, value_name = "N")]
        sensitivity_samples: u64,
        /// Requantization rounding of the integer kernels: gemmlowp or single.
        #[arg(long, default_value = "gemmlowp")]
        rounding: String,
        /// Cross-layer equalization of the float model before calibration
        /// (Nagel et al. 2019): off, on, or auto (tried, kept only if the
        /// SQNR vs float measured on calibration samples improves). Pairs
        /// joined by a ReLU6 are left alone: rescaling would move the clip.
        #[arg(long, value_enum, default_value = "off", value_name = "MODE")]
        equalize: crate::commands::compile::Mode,
        /// Empirical bias correction after quantization: off, on, or auto
        /// (tried, kept only if the measured SQNR vs float improves).
        #[arg(long, value_enum, default_value = "auto", value_name = "MODE")]
        bias_correction: crate::commands::compile::Mode,
        /// Artifact kind: pir (textual IR), onnx (QDQ ONNX) or rp2040 (a
        /// directory of int8 C99: NAME.h, NAME.c, NAME_weights.c, the kernels
        /// and report.json); default from -o's extension.
        #[arg(long)]
        target: Option<String>,
        /// C name of the model with --target rp2040: file names, `NAME_invoke`,
        /// macros `NAME_*` in upper case.
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        /// Device profile with --target rp2040 (rp2040, esp32, cortex-m4, ...): the
        /// firmware image is cross-built and measured against its RAM and flash.
        #[arg(long, value_name = "PROFILE")]
        device: Option<String>,
        /// With --target rp2040: do not count the instructions of an inference
        /// under QEMU (minutes for a large model); the report says they were not
        /// measured. Flash and RAM are still measured on the cross-built image.
        #[arg(long)]
        no_emulate: bool,
        /// Also write the quantized graph the artifact was made from (.pir or
        /// .onnx), to run it with `pare run` / `pare eval` (e.g. against the C).
        #[arg(long, value_name = "FILE")]
        save_graph: Option<PathBuf>,
        /// Output artifact (a directory with --target rp2040).
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
        /// Also write the report as JSON to this file.
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
        /// Print the report as JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Convert a model between formats (chosen by extension: .onnx, .pt2 (read only), .pir).
    Convert {
        /// Input model (.onnx, .pt2 or .pir).
        input: PathBuf,
        /// Output model (.onnx or .pir).
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
    },
    /// Run passes or a named pipeline over a model and write the result.
    Opt {
        /// Input model (.onnx, .pt2 or .pir).
        #[arg(required_unless_present = "list")]
        input: Option<PathBuf>,
        /// Comma-separated pass names (see --list).
        #[arg(long, value_delimiter = ',', conflicts_with = "pipeline")]
        passes: Vec<String>,
        /// A named pipeline (default: cleanup).
        #[arg(long)]
        pipeline: Option<String>,
        /// Print the graph (textual IR, weights elided) to stderr after every pass.
        #[arg(long)]
        print_after_all: bool,
        /// List the passes and pipelines and exit.
        #[arg(long, exclusive = true)]
        list: bool,
        /// Output model (.onnx or .pir).
        #[arg(short = 'o', long = "output", required_unless_present = "list")]
        output: Option<PathBuf>,
    },
}

/// How quantized models run (`pare run`, `pare eval`).
#[derive(clap::Args, Debug, Clone)]
pub struct ExecArgs {
    /// Run quantized nodes as dequantize → float op → quantize instead of in
    /// bit-exact integer arithmetic (for analysis).
    #[arg(long)]
    pub fake_quant: bool,
    /// Requantization rounding of the integer kernels: gemmlowp (TFLite's
    /// default) or single.
    #[arg(long, default_value = "gemmlowp", conflicts_with = "fake_quant")]
    pub rounding: String,
}

impl ExecArgs {
    pub fn options(&self) -> anyhow::Result<pare_ir::interp::RunOptions> {
        use pare_ir::interp::{QuantExec, RunOptions};
        let quant = if self.fake_quant {
            QuantExec::FakeQuant
        } else {
            QuantExec::Integer(
                self.rounding
                    .parse()
                    .map_err(|e| anyhow::anyhow!("--rounding: {e}"))?,
            )
        };
        Ok(RunOptions { quant })
    }
}
