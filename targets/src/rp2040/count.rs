//! Counts the Cortex-M0 instructions one inference executes, exactly, from QEMU's
//! `-d in_asm,exec,nochain` log streamed through a pipe.
//!
//! `in_asm` prints each translation block (TB) once, when it is translated, with one line per
//! guest instruction; `exec` prints a line each time a TB starts, naming the TB by its host
//! code pointer and guest pc; `nochain` stops QEMU from jumping TB to TB without returning
//! to the logging loop, so every execution is logged. The count of a run is the sum, over
//! executions, of the executed TB's instruction count. A TB that QEMU entered but left before
//! its first instruction (an exit request, logged as "Stopped execution of TB chain before")
//! is taken back out. Differences of whole runs with 0, 1 and 2 inferences give the
//! instructions of one inference, with the harness's start-up and exit cancelled out; the
//! three must be linear or the count is refused.
//!
//! QEMU names the symbol each executed block starts in (the ELF is built with its symbol
//! table), so the same log gives the instructions of each function: a block starts at a
//! function's entry or after a branch within it, so its instructions are that function's.
//!
//! Streaming the log on QEMU's standard error (semihosting output goes to stdout through a
//! chardev) keeps nothing on disk and needs no FIFO rendezvous: a log of a billion lines
//! costs no memory. QEMU flushes its log after every line, so the pipe sets the pace: about
//! 3 million guest instructions a second on CI's machine (QEMU without the log runs
//! about 50 times faster).

use super::emulate::{exit_code, qemu_command};
use super::firmware::Built;
use super::firmware_error::FirmwareError;
use super::toolchain::QEMU;
use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::time::Duration;

/// What a log says about one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogCount {
    /// Guest instructions executed.
    pub instructions: u64,
    /// Translation blocks executed.
    pub blocks: u64,
    /// Translation blocks translated.
    pub translations: u64,
}

/// One inference's instructions, in all and by function (descending, then by name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstructionProfile {
    pub per_inference: u64,
    pub by_function: Vec<(String, u64)>,
}

/// Instructions executed by the whole firmware run `count N` (N inferences on sample 0,
/// plus start-up and exit).
pub fn count_run(built: &Built, inferences: u64, timeout: Duration) -> Result<u64, FirmwareError> {
    Ok(profile_run(built, inferences, timeout)?.0.instructions)
}

/// [`count_run`] with the instructions of each function.
fn profile_run(
    built: &Built,
    inferences: u64,
    timeout: Duration,
) -> Result<(LogCount, BTreeMap<String, u64>), FirmwareError> {
    let n = inferences.to_string();
    let mut cmd = qemu_command(built, &["count", &n], true);
    let (status, stdout, counted) = QEMU.run_timed(&mut cmd, timeout, |err| {
        profile_log(std::io::BufReader::with_capacity(1 << 20, err))
    })?;
    let counted = counted.map_err(FirmwareError::Log)?;
    let code = exit_code(status, "")?;
    if code != 0 {
        return Err(FirmwareError::FirmwareExit {
            what: format!("`count {n}` under QEMU"),
            code,
            output: stdout,
        });
    }
    Ok(counted)
}

/// Instructions one inference executes on the emulated Cortex-M0 (sample 0): the
/// differences of runs with 0, 1 and 2 inferences, which must agree. It includes the
/// harness's call (argument set-up, the call, the loop step: a few instructions).
/// `timeout` bounds each of the three runs.
pub fn count_instructions(built: &Built, timeout: Duration) -> Result<u64, FirmwareError> {
    Ok(profile_instructions(built, timeout)?.per_inference)
}

