//! Low-rank for k×k convolutions (group 1, 2-D, explicit padding): Tucker-2
//! (see [`super::tucker`]) into 1×1 → k×k core → 1×1, or spatial separation
//! (see [`super::spatial`]) into kh×1 then 1×kw. Each method's rank follows
//! `by`; with `conv=best` the one with fewer params wins among those where
//! params and MACs both drop. The data-aware variant fits the factors to the
//! output error on calibration inputs (im2col Gram matrix, ALS); the plain one
//! keeps the least-weight-error factors. Ranks by energy come from the
//! weight's singular values in both variants. Each layer's note gives the
//! method, why, and both variants' errors. Depthwise and grouped convs stay
//! whole.

use super::bilinear::rel_error;
use super::conv_method::{choose, ConvTarget, Decomp, Fitted, Ranks};
use super::conv_rewrite;
use super::spatial::separate;
use super::tucker::hosvd;
use super::{ConvMethod, RankBy};
use crate::prune::structured::analyze::label;
use crate::prune::structured::refit::{conv_geom, design};
use crate::{PassCx, PassError};
use faer::Mat;
use pare_ir::{Dim, Graph, NodeId, Op, Tensor, ValueId};
use std::collections::HashMap;

const PASS: &str = "lowrank";

/// The widest im2col row (I·kh·kw) the data-aware fits take; wider convs get
/// the plain factors (their note says so).
const DATA_MAX_INPUTS: usize = 1152;

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
        let fixed = |v: ValueId, k: usize| g.ty(v).shape[k].fixed().map_or(0, |d| d as usize);
        let Ok(t) = w.tensor() else { continue };
        let s = t.shape().to_vec();
        if kernel_shape.len() != 2
            || kernel_shape[0] as usize != s[2]
            || kernel_shape[1] as usize != s[3]
        {
            continue;
        }
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
            in_w: fixed(x, 3),
            out_h: fixed(node.outputs[0], 2),
        });
    }
    out
}

