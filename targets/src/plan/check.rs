//! The plan checker: verifies any [`MemoryPlan`] against its graph from first
//! principles, sharing nothing with the planner but the alias op lists.
//!
//! Rules, in the order checked (after the graph's ids are found in range):
//! 1. the alignment is a power of two and the one the options ask for;
//! 2. the schedule runs every live node exactly once, each after the producers
//!    of the activations it reads;
//! 3. every activation (graph input, live node output) is either in exactly one
//!    buffer or external, and external ones are exactly the caller-memory
//!    inputs/outputs (per the options) and views of them;
//! 4. every buffer is aligned, large enough for each value in it, inside the
//!    arena, and live over every step any of its values is live;
//! 5. `lower_bound` is the max over steps of the aligned bytes of the buffers
//!    live there, and the arena is not below it;
//! 6. no two values whose bytes overlap are live at a common step, unless they
//!    hold the same data (one is a view of the other at the same offset), or
//!    a node computes one from the other in place: they meet only at that
//!    node's step, start at the same offset, the node's op may run in place
//!    under the options, it reads the input from no other slot, and the input
//!    is not a graph output (whose bytes the caller still needs);
//! 7. each kernel workspace the options ask for is one buffer with no values, at
//!    least that large, live exactly at its node's step, overlapping no value
//!    live there.

use super::alias::{in_place_op, is_view_op};
use super::liveness::node_label;
use super::memory_plan::checked_align_up;
use super::{CheckError, InPlace, IoPlacement, MemoryPlan, PlanOptions};
use pare_ir::{Graph, NodeId, ValueId};

/// Checks `plan` against `g` and the options it was made with; see the module
/// docs for the rules.
pub fn check_plan(g: &Graph, plan: &MemoryPlan, opts: &PlanOptions) -> Result<(), CheckError> {
    let align = opts.alignment;
    if !align.is_power_of_two() {
        return Err(CheckError::BadAlignment(align));
    }
    if plan.alignment != align {
        return Err(CheckError::AlignmentMismatch {
            plan: plan.alignment,
            options: align,
        });
    }
    if let Some(msg) = super::activations::bad_id(g) {
        return Err(CheckError::Malformed(msg));
    }
    check_schedule(g, &plan.schedule)?;
    let facts = Facts::new(g, &plan.schedule, opts)?;
    let home = check_membership(g, plan, &facts)?;
    check_buffers(g, plan, &facts)?;
    check_lower_bound(plan, facts.steps)?;
    check_overlaps(g, plan, opts, &facts, &home)?;
    check_scratch(g, plan, opts, &facts, &home)
}

/// Rule 7.
fn check_scratch(
    g: &Graph,
    plan: &MemoryPlan,
    opts: &PlanOptions,
    f: &Facts,
    home: &[Option<usize>],
) -> Result<(), CheckError> {
    let bad = |node: NodeId, why: String| CheckError::Scratch {
        node: node_label(g, node),
        why,
    };
    for (&node, &size) in opts.scratch.iter().filter(|(_, &n)| n > 0) {
        let Some(step) = plan.schedule.iter().position(|&n| n == node) else {
            return Err(bad(node, "the node is not in the schedule".into()));
        };
        let found: Vec<&super::Buffer> = plan
            .buffers
            .iter()
            .filter(|b| b.scratch == Some(node))
            .collect();
        let [buf] = found[..] else {
            return Err(bad(
                node,
                format!("{} workspace buffers, not one", found.len()),
            ));
        };
        if !buf.values.is_empty() || buf.first != step || buf.last != step || buf.size < size {
            return Err(bad(
                node,
                format!(
                    "buffer of {} bytes over steps [{}, {}] with {} values, but {size} bytes at step {step} were asked",
                    buf.size,
                    buf.first,
                    buf.last,
                    buf.values.len()
                ),
            ));
        }
        let end = buf.offset.saturating_add(buf.size);
        for (i, b) in home.iter().enumerate() {
            let (Some(b), Some(bytes)) = (*b, f.bytes[i]) else {
                continue;
            };
            let off = plan.buffers[b].offset;
            let live = f.first[i] <= step && step <= f.last[i];
            if live && bytes > 0 && off < end && buf.offset < off.saturating_add(bytes) {
                return Err(bad(
                    node,
                    format!(
                        "its workspace [{}, {end}) overlaps `{}`, live at step {step}",
                        buf.offset,
                        lbl(g, ValueId::from_index(i))
                    ),
                ));
            }
        }
    }
    if let Some(b) = plan
        .buffers
        .iter()
        .find(|b| b.scratch.is_some_and(|n| !opts.scratch.contains_key(&n)))
    {
        return Err(CheckError::Malformed(format!(
            "workspace buffer at offset {} for a node that asked for none",
            b.offset
        )));
    }
    Ok(())
}

fn lbl(g: &Graph, v: ValueId) -> String {
    super::activations::label(g, v)
}

