//! Simple whole-graph statistics: op counts, parameter count, weight bytes.

use crate::{Dim, Graph};
use std::collections::{BTreeMap, BTreeSet};

/// Number of live nodes per op name, sorted by name.
pub fn op_counts(g: &Graph) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::new();
    for (_, n) in g.nodes() {
        *counts.entry(n.op.name()).or_insert(0) += 1;
    }
    counts
}

/// Learned parameters: elements of the non-scalar weights used by live nodes as
/// weights — float ones, quantized ones (an integer type with quantization
/// parameters, or the data of a `dequantize_linear`) — so a quantized model
/// counts the same parameters as its float original. Integer weights are
/// otherwise shapes, axes and indices; scalars are constants such as clip
/// bounds or epsilons; scales and zero points are not learned; none counts.
pub fn param_count(g: &Graph) -> u64 {
    let mut counted = BTreeSet::new();
    let mut total = 0;
    for (_, n) in g.nodes() {
        let q = matches!(
            n.op,
            crate::Op::DequantizeLinear { .. } | crate::Op::QuantizeLinear { .. }
        );
        for (slot, v) in n.inputs.iter().enumerate() {
            let Some(v) = *v else { continue };
            let crate::ValueDef::Weight(id) = g.value(v).def else {
                continue;
            };
            let w = g.weight(id);
            let learned = if q {
                slot == 0 && matches!(n.op, crate::Op::DequantizeLinear { .. })
            } else {
                w.ty.dtype.is_float() || w.ty.quant.is_some()
            };
            if learned && w.ty.rank() > 0 && counted.insert(id.index()) {
                total += w.ty.num_elements().unwrap_or(0);
            }
        }
    }
    total
}

/// Bytes of all weights used by live nodes, as stored.
pub fn weight_bytes(g: &Graph) -> u64 {
    used_weights(g).map(|w| w.stored_len() as u64).sum()
}

fn used_weights(g: &Graph) -> impl Iterator<Item = &crate::Weight> + '_ {
    let mut used = vec![false; g.weight_count()];
    for (_, n) in g.nodes() {
        for v in n.present_inputs() {
            if let crate::ValueDef::Weight(w) = g.value(v).def {
                used[w.index()] = true;
            }
        }
    }
    g.weights()
        .filter(move |(id, _)| used[id.index()])
        .map(|(_, w)| w)
}

/// A copy of `g` with every symbolic dim of its inputs set to `size` and types
/// re-inferred (e.g. batch 1 for MAC counts).
///
/// The input symbols are bound wherever they appear, node outputs included,
/// and inference then fills in what they determine (unknowns `_uN` become sizes
/// where they now can). Output types are rewritten, never dropped: a quantized
/// output's type is declared, not inferred, and without its parameters the next
/// node would see plain integers.
pub fn with_symbols_bound(g: &Graph, size: u64) -> Result<Graph, crate::infer::InferError> {
    let mut b = g.clone();
    let symbols: BTreeSet<String> = b
        .inputs
        .iter()
        .flat_map(|&i| b.ty(i).shape.iter())
        .filter_map(|d| match d {
            Dim::Sym(s) => Some(s.clone()),
            Dim::Fixed(_) => None,
        })
        .collect();
    let ids: Vec<_> = b.values().map(|(id, _)| id).collect();
    for id in ids {
        for d in &mut b.value_mut(id).ty.shape {
            if matches!(d, Dim::Sym(s) if symbols.contains(s)) {
                *d = Dim::Fixed(size);
            }
        }
    }
    crate::infer::infer_graph(&mut b)?;
    Ok(b)
}
