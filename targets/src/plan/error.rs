//! Planner errors ([`PlanError`]) and the checker's findings ([`CheckError`]);
//! every message names the value, node or buffer concerned.

use pare_ir::infer::InferError;

/// Why a graph could not be planned.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    #[error(
        "value `{value}` has the symbolic type {ty}: bind the symbols first (e.g. batch = 1 with `bind_symbols`)"
    )]
    SymbolicShape { value: String, ty: String },
    #[error("value `{value}` ({ty}) does not fit in a 64-bit byte count")]
    TooLarge { value: String, ty: String },
    #[error("alignment {0} is not a power of two")]
    BadAlignment(u64),
    #[error("malformed graph: {0}")]
    Malformed(String),
    #[error("binding symbols: {0}")]
    Bind(#[from] InferError),
    #[error("the arena would exceed 2^64 bytes")]
    ArenaOverflow,
    #[error("node `{node}` uses value `{value}`, which no earlier node defines")]
    Unordered { node: String, value: String },
    #[error("the plan fails its own check (a planner bug): {0}")]
    Check(#[from] CheckError),
}

/// A rule a [`super::MemoryPlan`] breaks (see [`super::check_plan`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    #[error("alignment {0} is not a power of two")]
    BadAlignment(u64),
    #[error("malformed graph: {0}")]
    Malformed(String),
    #[error("the plan says alignment {plan} but the options ask for {options}")]
    AlignmentMismatch { plan: u64, options: u64 },
    #[error("value `{0}` has no static byte size")]
    Unsized(String),
    #[error("the schedule {0}")]
    Schedule(String),
    #[error("node `{node}` runs at step {step} but reads `{value}`, defined at a later step or not at all")]
    NotTopological {
        node: String,
        step: usize,
        value: String,
    },
    #[error("activation `{0}` is in no buffer and not external")]
    Unplaced(String),
    #[error("value `{0}` is in more than one buffer")]
    PlacedTwice(String),
    #[error("value `{0}` is in a buffer but is not an activation planned in the arena (a weight, an external input/output, or unused)")]
    NotPlanned(String),
    #[error("value `{0}` is listed as external but the options place it in the arena")]
    WrongExternal(String),
    #[error("buffer {buffer}: offset {offset} is not a multiple of {alignment}")]
    Misaligned {
        buffer: usize,
        offset: u64,
        alignment: u64,
    },
    #[error("buffer {buffer}: {size} bytes, but `{value}` needs {needed}")]
    TooSmall {
        buffer: usize,
        value: String,
        size: u64,
        needed: u64,
    },
    #[error("buffer {buffer}: ends at byte {end}, past the arena's {arena}")]
    OutOfArena { buffer: usize, end: u64, arena: u64 },
    #[error("buffer {buffer}: steps [{first}, {last}] do not cover `{value}`, live over [{vfirst}, {vlast}] (of {steps} steps)")]
    NotCovered {
        buffer: usize,
        value: String,
        first: usize,
        last: usize,
        vfirst: usize,
        vlast: usize,
        steps: usize,
    },
    #[error("`{a}` and `{b}` overlap in memory (bytes [{lo}, {hi})) while both are live (steps [{first}, {last}])")]
    Overlap {
        a: String,
        b: String,
        lo: u64,
        hi: u64,
        first: usize,
        last: usize,
    },
    #[error("kernel workspace of {node}: {why}")]
    Scratch { node: String, why: String },
    #[error("lower bound is {stated} but the buffers give {actual}")]
    LowerBound { stated: u64, actual: u64 },
    #[error("arena {arena} is below the lower bound {lower_bound}")]
    BelowBound { arena: u64, lower_bound: u64 },
}