/// Rule 2, first half: the schedule is a permutation of the live nodes.
fn check_schedule(g: &Graph, schedule: &[NodeId]) -> Result<(), CheckError> {
    let mut seen = vec![false; g.node_slots()];
    for &id in schedule {
        if !g.is_live(id) {
            return Err(CheckError::Schedule(format!(
                "runs node #{}, which is not live",
                id.0
            )));
        }
        if std::mem::replace(&mut seen[id.index()], true) {
            return Err(CheckError::Schedule(format!(
                "runs node `{}` twice",
                node_label(g, id)
            )));
        }
    }
    if let Some(&id) = g.order().iter().find(|id| !seen[id.index()]) {
        return Err(CheckError::Schedule(format!(
            "never runs node `{}`",
            node_label(g, id)
        )));
    }
    Ok(())
}

/// Activations, their sizes, live intervals and data classes, recomputed.
struct Facts {
    bytes: Vec<Option<u64>>,
    first: Vec<usize>,
    last: Vec<usize>,
    steps: usize,
    is_output: Vec<bool>,
    /// Graph inputs/outputs the options put in caller memory.
    external_io: Vec<bool>,
    /// Same-data root: values joined by view edges share one.
    data: Vec<usize>,
}

impl Facts {
    fn new(g: &Graph, schedule: &[NodeId], opts: &PlanOptions) -> Result<Facts, CheckError> {
        let n = g.value_count();
        let mut bytes = vec![None; n];
        let size = |v: ValueId| -> Result<u64, CheckError> {
            let ty = g.ty(v);
            ty.num_elements()
                .filter(|&e| e != u64::MAX)
                .and_then(|e| e.checked_mul(ty.dtype.size_bytes() as u64))
                .ok_or_else(|| CheckError::Unsized(lbl(g, v)))
        };
        let mut external_io = vec![false; n];
        let mut defined = vec![false; n];
        for &v in &g.inputs {
            bytes[v.index()] = Some(size(v)?);
            defined[v.index()] = true;
            external_io[v.index()] |= opts.inputs == IoPlacement::External;
        }
        let steps = schedule.len().max(1);
        let (mut first, mut last) = (vec![0; n], vec![0; n]);
        for (s, &id) in schedule.iter().enumerate() {
            let node = g.node(id);
            for v in node.present_inputs() {
                if g.weight_of(v).is_some() {
                    continue;
                }
                if !defined[v.index()] {
                    return Err(CheckError::NotTopological {
                        node: node_label(g, id),
                        step: s,
                        value: lbl(g, v),
                    });
                }
                last[v.index()] = s;
            }
            for &v in &node.outputs {
                bytes[v.index()] = Some(size(v)?);
                defined[v.index()] = true;
                (first[v.index()], last[v.index()]) = (s, s);
            }
        }
        let mut is_output = vec![false; n];
        for &v in &g.outputs {
            if bytes[v.index()].is_some() {
                is_output[v.index()] = true;
                last[v.index()] = steps - 1;
                external_io[v.index()] |= opts.outputs == IoPlacement::External;
            }
        }
        // View edges: same dtype, quantization and bytes means same data.
        let mut data: Vec<usize> = (0..n).collect();
        for (_, node) in g.nodes() {
            let (Some(x), [y]) = (node.input(0), node.outputs.as_slice()) else {
                continue;
            };
            let (tx, ty) = (g.ty(x), g.ty(*y));
            if is_view_op(&node.op)
                && bytes[x.index()].is_some()
                && bytes[x.index()] == bytes[y.index()]
                && tx.dtype == ty.dtype
                && tx.quant == ty.quant
            {
                let r = find(&mut data, x.index());
                let ry = find(&mut data, y.index());
                data[ry] = r;
            }
        }
        for i in 0..n {
            data[i] = find(&mut data, i);
        }
        Ok(Facts {
            bytes,
            first,
            last,
            steps,
            is_output,
            external_io,
            data,
        })
    }
}

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

/// Rule 3. Returns each value's buffer index.
fn check_membership(
    g: &Graph,
    plan: &MemoryPlan,
    f: &Facts,
) -> Result<Vec<Option<usize>>, CheckError> {
    let n = g.value_count();
    let mut home: Vec<Option<usize>> = vec![None; n];
    for (b, buf) in plan.buffers.iter().enumerate() {
        for &v in &buf.values {
            if v.index() >= n || f.bytes[v.index()].is_none() || f.external_io[v.index()] {
                return Err(CheckError::NotPlanned(lbl(g, v)));
            }
            if home[v.index()].replace(b).is_some() {
                return Err(CheckError::PlacedTwice(lbl(g, v)));
            }
        }
    }
    let mut external = vec![false; n];
    // Data classes that hold an external input/output.
    let mut ext_data = vec![false; n];
    for i in (0..n).filter(|&i| f.external_io[i]) {
        ext_data[f.data[i]] = true;
    }
    for &v in &plan.external {
        let ok = v.index() < n && f.bytes[v.index()].is_some() && ext_data[f.data[v.index()]];
        if !ok {
            return Err(CheckError::WrongExternal(lbl(g, v)));
        }
        if home[v.index()].is_some() {
            return Err(CheckError::NotPlanned(lbl(g, v)));
        }
        external[v.index()] = true;
    }
    for i in 0..n {
        let v = ValueId::from_index(i);
        if f.bytes[i].is_some() && home[i].is_none() && !external[i] {
            return Err(CheckError::Unplaced(lbl(g, v)));
        }
    }
    Ok(home)
}

