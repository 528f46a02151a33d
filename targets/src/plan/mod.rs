//! The static memory planner: a schedule of the graph plus an offset for every
//! activation in one arena, as small as the graph allows, known at compile time.
//!
//! Pipeline (one file each):
//! * `activations`: which values need memory (graph inputs and node outputs,
//!   never weights) and how many bytes (elements × dtype size; shapes must be
//!   static — [`bind_symbols`] binds the batch);
//! * `alias`: views (`reshape` & co.) share their input's bytes; unary
//!   element-wise ops may write over an input that dies at their step;
//! * `schedule`: the graph's order or a memory-greedy one;
//! * `liveness`: each activation's `[first, last]` steps;
//! * `buffers`: data classes and in-place merges become buffers, kernel
//!   workspaces (`PlanOptions::scratch`) buffers of one step;
//! * `place`: offsets by several greedy best-fit/first-fit strategies,
//!   stopping at the lower bound (the peak of aligned live bytes);
//! * `check`: an independent checker, run after every plan in debug builds;
//! * `memory_plan`: the result and its text dump.

mod activations;
mod alias;
mod bind;
mod buffers;
mod check;
mod error;
mod liveness;
mod memory_plan;
mod options;
mod place;
mod schedule;

pub use alias::{in_place_op, is_view_op};
pub use bind::bind_symbols;
pub use check::check_plan;
pub use error::{CheckError, PlanError};
pub use memory_plan::{Buffer, MemoryPlan};
pub use options::{InPlace, IoPlacement, PlanOptions, ScheduleKind};

use activations::Activations;
use alias::Classes;
use memory_plan::checked_align_up;
use pare_ir::{Graph, NodeId, ValueId};

/// Plans `g`'s activations into one arena. `g`'s value shapes must be fully
/// known. Deterministic: the same graph and options give the same plan. In
/// debug builds the plan is verified with [`check_plan`] before it is returned.
pub fn plan_memory(g: &Graph, opts: &PlanOptions) -> Result<MemoryPlan, PlanError> {
    if !opts.alignment.is_power_of_two() {
        return Err(PlanError::BadAlignment(opts.alignment));
    }
    let act = activations::collect(g, opts)?;
    let classes = alias::view_classes(g, &act);
    let plan = match opts.schedule {
        ScheduleKind::GraphOrder => plan_with(g, &act, &classes, schedule::graph_order(g), opts)?,
        ScheduleKind::MemoryGreedy => {
            let order = schedule::memory_greedy(g, &act, &classes);
            plan_with(g, &act, &classes, order, opts)?
        }
        ScheduleKind::Best => {
            let by_graph = plan_with(g, &act, &classes, schedule::graph_order(g), opts)?;
            let order = schedule::memory_greedy(g, &act, &classes);
            let greedy = plan_with(g, &act, &classes, order, opts)?;
            if greedy.arena_bytes < by_graph.arena_bytes {
                greedy
            } else {
                by_graph
            }
        }
    };
    if cfg!(debug_assertions) {
        check_plan(g, &plan, opts)?;
    }
    Ok(plan)
}

/// The memory-greedy node order of `g` (see [`ScheduleKind::MemoryGreedy`]);
/// the options say which inputs/outputs are in the arena.
pub fn memory_greedy_order(g: &Graph, opts: &PlanOptions) -> Result<Vec<NodeId>, PlanError> {
    let act = activations::collect(g, opts)?;
    let classes = alias::view_classes(g, &act);
    Ok(schedule::memory_greedy(g, &act, &classes))
}

/// The activations of `g` that live in caller memory, grouped by the bytes
/// they share: each group is an external graph input or output with the views
/// (reshape & co.) the planner aliased to it, in value order. A code generator
/// points every member of a group at the caller's buffer; see
/// [`MemoryPlan::external`] for the flat list.
pub fn external_groups(g: &Graph, opts: &PlanOptions) -> Result<Vec<Vec<ValueId>>, PlanError> {
    let act = activations::collect(g, opts)?;
    let classes = alias::view_classes(g, &act);
    Ok(classes
        .members
        .iter()
        .filter(|m| m.first().is_some_and(|&r| classes.is_external(&act, r)))
        .cloned()
        .collect())
}

/// Liveness, buffers and placement for one schedule.
fn plan_with(
    g: &Graph,
    act: &Activations,
    classes: &Classes,
    schedule: Vec<NodeId>,
    opts: &PlanOptions,
) -> Result<MemoryPlan, PlanError> {
    let live = liveness::value_liveness(g, act, &schedule)?;
    let (protos, external) = buffers::form(g, act, classes, &live, &schedule, opts);
    let items = protos
        .iter()
        .map(|p| {
            let size = checked_align_up(p.size, opts.alignment).ok_or(PlanError::ArenaOverflow)?;
            Ok(place::Item {
                first: p.first,
                last: p.last,
                size,
            })
        })
        .collect::<Result<Vec<_>, PlanError>>()?;
    let spans: Vec<_> = items
        .iter()
        .map(|it| (it.first, it.last, it.size))
        .collect();
    let lower_bound = liveness::peak(&spans, live.steps);
    let (offsets, arena_bytes) = place::place(&items, lower_bound)?;
    let buffers = protos
        .into_iter()
        .zip(offsets)
        .map(|(p, offset)| Buffer {
            values: p.values,
            offset,
            size: p.size,
            first: p.first,
            last: p.last,
            scratch: p.scratch,
        })
        .collect();
    Ok(MemoryPlan {
        arena_bytes,
        lower_bound,
        alignment: opts.alignment,
        buffers,
        schedule,
        external,
    })
}
