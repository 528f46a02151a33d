//! `pare opt`: run named passes or a pipeline and write the result.

use crate::model_io;
use anyhow::{Context, Result};
use pare_passes::{PassCx, PassManager, PassOptions};
use std::io::Write;
use std::path::Path;

pub fn list() -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "passes:")?;
    for name in pare_passes::pass_names() {
        writeln!(out, "  {name}")?;
    }
    writeln!(out, "pipelines:")?;
    for name in pare_passes::pipeline_names() {
        writeln!(out, "  {name}")?;
    }
    Ok(())
}

pub fn opt(
    input: &Path,
    passes: &[String],
    pipeline: Option<&str>,
    print_after_all: bool,
    output: &Path,
) -> Result<()> {
    model_io::format_of(output)?;
    // Resolve names before loading: a typo should not wait for a big model.
    let mut pipeline = if passes.is_empty() {
        pare_passes::pipeline_or_err(pipeline.unwrap_or("cleanup"))?
    } else {
        let names: Vec<&str> = passes.iter().map(String::as_str).collect();
        pare_passes::pipeline_from_names(&names)?
    };
    let mut g = model_io::load(input)?;
    // The CLI always verifies: a pass bug must stop the compile, not ship.
    let mut cx = PassCx::new(PassOptions {
        verify: true,
        ..PassOptions::default()
    });
    let mut manager = PassManager::new();
    if print_after_all {
        manager = manager.print_after_all(|name, g| {
            eprintln!("; after {name}\n{}", pare_ir::text::print_elided(g));
        });
    }
    manager
        .run(&mut pipeline, &mut g, &mut cx)
        .with_context(|| format!("{}", input.display()))?;
    model_io::save(&g, output)
}
