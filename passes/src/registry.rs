//! Passes and pipelines by name, for the CLI (`--passes a,b,c`, `--pipeline x`)
//! and filetest headers.

use crate::cleanup::{Dce, FoldBatchNorm, FoldConstants, FoldShapes, RemoveIdentity};
use crate::{Pass, PassError, Pipeline, Step};

const PASS_NAMES: &[&str] = &[
    "dce",
    "fold-batchnorm",
    "fold-constants",
    "fold-shapes",
    "fuse-matmul-bias",
    "raise-qdq",
    "remove-identity",
];

const PIPELINE_NAMES: &[&str] = &["cleanup"];

/// Every registered pass name, sorted.
pub fn pass_names() -> &'static [&'static str] {
    PASS_NAMES
}

/// Every registered pipeline name, sorted.
pub fn pipeline_names() -> &'static [&'static str] {
    PIPELINE_NAMES
}

/// A fresh instance of the pass called `name`.
pub fn pass_by_name(name: &str) -> Option<Box<dyn Pass>> {
    Some(match name {
        "dce" => Box::new(Dce),
        "fold-batchnorm" => Box::new(FoldBatchNorm),
        "fold-constants" => Box::new(FoldConstants),
        "fold-shapes" => Box::new(FoldShapes),
        "fuse-matmul-bias" => Box::new(crate::cleanup::FuseMatmulBias),
        "raise-qdq" => Box::new(crate::quantize::raise_qdq::RaiseQdq),
        "remove-identity" => Box::new(RemoveIdentity),
        _ => return None,
    })
}

/// The pipeline called `name`.
///
/// `cleanup` iterates identity removal, constant and shape folding, BN folding and
/// dead-code elimination to a fixpoint: each can expose work for the others
/// (a folded shape chain leaves dead `Shape` nodes; a removed identity can put a
/// conv right before its batch norm).
pub fn pipeline(name: &str) -> Option<Pipeline> {
    match name {
        "cleanup" => Some(Pipeline::new(
            "cleanup",
            vec![Step::Fixpoint(passes(&[
                "remove-identity",
                "fold-constants",
                "fold-shapes",
                "fold-batchnorm",
                "dce",
            ])?)],
        )),
        _ => None,
    }
}

/// A pipeline running the named passes once each, in order (`--passes a,b,c`).
pub fn pipeline_from_names(names: &[&str]) -> Result<Pipeline, PassError> {
    let mut steps = Vec::with_capacity(names.len());
    for &name in names {
        let p = pass_by_name(name).ok_or_else(|| PassError::UnknownPass {
            name: name.to_string(),
            known: PASS_NAMES.join(", "),
        })?;
        steps.push(Step::Once(p));
    }
    Ok(Pipeline::new(names.join(","), steps))
}

fn passes(names: &[&str]) -> Option<Vec<Box<dyn Pass>>> {
    names.iter().map(|n| pass_by_name(n)).collect()
}

/// A named pipeline by name, or an error listing the known ones.
pub fn pipeline_or_err(name: &str) -> Result<Pipeline, PassError> {
    pipeline(name).ok_or_else(|| PassError::UnknownPipeline {
        name: name.to_string(),
        known: PIPELINE_NAMES.join(", "),
    })
}

/// Runs the named pipeline over `g` with default options (the convenience entry
/// point for tests and library users; the CLI builds its own manager for hooks).
pub fn run_pipeline(g: &mut pare_ir::Graph, name: &str) -> Result<crate::Changed, PassError> {
    let mut p = pipeline_or_err(name)?;
    crate::PassManager::new().run(
        &mut p,
        g,
        &mut crate::PassCx::new(crate::PassOptions::default()),
    )
}
