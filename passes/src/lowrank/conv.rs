//! Low-rank for k×k convolutions (group 1, 2-D, explicit padding): Tucker-2
//! (see [`super::tucker`]) into 1×1 → k×k core → 1×1, where params and MACs
//! both drop. The factors are the plain HOSVD ones (least weight error); the
//! output error on calibration inputs is measured (im2col Gram matrix) and
//! chooses the rank for `by=error`. Depthwise and grouped convs stay whole.

use super::tucker::{energy_rank, hosvd, Factors};
use super::RankBy;
use crate::prune::structured::analyze::label;
use crate::prune::structured::refit::{conv_geom, design};
use crate::{PassCx, PassError};
use faer::Mat;
use pare_ir::ops::AutoPad;
use pare_ir::{Dim, Graph, NodeId, Op, Tensor, TensorType, ValueId, Weight};
use std::collections::HashMap;

const PASS: &str = "lowrank";

struct ConvTarget {
    node: NodeId,
    x: ValueId,
    w: Vec<f64>,
    o: usize,
    i: usize,
    kh: usize,
    kw: usize,
    /// Input and output pixels per sample (MACs of the 1×1 convs).
    in_px: usize,
    out_px: usize,
}

fn targets(g: &Graph, keep: &[String]) -> Vec<ConvTarget> {
    let mut out = Vec::new();
    for &n in g.order() {
        let node = g.node(n);
        let Op::Conv {
            group: 1,
            kernel_shape,
            ..
        } = &node.op
        else {
            continue;
        };
        if keep.contains(&label(g, n)) || kernel_shape.iter().product::<i64>() <= 1 {
            continue;
        }
        let (Some(x), Some(wv)) = (node.input(0), node.input(1)) else {
            continue;
        };
        let Some(w) = g.weight_of(wv) else { continue };
        if !w.ty.dtype.is_float() || w.ty.quant.is_some() || w.ty.rank() != 4 {
            continue;
        }
        if conv_geom(&node.op, g.ty(x).rank()).is_none() {
            continue;
        }
        // Spatial sizes must be known for the MAC count (the batch may be symbolic).
        let pixels = |v: ValueId| -> Option<usize> {
            let dims = g
                .ty(v)
                .shape
                .iter()
                .skip(2)
                .map(Dim::fixed)
                .collect::<Option<Vec<_>>>()?;
            Some(dims.iter().product::<u64>() as usize)
        };
        let (Some(in_px), Some(out_px)) = (pixels(x), pixels(node.outputs[0])) else {
            continue;
        };
        let Ok(t) = w.tensor() else { continue };
        let s = t.shape().to_vec();
        out.push(ConvTarget {
            node: n,
            x,
            w: t.to_f64_vec(),
            o: s[0],
            i: s[1],
            kh: s[2],
            kw: s[3],
            in_px,
            out_px,
        });
    }
    out
}

/// im2col Gram matrices [I·kk, I·kk] of each target's input.
fn grams(
    g: &Graph,
    targets: &[ConvTarget],
    batches: &[Vec<Tensor>],
) -> Result<HashMap<NodeId, Mat<f64>>, PassError> {
    let mut by_x: HashMap<ValueId, Vec<usize>> = HashMap::new();
    for (k, t) in targets.iter().enumerate() {
        by_x.entry(t.x).or_default().push(k);
    }
    let mut out: HashMap<NodeId, Mat<f64>> = HashMap::new();
    let mut add = |v: ValueId, x: &Tensor| {
        let Some(list) = by_x.get(&v) else { return };
        for &k in list {
            let t = &targets[k];
            let node = g.node(t.node);
            let geom = conv_geom(&node.op, 4);
            let ys = g.ty(node.outputs[0]);
            let (Some(h), Some(w)) = (ys.shape[2].fixed(), ys.shape[3].fixed()) else {
                continue;
            };
            let (a, cols) = design(x, &geom, 0, [h as usize, w as usize]);
            let k2 = cols - 1;
            let rows = a.len() / cols;
            let am = Mat::from_fn(rows, k2, |r, c| a[r * cols + c]);
            let gm = out.entry(t.node).or_insert_with(|| Mat::zeros(k2, k2));
            *gm += am.transpose() * &am;
        }
    };
    super::observe_all(g, batches, &mut add)?;
    Ok(out)
}

