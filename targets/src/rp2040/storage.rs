//! Where each activation lives at run time, from the static memory plan: at an
//! offset in the arena, or in the caller's input/output buffer (graph inputs and
//! outputs are external, together with the views the planner aliased to them).

use crate::plan::MemoryPlan;
use pare_ir::{Graph, NodeId, ValueId};
use std::collections::BTreeMap;

/// The home of one activation.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Place {
    /// Byte offset in the arena.
    Arena(u64),
    /// The caller's input buffer number `i`.
    Input(usize),
    /// The caller's output buffer number `j`.
    Output(usize),
}

/// Every activation's place, and the C names of the invoke function's pointers.
#[derive(Debug)]
pub(crate) struct Storage {
    place: Vec<Option<Place>>,
    /// Each kernel workspace: node → (arena offset, bytes).
    scratch: BTreeMap<NodeId, (u64, u64)>,
    pub input_names: Vec<String>,
    pub output_names: Vec<String>,
}

/// C parameter names: `input` for a single input, else `input0`, `input1`, ….
pub(crate) fn io_names(base: &str, n: usize) -> Vec<String> {
    if n == 1 {
        vec![base.to_string()]
    } else {
        (0..n).map(|i| format!("{base}{i}")).collect()
    }
}

impl Storage {
    /// Places from `plan` (arena offsets) and `external` (the planner's groups
    /// of values in caller memory): a group holding graph input `i` lives in
    /// input `i`, else in the first graph output it holds.
    pub fn new(g: &Graph, plan: &MemoryPlan, external: &[Vec<ValueId>]) -> Storage {
        let mut place = vec![None; g.value_count()];
        let mut scratch = BTreeMap::new();
        for b in &plan.buffers {
            if let Some(node) = b.scratch {
                scratch.insert(node, (b.offset, b.size));
            }
            for v in &b.values {
                place[v.index()] = Some(Place::Arena(b.offset));
            }
        }
        for group in external {
            let input = g.inputs.iter().position(|v| group.contains(v));
            let output = g.outputs.iter().position(|v| group.contains(v));
            let home = match (input, output) {
                (Some(i), _) => Place::Input(i),
                (None, Some(j)) => Place::Output(j),
                (None, None) => continue,
            };
            for v in group {
                place[v.index()] = Some(home);
            }
        }
        Storage {
            place,
            scratch,
            input_names: io_names("input", g.inputs.len()),
            output_names: io_names("output", g.outputs.len()),
        }
    }

    /// `node`'s kernel workspace: (arena offset, bytes).
    pub fn scratch(&self, node: NodeId) -> Option<(u64, u64)> {
        self.scratch.get(&node).copied()
    }

    pub fn place(&self, v: ValueId) -> Option<Place> {
        self.place.get(v.index()).copied().flatten()
    }

    /// The C expression of `v`'s first byte in the generated invoke function.
    pub fn expr(&self, v: ValueId) -> Option<String> {
        Some(match self.place(v)? {
            Place::Arena(off) => format!("act + {off}"),
            Place::Input(i) => self.input_names[i].clone(),
            Place::Output(j) => self.output_names[j].clone(),
        })
    }
}