/// Rule 4.
fn check_buffers(g: &Graph, plan: &MemoryPlan, f: &Facts) -> Result<(), CheckError> {
    let align = plan.alignment;
    for (b, buf) in plan.buffers.iter().enumerate() {
        if buf.offset % align != 0 {
            return Err(CheckError::Misaligned {
                buffer: b,
                offset: buf.offset,
                alignment: align,
            });
        }
        let end = checked_align_up(buf.size, align).and_then(|s| buf.offset.checked_add(s));
        match end {
            Some(end) if end <= plan.arena_bytes => {}
            _ => {
                return Err(CheckError::OutOfArena {
                    buffer: b,
                    end: end.unwrap_or(u64::MAX),
                    arena: plan.arena_bytes,
                })
            }
        }
        for &v in &buf.values {
            let needed = f.bytes[v.index()].unwrap_or(0);
            if needed > buf.size {
                return Err(CheckError::TooSmall {
                    buffer: b,
                    value: lbl(g, v),
                    size: buf.size,
                    needed,
                });
            }
            let (vf, vl) = (f.first[v.index()], f.last[v.index()]);
            if buf.first > vf || buf.last < vl || buf.last >= f.steps {
                return Err(CheckError::NotCovered {
                    buffer: b,
                    value: lbl(g, v),
                    first: buf.first,
                    last: buf.last,
                    vfirst: vf,
                    vlast: vl,
                    steps: f.steps,
                });
            }
        }
    }
    Ok(())
}

/// Rule 5 (buffers were checked to lie within the steps).
fn check_lower_bound(plan: &MemoryPlan, steps: usize) -> Result<(), CheckError> {
    let mut at = vec![0u64; steps];
    for b in &plan.buffers {
        let size = checked_align_up(b.size, plan.alignment).unwrap_or(u64::MAX);
        for slot in at.iter_mut().take(b.last + 1).skip(b.first) {
            *slot = slot.saturating_add(size);
        }
    }
    let actual = at.into_iter().max().unwrap_or(0);
    if actual != plan.lower_bound {
        return Err(CheckError::LowerBound {
            stated: plan.lower_bound,
            actual,
        });
    }
    if plan.arena_bytes < plan.lower_bound {
        return Err(CheckError::BelowBound {
            arena: plan.arena_bytes,
            lower_bound: plan.lower_bound,
        });
    }
    Ok(())
}

/// Rule 6.
fn check_overlaps(
    g: &Graph,
    plan: &MemoryPlan,
    opts: &PlanOptions,
    f: &Facts,
    home: &[Option<usize>],
) -> Result<(), CheckError> {
    // (offset, end, value) of every non-empty value in the arena, by offset.
    let mut spans: Vec<(u64, u64, ValueId)> = home
        .iter()
        .enumerate()
        .filter_map(|(i, b)| {
            let off = plan.buffers[(*b)?].offset;
            let bytes = f.bytes[i].filter(|&n| n > 0)?;
            Some((off, off.saturating_add(bytes), ValueId::from_index(i)))
        })
        .collect();
    spans.sort_unstable();
    for (i, &(off_a, end_a, a)) in spans.iter().enumerate() {
        for &(off_b, end_b, b) in spans[i + 1..].iter().take_while(|s| s.0 < end_a) {
            let first = f.first[a.index()].max(f.first[b.index()]);
            let last = f.last[a.index()].min(f.last[b.index()]);
            if first > last {
                continue;
            }
            if off_a == off_b && f.data[a.index()] == f.data[b.index()] {
                continue;
            }
            if off_a == off_b && first == last && in_place_at(g, plan, opts, f, a, b, first) {
                continue;
            }
            return Err(CheckError::Overlap {
                a: lbl(g, a),
                b: lbl(g, b),
                lo: off_b,
                hi: end_a.min(end_b),
                first,
                last,
            });
        }
    }
    Ok(())
}

/// True if the node at step `s` computes one of `a`, `b` from the other in
/// place, as rule 6 allows.
fn in_place_at(
    g: &Graph,
    plan: &MemoryPlan,
    opts: &PlanOptions,
    f: &Facts,
    a: ValueId,
    b: ValueId,
    s: usize,
) -> bool {
    if opts.in_place != InPlace::UnaryElementwise {
        return false;
    }
    let Some(&id) = plan.schedule.get(s) else {
        return false;
    };
    let node = g.node(id);
    if !in_place_op(&node.op) || node.outputs.len() != 1 {
        return false;
    }
    let (Some(x), y) = (node.input(0), node.outputs[0]) else {
        return false;
    };
    let pair = (x == a && y == b) || (x == b && y == a);
    pair && !f.is_output[x.index()] && node.present_inputs().filter(|&v| v == x).count() == 1
}