/// Relative output error of `approx` against `w` (both [O, I·kk]) under the
/// Gram matrix `gm`, or the relative weight error without one.
fn rel_error(w: &[f64], approx: &[f64], o: usize, gm: Option<&Mat<f64>>) -> f64 {
    let k = w.len() / o;
    match gm {
        None => {
            let num: f64 = w.iter().zip(approx).map(|(a, b)| (a - b) * (a - b)).sum();
            let den: f64 = w.iter().map(|a| a * a).sum();
            num / den.max(1e-300)
        }
        Some(gm) => {
            let d = Mat::from_fn(o, k, |r, c| w[r * k + c] - approx[r * k + c]);
            let wm = Mat::from_fn(o, k, |r, c| w[r * k + c]);
            let num: f64 = (0..o).map(|r| d.row(r) * gm * d.row(r).transpose()).sum();
            let den: f64 = (0..o).map(|r| wm.row(r) * gm * wm.row(r).transpose()).sum();
            num / den.max(1e-300)
        }
    }
}

/// Factorizes every eligible conv of `g`; returns whether any changed.
pub fn factorize(
    g: &mut Graph,
    cx: &mut PassCx,
    by: RankBy,
    keep: &[String],
    batches: &[Vec<Tensor>],
) -> Result<bool, PassError> {
    let targets = targets(g, keep);
    let grams = grams(g, &targets, batches)?;
    let mut changed = false;
    for t in &targets {
        let name = label(g, t.node);
        let kk = t.kh * t.kw;
        let Some(h) = hosvd(&t.w, t.o, t.i, kk) else {
            cx.note(PASS, format!("{name}: skipped, the SVD did not converge"));
            continue;
        };
        let gm = grams.get(&t.node);
        // Each side's rank is capped by its own size (full rank reproduces W).
        let max_r = t.o.max(t.i);
        let ranks = |r: usize| (r.min(t.o).min(t.i * kk), r.min(t.i).min(t.o * kk));
        let params = |ro: usize, ri: usize| t.i * ri + ro * ri * kk + ro * t.o;
        let (r_out, r_in) = match by {
            RankBy::Energy(e) => (
                energy_rank(&h.sigma_out, e).min(t.o),
                energy_rank(&h.sigma_in, e).min(t.i),
            ),
            RankBy::Size(s) => {
                let budget = s * (t.o * t.i * kk) as f64;
                let r = (1..=max_r)
                    .rev()
                    .find(|&r| {
                        let (ro, ri) = ranks(r);
                        params(ro, ri) as f64 <= budget
                    })
                    .unwrap_or(1);
                ranks(r)
            }
            RankBy::Error(e) => {
                let r = (1..=max_r)
                    .find(|&r| {
                        let (ro, ri) = ranks(r);
                        rel_error(&t.w, &h.approx(&h.factors(&t.w, ro, ri)), t.o, gm) <= e
                    })
                    .unwrap_or(max_r);
                ranks(r)
            }
        };
        let f = h.factors(&t.w, r_out, r_in);
        let before_p = t.o * t.i * kk;
        let after_p = params(r_out, r_in);
        let before_m = t.out_px * t.o * t.i * kk;
        let after_m = t.in_px * t.i * r_in + t.out_px * (r_out * r_in * kk + t.o * r_out);
        if after_p >= before_p || after_m >= before_m {
            cx.note(
                PASS,
                format!(
                    "{name}: skipped, Tucker-2 ranks ({r_in}, {r_out}) of [{}, {}, {}, {}] would not shrink it (params {after_p} vs {before_p}, MACs {after_m} vs {before_m} per sample)",
                    t.o, t.i, t.kh, t.kw
                ),
            );
            continue;
        }
        let approx = h.approx(&f);
        let w_err = rel_error(&t.w, &approx, t.o, None);
        let o_err = gm.map(|gm| rel_error(&t.w, &approx, t.o, Some(gm)));
        cx.note(
            PASS,
            format!(
                "{name}: [{}, {}, {}, {}] -> Tucker-2 ranks (in {r_in}, out {r_out}) (plain HOSVD), params {before_p} -> {after_p}, MACs {before_m} -> {after_m} per sample; relative weight error {w_err:.3e}, output error on calib {}",
                t.o,
                t.i,
                t.kh,
                t.kw,
                o_err.map_or("-".into(), |e| format!("{e:.3e}"))
            ),
        );
        rewrite(g, t, &f, r_out, r_in).map_err(|e| PassError::node(PASS, g, t.node, e))?;
        changed = true;
    }
    Ok(changed)
}

