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
            eprintln!("pare: error: {}", one_line(&e));
            ExitCode::from(1)
        }
    }
}

/// The error and its causes on one line, `: `-separated. A cause whose message
/// its wrapper already printed (errors that both show and chain their source)
/// is not repeated.
fn one_line(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let msg = cause.to_string();
        if msg.is_empty() || out.contains(&msg) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&msg);
    }
    out
}

/// `pare inspect m.onnx | head` closes our stdout early; that is not an error.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::one_line;

    /// An error that both prints and chains its source.
    #[derive(Debug)]
    struct ShowsAndChains(std::io::Error);

    impl std::fmt::Display for ShowsAndChains {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "d.npz: {}", self.0)
        }
    }

    impl std::error::Error for ShowsAndChains {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn causes_already_shown_are_not_repeated() {
        let io = std::io::Error::other("array `h` has rank 4");
        let e = anyhow::Error::new(ShowsAndChains(io)).context("pass `quantize`");
        assert_eq!(one_line(&e), "pass `quantize`: d.npz: array `h` has rank 4");
        let e = anyhow::anyhow!("cannot read").context("m.onnx");
        assert_eq!(one_line(&e), "m.onnx: cannot read");
    }
}
