//! Least-squares re-fit after pruning (channel pruning with reconstruction, as
//! in ThiNet and He et al. 2017): every layer downstream of a cut gets new
//! weights and bias that best reproduce, on calibration data, the output the
//! original model gave there from the inputs the pruned model now gives it.
//! Layers are fitted in graph order, so each one sees its refitted producers.
//!
//! Per layer (and per conv group) the normal equations (AᵀA + λI)·W = AᵀY +
//! λ·W₀ are accumulated over the batches (A: the im2col rows of the pruned
//! input with a 1 for the bias; Y: the original output's kept channels) and
//! solved by Cholesky (faer). λ, relative to AᵀA's mean diagonal, pulls W
//! towards the plainly sliced weights W₀ where the data says little.

use faer::linalg::solvers::Solve;
use faer::Mat;
use pare_ir::interp::run_observed;
use pare_ir::{Graph, NodeId, Op, Tensor, ValueId, Weight};
use std::collections::{BTreeSet, HashMap};

/// Relative ridge strength (1e-5 measured best of 1e-2, 1e-3, 1e-5 on the
/// digits CNN at 25 % and 50 %).
const RIDGE: f64 = 1e-5;

/// Why a layer was not refitted (it keeps its sliced weights).
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    pub layer: String,
    pub why: String,
}

/// A layer's geometry as the fit sees it.
struct Layer {
    node: NodeId,
    x: ValueId,
    y: ValueId,
    /// Conv: (group, kernel, stride, pads [top, left], dilation); None for gemm/matmul.
    conv: Option<ConvGeom>,
}

#[derive(Clone)]
pub(crate) struct ConvGeom {
    group: usize,
    k: [usize; 2],
    s: [usize; 2],
    p: [usize; 2],
    d: [usize; 2],
}

pub(crate) fn conv_geom(op: &Op, rank: usize) -> Option<ConvGeom> {
    let Op::Conv {
        auto_pad,
        kernel_shape,
        strides,
        pads,
        dilations,
        group,
    } = op
    else {
        return None;
    };
    if !matches!(
        auto_pad,
        pare_ir::ops::AutoPad::NotSet | pare_ir::ops::AutoPad::Valid
    ) || rank != 4
    {
        return None;
    }
    let u = |v: &[i64], i: usize, dflt: usize| v.get(i).map_or(dflt, |&x| x as usize);
    Some(ConvGeom {
        group: *group as usize,
        k: [u(kernel_shape, 0, 1), u(kernel_shape, 1, 1)],
        s: [u(strides, 0, 1), u(strides, 1, 1)],
        p: [u(pads, 0, 0), u(pads, 1, 0)],
        d: [u(dilations, 0, 1), u(dilations, 1, 1)],
    })
}

/// The value `v` of `g` on batch `x`.
pub(super) fn value_of(g: &Graph, x: &[Tensor], v: ValueId) -> Result<Tensor, String> {
    if let Some(i) = g.inputs.iter().position(|&i| i == v) {
        return Ok(x[i].clone());
    }
    let mut got = None;
    run_observed(g, x, &mut |id, t| {
        if id == v {
            got = Some(t.clone());
        }
    })
    .map_err(|e| e.to_string())?;
    got.ok_or_else(|| format!("value {} was not computed", v.index()))
}

/// Rows of the design matrix for group `gi` (im2col for a conv, the last axis
/// for a gemm/matmul), each followed by a 1 for the bias.
pub(crate) fn design(
    x: &Tensor,
    conv: &Option<ConvGeom>,
    gi: usize,
    out_hw: [usize; 2],
) -> (Vec<f64>, usize) {
    let xs = x.shape();
    let v = x.to_f64_vec();
    match conv {
        None => {
            let k = *xs.last().unwrap_or(&1);
            let rows = v.len() / k.max(1);
            let mut a = Vec::with_capacity(rows * (k + 1));
            for r in 0..rows {
                a.extend_from_slice(&v[r * k..(r + 1) * k]);
                a.push(1.0);
            }
            (a, k + 1)
        }
        Some(cg) => {
            let (n, c, h, w) = (xs[0], xs[1], xs[2], xs[3]);
            let cgp = c / cg.group;
            let kk = cgp * cg.k[0] * cg.k[1] + 1;
            let mut a = Vec::with_capacity(n * out_hw[0] * out_hw[1] * kk);
            for b in 0..n {
                for oy in 0..out_hw[0] {
                    for ox in 0..out_hw[1] {
                        for ci in 0..cgp {
                            let ch = gi * cgp + ci;
                            for ky in 0..cg.k[0] {
                                for kx in 0..cg.k[1] {
                                    let iy =
                                        (oy * cg.s[0] + ky * cg.d[0]) as isize - cg.p[0] as isize;
                                    let ix =
                                        (ox * cg.s[1] + kx * cg.d[1]) as isize - cg.p[1] as isize;
                                    let val = if iy >= 0
                                        && ix >= 0
                                        && (iy as usize) < h
                                        && (ix as usize) < w
                                    {
                                        v[((b * c + ch) * h + iy as usize) * w + ix as usize]
                                    } else {
                                        0.0
                                    };
                                    a.push(val);
                                }
                            }
                        }
                        a.push(1.0);
                    }
                }
            }
            (a, kk)
        }
    }
}