/// Says why grouped and depthwise convs stay whole.
fn note_grouped(g: &Graph, cx: &mut PassCx, keep: &[String]) {
    for &n in g.order() {
        let Op::Conv { group, .. } = &g.node(n).op else {
            continue;
        };
        let name = label(g, n);
        if *group > 1 && !keep.contains(&name) {
            let chans = g
                .node(n)
                .input(0)
                .and_then(|x| g.ty(x).shape.get(1)?.fixed());
            let kind = if chans == Some(*group as u64) {
                "depthwise"
            } else {
                "grouped"
            };
            cx.note(
                PASS,
                format!("{name}: skipped, a {kind} conv (group {group}) is left whole: its per-group filters are already small"),
            );
        }
    }
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

/// One method's outcome on a layer.
struct Candidate {
    ranks: Ranks,
    params: usize,
    macs: usize,
    /// The factors of the chosen variant and their W'.
    fitted: Option<(Fitted, Mat<f64>)>,
    /// The plain factors' W' (both variants' errors go in the note).
    plain: Option<Mat<f64>>,
}

/// Factorizes every eligible conv of `g`; returns whether any changed.
pub fn factorize(
    g: &mut Graph,
    cx: &mut PassCx,
    by: RankBy,
    method: ConvMethod,
    data_aware: bool,
    keep: &[String],
    batches: &[Vec<Tensor>],
) -> Result<bool, PassError> {
    note_grouped(g, cx, keep);
    let targets = targets(g, keep);
    let grams = grams(g, &targets, batches)?;
    let mut changed = false;
    for t in &targets {
        let name = label(g, t.node);
        let kk = t.kh * t.kw;
        let wm = Mat::from_fn(t.o, t.i * kk, |a, b| t.w[a * t.i * kk + b]);
        let gm = grams.get(&t.node);
        // The data-aware fits solve systems up to the im2col width: bounded.
        let too_wide = data_aware && t.i * kk > DATA_MAX_INPUTS;
        let fit_gram = if data_aware && !too_wide { gm } else { None };
        let mut decomps = Vec::new();
        if method != ConvMethod::Spatial {
            decomps.extend(hosvd(&t.w, t.o, t.i, kk).map(Decomp::Tucker));
        }
        if method != ConvMethod::Tucker && t.kh > 1 && t.kw > 1 {
            decomps.extend(separate(&t.w, t.o, t.i, t.kh, t.kw).map(Decomp::Spatial));
        }
        if decomps.is_empty() {
            let why = if method == ConvMethod::Spatial {
                "spatial separation needs kh > 1 and kw > 1"
            } else {
                "the SVD did not converge"
            };
            cx.note(PASS, format!("{name}: skipped, {why}"));
            continue;
        }
        let measure = |f: &Option<(Fitted, Mat<f64>)>| {
            f.as_ref()
                .map_or(f64::INFINITY, |(_, a)| rel_error(&wm, a, gm))
        };
        let cands: Vec<Candidate> = decomps
            .iter()
            .map(|d| {
                let ranks = choose(d, t, by, &|r| measure(&d.fit(t, &wm, r, fit_gram)));
                Candidate {
                    ranks,
                    params: ranks.params(t),
                    macs: ranks.macs(t),
                    fitted: d.fit(t, &wm, ranks, fit_gram),
                    plain: d.fit(t, &wm, ranks, None).map(|(_, a)| a),
                }
            })
            .collect();
        let (before_p, before_m) = (t.o * t.i * kk, t.out_px * t.o * t.i * kk);
        let figures = |c: &Candidate| {
            format!(
                "{}: params {} vs {before_p}, MACs {} vs {before_m} per sample",
                c.ranks.describe(t),
                c.params,
                c.macs
            )
        };
        let best = cands
            .iter()
            .enumerate()
            .filter(|(_, c)| c.params < before_p && c.macs < before_m && c.fitted.is_some())
            .min_by_key(|(_, c)| c.params)
            .map(|(k, _)| k);
        let Some(k) = best else {
            let all: Vec<String> = cands.iter().map(figures).collect();
            let why = match cands.iter().find(|c| c.fitted.is_none()) {
                Some(_) if data_aware => {
                    "; the data-aware fit failed (Gram matrix not positive definite)"
                }
                _ => "",
            };
            cx.note(
                PASS,
                format!(
                    "{name}: skipped, no factorization shrinks both params and MACs ({}){why}",
                    all.join("; ")
                ),
            );
            continue;
        };
        let c = &cands[k];
        let others: Vec<String> = cands
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != k)
            .map(|(_, o)| {
                let verdict = if o.params >= before_p || o.macs >= before_m {
                    "would not shrink both"
                } else if o.params > c.params {
                    "larger"
                } else {
                    "no smaller (ties go to Tucker-2)"
                };
                format!(
                    "{} {verdict}, {} params, {} MACs",
                    o.ranks.describe(t),
                    o.params,
                    o.macs
                )
            })
            .collect();
        let why = match (method, others.is_empty()) {
            (ConvMethod::Best, false) => format!("the fewest params; {}", others.join("; ")),
            (ConvMethod::Best, true) => "the only method for a kernel with a side of 1".into(),
            _ => "the method asked for".into(),
        };
        let (fitted, approx) = c.fitted.as_ref().expect("filtered");
        let fmt = |e: Option<f64>| e.map_or("-".into(), |e| format!("{e:.3e}"));
        let plain_w = c.plain.as_ref().map(|a| rel_error(&wm, a, None));
        let plain_o = c
            .plain
            .as_ref()
            .and_then(|a| gm.map(|g| rel_error(&wm, a, Some(g))));
        let data = |e: Option<f64>| {
            if fit_gram.is_some() {
                format!(", data-aware {}", fmt(e))
            } else {
                String::new()
            }
        };
        let fallback = if too_wide {
            format!(
                " (data-aware fit skipped: {} im2col inputs > {DATA_MAX_INPUTS})",
                t.i * kk
            )
        } else {
            String::new()
        };
        cx.note(
            PASS,
            format!(
                "{name}: [{}, {}, {}, {}] -> {} ({}{fallback}), params {before_p} -> {}, MACs {before_m} -> {} per sample; {why}; relative weight error plain {}{}, output error on calib plain {}{}",
                t.o,
                t.i,
                t.kh,
                t.kw,
                c.ranks.describe(t),
                match (fit_gram.is_some(), fitted) {
                    (true, _) => "data-aware ALS",
                    (false, Fitted::Tucker(_)) => "plain HOSVD",
                    (false, Fitted::Spatial(_)) => "plain SVD",
                },
                c.params,
                c.macs,
                fmt(plain_w),
                data(Some(rel_error(&wm, approx, None))),
                fmt(plain_o),
                data(gm.map(|g| rel_error(&wm, approx, Some(g)))),
            ),
        );
        match fitted {
            Fitted::Tucker(f) => conv_rewrite::tucker(g, t.node, f),
            Fitted::Spatial(f) => conv_rewrite::spatial(g, t.node, f),
        }
        .map_err(|e| PassError::node(PASS, g, t.node, e))?;
        changed = true;
    }
    Ok(changed)
}
