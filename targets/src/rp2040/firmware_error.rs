//! Errors of the RP2040 firmware tooling: cross builds, emulation and instruction counting.

use super::device::FitError;
use std::path::PathBuf;

/// Why a firmware image could not be built, run or measured.
#[derive(Debug, thiserror::Error)]
pub enum FirmwareError {
    #[error(
        "`{tool}` is not installed (or not on PATH): install the Debian packages {packages} \
         (`bash scripts/setup-tests.sh` does)"
    )]
    ToolMissing {
        tool: &'static str,
        packages: &'static str,
    },
    #[error("{what}: {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{what} failed ({status}):\n{output}")]
    ToolFailed {
        what: String,
        status: String,
        output: String,
    },
    #[error("model name `{0}` is not a C identifier (letters, digits and `_`, not starting with a digit)")]
    BadName(String),
    #[error("source file name `{0}` is not a plain file name ending in .c, .h, .s or .S")]
    BadFileName(String),
    #[error("input sample {index} has {len} bytes but sample 0 has {first}: every sample must have the model's input size")]
    RaggedSamples {
        index: usize,
        len: usize,
        first: usize,
    },
    #[error("cannot read `arm-none-eabi-size` output ({reason}):\n{output}")]
    SizeOutput { reason: String, output: String },
    #[error(
        "device `{device}` has a {core} core: the firmware build targets Arm Cortex-M devices only"
    )]
    NotArm {
        device: &'static str,
        core: &'static str,
    },
    #[error(transparent)]
    DoesNotFit(#[from] FitError),
    #[error("QEMU did not finish within {seconds:.1} s and was killed{}", tail(.stdout))]
    Timeout { seconds: f64, stdout: String },
    #[error("the emulator or host program was stopped by a signal ({status}){}", tail(.stderr))]
    Killed { status: String, stderr: String },
    #[error("the firmware exited with status {code} during {what}{}", tail(.output))]
    FirmwareExit {
        what: String,
        code: i32,
        output: String,
    },
    #[error("firmware output line `{line}`: {reason}")]
    BadOutput { line: String, reason: String },
    #[error("cannot read QEMU's `-d in_asm,exec,nochain` log: {0}")]
    Log(String),
    #[error(
        "instruction counts are not linear in the number of inferences ({counts:?} for 0, 1, 2): \
         the model's work differs between calls on the same input"
    )]
    NotLinear { counts: [u64; 3] },
}

/// The last lines of a process's output, for an error message.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    if lines.is_empty() {
        return String::new();
    }
    let from = lines.len().saturating_sub(20);
    format!(":\n{}", lines[from..].join("\n"))
}
