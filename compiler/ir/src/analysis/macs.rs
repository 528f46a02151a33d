//! Multiply-accumulate counts per node, from the IR's static shapes.
//!
//! A MAC is one multiply plus one add in a product-sum: matrix products and
//! convolutions (including recurrent gate products). Element-wise ops, pooling and
//! normalizations count zero, the convention of torchprofile/thop-style counters,
//! so the figure compares with published model MACs.

use crate::{Graph, Node, Op};

/// Total MACs of the graph; `None` if some counted node has a symbolic dim
/// (bind symbols first, e.g. with [`super::with_symbols_bound`]).
pub fn total_macs(g: &Graph) -> Option<u64> {
    g.nodes().try_fold(0u64, |acc, (_, n)| {
        Some(acc.saturating_add(macs_of_node(g, n)?))
    })
}

fn dims(g: &Graph, v: Option<crate::ValueId>) -> Option<Vec<u64>> {
    g.ty(v?).fixed_shape()
}

fn product(d: &[u64]) -> u64 {
    d.iter().fold(1u64, |a, &b| a.saturating_mul(b))
}

/// MACs of one node; `Some(0)` for ops that do no product-sums.
pub fn macs_of_node(g: &Graph, n: &Node) -> Option<u64> {
    let out = |i: usize| n.outputs.get(i).and_then(|&v| g.ty(v).fixed_shape());
    Some(match &n.op {
        Op::Conv { .. } => {
            // Each output element sums over (C_in / group) * kernel elements, which
            // is exactly the weight's shape past the output-channel axis.
            let w = dims(g, n.input(1))?;
            let y = out(0)?;
            product(&y).saturating_mul(product(w.get(1..)?))
        }
        Op::ConvTranspose { .. } => {
            // Each input element scatters into (C_out / group) * kernel outputs.
            let x = dims(g, n.input(0))?;
            let w = dims(g, n.input(1))?;
            product(&x).saturating_mul(product(w.get(1..)?))
        }
        Op::MatMul {} => {
            let a = dims(g, n.input(0))?;
            let y = out(0)?;
            let k = if a.len() == 1 { a[0] } else { *a.last()? };
            product(&y).saturating_mul(k)
        }
        Op::Gemm { trans_a, .. } => {
            let a = dims(g, n.input(0))?;
            let y = out(0)?;
            let k = if *trans_a { *a.first()? } else { *a.get(1)? };
            product(&y).saturating_mul(k)
        }
        Op::Lstm { .. } | Op::Gru { .. } | Op::Rnn { .. } => {
            // Gate products: per step and direction, x·Wᵀ and h·Rᵀ.
            let x = dims(g, n.input(0))?;
            let w = dims(g, n.input(1))?; // [dirs, gates*hidden, input]
            let r = dims(g, n.input(2))?; // [dirs, gates*hidden, hidden]
            let steps_batch = product(x.get(..2)?);
            let per_step = product(&w[..]).saturating_add(product(&r[..]));
            steps_batch.saturating_mul(per_step)
        }
        // The contracted size depends on the equation; refuse rather than guess.
        Op::Einsum { .. } => return None,
        _ => 0,
    })
}