/// [`count_instructions`] with each function's share: the difference, function by
/// function, of the runs with 1 and 0 inferences (their total is the count).
pub fn profile_instructions(
    built: &Built,
    timeout: Duration,
) -> Result<InstructionProfile, FirmwareError> {
    let runs = [
        profile_run(built, 0, timeout)?,
        profile_run(built, 1, timeout)?,
        profile_run(built, 2, timeout)?,
    ];
    let counts = [0, 1, 2].map(|i| runs[i].0.instructions);
    let per_inference = match (
        counts[1].checked_sub(counts[0]),
        counts[2].checked_sub(counts[1]),
    ) {
        (Some(a), Some(b)) if a == b && a > 0 => a,
        _ => return Err(FirmwareError::NotLinear { counts }),
    };
    let mut by_function: Vec<(String, u64)> = runs[1]
        .1
        .iter()
        .map(|(f, &n)| (f.clone(), n - runs[0].1.get(f).copied().unwrap_or(0).min(n)))
        .filter(|&(_, n)| n > 0)
        .collect();
    by_function.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(InstructionProfile {
        per_inference,
        by_function,
    })
}

/// Counts the instructions a `-d in_asm,exec,nochain` log records. Lines QEMU prints for
/// other reasons are skipped; an execution of a block never translated is an error.
pub fn count_log(r: impl BufRead) -> Result<LogCount, String> {
    Ok(profile_log(r)?.0)
}

/// [`count_log`] with the instructions of each function QEMU names on the exec lines
/// (`?` where it names none).
fn profile_log(mut r: impl BufRead) -> Result<(LogCount, BTreeMap<String, u64>), String> {
    let mut by_function: BTreeMap<String, u64> = BTreeMap::new();
    let mut sizes: HashMap<u64, u64> = HashMap::new();
    // The block being read (its first pc and instruction count), then the block waiting
    // for its first execution, which tells its host pointer.
    let mut reading: Option<(Option<u64>, u64)> = None;
    let mut pending: Option<(u64, u64)> = None;
    let mut last_exec: Option<(u64, String)> = None;
    let mut count = LogCount::default();
    let mut line = Vec::with_capacity(256);
    let mut lineno = 0u64;
    loop {
        line.clear();
        let n = r
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("reading the log: {e}"))?;
        if n == 0 {
            break;
        }
        lineno += 1;
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end();
        let at = |what: &str| format!("line {lineno} `{text}`: {what}");
        if let Some((first, n)) = &mut reading {
            if text.is_empty() {
                let Some(pc) = *first else {
                    return Err(at("a translated block lists no instruction"));
                };
                pending = Some((pc, *n));
                count.translations += 1;
                reading = None;
            } else if let Some(pc) = insn_pc(text) {
                first.get_or_insert(pc);
                *n += 1;
            }
            continue;
        }
        if text.starts_with("IN:") {
            reading = Some((None, 0));
        } else if let Some(rest) = text.strip_prefix("Trace ") {
            let (ptr, pc, function) =
                exec_fields(rest).ok_or_else(|| at("unexpected exec line"))?;
            if let Some((p, n)) = pending {
                if p == pc {
                    sizes.insert(ptr, n);
                    pending = None;
                }
            }
            let n = *sizes
                .get(&ptr)
                .ok_or_else(|| at("a block runs that the log never showed translated"))?;
            count.instructions += n;
            count.blocks += 1;
            *by_function.entry(function.to_string()).or_insert(0) += n;
            last_exec = Some((ptr, function.to_string()));
        } else if let Some(rest) = text.strip_prefix("Stopped execution of TB chain before ") {
            let ptr = hex(rest.split_whitespace().next().unwrap_or(""))
                .ok_or_else(|| at("unexpected line"))?;
            // Only the block just logged as executing can have been left unentered.
            let Some((_, function)) = last_exec.take().filter(|(p, _)| *p == ptr) else {
                return Err(at("a block stopped that was not the one starting"));
            };
            let n = sizes.get(&ptr).copied().unwrap_or(0);
            count.instructions -= n;
            count.blocks -= 1;
            if let Some(f) = by_function.get_mut(&function) {
                *f -= n.min(*f);
            }
        }
    }
    if reading.is_some() {
        return Err("the log ends inside a translated block".into());
    }
    Ok((count, by_function))
}

