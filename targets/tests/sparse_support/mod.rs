//! Magnitude pruning of a float graph's Conv/Gemm/MatMul weights for the sparse
//! RP2040 tests (a stand-in for the `prune-unstructured` pass, which lands
//! separately): per layer, the smallest |w| zeroed (a ratio), or 2 of every 4
//! along each output unit's reduction (2:4).

#![allow(dead_code)]

use pare_ir::{Graph, Op, Tensor, ValueDef, Weight};

/// How to prune.
#[derive(Clone, Copy, Debug)]
pub enum Pruning {
    /// This share of each layer's weights, smallest magnitudes first.
    Unstructured(f64),
    /// At most 2 non-zeros in each group of 4 consecutive weights of an output
    /// unit's reduction.
    TwoOfFour,
}

/// The flat indices of each output unit's weights, in reduction order, for a
/// weight of `shape` read by `op` (`None`: not a product weight).
fn units(op: &Op, shape: &[usize]) -> Option<Vec<Vec<usize>>> {
    let n: usize = shape.iter().product();
    match (op, shape.len()) {
        (Op::Conv { .. }, 3..) => {
            let per = n / shape[0].max(1);
            Some(
                (0..shape[0])
                    .map(|o| (o * per..(o + 1) * per).collect())
                    .collect(),
            )
        }
        (Op::Gemm { trans_b: true, .. }, 2) => {
            let (units, k) = (shape[0], shape[1]);
            Some((0..units).map(|u| (u * k..(u + 1) * k).collect()).collect())
        }
        (Op::Gemm { trans_b: false, .. } | Op::MatMul {}, 2) => {
            let (k, units) = (shape[0], shape[1]);
            Some(
                (0..units)
                    .map(|u| (0..k).map(|i| i * units + u).collect())
                    .collect(),
            )
        }
        _ => None,
    }
}

/// Zeroes the indices of `idx` with the smallest |w| until `count` are gone (ties:
/// the lower index first, so the result is deterministic).
fn zero_smallest(w: &mut [f32], idx: &[usize], count: usize) {
    let mut order = idx.to_vec();
    order.sort_by(|&a, &b| w[a].abs().total_cmp(&w[b].abs()).then(a.cmp(&b)));
    for &i in order.iter().take(count) {
        w[i] = 0.0;
    }
}

/// Prunes every f32 weight in input 1 of a Conv, Gemm or MatMul of `g`; returns
/// how many layers it pruned.
pub fn prune(g: &mut Graph, how: Pruning) -> usize {
    let mut targets = Vec::new();
    for (_, node) in g.nodes() {
        let Some(v) = node.input(1) else { continue };
        let ValueDef::Weight(id) = g.value(v).def else {
            continue;
        };
        let t = g.weight(id).tensor().expect("weight reads");
        if t.as_slice::<f32>().is_none() {
            continue;
        }
        if let Some(u) = units(&node.op, t.shape()) {
            targets.push((id, u));
        }
    }
    let pruned = targets.len();
    for (id, units) in targets {
        let t = g.weight(id).tensor().expect("weight reads");
        let shape = t.shape().to_vec();
        let mut w = t.as_slice::<f32>().expect("f32 weight").to_vec();
        match how {
            Pruning::Unstructured(ratio) => {
                let all: Vec<usize> = (0..w.len()).collect();
                let count = (ratio * w.len() as f64).floor() as usize;
                zero_smallest(&mut w, &all, count);
            }
            Pruning::TwoOfFour => {
                for unit in &units {
                    for group in unit.chunks(4) {
                        zero_smallest(&mut w, group, group.len().saturating_sub(2));
                    }
                }
            }
        }
        let t = Tensor::from_vec(shape, w).expect("pruned weight");
        *g.weight_mut(id) = Weight::from_tensor(&t);
    }
    pruned
}

/// Share of zeros among `t`'s values.
pub fn zero_share(t: &Tensor) -> f64 {
    let v = t.to_f32_vec();
    v.iter().filter(|&&x| x == 0.0).count() as f64 / v.len().max(1) as f64
}
