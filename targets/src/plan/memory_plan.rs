//! The planner's result: a schedule and an offset for every activation buffer,
//! with the arena size, its lower bound, and a text dump for snapshots.

use pare_ir::{Graph, NodeId, ValueId};
use std::fmt;

/// One region of the arena and the values stored there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Buffer {
    /// The values living here, in id order: an activation, the views of it
    /// (reshape & co.), and the outputs of nodes that computed in place over it.
    pub values: Vec<ValueId>,
    /// Byte offset in the arena, a multiple of the plan's alignment.
    pub offset: u64,
    /// Bytes the values need (the largest of them).
    pub size: u64,
    /// Steps (indices into the schedule) the bytes must survive, inclusive.
    pub first: usize,
    pub last: usize,
    /// Set when this is the workspace of that node's kernel (then `values` is empty and
    /// `first == last` is the node's step).
    pub scratch: Option<NodeId>,
}

/// A static memory plan. See [`super::plan_memory`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryPlan {
    /// Arena bytes: the highest end of a buffer footprint (size rounded up to
    /// `alignment`), so a multiple of `alignment`.
    pub arena_bytes: u64,
    /// Max over steps of the aligned bytes live at that step: no placement of
    /// these buffers fits in less (aligned offsets keep aligned footprints
    /// disjoint). It is the bound for this schedule and these aliasing choices.
    pub lower_bound: u64,
    pub alignment: u64,
    /// The arena's buffers, by first step, then first value.
    pub buffers: Vec<Buffer>,
    /// The node order; step `s` runs `schedule[s]`.
    pub schedule: Vec<NodeId>,
    /// Activations in caller memory (external inputs/outputs and their views),
    /// in id order.
    pub external: Vec<ValueId>,
}

impl MemoryPlan {
    /// The buffer holding `v`, if `v` is in the arena.
    pub fn buffer_of(&self, v: ValueId) -> Option<&Buffer> {
        self.buffers.iter().find(|b| b.values.contains(&v))
    }

    /// `v`'s byte offset in the arena, if it is there.
    pub fn offset_of(&self, v: ValueId) -> Option<u64> {
        self.buffer_of(v).map(|b| b.offset)
    }

    /// What an arena without reuse would take (every buffer its own aligned
    /// bytes, as TFLite Micro's naive planner does): the figure to print beside
    /// `arena_bytes` to show what planning saved.
    pub fn naive_bytes(&self) -> u64 {
        self.buffers
            .iter()
            .filter(|b| b.scratch.is_none())
            .map(|b| align_up(b.size, self.alignment))
            .fold(0, u64::saturating_add)
    }

    /// Arena offset of `node`'s kernel workspace, if it asked for one.
    pub fn scratch_offset(&self, node: NodeId) -> Option<u64> {
        self.buffers
            .iter()
            .find(|b| b.scratch == Some(node))
            .map(|b| b.offset)
    }

    /// A readable dump with value names and node ops (stable: for snapshots).
    pub fn dump(&self, g: &Graph) -> String {
        let mut s = String::new();
        let _ = self.write(&mut s, Some(g));
        s
    }

    fn write(&self, f: &mut impl fmt::Write, g: Option<&Graph>) -> fmt::Result {
        let val = |v: ValueId| match g.and_then(|g| g.values_get(v)) {
            Some(value) if !value.name.is_empty() => format!("%{} \"{}\"", v.0, value.name),
            _ => format!("%{}", v.0),
        };
        writeln!(
            f,
            "arena {} bytes, lower bound {} bytes, naive {} bytes, alignment {}, {} steps",
            self.arena_bytes,
            self.lower_bound,
            self.naive_bytes(),
            self.alignment,
            self.schedule.len()
        )?;
        writeln!(f, "schedule:")?;
        for (s, &id) in self.schedule.iter().enumerate() {
            write!(f, "  {s:>3}  #{}", id.0)?;
            if let Some(g) = g {
                let n = g.node(id);
                let outs: Vec<String> = n.outputs.iter().map(|&v| val(v)).collect();
                write!(f, " {} -> {}", n.op.name(), outs.join(", "))?;
            }
            writeln!(f)?;
        }
        writeln!(f, "buffers: [offset, end) size steps values")?;
        for b in &self.buffers {
            let end = b.offset.saturating_add(align_up(b.size, self.alignment));
            let mut vals: Vec<String> = b.values.iter().map(|&v| val(v)).collect();
            if let Some(node) = b.scratch {
                vals.push(format!("scratch of #{}", node.0));
            }
            writeln!(
                f,
                "  [{:>7}, {:>7}) {:>7}  {:>3}..{:<3}  {}",
                b.offset,
                end,
                b.size,
                b.first,
                b.last,
                vals.join(", ")
            )?;
        }
        if !self.external.is_empty() {
            let vals: Vec<String> = self.external.iter().map(|&v| val(v)).collect();
            writeln!(f, "external: {}", vals.join(", "))?;
        }
        Ok(())
    }
}

/// The dump without names (ids only); [`MemoryPlan::dump`] adds them.
impl fmt::Display for MemoryPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, None)
    }
}

/// `x` rounded up to a multiple of `align` (a power of two), saturating.
pub(crate) fn align_up(x: u64, align: u64) -> u64 {
    let mask = align.max(1) - 1;
    x.checked_add(mask).map_or(!mask, |y| y & !mask)
}

/// `x` rounded up to a multiple of `align` (a power of two); `None` on overflow.
pub(crate) fn checked_align_up(x: u64, align: u64) -> Option<u64> {
    let mask = align.max(1) - 1;
    x.checked_add(mask).map(|y| y & !mask)
}