/// Target rows: the original output's kept channels of group `gi`, one row
/// per design row.
fn targets(y: &Tensor, conv: bool, chans: &[usize]) -> Vec<f64> {
    let ys = y.shape();
    let v = y.to_f64_vec();
    let mut t = Vec::new();
    if conv {
        let (n, c, hw) = (ys[0], ys[1], ys[2] * ys[3]);
        for b in 0..n {
            for p in 0..hw {
                for &ch in chans {
                    t.push(v[(b * c + ch) * hw + p]);
                }
            }
        }
    } else {
        let c = *ys.last().unwrap_or(&1);
        for r in 0..v.len() / c.max(1) {
            for &ch in chans {
                t.push(v[r * c + ch]);
            }
        }
    }
    t
}

/// Refits every layer downstream of a cut. `removed[v]` lists, per axis, the
/// original indices value `v` lost.
pub fn refit(
    orig: &Graph,
    g: &mut Graph,
    removed: &HashMap<ValueId, Vec<Vec<usize>>>,
    batches: &[Vec<Tensor>],
) -> Result<(Vec<String>, Vec<Skipped>), String> {
    // Downstream of a cut: every value computed from a changed one.
    let mut dirty: BTreeSet<ValueId> = removed.keys().copied().collect();
    let mut layers = Vec::new();
    for &n in g.order() {
        let node = g.node(n);
        let reads_dirty = node.present_inputs().any(|v| dirty.contains(&v));
        if !reads_dirty {
            continue;
        }
        dirty.extend(node.outputs.iter().copied());
        let x = node.input(0).expect("arity");
        let weight = node.input(1).and_then(|w| g.weight_of(w)).is_some();
        let fits = match &node.op {
            Op::Conv { .. } => weight,
            Op::Gemm { trans_a: false, .. } => weight,
            Op::MatMul {} => weight && g.ty(node.input(1).unwrap()).rank() == 2,
            _ => false,
        };
        if fits && dirty.contains(&x) {
            layers.push(Layer {
                node: n,
                x,
                y: node.outputs[0],
                conv: conv_geom(&node.op, g.ty(x).rank()),
            });
        }
    }
    let mut done = Vec::new();
    let mut skipped = Vec::new();
    for l in layers {
        let name = super::analyze::label(g, l.node);
        if matches!(g.node(l.node).op, Op::Conv { .. }) && l.conv.is_none() {
            skipped.push(Skipped {
                layer: name,
                why: "only 2-D convolutions with explicit padding are refitted".into(),
            });
            continue;
        }
        match fit_layer(orig, g, &l, false, removed, batches) {
            Ok(()) => done.push(name),
            Err(why) => skipped.push(Skipped { layer: name, why }),
        }
    }
    Ok((done, skipped))
}