fn weight(shape: Vec<usize>, v: Vec<f64>) -> Weight {
    Weight::from_tensor(
        &Tensor::from_vec(shape, v.into_iter().map(|x| x as f32).collect()).expect("shape"),
    )
}

fn pointwise() -> Op {
    Op::Conv {
        auto_pad: AutoPad::NotSet,
        kernel_shape: vec![1, 1],
        strides: vec![1, 1],
        pads: vec![0, 0, 0, 0],
        dilations: vec![1, 1],
        group: 1,
    }
}

/// conv(x, W, b) becomes conv1×1(x, U_iᵀ) → conv k×k(·, core) → conv1×1(·, U_o, b).
fn rewrite(
    g: &mut Graph,
    t: &ConvTarget,
    f: &Factors,
    r_out: usize,
    r_in: usize,
) -> Result<(), pare_ir::IrError> {
    let node = g.node(t.node).clone();
    let base = label(g, t.node);
    let wname = g.value(node.input(1).expect("a weight")).name.clone();
    let first: Vec<f64> = (0..r_in)
        .flat_map(|a| (0..t.i).map(move |b| (a, b)))
        .map(|(a, b)| f.u_in[(b, a)])
        .collect();
    let last: Vec<f64> = (0..t.o)
        .flat_map(|a| (0..r_out).map(move |b| (a, b)))
        .map(|(a, b)| f.u_out[(a, b)])
        .collect();
    let w1 = g.add_weight(
        format!("{wname}.tucker_in"),
        weight(vec![r_in, t.i, 1, 1], first),
    )?;
    let w2 = g.add_weight(
        format!("{wname}.tucker_core"),
        weight(vec![r_out, r_in, t.kh, t.kw], f.core.clone()),
    )?;
    let w3 = g.add_weight(
        format!("{wname}.tucker_out"),
        weight(vec![t.o, r_out, 1, 1], last),
    )?;
    let xty = g.ty(t.x).clone();
    let yty = g.ty(node.outputs[0]).clone();
    let mut h1 = TensorType::new(xty.dtype, xty.shape.clone());
    h1.shape[1] = Dim::Fixed(r_in as u64);
    let mut h2 = TensorType::new(yty.dtype, yty.shape.clone());
    h2.shape[1] = Dim::Fixed(r_out as u64);
    let (_, o1) = g.insert_node_before(
        t.node,
        format!("{base}.tucker_in"),
        pointwise(),
        vec![Some(t.x), Some(w1)],
        vec![(format!("{base}.tucker_in"), h1)],
    )?;
    let (_, o2) = g.insert_node_before(
        t.node,
        format!("{base}.tucker_core"),
        node.op.clone(),
        vec![Some(o1[0]), Some(w2)],
        vec![(format!("{base}.tucker_core"), h2)],
    )?;
    let nd = g.node_mut(t.node);
    nd.op = pointwise();
    nd.inputs[0] = Some(o2[0]);
    nd.inputs[1] = Some(w3);
    Ok(())
}
