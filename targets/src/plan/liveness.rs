//! Liveness: the steps over which each activation must keep its bytes, and the
//! peak of live bytes over steps (the placement's lower bound).
//!
//! Step `s` runs `schedule[s]`. A node output is live from the step that
//! defines it to the last step that reads it; a graph input from step 0; a
//! graph output to the last step (the caller reads it after the run); an unused
//! output only at its own step (the kernel still writes it). A node's inputs
//! and outputs are all live at its step, so an output never shares bytes with
//! an input unless an alias rule says so.

use super::activations::{label, Activations};
use super::PlanError;
use pare_ir::{Graph, NodeId, ValueId};

/// Per-value live intervals `[first, last]`, indexed by `ValueId::index()`
/// (meaningful for activations only).
#[derive(Debug)]
pub(crate) struct Liveness {
    pub first: Vec<usize>,
    pub last: Vec<usize>,
    /// Number of steps: the schedule's length, at least 1 (a graph with no
    /// nodes still holds its inputs for one step).
    pub steps: usize,
}

/// Live intervals of every activation under `schedule`, which must define each
/// activation before a node reads it.
pub(crate) fn value_liveness(
    g: &Graph,
    act: &Activations,
    schedule: &[NodeId],
) -> Result<Liveness, PlanError> {
    let n = g.value_count();
    let steps = schedule.len().max(1);
    let mut first = vec![0; n];
    let mut last = vec![0; n];
    let mut defined = act.is_input.clone();
    for (s, &id) in schedule.iter().enumerate() {
        let node = g.node(id);
        for v in node.present_inputs().filter(|&v| act.is_activation(v)) {
            if !defined[v.index()] {
                return Err(PlanError::Unordered {
                    node: node_label(g, id),
                    value: label(g, v),
                });
            }
            last[v.index()] = s;
        }
        for &v in &node.outputs {
            first[v.index()] = s;
            last[v.index()] = s;
            defined[v.index()] = true;
        }
    }
    for &v in &g.outputs {
        if act.is_activation(v) {
            last[v.index()] = steps - 1;
        }
    }
    Ok(Liveness { first, last, steps })
}

/// A node's name for messages: its source name, or `#index`.
pub(crate) fn node_label(g: &Graph, id: NodeId) -> String {
    let name = &g.node(id).name;
    if name.is_empty() {
        format!("#{}", id.0)
    } else {
        name.clone()
    }
}

/// The union of the members' intervals (members of one class are contiguous:
/// a view is defined at a step that reads its source).
pub(crate) fn span(live: &Liveness, members: &[ValueId]) -> (usize, usize) {
    let first = members.iter().map(|v| live.first[v.index()]).min();
    let last = members.iter().map(|v| live.last[v.index()]).max();
    (first.unwrap_or(0), last.unwrap_or(0))
}

/// Max over steps of the total bytes of the intervals live at that step
/// (`items` are `(first, last, bytes)` with `last < steps`). Saturates.
pub(crate) fn peak(items: &[(usize, usize, u64)], steps: usize) -> u64 {
    let mut at = vec![0u64; steps.max(1)];
    let end = at.len() - 1;
    for &(first, last, bytes) in items {
        if first <= last.min(end) {
            for slot in &mut at[first..=last.min(end)] {
                *slot = slot.saturating_add(bytes);
            }
        }
    }
    at.into_iter().max().unwrap_or(0)
}
