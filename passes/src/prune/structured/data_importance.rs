//! Data-driven importance, measured on calibration batches run through the
//! float interpreter: `act` is a channel's mean |output| at the layers that
//! make it; `recon` is the output error its removal alone would cause in the
//! layers that read it, E[Σ x_c²]·‖W[:, c]‖² per consumer (exact for a 1×1
//! conv or a gemm, the diagonal term for a k×k conv).

use super::analyze::Analysis;
use super::importance::slice_norms_sq;
use super::tags::NONE;
use pare_ir::interp::{run_observed, InterpError};
use pare_ir::{Graph, Op, Tensor, ValueId};
use std::collections::{BTreeMap, HashMap};

/// Per-channel sums of |x| and x² along `axis`, and the element count per channel.
fn per_channel(t: &Tensor, axis: usize, abs: &mut [f64], sq: &mut [f64]) -> usize {
    let shape = t.shape();
    let d = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    for (e, x) in t.to_f64_vec().into_iter().enumerate() {
        let i = (e / inner) % d;
        abs[i] += x.abs();
        sq[i] += x * x;
    }
    t.len() / d.max(1)
}

struct Acc {
    axis: usize,
    abs: Vec<f64>,
    sq: Vec<f64>,
    count: usize,
}

/// Runs every batch, accumulating per-channel statistics of `want` values.
fn collect(
    g: &Graph,
    batches: &[Vec<Tensor>],
    want: &HashMap<ValueId, usize>,
) -> Result<(HashMap<ValueId, Acc>, usize), InterpError> {
    let mut acc: HashMap<ValueId, Acc> = HashMap::new();
    let mut samples = 0;
    for x in batches {
        samples += x
            .first()
            .map_or(1, |t| t.shape().first().copied().unwrap_or(1));
        let mut err = None;
        run_observed(g, x, &mut |v, t| {
            let Some(&axis) = want.get(&v) else { return };
            if axis >= t.rank() {
                err = Some(format!("value {} has no axis {axis}", v.index()));
                return;
            }
            let d = t.shape()[axis];
            let a = acc.entry(v).or_insert_with(|| Acc {
                axis,
                abs: vec![0.0; d],
                sq: vec![0.0; d],
                count: 0,
            });
            a.count += per_channel(t, a.axis, &mut a.abs, &mut a.sq);
        })?;
        if let Some(e) = err {
            return Err(InterpError::Run(e));
        }
    }
    Ok((acc, samples.max(1)))
}

/// The channel axis of a source layer's output.
fn out_axis(g: &Graph, node: &pare_ir::Node) -> usize {
    match node.op {
        Op::MatMul {} => g.ty(node.outputs[0]).rank().saturating_sub(1),
        _ => 1,
    }
}

/// `act`: each class's mean |output| over the channels of the layers making it.
pub fn activation(
    g: &Graph,
    an: &Analysis,
    batches: &[Vec<Tensor>],
) -> Result<BTreeMap<u32, f64>, InterpError> {
    let mut want = HashMap::new();
    for s in an.sources.iter().flatten() {
        let node = g.node(s.node);
        want.insert(node.outputs[0], out_axis(g, node));
    }
    let (acc, _) = collect(g, batches, &want)?;
    let mut sum: BTreeMap<u32, (f64, usize)> = BTreeMap::new();
    for (id, s) in an.sources.iter().enumerate() {
        let Some(s) = s else { continue };
        let Some(a) = acc.get(&g.node(s.node).outputs[0]) else {
            continue;
        };
        let v = a.abs[s.channel] / a.count.max(1) as f64;
        let e = sum.entry(an.class(id as u32)).or_insert((0.0, 0));
        e.0 += v;
        e.1 += 1;
    }
    Ok(sum
        .into_iter()
        .map(|(c, (s, n))| (c, s / n.max(1) as f64))
        .collect())
}

/// `recon`: per class, the summed squared output error its removal alone
/// causes in the layers reading it (per sample).
pub fn reconstruction(
    g: &Graph,
    an: &Analysis,
    batches: &[Vec<Tensor>],
) -> Result<BTreeMap<u32, f64>, InterpError> {
    let mut want = HashMap::new();
    for cut in &an.cuts {
        if let (Some((_, x_axis)), Some(x)) = (cut.input, g.node(cut.node).input(0)) {
            want.insert(x, x_axis);
        }
    }
    let (acc, samples) = collect(g, batches, &want)?;
    let mut score: BTreeMap<u32, f64> = BTreeMap::new();
    for cut in &an.cuts {
        let Some((w_axis, _)) = cut.input else {
            continue;
        };
        let node = g.node(cut.node);
        let (Some(x), Some(w)) = (
            node.input(0),
            node.input(cut.slot).and_then(|v| g.weight_of(v)),
        ) else {
            continue;
        };
        let Some(a) = acc.get(&x) else { continue };
        let Ok(w) = w.tensor() else { continue };
        let norms = slice_norms_sq(&w, w_axis);
        let ids = &cut
            .axes
            .iter()
            .find(|(ax, _)| *ax == w_axis)
            .expect("the input axis")
            .1;
        for (i, &id) in ids.iter().enumerate() {
            if id == NONE || i >= a.sq.len() {
                continue;
            }
            *score.entry(an.class(id)).or_insert(0.0) += a.sq[i] / samples as f64 * norms[i];
        }
    }
    // Classes no layer reads (none are prunable then) score 0.
    for c in an.classes() {
        score.entry(c).or_insert(0.0);
    }
    Ok(score)
}
