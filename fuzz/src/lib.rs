//! pare-fuzz: a mutation campaign over pare's readers. Seed files (the shared fixtures,
//! the filetests' textual IR, small files generated here) are mutated — bytes flipped,
//! truncated, spliced; ONNX protobuf fields edited; `.pt2` zip entries and `model.json`
//! fields changed — and each case goes through import → verify → shape inference →
//! interpreter (small inputs, bounded MACs) in a child worker process.
//!
//! # Why child processes
//!
//! The caps have to hold whatever the code under test does, so each case runs in a
//! worker (this binary with `--worker`, fed cases over stdin) rather than a thread:
//!
//! * a **hang** is a worker that has not answered by the deadline: the parent kills the
//!   process and starts a new one. A thread stuck in a loop cannot be stopped, and would
//!   keep a core busy for the rest of the campaign;
//! * **memory** is capped by a counting global allocator in the worker ([`alloc_cap`]):
//!   an allocation that would take live heap bytes past the cap ends the worker at once
//!   with a dedicated exit code, before the bytes are touched, so an over-cap case is
//!   told apart from a crash and never pushes the machine into swap. `RLIMIT_AS` is set
//!   as well, as a backstop for memory the allocator does not see (mappings);
//! * a **panic** is caught with `catch_unwind` and reported with its message and place;
//!   a **crash** (abort, stack overflow, signal) only ends the worker, and the parent
//!   records it.
//!
//! Workers live across cases (a process per case would cost more than most cases), so
//! a campaign of a million cases spends its time in pare, not in `fork`.
//!
//! Every case is derived from `(seed, case index)` alone, so a campaign is deterministic
//! for a seed whatever `--jobs` is, and a failing case is written to `--out` under a name
//! holding its index and content hash.

pub mod alloc_cap;
pub mod campaign;
pub mod format;
pub mod generate;
pub mod mutate;
pub mod pipeline;
pub mod protocol;
pub mod seeds;
pub mod worker;

pub use campaign::{
    format_of, replay_files, run_campaign, CampaignConfig, Caps, Figures, Finding, Verdict,
};
pub use format::Format;
pub use pipeline::{run_case, CaseResult};
