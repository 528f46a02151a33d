//! pare-passes: graph passes, the pass manager, and the registry of passes and
//! pipelines by name.
//!
//! A pass is a small rewrite over a [`pare_ir::Graph`] that reports whether it
//! changed anything ([`Changed`]); the [`PassManager`] re-infers types and verifies
//! after every change and iterates fixpoint groups until nothing changes.

pub mod cleanup;
pub mod fuse;
pub mod lowrank;
mod manager;
pub mod metrics;
mod pass;
pub mod prune;
pub mod ptq;
pub mod quantize;
pub mod registry;
pub mod share;
mod util;

pub use manager::{PassManager, Pipeline, Step};
pub use pass::{Changed, LogEntry, Pass, PassCx, PassError, PassOptions, ProgressHook};
pub use registry::{
    pass_by_name, pass_from_spec, pass_names, pipeline, pipeline_from_names, pipeline_from_spec,
    pipeline_names, pipeline_or_err, run_pipeline,
};
