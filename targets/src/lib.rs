//! pare-targets: what code-generation targets share, starting with the static memory planner.

pub mod plan;
