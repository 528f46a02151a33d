//! Schedules: the graph's own topological order, or a greedy order that keeps
//! live bytes low.
//!
//! The greedy rule: among the nodes whose inputs are all computed, run the one
//! whose step changes the live bytes least — bytes of the new buffers it
//! defines (views define none) minus bytes of the buffers it reads for the last
//! time — breaking ties by position in the graph order, so the result is
//! deterministic and equals the graph order on a chain. It is a heuristic:
//! it favours finishing a branch that frees memory before starting one that
//! allocates, which is what lowers the peak on branchy graphs; it does not
//! search, so it can lose to the graph order (the planner's `Best` schedule
//! keeps whichever plans smaller).

use super::activations::Activations;
use super::alias::Classes;
use pare_ir::{Graph, NodeId, ValueId};
use std::collections::BTreeSet;

/// The graph's node order.
pub(crate) fn graph_order(g: &Graph) -> Vec<NodeId> {
    g.order().to_vec()
}

/// The greedy order described in the module docs.
pub(crate) fn memory_greedy(g: &Graph, act: &Activations, classes: &Classes) -> Vec<NodeId> {
    let order = g.order();
    let mut pos = vec![usize::MAX; g.node_slots()];
    for (i, &id) in order.iter().enumerate() {
        pos[id.index()] = i;
    }
    // Dependencies between positions, each producer counted once per consumer.
    let mut waiting = vec![0usize; order.len()];
    let mut consumers: Vec<Vec<usize>> = vec![Vec::new(); order.len()];
    // Per class root: consumer nodes not yet run.
    let mut uses_left = vec![0u32; g.value_count()];
    for (i, &id) in order.iter().enumerate() {
        let node = g.node(id);
        let mut producers: Vec<usize> = node
            .present_inputs()
            .filter_map(|v| g.producer(v))
            .map(|p| pos[p.index()])
            .filter(|&p| p != usize::MAX)
            .collect();
        producers.sort_unstable();
        producers.dedup();
        waiting[i] = producers.len();
        for p in producers {
            consumers[p].push(i);
        }
        for c in input_classes(g, act, classes, id) {
            uses_left[c.index()] += 1;
        }
    }
    let mut ready: BTreeSet<usize> = (0..order.len()).filter(|&i| waiting[i] == 0).collect();
    let mut out = Vec::with_capacity(order.len());
    while !ready.is_empty() {
        let mut best: Option<(i128, usize)> = None;
        for &i in &ready {
            let score = delta(g, act, classes, &uses_left, order[i]);
            if best.is_none_or(|(b, _)| score < b) {
                best = Some((score, i));
            }
        }
        let Some((_, i)) = best else { break };
        ready.remove(&i);
        let id = order[i];
        for c in input_classes(g, act, classes, id) {
            uses_left[c.index()] -= 1;
        }
        for &c in &consumers[i] {
            waiting[c] -= 1;
            if waiting[c] == 0 {
                ready.insert(c);
            }
        }
        out.push(id);
    }
    // Only a cyclic graph leaves nodes behind; keep them (in graph order) so
    // liveness reports the broken edge by name.
    if out.len() < order.len() {
        let done: BTreeSet<NodeId> = out.iter().copied().collect();
        out.extend(order.iter().filter(|id| !done.contains(id)));
    }
    out
}

/// The distinct data classes of `id`'s activation inputs, in value order.
fn input_classes(g: &Graph, act: &Activations, classes: &Classes, id: NodeId) -> Vec<ValueId> {
    let mut cs: Vec<ValueId> = g
        .node(id)
        .present_inputs()
        .filter(|&v| act.is_activation(v))
        .map(|v| classes.of(v))
        .collect();
    cs.sort_unstable();
    cs.dedup();
    cs
}

/// Change in arena bytes if `id` ran now: new buffers minus freed ones.
fn delta(g: &Graph, act: &Activations, classes: &Classes, uses_left: &[u32], id: NodeId) -> i128 {
    let in_arena = |c: ValueId| !classes.is_external(act, c);
    let alloc: u64 = g
        .node(id)
        .outputs
        .iter()
        .filter(|&&y| classes.of(y) == y && in_arena(y))
        .map(|&y| act.bytes_of(y))
        .fold(0u64, u64::saturating_add);
    let freed: u64 = input_classes(g, act, classes, id)
        .into_iter()
        .filter(|&c| uses_left[c.index()] == 1 && in_arena(c))
        .filter(|&c| {
            !classes.members[c.index()]
                .iter()
                .any(|m| act.is_output[m.index()])
        })
        .map(|c| act.bytes_of(c))
        .fold(0u64, u64::saturating_add);
    i128::from(alloc) - i128::from(freed)
}
