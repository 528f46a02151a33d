//! `pare-fuzz`: runs a mutation campaign (see the crate docs), replays regression
//! cases, or — with `--worker` — serves cases to a campaign over stdin.

use anyhow::{Context, Result};
use clap::Parser;
use pare_fuzz::alloc_cap::CappedAlloc;
use pare_fuzz::campaign::print_flush;
use pare_fuzz::{seeds, CampaignConfig, Caps, Format};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[global_allocator]
static ALLOC: CappedAlloc = CappedAlloc;

/// Mutation campaign over pare's readers: import → verify → shape inference →
/// interpreter, every case in a worker process with a time and a memory cap.
#[derive(Parser, Debug)]
#[command(name = "pare-fuzz")]
struct Args {
    /// Formats to mutate: onnx, pt2, pir, npy, a comma-separated list, or `all`.
    #[arg(long, default_value = "all")]
    format: String,
    /// Cases per format.
    #[arg(long, default_value_t = 1000)]
    cases: u64,
    /// Campaign seed: the same seed gives the same cases.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Worker processes (default: the cores available).
    #[arg(long)]
    jobs: Option<usize>,
    /// Folder for failing inputs (`<out>/<format>/<kind>-<case>-<hash>.<ext>` and a
    /// `.why` note beside each).
    #[arg(long)]
    out: Option<PathBuf>,
    /// A case that has not finished after this many milliseconds is a hang.
    #[arg(long, default_value_t = 5000)]
    time_cap_ms: u64,
    /// A case whose live heap goes past this many MiB is an over-cap allocation.
    #[arg(long, default_value_t = 1024)]
    mem_cap_mb: u64,
    /// The shared fixtures (default: $PARE_FIXTURES, or the nearest shared/fixtures
    /// above the current folder or the source tree).
    #[arg(long)]
    fixtures: Option<PathBuf>,
    /// The textual IR seeds (default: tests/filetests of the source tree).
    #[arg(long)]
    filetests: Option<PathBuf>,
    /// Progress on stderr every this many seconds (0: none).
    #[arg(long, default_value_t = 30)]
    progress_secs: u64,
    /// Replay every case file under this folder instead of mutating (exit 1 on any
    /// finding).
    #[arg(long)]
    replay: Option<PathBuf>,
    /// Also print the most common clean errors, this many (to tune mutations).
    #[arg(long, default_value_t = 0)]
    top_errors: usize,
    /// Serve cases on stdin (used by the campaign itself).
    #[arg(long, hide = true)]
    worker: bool,
}

fn main() -> Result<ExitCode> {
    let args = Args::parse();
    if args.worker {
        pare_fuzz::worker::serve(args.mem_cap_mb).context("worker")?;
        return Ok(ExitCode::SUCCESS);
    }
    let exe = std::env::current_exe().context("locating the pare-fuzz binary")?;
    let caps = Caps {
        time: Duration::from_millis(args.time_cap_ms),
        mem_mb: args.mem_cap_mb,
    };
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if let Some(dir) = &args.replay {
        return replay(dir, jobs, &exe, caps);
    }
    let formats = parse_formats(&args.format)?;
    let fixtures = match &args.fixtures {
        Some(f) => f.clone(),
        None => default_fixtures()?,
    };
    let filetests = args.filetests.clone().unwrap_or_else(seeds::filetests_dir);
    let mut failures = 0;
    for format in formats {
        let pool = seeds::load(format, &fixtures, &filetests)?;
        let cfg = CampaignConfig {
            format,
            cases: args.cases,
            seed: args.seed,
            jobs,
            out: args.out.clone(),
            caps,
            worker_exe: exe.clone(),
            progress: (args.progress_secs > 0).then(|| Duration::from_secs(args.progress_secs)),
        };
        let (figures, findings) = pare_fuzz::run_campaign(&cfg, &pool)?;
        print_flush(&format!(
            "{format}: {figures} [{} seeds, seed {}, {jobs} jobs, caps {} ms / {} MiB]",
            pool.len(),
            args.seed,
            args.time_cap_ms,
            args.mem_cap_mb
        ));
        let mut kinds: Vec<_> = figures.error_kinds.iter().collect();
        kinds.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (kind, n) in kinds.into_iter().take(args.top_errors) {
            print_flush(&format!("  {n:>7}  {kind}"));
        }
        for f in &findings {
            print_flush(&format!(
                "  {} ×{} ({}): {}",
                f.kind,
                f.count,
                f.first_case,
                f.detail.lines().take(3).collect::<Vec<_>>().join(" | ")
            ));
            for p in &f.files {
                print_flush(&format!("    {}", p.display()));
            }
        }
        failures += figures.failures();
    }
    Ok(exit_code(failures, "failing cases"))
}

/// Findings make the run fail (exit 1) without an error trace: the report is above.
fn exit_code(failures: u64, what: &str) -> ExitCode {
    if failures > 0 {
        eprintln!("pare-fuzz: {failures} {what}");
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn replay(dir: &Path, jobs: usize, exe: &Path, caps: Caps) -> Result<ExitCode> {
    let files: Vec<PathBuf> = seeds::files_with(dir, &["onnx", "pt2", "pir", "npy", "npz"], true)?;
    let results = pare_fuzz::replay_files(&files, jobs, exe, caps)?;
    let mut failures = 0;
    for (path, verdict) in &results {
        let kind = verdict.finding().unwrap_or("ok");
        if verdict.finding().is_some() {
            failures += 1;
        }
        print_flush(&format!("{kind}: {}: {}", path.display(), verdict.detail()));
    }
    Ok(exit_code(
        failures,
        &format!("of {} regression cases fail", results.len()),
    ))
}

fn parse_formats(s: &str) -> Result<Vec<Format>> {
    if s == "all" {
        return Ok(Format::ALL.to_vec());
    }
    s.split(',')
        .map(|f| {
            Format::parse(f.trim())
                .with_context(|| format!("unknown format `{f}` (onnx, pt2, pir, npy or all)"))
        })
        .collect()
}

fn default_fixtures() -> Result<PathBuf> {
    seeds::fixtures_dir().context(
        "no shared/fixtures above the current folder or the source tree (give --fixtures or set PARE_FIXTURES)",
    )
}
