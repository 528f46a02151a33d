//! Passes and pipelines by name, for the CLI (`--passes SPEC`, `--pipeline x`),
//! `pare compile` and filetest headers.
//!
//! A spec is a list of `name` or `name{key=value,...}` ([`spec`]); every pass
//! is one row of the table ([`table::PASSES`]) with typed options
//! ([`options`]). Unknown passes, unknown options and bad values are errors
//! that list what is known.

mod options;
mod spec;
mod table;

pub use options::{OptionSpec, OptionType, OptionValue, Options};
pub use spec::{parse_spec, PassSpec};
pub use table::{pass_info, Build, PassInfo, PASSES};

use crate::{Pass, PassError, Pipeline, Step};
use std::sync::LazyLock;

/// One registered pipeline.
#[derive(Clone, Copy, Debug)]
pub struct PipelineInfo {
    pub name: &'static str,
    pub help: &'static str,
    /// The passes it runs, as a spec (`(…)*`: iterated to a fixpoint).
    pub shape: &'static str,
}

/// Every pipeline, sorted by name.
pub const PIPELINES: &[PipelineInfo] = &[
    PipelineInfo {
        name: "cleanup",
        help: "the declutter every model gets after import, iterated until nothing changes",
        shape: "(remove-identity,fold-constants,fold-shapes,keep-reduced-dims,fold-batchnorm,fold-affine,dce)*,(fuse-layer-norm,fuse-gelu,fuse-softmax,fuse-activations,dce)*",
    },
    PipelineInfo {
        name: "prepare-int",
        help: "float rewrites that make integer quantization more accurate (exact in float)",
        shape: "fuse-matmul-bias,dce",
    },
];

static PASS_NAMES: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| PASSES.iter().map(|p| p.name).collect());
static PIPELINE_NAMES: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| PIPELINES.iter().map(|p| p.name).collect());

/// Every registered pass name, sorted.
pub fn pass_names() -> &'static [&'static str] {
    &PASS_NAMES
}

/// Every registered pipeline name, sorted.
pub fn pipeline_names() -> &'static [&'static str] {
    &PIPELINE_NAMES
}

/// A fresh instance of the pass called `name` with its default options;
/// `None` for an unknown name or a pass with a required option (use
/// [`pass_from_spec`] to hear why).
pub fn pass_by_name(name: &str) -> Option<Box<dyn Pass>> {
    pass_from_spec(&PassSpec {
        name: name.to_string(),
        args: Vec::new(),
    })
    .ok()
}

/// The pass a spec item names, built with its options.
pub fn pass_from_spec(s: &PassSpec) -> Result<Box<dyn Pass>, PassError> {
    let info = pass_info(&s.name).ok_or_else(|| PassError::UnknownPass {
        name: s.name.clone(),
        known: pass_names().join(", "),
    })?;
    let opts = Options::parse(info.name, info.options, &s.args)?;
    (info.build)(&opts)
}

/// A pipeline running the passes of `spec` once each, in order
/// (`fold-constants,quantize{scheme=int8,calib=c.npz:x}`).
pub fn pipeline_from_spec(spec: &str) -> Result<Pipeline, PassError> {
    let items = parse_spec(spec)?;
    let steps = items
        .iter()
        .map(|s| pass_from_spec(s).map(Step::Once))
        .collect::<Result<Vec<_>, _>>()?;
    let name = items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    Ok(Pipeline::new(name, steps))
}

/// A pipeline running the named passes once each, in order (`--passes a,b,c`).
pub fn pipeline_from_names(names: &[&str]) -> Result<Pipeline, PassError> {
    pipeline_from_spec(&names.join(","))
}

fn passes(names: &[&str]) -> Option<Vec<Box<dyn Pass>>> {
    names.iter().map(|n| pass_by_name(n)).collect()
}

/// The pipeline called `name`.
///
/// `cleanup` iterates identity removal, constant and shape folding, kept
/// reduced dims, BN folding and dead-code elimination to a fixpoint: each can
/// expose work for the others (a folded shape chain leaves dead `Shape` nodes;
/// a removed identity can put a conv right before its batch norm; a reshape
/// folded to a constant target can restore reduced dims, whose keeping leaves
/// a no-op `Expand`). Then written-out LayerNorm, GELU,
/// Softmax and activations become single ops: only after the folding has
/// settled, so a pattern is matched with all its constants folded (a scale
/// reshaped by a shape chain, a computed √(2/π)) and never in part.
/// `prepare-int` moves `nn.Linear`-style
/// biases into a Gemm's int32 accumulator.
pub fn pipeline(name: &str) -> Option<Pipeline> {
    match name {
        "cleanup" => Some(Pipeline::new(
            "cleanup",
            vec![
                Step::Fixpoint(passes(&[
                    "remove-identity",
                    "fold-constants",
                    "fold-shapes",
                    "keep-reduced-dims",
                    "fold-batchnorm",
                    "fold-affine",
                    "dce",
                ])?),
                Step::Fixpoint(passes(&[
                    "fuse-layer-norm",
                    "fuse-gelu",
                    "fuse-softmax",
                    "fuse-activations",
                    "dce",
                ])?),
            ],
        )),
        "prepare-int" => Some(Pipeline::new(
            "prepare-int",
            passes(&["fuse-matmul-bias", "dce"])?
                .into_iter()
                .map(Step::Once)
                .collect(),
        )),
        _ => None,
    }
}

/// A named pipeline by name, or an error listing the known ones.
pub fn pipeline_or_err(name: &str) -> Result<Pipeline, PassError> {
    pipeline(name).ok_or_else(|| PassError::UnknownPipeline {
        name: name.to_string(),
        known: pipeline_names().join(", "),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_build_pipelines_and_errors_list_what_is_known() {
        let p = pipeline_from_spec("fold-constants,quantize{scheme=fp16},dce").unwrap();
        assert_eq!(p.steps.len(), 3);
        assert_eq!(p.name, "fold-constants,quantize{scheme=fp16},dce");
        let e = pipeline_from_spec("fold-constant").unwrap_err().to_string();
        assert!(
            e.contains("unknown pass `fold-constant`") && e.contains("fold-constants"),
            "{e}"
        );
        let e = pipeline_from_spec("dce{x=1}").unwrap_err().to_string();
        assert!(e.contains("has no option `x`") && e.contains("none"), "{e}");
        let e = pipeline_from_spec("quantize{scheme=int3}")
            .unwrap_err()
            .to_string();
        assert!(e.contains("int8, int4, fp16"), "{e}");
        let e = pipeline_from_spec("quantize{calib=random:x:1}")
            .unwrap_err()
            .to_string();
        assert!(e.contains("random:N:SEED"), "{e}");
        let e = pipeline_from_spec("mixed-precision")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`budget`") && e.contains("no default"), "{e}");
    }

    #[test]
    fn every_pipeline_in_the_table_builds() {
        for p in PIPELINES {
            assert!(pipeline(p.name).is_some(), "{}", p.name);
        }
    }
}
