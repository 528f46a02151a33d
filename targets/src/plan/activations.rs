//! The activations of a graph: graph inputs and live node outputs (never
//! weights), with their byte sizes and whether the caller provides their memory.

use super::{IoPlacement, PlanError, PlanOptions};
use pare_ir::{Graph, ValueId};

/// Per-value facts, indexed by `ValueId::index()`.
#[derive(Debug)]
pub(crate) struct Activations {
    /// Byte size of each activation; `None` for weights and unused values.
    pub bytes: Vec<Option<u64>>,
    /// Graph inputs / outputs.
    pub is_input: Vec<bool>,
    pub is_output: Vec<bool>,
    /// Lives in caller memory (an external input or output), not in the arena.
    pub external: Vec<bool>,
}

impl Activations {
    pub fn is_activation(&self, v: ValueId) -> bool {
        self.bytes.get(v.index()).is_some_and(Option::is_some)
    }

    pub fn bytes_of(&self, v: ValueId) -> u64 {
        self.bytes.get(v.index()).copied().flatten().unwrap_or(0)
    }

    /// A graph input or output.
    pub fn is_io(&self, v: ValueId) -> bool {
        self.is_input[v.index()] || self.is_output[v.index()]
    }
}

/// A value's name for messages: its source name, or `%index`.
pub(crate) fn label(g: &Graph, v: ValueId) -> String {
    match g.values_get(v) {
        Some(val) if !val.name.is_empty() => val.name.clone(),
        _ => format!("%{}", v.0),
    }
}

/// Bytes of `v`'s type: elements × dtype size. Packed 4-bit weights never get
/// here (weights are not activations); a 4-bit activation would be stored one
/// code per byte, which its `I8` dtype already says.
fn byte_size(g: &Graph, v: ValueId) -> Result<u64, PlanError> {
    let ty = g.ty(v);
    let elems = ty.num_elements().ok_or_else(|| PlanError::SymbolicShape {
        value: label(g, v),
        ty: ty.to_string(),
    })?;
    // `num_elements` saturates, so u64::MAX means "too many" as well.
    if elems == u64::MAX {
        return Err(PlanError::TooLarge {
            value: label(g, v),
            ty: ty.to_string(),
        });
    }
    elems
        .checked_mul(ty.dtype.size_bytes() as u64)
        .ok_or_else(|| PlanError::TooLarge {
            value: label(g, v),
            ty: ty.to_string(),
        })
}

/// The first value id out of range among the graph's inputs, outputs and live
/// nodes' operands, described (the planner indexes freely after this check;
/// types need not verify, only ids).
pub(crate) fn bad_id(g: &Graph) -> Option<String> {
    let n = g.value_count();
    let bad = |v: &ValueId| v.index() >= n;
    if let Some(v) = g.inputs.iter().chain(&g.outputs).find(|v| bad(v)) {
        return Some(format!("graph input/output %{} is out of range", v.0));
    }
    g.order().iter().find_map(|&id| {
        if id.index() >= g.node_slots() {
            return Some(format!("node #{} is out of range", id.0));
        }
        let node = g.node(id);
        let v = node
            .inputs
            .iter()
            .flatten()
            .chain(&node.outputs)
            .find(|v| bad(v))?;
        Some(format!(
            "node `{}` refers to value %{}, out of range",
            node.name, v.0
        ))
    })
}

/// Collects the activations of `g`'s live nodes, in a fixed order (inputs, then
/// node outputs in graph order) so the first symbolic shape reported is stable.
pub(crate) fn collect(g: &Graph, opts: &PlanOptions) -> Result<Activations, PlanError> {
    if let Some(msg) = bad_id(g) {
        return Err(PlanError::Malformed(msg));
    }
    let n = g.value_count();
    let mut a = Activations {
        bytes: vec![None; n],
        is_input: vec![false; n],
        is_output: vec![false; n],
        external: vec![false; n],
    };
    for &v in &g.inputs {
        a.bytes[v.index()] = Some(byte_size(g, v)?);
        a.is_input[v.index()] = true;
        a.external[v.index()] |= opts.inputs == IoPlacement::External;
    }
    for (_, node) in g.nodes() {
        for &v in &node.outputs {
            a.bytes[v.index()] = Some(byte_size(g, v)?);
        }
    }
    for &v in &g.outputs {
        // A weight returned as an output stays in flash: not an activation.
        if a.is_activation(v) {
            a.is_output[v.index()] = true;
            a.external[v.index()] |= opts.outputs == IoPlacement::External;
        }
    }
    Ok(a)
}
