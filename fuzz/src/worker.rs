//! The worker side: `pare-fuzz --worker` reads cases from stdin, runs each under
//! `catch_unwind` and answers on stdout, until stdin closes. The parent enforces the
//! time cap by killing it; the memory cap is the counting allocator's ([`crate::alloc_cap`]),
//! set here before the first case.

use crate::alloc_cap;
use crate::pipeline::run_case;
use crate::protocol::{read_request, write_reply, Outcome};
use std::io::{self, BufReader, BufWriter};
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::Mutex;

/// Address space allowed beyond the heap cap: code, thread stacks, allocator arenas.
const ADDRESS_SPACE_SLACK: u64 = 2 << 30;

/// The message and place of the last panic, kept by the panic hook for the reply.
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// This worker's scratch folder (datasets are read from files).
pub fn scratch_dir_of(pid: u32) -> PathBuf {
    std::env::temp_dir().join(format!("pare-fuzz-worker-{pid}"))
}

/// The innermost frames of a backtrace that are pare's own code (not the standard
/// library's, not this crate's): where a panic in a library helper was called from.
fn pare_frames(trace: &str) -> String {
    let frames: Vec<&str> = trace
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("at ") && !l.contains("/rustc/") && !l.contains("/.cargo/"))
        .filter(|l| !l.contains("/fuzz/src/"))
        .take(4)
        .collect();
    if frames.is_empty() {
        "(no pare frames in the backtrace)".into()
    } else {
        frames.join("\n")
    }
}

/// Serves cases until stdin closes.
pub fn serve(mem_cap_mb: u64) -> io::Result<()> {
    let cap = mem_cap_mb.saturating_mul(1 << 20);
    alloc_cap::limit_address_space(cap.saturating_add(ADDRESS_SPACE_SLACK));
    alloc_cap::set_cap(usize::try_from(cap).unwrap_or(usize::MAX));
    // The hook replaces the default one: the message goes back to the parent, not to
    // a stderr nobody reads.
    panic::set_hook(Box::new(|info| {
        let trace = std::backtrace::Backtrace::force_capture().to_string();
        if let Ok(mut last) = LAST_PANIC.lock() {
            *last = Some(format!("{info}\n{}", pare_frames(&trace)));
        }
    }));
    let scratch = scratch_dir_of(std::process::id());
    std::fs::create_dir_all(&scratch)?;
    let mut input = BufReader::new(io::stdin().lock());
    let mut output = BufWriter::new(io::stdout().lock());
    while let Some((format, bytes)) = read_request(&mut input)? {
        let result = panic::catch_unwind(AssertUnwindSafe(|| run_case(format, &bytes, &scratch)));
        match result {
            Ok(r) => write_reply(&mut output, r.outcome, &r.detail)?,
            Err(_) => {
                let msg = LAST_PANIC
                    .lock()
                    .ok()
                    .and_then(|mut m| m.take())
                    .unwrap_or_else(|| "panic (no message)".into());
                write_reply(&mut output, Outcome::Panic, &msg)?;
            }
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}
