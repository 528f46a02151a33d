//! The parent side of a campaign: `--jobs` threads, each driving one worker process,
//! take case numbers from a shared counter, build the case, send it, and wait for the
//! answer until the time cap. A worker that does not answer in time is killed (a
//! hang); one that exits with the allocator's code went over the memory cap; any other
//! end is a crash. Failing inputs are written to `--out/<format>/`.

use crate::alloc_cap::OVER_CAP_EXIT;
use crate::format::Format;
use crate::mutate::{case_rng, make_case};
use crate::protocol::{read_reply, write_request, Outcome};
use crate::seeds::SeedPool;
use crate::worker::scratch_dir_of;
use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Regression files written per distinct finding (same kind and place).
const FILES_PER_SIGNATURE: usize = 3;

/// How a campaign runs.
#[derive(Clone, Debug)]
pub struct CampaignConfig {
    pub format: Format,
    pub cases: u64,
    pub seed: u64,
    pub jobs: usize,
    /// Where failing inputs go (`<out>/<format>/<kind>-<case>-<hash>.<ext>`).
    pub out: Option<PathBuf>,
    pub caps: Caps,
    /// The `pare-fuzz` binary that serves `--worker`.
    pub worker_exe: PathBuf,
    /// Print progress to stderr this often (never when `None`).
    pub progress: Option<Duration>,
}

/// The per-case limits.
#[derive(Clone, Copy, Debug)]
pub struct Caps {
    pub time: Duration,
    pub mem_mb: u64,
}

/// What happened to one case, seen from the parent.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Verdict {
    Done(Outcome, String),
    Hang,
    OverCap,
    Crash(String),
}

impl Verdict {
    /// The finding kind, if this verdict is one.
    pub fn finding(&self) -> Option<&'static str> {
        match self {
            Verdict::Done(Outcome::Panic, _) => Some("panic"),
            Verdict::Done(Outcome::Invalid, _) => Some("invalid"),
            Verdict::Done(..) => None,
            Verdict::Hang => Some("hang"),
            Verdict::OverCap => Some("over-cap"),
            Verdict::Crash(_) => Some("crash"),
        }
    }

    pub fn detail(&self) -> &str {
        match self {
            Verdict::Done(_, d) | Verdict::Crash(d) => d,
            Verdict::Hang => "no answer within the time cap",
            Verdict::OverCap => "allocation past the memory cap",
        }
    }
}

/// The figures of one campaign.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Figures {
    pub cases: u64,
    /// Read, verified, inferred and interpreted.
    pub interpreted: u64,
    /// Read, verified and inferred, not interpreted (over the MAC/element limits).
    pub checked: u64,
    pub clean_errors: u64,
    pub panics: u64,
    pub hangs: u64,
    pub over_cap: u64,
    pub crashes: u64,
    /// Accepted by a reader, rejected by the verifier.
    pub invalid: u64,
    pub wall: Duration,
    /// Clean errors by their message's start (digits and names dropped): what the
    /// mutations mostly run into, for tuning them.
    pub error_kinds: BTreeMap<String, u64>,
}

impl Figures {
    fn count(&mut self, v: &Verdict) {
        self.cases += 1;
        match v {
            Verdict::Done(Outcome::Ran, _) => self.interpreted += 1,
            Verdict::Done(Outcome::Checked, _) => self.checked += 1,
            Verdict::Done(Outcome::CleanError, d) => {
                self.clean_errors += 1;
                *self.error_kinds.entry(error_kind(d)).or_default() += 1;
            }
            Verdict::Done(Outcome::Panic, _) => self.panics += 1,
            Verdict::Done(Outcome::Invalid, _) => self.invalid += 1,
            Verdict::Hang => self.hangs += 1,
            Verdict::OverCap => self.over_cap += 1,
            Verdict::Crash(_) => self.crashes += 1,
        }
    }

    /// Cases that are findings.
    pub fn failures(&self) -> u64 {
        self.panics + self.hangs + self.over_cap + self.crashes + self.invalid
    }

    pub fn ok(&self) -> u64 {
        self.interpreted + self.checked
    }
}

impl fmt::Display for Figures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} cases, {} ok ({} interpreted), {} clean errors, {} panics, {} hangs, {} over-cap allocations, {} crashes, {} accepted-but-invalid; wall {:.1} s ({:.0} cases/s)",
            self.cases,
            self.ok(),
            self.interpreted,
            self.clean_errors,
            self.panics,
            self.hangs,
            self.over_cap,
            self.crashes,
            self.invalid,
            self.wall.as_secs_f64(),
            self.cases as f64 / self.wall.as_secs_f64().max(1e-9),
        )
    }
}

/// The start of an error message with digits and quoted names left out.
fn error_kind(detail: &str) -> String {
    let mut out = String::new();
    let mut quoted = false;
    for c in detail.chars() {
        match c {
            '`' | '\'' => {
                quoted = !quoted;
                out.push('_');
            }
            _ if quoted || c.is_ascii_digit() => {}
            _ => out.push(c),
        }
        if out.len() >= 90 {
            break;
        }
    }
    out
}

