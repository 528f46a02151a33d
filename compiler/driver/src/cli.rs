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
    after_help = "Examples:\n  pare inspect model.onnx --json\n  pare run model.onnx --input input=x.npy -o out/\n  pare opt model.onnx --pipeline cleanup -o model.pir\n\nExit codes: 0 success, 1 bad input or failed compile, 2 usage error."
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
        /// Directory for `<output name>.npy` files (created if missing).
        #[arg(short = 'o', long = "out-dir", value_name = "DIR")]
        out_dir: PathBuf,
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
