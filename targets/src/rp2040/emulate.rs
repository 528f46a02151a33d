//! Runs a firmware image under `qemu-system-arm -M microbit` (a Cortex-M0, given the device's
//! memory sizes) with semihosting for output, arguments and exit status.

use super::firmware::Built;
use super::firmware_error::FirmwareError;
use super::toolchain::{piped, read_all, wait_timed, QEMU};
use std::path::Path;
use std::process::{Command, ExitStatus};
use std::time::Duration;

/// What a run printed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutput {
    /// The firmware's semihosting output.
    pub stdout: String,
    /// The firmware's exit status (`SYS_EXIT_EXTENDED`), as the host sees it (0..=255).
    pub exit_code: i32,
    /// QEMU's own diagnostics.
    pub stderr: String,
}

impl RunOutput {
    /// The outputs printed per sample (`out <index> <hex bytes>`), in sample order.
    pub fn outputs(&self) -> Result<Vec<Vec<i8>>, FirmwareError> {
        parse_outputs(&self.stdout)
    }

    /// The stack high-water mark the firmware measured (`stack <bytes>`), if printed.
    pub fn stack_bytes(&self) -> Option<u64> {
        self.stdout
            .lines()
            .find_map(|l| l.strip_prefix("stack ")?.trim().parse().ok())
    }
}

/// Runs every embedded sample once under QEMU (firmware argument `run`), at most `timeout`.
pub fn run_qemu(built: &Built, timeout: Duration) -> Result<RunOutput, FirmwareError> {
    let (status, stdout, stderr) =
        QEMU.run_timed(&mut qemu_command(built, &["run"], false), timeout, read_all)?;
    Ok(RunOutput {
        stdout,
        exit_code: exit_code(status, &stderr)?,
        stderr,
    })
}

/// Runs the host build of the firmware (`build_host`) with `args`, at most `timeout`.
pub fn run_host(exe: &Path, args: &[&str], timeout: Duration) -> Result<RunOutput, FirmwareError> {
    let child = piped(Command::new(exe).args(args))
        .spawn()
        .map_err(|source| FirmwareError::Io {
            what: "cannot start the host firmware",
            path: exe.into(),
            source,
        })?;
    let program = exe.display().to_string();
    let (status, stdout, stderr) = wait_timed(&program, child, timeout, read_all)?;
    Ok(RunOutput {
        stdout,
        exit_code: exit_code(status, &stderr)?,
        stderr,
    })
}

/// The QEMU command for `built` with firmware arguments `args`; `log` adds
/// `-d in_asm,exec,nochain` (the log goes to standard error).
pub(crate) fn qemu_command(built: &Built, args: &[&str], log: bool) -> Command {
    let mut semihosting = String::from("enable=on,target=native,chardev=pare_out");
    for a in args {
        semihosting.push_str(",arg=");
        semihosting.push_str(a);
    }
    let mut cmd = QEMU.command();
    cmd.args(["-M", "microbit", "-global"])
        .arg(format!("nrf51-soc.flash-size={}", built.device.flash_bytes))
        .arg("-global")
        .arg(format!("nrf51-soc.sram-size={}", built.device.ram_bytes))
        .args(["-display", "none", "-monitor", "none", "-serial", "none"])
        // Semihosting output to stdout; without a chardev it shares stderr with the log.
        .args(["-chardev", "stdio,id=pare_out", "-semihosting-config"])
        .arg(semihosting)
        .arg("-kernel")
        .arg(&built.elf);
    if log {
        cmd.args(["-d", "in_asm,exec,nochain"]);
    }
    cmd
}

/// The firmware's exit status; a run stopped by a signal is an error.
pub(crate) fn exit_code(status: ExitStatus, stderr: &str) -> Result<i32, FirmwareError> {
    status.code().ok_or_else(|| FirmwareError::Killed {
        status: status.to_string(),
        stderr: stderr.into(),
    })
}

fn parse_outputs(stdout: &str) -> Result<Vec<Vec<i8>>, FirmwareError> {
    let mut outs = Vec::new();
    for line in stdout.lines() {
        let Some(rest) = line.strip_prefix("out ") else {
            continue;
        };
        let bad = |why: &str| FirmwareError::BadOutput {
            line: line.into(),
            reason: why.into(),
        };
        let (index, hex) = rest.split_once(' ').ok_or_else(|| bad("no bytes"))?;
        if index.parse::<usize>().ok() != Some(outs.len()) {
            return Err(bad("samples out of order"));
        }
        if hex.len() % 2 != 0 {
            return Err(bad("odd number of hex digits"));
        }
        let bytes = (0..hex.len())
            .step_by(2)
            .map(|i| {
                hex.get(i..i + 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .map(|b| b as i8)
            })
            .collect::<Option<Vec<i8>>>()
            .ok_or_else(|| bad("not hex"))?;
        outs.push(bytes);
    }
    Ok(outs)
}