/// One distinct finding: its kind, where (the first line of its detail), how many
/// cases hit it, and the first case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub kind: &'static str,
    pub detail: String,
    pub count: u64,
    pub first_case: String,
    pub files: Vec<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum CampaignError {
    #[error("cannot start worker {exe}: {source}")]
    Spawn {
        exe: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot write regression case {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot read regression case {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// A worker process and the channel its replies arrive on.
struct Worker {
    child: Child,
    stdin: BufWriter<ChildStdin>,
    replies: Receiver<Option<(Outcome, String)>>,
}

impl Worker {
    fn spawn(exe: &Path, caps: Caps) -> Result<Worker, CampaignError> {
        let spawn_err = |source| CampaignError::Spawn {
            exe: exe.to_path_buf(),
            source,
        };
        let mut child = Command::new(exe)
            .arg("--worker")
            .arg("--mem-cap-mb")
            .arg(caps.mem_mb.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(spawn_err)?;
        let stdin = child.stdin.take().expect("stdin was piped");
        let stdout = child.stdout.take().expect("stdout was piped");
        let (tx, rx) = mpsc::channel();
        // A reader thread turns the blocking pipe into a channel the driver can wait
        // on with a deadline; it ends when the worker's stdout closes.
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let reply = read_reply(&mut r).ok().flatten();
                let end = reply.is_none();
                if tx.send(reply).is_err() || end {
                    break;
                }
            }
        });
        Ok(Worker {
            child,
            stdin: BufWriter::new(stdin),
            replies: rx,
        })
    }

    /// Runs one case. The worker is gone afterwards unless the verdict is `Done`.
    fn run(&mut self, format: Format, bytes: &[u8], cap: Duration) -> Verdict {
        if write_request(&mut self.stdin, format, bytes).is_err() {
            return self.ended();
        }
        match self.replies.recv_timeout(cap) {
            Ok(Some((outcome, detail))) => Verdict::Done(outcome, detail),
            Ok(None) | Err(RecvTimeoutError::Disconnected) => self.ended(),
            Err(RecvTimeoutError::Timeout) => {
                self.stop();
                Verdict::Hang
            }
        }
    }

    /// The verdict for a worker that stopped answering on its own.
    fn ended(&mut self) -> Verdict {
        let status = self.child.wait();
        self.clean_scratch();
        match status {
            Ok(s) if s.code() == Some(OVER_CAP_EXIT) => Verdict::OverCap,
            Ok(s) => Verdict::Crash(format!("worker ended: {s}")),
            Err(e) => Verdict::Crash(format!("worker lost: {e}")),
        }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.clean_scratch();
    }

    fn clean_scratch(&self) {
        let _ = std::fs::remove_dir_all(scratch_dir_of(self.child.id()));
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Builds case `i`: its format and bytes.
type MakeCase<'a> = dyn Fn(u64) -> Result<(Format, Vec<u8>), CampaignError> + Sync + 'a;
/// Receives case `i`'s verdict, with the case.
type CaseDone<'a> = dyn Fn(u64, Format, &[u8], Verdict) -> Result<(), CampaignError> + Sync + 'a;

/// Runs `n` cases on `jobs` workers: `make(i)` builds case `i`, `done` receives its
/// verdict. Returns the first error a driver thread met.
fn drive(
    n: u64,
    jobs: usize,
    exe: &Path,
    caps: Caps,
    make: &MakeCase<'_>,
    done: &CaseDone<'_>,
) -> Result<(), CampaignError> {
    let next = AtomicU64::new(0);
    let first_error: Mutex<Option<CampaignError>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| {
                let mut worker: Option<Worker> = None;
                let mut step = || -> Result<bool, CampaignError> {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return Ok(false);
                    }
                    let (format, bytes) = make(i)?;
                    let w = match worker.as_mut() {
                        Some(w) => w,
                        None => worker.insert(Worker::spawn(exe, caps)?),
                    };
                    let verdict = w.run(format, &bytes, caps.time);
                    if !matches!(verdict, Verdict::Done(..)) {
                        worker = None;
                    }
                    done(i, format, &bytes, verdict)?;
                    Ok(true)
                };
                loop {
                    match step() {
                        Ok(true) => {}
                        Ok(false) => break,
                        Err(e) => {
                            // Stop the other drivers too.
                            next.store(n, Ordering::Relaxed);
                            first_error
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .get_or_insert(e);
                            break;
                        }
                    }
                }
            });
        }
    });
    match first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The place a finding is filed under: its kind and its first detail line (a
/// panic's message and location), numbers left out so that one bug is one entry.
fn signature(kind: &str, detail: &str) -> String {
    // Panics: location, message and the innermost pare frame. Digits are dropped from
    // the message (indices and sizes differ per case), kept in locations.
    let place: String = detail
        .lines()
        .take(3)
        .map(|l| {
            if l.starts_with("panicked at") || l.starts_with("at ") {
                l.to_string()
            } else {
                l.chars().filter(|c| !c.is_ascii_digit()).collect()
            }
        })
        .collect::<Vec<_>>()
        .join(" | ");
    format!("{kind}: {place}")
}

/// Runs a campaign; returns its figures and its distinct findings (sorted).
pub fn run_campaign(
    cfg: &CampaignConfig,
    pool: &SeedPool,
) -> Result<(Figures, Vec<Finding>), CampaignError> {
    let start = Instant::now();
    let figures = Mutex::new(Figures::default());
    let findings: Mutex<BTreeMap<String, Finding>> = Mutex::new(BTreeMap::new());
    let last_progress = Mutex::new(Instant::now());
    let make = |i: u64| {
        let mut rng = case_rng(cfg.seed, i);
        Ok((cfg.format, make_case(cfg.format, &mut rng, pool)))
    };
    let done = |i: u64, format: Format, bytes: &[u8], v: Verdict| {
        let snapshot = {
            let mut f = figures.lock().unwrap_or_else(|p| p.into_inner());
            f.count(&v);
            f.clone()
        };
        if let Some(kind) = v.finding() {
            let sig = signature(kind, v.detail());
            let mut map = findings.lock().unwrap_or_else(|p| p.into_inner());
            let entry = map.entry(sig).or_insert_with(|| Finding {
                kind,
                detail: v.detail().to_string(),
                count: 0,
                first_case: format!("case {i} of seed {}", cfg.seed),
                files: Vec::new(),
            });
            entry.count += 1;
            if let (Some(out), true) = (&cfg.out, entry.files.len() < FILES_PER_SIGNATURE) {
                let path = write_case(out, format, kind, i, bytes, v.detail(), cfg.seed)?;
                entry.files.push(path);
            }
        }
        if let Some(every) = cfg.progress {
            let mut last = last_progress.lock().unwrap_or_else(|p| p.into_inner());
            if last.elapsed() >= every {
                *last = Instant::now();
                let mut s = snapshot;
                s.wall = start.elapsed();
                eprintln!("[{}] {s}", cfg.format);
            }
        }
        Ok(())
    };
    drive(cfg.cases, cfg.jobs, &cfg.worker_exe, cfg.caps, &make, &done)?;
    let mut figures = figures.into_inner().unwrap_or_else(|p| p.into_inner());
    figures.wall = start.elapsed();
    let findings = findings
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_values()
        .collect();
    Ok((figures, findings))
}

/// Writes a failing input and a note (`.why`) saying what happened and how to make it
/// again.
fn write_case(
    out: &Path,
    format: Format,
    kind: &str,
    case: u64,
    bytes: &[u8],
    detail: &str,
    seed: u64,
) -> Result<PathBuf, CampaignError> {
    let dir = out.join(format.name());
    let hash = blake3::hash(bytes).to_hex();
    let path = dir.join(format!(
        "{kind}-{case:08}-{}.{}",
        &hash[..12],
        format.extension_for(bytes)
    ));
    let io_err = |source, path: &Path| CampaignError::Write {
        path: path.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(&dir).map_err(|e| io_err(e, &dir))?;
    std::fs::write(&path, bytes).map_err(|e| io_err(e, &path))?;
    let note =
        format!("{kind}: {detail}\nfrom: pare-fuzz --format {format} --seed {seed}, case {case}\n");
    let why = path.with_extension(format!("{}.why", format.extension_for(bytes)));
    std::fs::write(&why, note).map_err(|e| io_err(e, &why))?;
    Ok(path)
}

/// The format a regression file is replayed as, from its extension.
pub fn format_of(path: &Path) -> Option<Format> {
    match path.extension()?.to_str()? {
        "onnx" => Some(Format::Onnx),
        "pt2" => Some(Format::Pt2),
        "pir" => Some(Format::Pir),
        "npy" | "npz" => Some(Format::Npy),
        _ => None,
    }
}

/// Replays files through workers under the same caps; each file with its verdict.
pub fn replay_files(
    files: &[PathBuf],
    jobs: usize,
    exe: &Path,
    caps: Caps,
) -> Result<Vec<(PathBuf, Verdict)>, CampaignError> {
    let results: Mutex<Vec<(u64, Verdict)>> = Mutex::new(Vec::new());
    let make = |i: u64| {
        let path = &files[i as usize];
        let bytes = std::fs::read(path).map_err(|source| CampaignError::Read {
            path: path.clone(),
            source,
        })?;
        Ok((format_of(path).unwrap_or(Format::Onnx), bytes))
    };
    let done = |i: u64, _: Format, _: &[u8], v: Verdict| {
        results
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((i, v));
        Ok(())
    };
    drive(files.len() as u64, jobs, exe, caps, &make, &done)?;
    let mut results = results.into_inner().unwrap_or_else(|p| p.into_inner());
    results.sort_by_key(|(i, _)| *i);
    Ok(results
        .into_iter()
        .map(|(i, v)| (files[i as usize].clone(), v))
        .collect())
}

/// Writes `s` and flushes (progress lines and reports).
pub fn print_flush(s: &str) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{s}");
    let _ = out.flush();
}
