//! One module per subcommand; `dispatch` routes the parsed command line.

pub mod check;
pub mod compile;
mod convert;
pub mod eval;
mod inspect;
pub mod opt;
mod run;

use crate::cli::{Cli, Command};
use anyhow::Result;

pub fn dispatch(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Inspect {
            model,
            json,
            input_shapes,
        } => inspect::inspect(&model, &input_shapes, json),
        Command::Run {
            model,
            inputs,
            npz,
            input_shapes,
            out_dir,
            exec,
        } => run::run(
            &model,
            &inputs,
            npz.as_deref(),
            &input_shapes,
            &out_dir,
            &exec.options()?,
        ),
        Command::Eval(a) => eval::eval(&a),
        Command::Compile(a) => compile::compile(&a),
        Command::Convert { input, output } => convert::convert(&input, &output),
        Command::Opt(a) => opt::opt(&a),
        Command::Check(a) => check::check(&a),
    }
}
