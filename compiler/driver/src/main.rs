//! `pare` command-line entry point: parses arguments, runs the command, prints
//! errors as one line with their cause chain and maps them to exit codes
//! (0 ok, 1 bad input or failed compile, 2 usage, from clap).

mod cli;
mod commands;
mod model_io;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pare: error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// `pare inspect m.onnx | head` closes our stdout early; that is not an error.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
