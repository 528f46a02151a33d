//! pare-targets: code-generation targets and what they share: the static memory
//! planner (`plan`) and the RP2040 int8 C target (`rp2040`).

pub mod plan;
pub mod rp2040;
