//! `pare check MODEL --target tensorrt`: TensorRT's explicit-quantization rules
//! checked on an ONNX file as written (see `pare_onnx::check_tensorrt`). Every rule
//! is printed with what it asks and the nodes that break it; a broken rule is
//! exit 1, so a build step can gate on it.

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use serde_json::json;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CheckTarget {
    /// TensorRT's explicit quantization (Q/DQ ONNX).
    Tensorrt,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The ONNX file to check.
    pub model: PathBuf,
    /// Whose rules to check.
    #[arg(long, value_enum)]
    pub target: CheckTarget,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

pub fn check(a: &CheckArgs) -> Result<()> {
    if a.model.extension().and_then(|e| e.to_str()) != Some("onnx") {
        bail!("{}: pare check reads .onnx files", a.model.display());
    }
    let bytes =
        std::fs::read(&a.model).with_context(|| format!("reading {}", a.model.display()))?;
    let base = a.model.parent();
    let rules = pare_onnx::check_tensorrt(&bytes, base)
        .map_err(|e| anyhow::anyhow!("{}: {e}", a.model.display()))?;
    let broken = rules.iter().filter(|r| !r.violations.is_empty()).count();
    if a.json {
        let out = json!({
            "model": a.model.display().to_string(),
            "target": "tensorrt",
            "passed": broken == 0,
            "rules": rules.iter().map(|r| json!({
                "rule": r.rule,
                "statement": r.statement,
                "passed": r.violations.is_empty(),
                "violations": r.violations.iter().map(|v| json!({
                    "node": v.node, "op": v.op, "why": v.why,
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for r in &rules {
            let mark = if r.violations.is_empty() {
                "ok  "
            } else {
                "FAIL"
            };
            println!("{mark} {}: {}", r.rule, r.statement);
            for v in &r.violations {
                println!("       {} `{}`: {}", v.op, v.node, v.why);
            }
        }
    }
    if broken > 0 {
        bail!(
            "{}: {broken} of {} TensorRT rules broken (named above)",
            a.model.display(),
            rules.len()
        );
    }
    Ok(())
}
