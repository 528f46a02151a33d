//! The external tools the firmware needs (arm-none-eabi-gcc/-size, qemu-system-arm, the host
//! gcc), run with errors that name the Debian packages to install and a timeout that kills.

use super::firmware_error::FirmwareError;
use std::io::Read;
use std::process::{Child, ChildStderr, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// An external program and the Debian packages that provide it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tool {
    pub program: &'static str,
    pub packages: &'static str,
}

/// The Arm cross compiler with newlib (memcpy/memset for generated code).
pub const ARM_GCC: Tool = Tool {
    program: "arm-none-eabi-gcc",
    packages: "gcc-arm-none-eabi libnewlib-arm-none-eabi",
};
/// Section sizes of the built image.
pub const ARM_SIZE: Tool = Tool {
    program: "arm-none-eabi-size",
    packages: "gcc-arm-none-eabi (binutils-arm-none-eabi)",
};
/// The emulator (`-M microbit`: a Cortex-M0).
pub const QEMU: Tool = Tool {
    program: "qemu-system-arm",
    packages: "qemu-system-arm",
};
/// The host compiler for the reference build of the same C.
pub const HOST_CC: Tool = Tool {
    program: "gcc",
    packages: "gcc",
};

impl Tool {
    /// A command running this tool.
    pub fn command(&self) -> Command {
        Command::new(self.program)
    }

    /// Ok when the tool runs (`--version`), else [`FirmwareError::ToolMissing`].
    pub fn check(&self) -> Result<(), FirmwareError> {
        match self
            .command()
            .arg("--version")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
        {
            Ok(s) if s.success() => Ok(()),
            _ => Err(self.missing()),
        }
    }

    fn missing(&self) -> FirmwareError {
        FirmwareError::ToolMissing {
            tool: self.program,
            packages: self.packages,
        }
    }

    fn spawn(&self, cmd: &mut Command) -> Result<Child, FirmwareError> {
        cmd.spawn().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => self.missing(),
            _ => FirmwareError::ToolFailed {
                what: format!("starting {}", self.program),
                status: "not started".into(),
                output: e.to_string(),
            },
        })
    }

    /// Runs `cmd` (built from [`Tool::command`]) to completion; its stdout on success, an
    /// error with `what`, the status and the output otherwise.
    pub fn run(&self, cmd: &mut Command, what: impl Into<String>) -> Result<String, FirmwareError> {
        let child = self.spawn(piped(cmd))?;
        let out = child
            .wait_with_output()
            .map_err(|e| FirmwareError::ToolFailed {
                what: format!("waiting for {}", self.program),
                status: "unknown".into(),
                output: e.to_string(),
            })?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            Ok(stdout)
        } else {
            Err(FirmwareError::ToolFailed {
                what: what.into(),
                status: out.status.to_string(),
                output: format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)),
            })
        }
    }

    /// Runs `cmd` (built from [`Tool::command`]) for at most `timeout`: see [`wait_timed`].
    pub fn run_timed<T: Send + 'static>(
        &self,
        cmd: &mut Command,
        timeout: Duration,
        on_stderr: impl FnOnce(ChildStderr) -> T + Send + 'static,
    ) -> Result<(ExitStatus, String, T), FirmwareError> {
        let child = self.spawn(piped(cmd))?;
        wait_timed(self.program, child, timeout, on_stderr)
    }
}

/// Reads a child's stream to a string (lossy UTF-8).
pub fn read_all(mut r: impl Read) -> String {
    let mut buf = Vec::new();
    // A read error only shortens the text; the exit status still tells the outcome.
    let _ = r.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// `cmd` with no input and both outputs piped.
pub fn piped(cmd: &mut Command) -> &mut Command {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
}

/// Waits at most `timeout` for `child` (spawned with [`piped`], named `program` in errors),
/// killing it then. Standard output is collected; standard error goes to `on_stderr` on its
/// own thread as it is written (a QEMU log is parsed while it streams, never stored).
/// Returns the exit status, the output and what `on_stderr` returned.
pub fn wait_timed<T: Send + 'static>(
    program: &str,
    mut child: Child,
    timeout: Duration,
    on_stderr: impl FnOnce(ChildStderr) -> T + Send + 'static,
) -> Result<(ExitStatus, String, T), FirmwareError> {
    let failure = |msg: &str| FirmwareError::ToolFailed {
        what: format!("running {program}"),
        status: "unknown".into(),
        output: msg.into(),
    };
    let (Some(out), Some(err)) = (child.stdout.take(), child.stderr.take()) else {
        let _ = child.kill();
        return Err(failure("its output is not piped"));
    };
    let out_thread = thread::spawn(move || read_all(out));
    let err_thread = thread::spawn(move || on_stderr(err));
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if start.elapsed() >= timeout => break None,
            Ok(None) => thread::sleep(Duration::from_millis(5)),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(failure(&e.to_string()));
            }
        }
    };
    if status.is_none() {
        // Killing closes the pipes, which ends both reader threads.
        let _ = child.kill();
        let _ = child.wait();
    }
    let stdout = out_thread
        .join()
        .map_err(|_| failure("the stdout reader panicked"))?;
    let from_stderr = err_thread
        .join()
        .map_err(|_| failure("the stderr reader panicked"))?;
    match status {
        Some(status) => Ok((status, stdout, from_stderr)),
        None => Err(FirmwareError::Timeout {
            seconds: timeout.as_secs_f64(),
            stdout,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_tool_names_its_packages() {
        let t = Tool {
            program: "pare-no-such-tool",
            packages: "pare-tools",
        };
        let e = t.check().unwrap_err().to_string();
        assert_eq!(
            e,
            "`pare-no-such-tool` is not installed (or not on PATH): install the Debian packages \
             pare-tools (`bash scripts/setup-tests.sh` does)"
        );
        let e = t.run(&mut t.command(), "x").unwrap_err();
        assert!(matches!(e, FirmwareError::ToolMissing { .. }), "{e:?}");
    }

    #[test]
    fn a_slow_command_is_killed_at_the_timeout() {
        let sh = Tool {
            program: "sh",
            packages: "dash",
        };
        let start = Instant::now();
        let e = sh
            .run_timed(
                sh.command().args(["-c", "echo started; exec sleep 30"]),
                Duration::from_millis(300),
                read_all,
            )
            .unwrap_err();
        assert!(start.elapsed() < Duration::from_secs(10));
        match e {
            FirmwareError::Timeout { stdout, .. } => assert_eq!(stdout, "started\n"),
            other => panic!("{other:?}"),
        }
    }
}
