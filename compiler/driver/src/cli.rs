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
        /// Give an input a concrete shape (repeatable) before MACs are counted:
        /// without it symbolic dims are bound to 1, which fails for models
        /// whose spatial dims are symbolic.
        #[arg(long = "input-shape", value_name = "NAME=D0,D1,...", value_parser = crate::model_io::parse_input_shape)]
        input_shapes: Vec<crate::model_io::InputShape>,
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
    Eval(crate::commands::eval::EvalArgs),
    /// Quantize a model and write the artifact, with a measured report.
    ///
    /// Calibration streams DATA in batches (an `.npz` array `FILE.npz:KEY`, an
    /// `.npy` file or a folder of `.npy` files) with bounded memory. Every figure
    /// in the report was measured on the written artifact or the given data.
    Compile(Box<crate::commands::compile::CompileArgs>),
    /// Convert a model between formats (chosen by extension: .onnx, .pt2 (read only), .pir).
    Convert {
        /// Input model (.onnx, .pt2 or .pir).
        input: PathBuf,
        /// Output model (.onnx or .pir).
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
    },
    /// Run passes or a named pipeline over a model and write the result.
    Opt(crate::commands::opt::OptArgs),
    /// Check an ONNX file against a target's rules: each rule is stated and every
    /// node that breaks it named (exit 1 when one is broken).
    Check(crate::commands::check::CheckArgs),
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