/// `0x000002ac:  4b16       ldr      r3, [pc, #0x58]` → 0x2ac.
fn insn_pc(text: &str) -> Option<u64> {
    let (addr, _) = text.split_once(':')?;
    hex(addr)
}

/// `0: 0x7f5038000100 [00800400/000002ac/00000510/ff000200] fw_reset` →
/// (host ptr, pc, function; `?` when QEMU names none).
fn exec_fields(rest: &str) -> Option<(u64, u64, &str)> {
    let mut words = rest.split_whitespace();
    words.next()?; // the cpu index, "0:"
    let ptr = hex(words.next()?)?;
    let fields = words.next()?.strip_prefix('[')?.strip_suffix(']')?;
    let pc = u64::from_str_radix(fields.split('/').nth(1)?, 16).ok()?;
    Some((ptr, pc, words.next().unwrap_or("?")))
}

fn hex(s: &str) -> Option<u64> {
    u64::from_str_radix(s.strip_prefix("0x")?, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Shaped like QEMU 7.2's output (trimmed from a real run of the firmware).
    const LOG: &str = "\
----------------
IN: fw_reset
0x000002ac:  4b16       ldr      r3, [pc, #0x58]
0x000002ae:  4917       ldr      r1, [pc, #0x5c]
0x000002b0:  2200       movs     r2, #0

Trace 0: 0x7f5038000100 [00800400/000002ac/00000510/ff000200] fw_reset
----------------
IN: memcpy
0x000004c0:  b5f0       push     {r4, r5, r6, r7, lr}
0x000004c2:  f000 f8fc  bl       #0x4c0

Trace 0: 0x7f5038000480 [00800400/000004c0/00000510/ff000200] memcpy
Trace 0: 0x7f5038000480 [00800400/000004c0/00000510/ff000200] memcpy
Trace 0: 0x7f5038000100 [00800400/000002ac/00000510/ff000200] fw_reset
Stopped execution of TB chain before 0x7f5038000100 [000002ac] fw_reset
";

    #[test]
    fn counts_blocks_by_host_pointer() {
        let c = count_log(LOG.as_bytes()).unwrap();
        assert_eq!(
            c,
            LogCount {
                instructions: 3 + 2 + 2,
                blocks: 3,
                translations: 2
            }
        );
    }

    #[test]
    fn attributes_blocks_to_the_functions_qemu_names() {
        let (c, by) = profile_log(LOG.as_bytes()).unwrap();
        assert_eq!(c.instructions, 7);
        // fw_reset's second block was left unentered: taken back out.
        assert_eq!(by.get("fw_reset"), Some(&3));
        assert_eq!(by.get("memcpy"), Some(&4));
    }

    #[test]
    fn retranslation_at_a_reused_pointer_counts_the_new_block() {
        let log = "IN: a\n0x00000010:  2200  movs r2, #0\n\n\
                   Trace 0: 0x7f00 [0/00000010/0/0] a\n\
                   IN: b\n0x00000020:  2200  movs r2, #0\n0x00000022:  2200  movs r2, #0\n\n\
                   Trace 0: 0x7f00 [0/00000020/0/0] b\n";
        assert_eq!(count_log(log.as_bytes()).unwrap().instructions, 3);
    }

    #[test]
    fn an_untranslated_block_is_an_error() {
        let e = count_log("Trace 0: 0x7f00 [0/00000010/0/0] a\n".as_bytes()).unwrap_err();
        assert!(e.contains("never showed translated"), "{e}");
    }

    #[test]
    fn a_truncated_log_is_an_error() {
        let e = count_log("IN: a\n0x00000010:  2200  movs r2, #0\n".as_bytes()).unwrap_err();
        assert!(e.contains("ends inside"), "{e}");
    }
}
