//! `pare opt`: run a pass spec or a named pipeline and write the result;
//! `--list [--json]` describes every pass with its options, and the pipelines.

use crate::model_io;
use anyhow::{Context, Result};
use pare_passes::registry::{PASSES, PIPELINES};
use pare_passes::{PassCx, PassManager, PassOptions};
use std::io::Write;
use std::path::PathBuf;

/// `pare opt`'s command line.
#[derive(clap::Args, Debug)]
pub struct OptArgs {
    /// Input model (.onnx, .pt2 or .pir).
    #[arg(required_unless_present = "list")]
    pub input: Option<PathBuf>,
    /// Passes to run once each, in order: `name` or `name{key=value,...}`,
    /// comma-separated (e.g. 'fold-constants,quantize{scheme=int8,calib=c.npz:x}'; see --list).
    #[arg(long, value_name = "SPEC", conflicts_with = "pipeline")]
    pub passes: Option<String>,
    /// A named pipeline (default: cleanup).
    #[arg(long)]
    pub pipeline: Option<String>,
    /// Print the graph (textual IR, weights elided) to stderr after every pass.
    #[arg(long)]
    pub print_after_all: bool,
    /// Print what each pass did (its notes) to stderr.
    #[arg(short, long)]
    pub verbose: bool,
    /// List the passes (with their options) and pipelines and exit.
    #[arg(long, conflicts_with_all = ["input", "output", "passes", "pipeline", "print_after_all"])]
    pub list: bool,
    /// With --list: print one JSON object.
    #[arg(long, requires = "list")]
    pub json: bool,
    /// Output model (.onnx or .pir).
    #[arg(short = 'o', long = "output", required_unless_present = "list")]
    pub output: Option<PathBuf>,
}

pub fn opt(a: &OptArgs) -> Result<()> {
    if a.list {
        return if a.json { list_json() } else { list() };
    }
    // clap enforces both unless --list is given.
    let (Some(input), Some(output)) = (&a.input, &a.output) else {
        anyhow::bail!("pare opt needs an input model and -o OUTPUT");
    };
    model_io::format_of(output)?;
    // Resolve names and options before loading: a typo should not wait for a big model.
    let mut pipeline = match &a.passes {
        Some(spec) => pare_passes::pipeline_from_spec(spec)?,
        None => pare_passes::pipeline_or_err(a.pipeline.as_deref().unwrap_or("cleanup"))?,
    };
    let mut g = model_io::load(input)?;
    // The CLI always verifies: a pass bug must stop the compile, not ship.
    let mut cx = PassCx::new(PassOptions {
        verify: true,
        ..PassOptions::default()
    });
    let mut manager = PassManager::new();
    if a.print_after_all {
        manager = manager.print_after_all(print_after);
    }
    manager
        .run(&mut pipeline, &mut g, &mut cx)
        .with_context(|| format!("{}", input.display()))?;
    if a.verbose {
        for e in &cx.log {
            eprintln!("{}: {}", e.pass, e.message);
        }
    }
    model_io::save(&g, output)
}

/// The `--print-after-all` hook: the graph after `pass`, to stderr.
pub fn print_after(pass: &str, g: &pare_ir::Graph) {
    eprintln!("; after {pass}\n{}", pare_ir::text::print_elided(g));
}

fn list() -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "passes:")?;
    for p in PASSES {
        writeln!(out, "  {:<18} {}", p.name, p.help)?;
        for o in p.options {
            let default = o.default.map_or("(none)".to_string(), |d| format!("= {d}"));
            writeln!(
                out,
                "      {}: {} {default}  {}",
                o.name,
                o.ty.describe(),
                o.help
            )?;
        }
    }
    writeln!(out, "pipelines:")?;
    for p in PIPELINES {
        writeln!(out, "  {:<18} {}  {}", p.name, p.shape, p.help)?;
    }
    Ok(())
}

fn list_json() -> Result<()> {
    let passes: Vec<serde_json::Value> = PASSES
        .iter()
        .map(|p| {
            serde_json::json!({
                "name": p.name,
                "help": p.help,
                "options": p.options.iter().map(|o| serde_json::json!({
                    "name": o.name,
                    "type": o.ty.describe(),
                    "default": o.default,
                    "help": o.help,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let pipelines: Vec<serde_json::Value> = PIPELINES
        .iter()
        .map(|p| serde_json::json!({"name": p.name, "help": p.help, "passes": p.shape}))
        .collect();
    let v = serde_json::json!({"passes": passes, "pipelines": pipelines});
    println!("{}", serde_json::to_string_pretty(&v)?);
    Ok(())
}
