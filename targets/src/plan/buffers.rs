//! Buffers: one per data class in the arena, then merged where a node computes
//! in place (its input's buffer dies at its step and its output takes it over), plus
//! one buffer for each node's kernel workspace, live at its step only.

use super::activations::Activations;
use super::alias::{in_place_source, Classes};
use super::liveness::{span, Liveness};
use super::{InPlace, PlanOptions};
use pare_ir::{Graph, Node, NodeId, ValueId};

/// A buffer before placement.
#[derive(Debug, Clone)]
pub(crate) struct Proto {
    /// Every value stored in it, in id order.
    pub values: Vec<ValueId>,
    pub size: u64,
    pub first: usize,
    pub last: usize,
    /// The node whose kernel workspace this is (no values).
    pub scratch: Option<NodeId>,
}

/// The arena's buffers (ordered by first step, then first value) and the
/// activations left to the caller's memory (in id order).
pub(crate) fn form(
    g: &Graph,
    act: &Activations,
    classes: &Classes,
    live: &Liveness,
    schedule: &[NodeId],
    opts: &PlanOptions,
) -> (Vec<Proto>, Vec<ValueId>) {
    let n = g.value_count();
    let mut bufs: Vec<Option<Proto>> = Vec::new();
    // Buffer of each value (by index); `None` for external and non-activations.
    let mut buf_of: Vec<Option<usize>> = vec![None; n];
    let mut external = Vec::new();
    for (i, members) in classes.members.iter().enumerate() {
        let Some(&r) = members.first() else { continue };
        debug_assert_eq!(classes.of(r).index(), i);
        if classes.is_external(act, r) {
            external.extend(members.iter().copied());
            continue;
        }
        let (first, last) = span(live, members);
        for m in members {
            buf_of[m.index()] = Some(bufs.len());
        }
        bufs.push(Some(Proto {
            values: members.clone(),
            size: act.bytes_of(r),
            first,
            last,
            scratch: None,
        }));
    }
    if opts.in_place == InPlace::UnaryElementwise {
        for (s, &id) in schedule.iter().enumerate() {
            let node = g.node(id);
            let Some(x) = in_place_source(g, node, act) else {
                continue;
            };
            let (Some(bx), Some(by)) = (buf_of[x.index()], buf_of[node.outputs[0].index()]) else {
                continue;
            };
            if bx == by || !can_take_over(act, bufs[bx].as_ref(), &buf_of, bx, node, x, s) {
                continue;
            }
            let Some(taken) = bufs[by].take() else {
                continue;
            };
            for v in &taken.values {
                buf_of[v.index()] = Some(bx);
            }
            if let Some(b) = bufs[bx].as_mut() {
                b.values.extend(taken.values);
                b.values.sort();
                b.size = b.size.max(taken.size);
                b.last = b.last.max(taken.last);
            }
        }
    }
    let mut out: Vec<Proto> = bufs.into_iter().flatten().collect();
    for (s, id) in schedule.iter().enumerate() {
        if let Some(&size) = opts.scratch.get(id).filter(|&&n| n > 0) {
            out.push(Proto {
                values: Vec::new(),
                size,
                first: s,
                last: s,
                scratch: Some(*id),
            });
        }
    }
    out.sort_by_key(|b| (b.first, b.values.first().copied()));
    external.sort();
    (out, external)
}

/// True if the node at step `s` may write its output over buffer `bx`, which
/// holds its input 0 `x`: the buffer dies at `s`, holds no graph output (those
/// must survive the run), and the node reads nothing else from it.
fn can_take_over(
    act: &Activations,
    b: Option<&Proto>,
    buf_of: &[Option<usize>],
    bx: usize,
    node: &Node,
    x: ValueId,
    s: usize,
) -> bool {
    let Some(b) = b else {
        return false;
    };
    b.last == s
        && !b.values.iter().any(|v| act.is_output[v.index()])
        && node
            .present_inputs()
            .filter(|&v| v != x)
            .all(|v| buf_of[v.index()] != Some(bx))
}
