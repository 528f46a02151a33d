//! pare-passes: graph passes, the pass manager, and the registry of passes and
//! pipelines by name.
//!
//! A pass is a small rewrite over a [`pare_ir::Graph`] that reports whether it
//! changed anything ([`Changed`]); the [`PassManager`] re-infers types and verifies
//! after every change and iterates fixpoint groups until nothing changes.

pub mod cleanup;
mod manager;
mod pass;
pub mod quantize;
mod registry;
mod util;

pub use manager::{PassManager, Pipeline, Step};
pub use pass::{Changed, LogEntry, Pass, PassCx, PassError, PassOptions};
pub use registry::{
    pass_by_name, pass_names, pipeline, pipeline_from_names, pipeline_names, pipeline_or_err,
    run_pipeline,
};
