//! pare-targets: what code-generation targets share (the static memory planner) and the
//! RP2040 target.

pub mod plan;
pub mod rp2040;
