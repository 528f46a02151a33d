//! What calibration data says about each layer's input channels: the mean
//! square of the channel a weight element multiplies is its sensitivity (the
//! diagonal of the layer's input Gram matrix, so Σ sensitivity · (w − w')²
//! approximates the output error a weight change causes), and the mean gives
//! the output shift that bias correction takes back. Quantized inputs are
//! dequantized first.

use pare_ir::{Graph, NodeId, Op, Tensor, ValueId};
use std::collections::HashMap;

/// Which axis of a node's input 0 holds the channels its weight multiplies.
fn channel_axis(op: &Op, rank: usize) -> Option<usize> {
    match op {
        Op::Conv { .. } | Op::ConvTranspose { .. } => Some(1),
        Op::Gemm { trans_a: false, .. } | Op::MatMul {} => rank.checked_sub(1),
        _ => None,
    }
}

/// Per channel of a node's input: the mean and the mean square over the batches.
#[derive(Clone, Debug)]
pub struct Moments {
    pub mean: Vec<f64>,
    pub mean_sq: Vec<f64>,
}

/// [`Moments`] of input 0 of each of `nodes`, over the batches.
pub fn input_moments(
    g: &Graph,
    nodes: &[NodeId],
    batches: &[Vec<Tensor>],
    pass: &'static str,
) -> Result<HashMap<NodeId, Moments>, crate::PassError> {
    let mut want: HashMap<ValueId, (usize, Vec<NodeId>)> = HashMap::new();
    for &n in nodes {
        let node = g.node(n);
        let Some(x) = node.input(0) else { continue };
        if let Some(axis) = channel_axis(&node.op, g.ty(x).rank()) {
            want.entry(x).or_insert((axis, Vec::new())).1.push(n);
        }
    }
    let mut sums: HashMap<ValueId, (Vec<f64>, Vec<f64>, f64)> = HashMap::new();
    crate::lowrank::observe_all_for(g, batches, pass, &mut |v, t| {
        let Some((axis, _)) = want.get(&v) else {
            return;
        };
        let shape = t.shape();
        let Some(&c) = shape.get(*axis) else { return };
        let inner: usize = shape[axis + 1..].iter().product();
        let vals = super::gram::real_values(g, v, t);
        let e = sums
            .entry(v)
            .or_insert_with(|| (vec![0.0; c], vec![0.0; c], 0.0));
        if e.0.len() != c {
            return;
        }
        for (k, x) in vals.iter().enumerate() {
            let d = *x;
            let ch = (k / inner.max(1)) % c;
            e.0[ch] += d;
            e.1[ch] += d * d;
        }
        e.2 += (vals.len() / c.max(1)) as f64;
    })?;
    let mut out = HashMap::new();
    for (v, (_, ns)) in want {
        if let Some((s, s2, count)) = sums.get(&v) {
            let m = Moments {
                mean: s.iter().map(|x| x / count.max(1.0)).collect(),
                mean_sq: s2.iter().map(|x| x / count.max(1.0)).collect(),
            };
            for n in ns {
                out.insert(n, m.clone());
            }
        }
    }
    Ok(out)
}

/// The input channel element `e` of the weight of `op` (shape `shape`) multiplies,
/// or None when the op's layout is not one of the product ops'.
pub fn weight_input_channel(op: &Op, shape: &[usize], e: usize) -> Option<usize> {
    let coord = |axis: usize| {
        let inner: usize = shape[axis + 1..].iter().product();
        (e / inner.max(1)) % shape[axis]
    };
    match op {
        Op::Conv { group, .. } => {
            // [O, I/g, kh, kw]: output channel o is in group o / (O/g).
            let per_group_out = shape[0] / (*group as usize).max(1);
            let g = coord(0) / per_group_out.max(1);
            Some(g * shape[1] + coord(1))
        }
        Op::ConvTranspose { .. } => Some(coord(0)),
        Op::Gemm { trans_b: true, .. } => Some(coord(1)),
        Op::Gemm { trans_b: false, .. } => Some(coord(0)),
        Op::MatMul {} if shape.len() >= 2 => Some(coord(shape.len() - 2)),
        _ => None,
    }
}
