//! Aliasing rules: which ops only reinterpret memory (their output is a view of
//! input 0 and shares its buffer) and which may write their output over input 0.
//! Views are grouped into data classes here; in-place merges depend on the
//! schedule and happen in `buffers`.

use super::activations::Activations;
use pare_ir::{Graph, Node, Op, ValueId};

/// Ops whose output is input 0's bytes under another shape: `reshape`,
/// `flatten`, `squeeze`, `unsqueeze`, `identity`. They cost no memory and no
/// time when the output has input 0's dtype and quantization parameters
/// (checked per node by the planner; otherwise they are copies).
pub fn is_view_op(op: &Op) -> bool {
    matches!(
        op,
        Op::Reshape { .. }
            | Op::Flatten { .. }
            | Op::Squeeze { .. }
            | Op::Unsqueeze { .. }
            | Op::Identity { .. }
    )
}

/// Unary element-wise ops allowed to write their output over input 0 (with
/// [`super::InPlace::UnaryElementwise`]): `relu`, `clip`, `leaky_relu`,
/// `sigmoid`, `tanh`, `hard_sigmoid`, `hard_swish`, `silu`, `neg`, `abs`. Output
/// element `i` depends on input element `i` only (`clip`'s min/max are
/// scalars), so a kernel that reads element `i` before writing it is correct
/// in place, in float and as an int8 lookup table alike. The planner also
/// requires equal byte sizes, so a dtype-changing node never qualifies.
/// Everything else (binary ops, casts, quantize/dequantize, softmax, ...) gets
/// a buffer of its own.
pub fn in_place_op(op: &Op) -> bool {
    matches!(
        op,
        Op::Relu { .. }
            | Op::Clip { .. }
            | Op::LeakyRelu { .. }
            | Op::Sigmoid { .. }
            | Op::Tanh { .. }
            | Op::HardSigmoid { .. }
            | Op::HardSwish { .. }
            | Op::Silu { .. }
            | Op::Neg { .. }
            | Op::Abs { .. }
    )
}

/// If `node` only reinterprets memory: its input 0 (an activation), of which
/// output 0 is a view (same dtype, same quantization, same byte size).
pub(crate) fn view_source(g: &Graph, node: &Node, act: &Activations) -> Option<ValueId> {
    if !is_view_op(&node.op) || node.outputs.len() != 1 {
        return None;
    }
    let (x, y) = (node.input(0)?, node.outputs[0]);
    let (tx, ty) = (g.ty(x), g.ty(y));
    let same = act.is_activation(x)
        && act.is_activation(y)
        && tx.dtype == ty.dtype
        && tx.quant == ty.quant
        && act.bytes_of(x) == act.bytes_of(y);
    same.then_some(x)
}

/// If `node` may compute in place (see [`in_place_op`]): its input 0, an
/// activation of output 0's byte size read by no other input slot.
pub(crate) fn in_place_source(g: &Graph, node: &Node, act: &Activations) -> Option<ValueId> {
    if !in_place_op(&node.op) || node.outputs.len() != 1 {
        return None;
    }
    let (x, y) = (node.input(0)?, node.outputs[0]);
    let ok = act.is_activation(x)
        && act.is_activation(y)
        && g.ty(x).dtype.size_bytes() == g.ty(y).dtype.size_bytes()
        && act.bytes_of(x) == act.bytes_of(y)
        && node.present_inputs().filter(|&v| v == x).count() == 1;
    ok.then_some(x)
}

/// Data classes: values holding the same bytes (an activation and its views),
/// keyed by their root, the value the chain starts from.
#[derive(Debug)]
pub(crate) struct Classes {
    /// `root[v]`: the class of `v` (itself for roots and non-activations).
    pub root: Vec<ValueId>,
    /// Members of each root's class in value order; empty for non-roots.
    pub members: Vec<Vec<ValueId>>,
}

impl Classes {
    pub fn of(&self, v: ValueId) -> ValueId {
        self.root[v.index()]
    }

    /// True if any member of `v`'s class lives in caller memory.
    pub fn is_external(&self, act: &Activations, v: ValueId) -> bool {
        self.members[self.of(v).index()]
            .iter()
            .any(|m| act.external[m.index()])
    }
}

/// Groups views with their sources. A view joins its source's class unless the
/// class would then hold caller memory together with another graph input or
/// output (e.g. an external input reshaped into an arena output): such a view
/// is a copy, since one buffer cannot be in two places.
pub(crate) fn view_classes(g: &Graph, act: &Activations) -> Classes {
    let n = g.value_count();
    let mut root: Vec<ValueId> = (0..n).map(ValueId::from_index).collect();
    // Per root: graph inputs/outputs in the class, and whether any is external.
    let mut io: Vec<u32> = (0..n)
        .map(|i| u32::from(act.is_io(ValueId::from_index(i))))
        .collect();
    let mut ext: Vec<bool> = act.external.clone();
    for (_, node) in g.nodes() {
        let Some(x) = view_source(g, node, act) else {
            continue;
        };
        let (r, y) = (root[x.index()], node.outputs[0]);
        let (io_sum, ext_any) = (
            io[r.index()] + io[y.index()],
            ext[r.index()] || ext[y.index()],
        );
        if ext_any && io_sum > 1 {
            continue;
        }
        root[y.index()] = r;
        io[r.index()] = io_sum;
        ext[r.index()] = ext_any;
    }
    let mut members = vec![Vec::new(); n];
    for (i, r) in root.iter().enumerate() {
        if act.is_activation(ValueId::from_index(i)) {
            members[r.index()].push(ValueId::from_index(i));
        }
    }
    Classes { root, members }
}
