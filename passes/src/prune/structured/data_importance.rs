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

/// `recon` before a least-squares refit: the output error each class's
/// removal leaves in the layers reading it once those layers are re-fitted
/// from the channels that remain — the Optimal Brain Surgeon saliency of a
/// whole block of inputs, tr(W_Bᵀ·((G⁻¹)_BB)⁻¹·W_B) with G = AᵀA the Gram
/// matrix of the layer's input rows (im2col for a conv) and B the columns the
/// class feeds. Channels that others can stand in for score low.
pub fn compensated(
    g: &Graph,
    an: &Analysis,
    batches: &[Vec<Tensor>],
) -> Result<BTreeMap<u32, f64>, InterpError> {
    use super::refit::{conv_geom, design};
    use faer::linalg::solvers::DenseSolveCore;
    use faer::Mat;
    // The consumers: cuts on input channels of a gemm, matmul or plain conv.
    struct Consumer<'a> {
        cut: &'a super::analyze::Cut,
        conv: Option<super::refit::ConvGeom>,
        out_hw: [usize; 2],
        gram: Option<Mat<f64>>,
    }
    let mut consumers: HashMap<ValueId, Vec<Consumer>> = HashMap::new();
    for cut in &an.cuts {
        let Some((w_axis, _)) = cut.input else {
            continue;
        };
        let node = g.node(cut.node);
        let Some(x) = node.input(0) else { continue };
        let rank = g.ty(x).rank();
        let (conv, out_hw) = match &node.op {
            Op::Conv { .. } => {
                let Some(c) = conv_geom(&node.op, rank) else {
                    continue;
                };
                let os = g.ty(node.outputs[0]).fixed_shape();
                let Some(os) = os.filter(|s| s.len() == 4) else {
                    continue;
                };
                (Some(c), [os[2] as usize, os[3] as usize])
            }
            Op::Gemm { trans_a: false, .. } | Op::MatMul {} => (None, [1, 1]),
            _ => continue,
        };
        if conv.is_some() && w_axis != 1 {
            continue;
        }
        consumers.entry(x).or_default().push(Consumer {
            cut,
            conv,
            out_hw,
            gram: None,
        });
    }
    for x in batches {
        let mut err = None;
        run_observed(g, x, &mut |v, t| {
            let Some(list) = consumers.get_mut(&v) else {
                return;
            };
            for c in list.iter_mut() {
                let (a, cols) = design(t, &c.conv, 0, c.out_hw);
                let rows = a.len() / cols.max(1);
                let am = Mat::from_fn(rows, cols, |i, j| a[i * cols + j]);
                let gram = c.gram.get_or_insert_with(|| Mat::zeros(cols, cols));
                if gram.nrows() != cols {
                    err = Some("the layer's input changed shape between batches".to_string());
                    return;
                }
                *gram += am.transpose() * &am;
            }
        })?;
        if let Some(e) = err {
            return Err(InterpError::Run(e));
        }
    }
    let mut score: BTreeMap<u32, f64> = BTreeMap::new();
    for list in consumers.values() {
        for c in list {
            let Some(gram) = &c.gram else { continue };
            let node = g.node(c.cut.node);
            let Some(w) = node.input(1).and_then(|v| g.weight_of(v)) else {
                continue;
            };
            let Ok(w) = w.tensor() else { continue };
            let ws = w.shape().to_vec();
            let (w_axis, _) = c.cut.input.expect("a consumer cut");
            let ids = &c
                .cut
                .axes
                .iter()
                .find(|(ax, _)| *ax == w_axis)
                .expect("input axis")
                .1;
            let k = gram.nrows();
            let mean_diag = (0..k).map(|i| gram[(i, i)]).sum::<f64>() / k as f64;
            let mut reg = gram.clone();
            for i in 0..k {
                reg[(i, i)] += 1e-5 * mean_diag.max(1e-12);
            }
            let Ok(llt) = reg.llt(faer::Side::Lower) else {
                continue;
            };
            let ginv = llt.inverse();
            // Columns per input channel, and the weight as [features, outputs].
            let per = match &c.conv {
                Some(_) => ws[2..].iter().product::<usize>(),
                None => 1,
            };
            let wv = w.to_f64_vec();
            let (outs, feat_of) = match (&c.conv, &node.op) {
                (Some(_), _) => (
                    ws[0],
                    Box::new(|f: usize, o: usize| wv[o * (k - 1) + f])
                        as Box<dyn Fn(usize, usize) -> f64>,
                ),
                (None, Op::Gemm { trans_b: true, .. }) => (
                    ws[0],
                    Box::new(|f: usize, o: usize| wv[o * (k - 1) + f])
                        as Box<dyn Fn(usize, usize) -> f64>,
                ),
                (None, _) => (
                    ws[1],
                    Box::new(|f: usize, o: usize| wv[f * ws[1] + o])
                        as Box<dyn Fn(usize, usize) -> f64>,
                ),
            };
            let mut by_class: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
            for (i, &id) in ids.iter().enumerate() {
                if id != NONE {
                    by_class
                        .entry(an.class(id))
                        .or_default()
                        .extend(i * per..(i + 1) * per);
                }
            }
            for (class, cols) in by_class {
                let b = cols.len();
                let sub = Mat::from_fn(b, b, |i, j| ginv[(cols[i], cols[j])]);
                let Ok(sl) = sub.llt(faer::Side::Lower) else {
                    continue;
                };
                let wb = Mat::from_fn(b, outs, |i, o| feat_of(cols[i], o));
                let x = faer::linalg::solvers::Solve::solve(&sl, &wb);
                let mut tr = 0.0;
                for i in 0..b {
                    for o in 0..outs {
                        tr += wb[(i, o)] * x[(i, o)];
                    }
                }
                *score.entry(class).or_insert(0.0) += tr;
            }
        }
    }
    for c in an.classes() {
        score.entry(c).or_insert(0.0);
    }
    Ok(score)
}