fn fit_layer(
    orig: &Graph,
    g: &mut Graph,
    l: &Layer,
    masked: bool,
    removed: &HashMap<ValueId, Vec<Vec<usize>>>,
    batches: &[Vec<Tensor>],
) -> Result<(), String> {
    let node = g.node(l.node).clone();
    let w_val = node.input(1).expect("a weight");
    let w0 = g
        .weight_of(w_val)
        .expect("a weight")
        .tensor()
        .map_err(|e| e.to_string())?;
    let ws = w0.shape().to_vec();
    let orig_out = orig.ty(l.y).fixed_shape();
    let (groups, o_new) = match (&l.conv, &node.op) {
        (Some(cg), _) => (cg.group, ws[0]),
        (None, Op::Gemm { trans_b, .. }) => (1, if *trans_b { ws[0] } else { ws[1] }),
        _ => (1, ws[1]),
    };
    let (alpha, beta) = match node.op {
        Op::Gemm { alpha, beta, .. } => (alpha as f64, beta as f64),
        _ => (1.0, 1.0),
    };
    let has_bias = node.input(2).is_some() || matches!(node.op, Op::Conv { .. } | Op::Gemm { .. });
    // Original channels behind the pruned layer's outputs.
    let channel_axis = if l.conv.is_some() {
        1
    } else {
        g.ty(l.y).rank() - 1
    };
    let o_orig = orig_out
        .as_ref()
        .and_then(|s| s.get(channel_axis).copied())
        .map(|d| d as usize);
    let o_orig = o_orig.unwrap_or(o_new);
    let kept: Vec<usize> = match removed.get(&l.y) {
        Some(rm) => super::tags::kept(o_orig, &rm[channel_axis]),
        None => (0..o_orig).collect(),
    };
    if kept.len() != o_new {
        return Err(format!(
            "{} kept output channels, the weight has {o_new}",
            kept.len()
        ));
    }
    let og = o_new / groups;
    // Current weight per group as initial solution W0 [k, og] (bias row last).
    let bias0: Vec<f64> = match node.input(2).and_then(|b| g.weight_of(b)) {
        Some(b) => b.tensor().map_err(|e| e.to_string())?.to_f64_vec(),
        None => vec![0.0; o_new],
    };
    let w0v = w0.to_f64_vec();
    let kdim = |cg: &Option<ConvGeom>| match cg {
        Some(c) => ws[1] * c.k[0] * c.k[1] + 1,
        None => match &node.op {
            Op::Gemm { trans_b, .. } => (if *trans_b { ws[1] } else { ws[0] }) + 1,
            _ => ws[0] + 1,
        },
    };
    let kk = kdim(&l.conv);
    // Weight entry (row r of the design, output o) in the flat weight.
    let w_at = |r: usize, o: usize| -> f64 {
        match (&l.conv, &node.op) {
            (Some(_), _) => w0v[o * (kk - 1) + r],
            (None, Op::Gemm { trans_b: true, .. }) => w0v[o * (kk - 1) + r] * alpha,
            (None, _) => w0v[r * o_new + o] * alpha,
        }
    };
    let mut ata: Vec<Mat<f64>> = (0..groups).map(|_| Mat::zeros(kk, kk)).collect();
    let mut aty: Vec<Mat<f64>> = (0..groups).map(|_| Mat::zeros(kk, og)).collect();
    for x in batches {
        let xin = value_of(g, x, l.x)?;
        let yref = value_of(orig, x, l.y)?;
        let out_hw = match &l.conv {
            Some(_) => [yref.shape()[2], yref.shape()[3]],
            None => [1, 1],
        };
        for gi in 0..groups {
            let (a, cols) = design(&xin, &l.conv, gi, out_hw);
            let chans: Vec<usize> = kept[gi * og..(gi + 1) * og].to_vec();
            let t = targets(&yref, l.conv.is_some(), &chans);
            let rows = a.len() / cols;
            let am = Mat::from_fn(rows, cols, |i, j| a[i * cols + j]);
            let tm = Mat::from_fn(rows, og, |i, j| t[i * og + j]);
            ata[gi] += am.transpose() * &am;
            aty[gi] += am.transpose() * &tm;
        }
    }
    let mut new_w = vec![0.0f64; w0v.len()];
    let mut new_b = vec![0.0f64; o_new];
    for gi in 0..groups {
        let mean_diag = (0..kk).map(|i| ata[gi][(i, i)]).sum::<f64>() / kk as f64;
        let lambda = RIDGE * mean_diag.max(1e-12);
        let mut lhs = ata[gi].clone();
        let mut rhs = aty[gi].clone();
        for i in 0..kk {
            lhs[(i, i)] += lambda;
        }
        for o in 0..og {
            let oo = gi * og + o;
            for r in 0..kk - 1 {
                rhs[(r, o)] += lambda * w_at(r, oo);
            }
            rhs[(kk - 1, o)] += lambda * bias0[oo] * beta;
        }
        if !has_bias {
            // No bias to fit: pin it to zero.
            for j in 0..kk {
                lhs[(kk - 1, j)] = 0.0;
                lhs[(j, kk - 1)] = 0.0;
            }
            lhs[(kk - 1, kk - 1)] = 1.0;
            for o in 0..og {
                rhs[(kk - 1, o)] = 0.0;
            }
        }
        let sol = if masked {
            // Each output keeps its own non-zeros (and bias): one small system each.
            let mut sol = Mat::<f64>::zeros(kk, og);
            for o in 0..og {
                let oo = gi * og + o;
                let support: Vec<usize> = (0..kk - 1)
                    .filter(|&r| w_at(r, oo) != 0.0)
                    .chain(std::iter::once(kk - 1))
                    .collect();
                let m = support.len();
                let sub = Mat::from_fn(m, m, |i, j| lhs[(support[i], support[j])]);
                let b = Mat::from_fn(m, 1, |i, _| rhs[(support[i], o)]);
                let llt = sub
                    .llt(faer::Side::Lower)
                    .map_err(|_| "the normal equations are not positive definite".to_string())?;
                let x = llt.solve(&b);
                for (i, &r) in support.iter().enumerate() {
                    sol[(r, o)] = x[(i, 0)];
                }
            }
            sol
        } else {
            let llt = lhs
                .llt(faer::Side::Lower)
                .map_err(|_| "the normal equations are not positive definite".to_string())?;
            llt.solve(&rhs)
        };
        for o in 0..og {
            let oo = gi * og + o;
            for r in 0..kk - 1 {
                let v = sol[(r, o)];
                match (&l.conv, &node.op) {
                    (Some(_), _) => new_w[oo * (kk - 1) + r] = v,
                    (None, Op::Gemm { trans_b: true, .. }) => new_w[oo * (kk - 1) + r] = v / alpha,
                    (None, _) => new_w[r * o_new + oo] = v / alpha,
                }
            }
            new_b[oo] = if beta != 0.0 {
                sol[(kk - 1, o)] / beta
            } else {
                0.0
            };
        }
    }
    if new_w.iter().chain(&new_b).any(|v| !v.is_finite()) {
        return Err("the fit is not finite".into());
    }
    let wt = Tensor::from_vec(ws.clone(), new_w.iter().map(|&v| v as f32).collect())
        .map_err(|e| e.to_string())?;
    let name = std::mem::take(&mut g.value_mut(w_val).name);
    let nw = g
        .add_weight(name, Weight::from_tensor(&wt))
        .map_err(|e| e.to_string())?;
    g.node_mut(l.node).inputs[1] = Some(nw);
    if has_bias {
        let bt = Tensor::from_vec(vec![o_new], new_b.iter().map(|&v| v as f32).collect())
            .map_err(|e| e.to_string())?;
        let bname = match node.input(2) {
            Some(b) => std::mem::take(&mut g.value_mut(b).name),
            None => format!("{}.bias", g.value(nw).name),
        };
        let nb = g
            .add_weight(bname, Weight::from_tensor(&bt))
            .map_err(|e| e.to_string())?;
        let nd = g.node_mut(l.node);
        if nd.inputs.len() < 3 {
            nd.inputs.resize(3, None);
        }
        nd.inputs[2] = Some(nb);
    }
    Ok(())
}

/// Re-fits the layers `nodes` (pruned unstructured) in graph order, each
/// output keeping its zeros: the non-zero weights and the bias of every output
/// are solved by least squares to reproduce the original model's output from
/// the pruned model's input (the closed-form update SparseGPT makes, here
/// exact per output). Returns the layers refitted and those left as they were.
pub fn refit_masked(
    orig: &Graph,
    g: &mut Graph,
    nodes: &BTreeSet<NodeId>,
    batches: &[Vec<Tensor>],
) -> (Vec<String>, Vec<Skipped>) {
    let mut done = Vec::new();
    let mut skipped = Vec::new();
    let order: Vec<NodeId> = g
        .order()
        .iter()
        .copied()
        .filter(|n| nodes.contains(n))
        .collect();
    for n in order {
        let node = g.node(n);
        let name = super::analyze::label(g, n);
        let x = node.input(0).expect("arity");
        let fits = match &node.op {
            Op::Conv { .. } => conv_geom(&node.op, g.ty(x).rank()).is_some(),
            Op::Gemm { trans_a: false, .. } => true,
            Op::MatMul {} => node.input(1).is_some_and(|w| g.ty(w).rank() == 2),
            _ => false,
        };
        if !fits {
            skipped.push(Skipped {
                layer: name,
                why: "only 2-D convolutions with explicit padding, gemm and 2-D matmul weights are refitted".into(),
            });
            continue;
        }
        let l = Layer {
            node: n,
            x,
            y: node.outputs[0],
            conv: conv_geom(&node.op, g.ty(x).rank()),
        };
        match fit_layer(orig, g, &l, true, &HashMap::new(), batches) {
            Ok(()) => done.push(name),
            Err(why) => skipped.push(Skipped { layer: name, why }),
        }
    }
    (done, skipped)
}
