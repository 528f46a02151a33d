//! `lowrank`: factorizes the constant weight of a Gemm or MatMul, W [K, N] ≈
//! A [K, r]·B [r, N], into two layers where that makes both params and MACs
//! drop (r·(K+N) < K·N). The rank is chosen per layer by singular-value energy,
//! a size target or an output-error budget; the data-aware variant (default)
//! minimizes the layer's output error on calibration inputs rather than the
//! weight error. Each layer's note gives both variants' errors. A k×k conv
//! (group 1) becomes 1×1 → k×k core → 1×1 by Tucker-2 or kh×1 then 1×kw by
//! spatial separation, whichever is smaller (see [`conv`]).

pub mod bilinear;
mod conv;
mod conv_method;
mod conv_rewrite;
pub mod factor;
pub mod spatial;
pub mod tucker;

use crate::registry::{OptionSpec, OptionType, Options};
use crate::{Changed, Pass, PassCx, PassError};
use factor::Factorization;
use faer::Mat;
use pare_ir::interp::run_observed;
use pare_ir::{Dim, Graph, NodeId, Op, Tensor, TensorType, ValueId, Weight};
use std::collections::HashMap;

const PASS: &str = "lowrank";

pub const OPTIONS: &[OptionSpec] = &[
    OptionSpec {
        name: "by",
        ty: OptionType::Choice(&["energy", "size", "error"]),
        default: Some("energy"),
        help: "how the rank is chosen: the singular-value energy kept, the factorized layer's size as a fraction of the original's, or the relative output error allowed on calib",
    },
    OptionSpec {
        name: "value",
        ty: OptionType::Float,
        default: Some("0.95"),
        help: "the energy fraction, size fraction or error budget of `by`",
    },
    OptionSpec {
        name: "variant",
        ty: OptionType::Choice(&["data", "plain"]),
        default: Some("data"),
        help: "data: least output error on calib (whitened SVD); plain: least weight error (SVD)",
    },
    OptionSpec {
        name: "conv",
        ty: OptionType::Choice(&["best", "tucker", "spatial"]),
        default: Some("best"),
        help: "k×k convs: Tucker-2 (1×1 → k×k core → 1×1), spatial separation (kh×1 then 1×kw), or whichever has fewer params",
    },
    OptionSpec {
        name: "keep",
        ty: OptionType::Names,
        default: None,
        help: "layers left whole, separated by `;`",
    },
    crate::ptq::calib::CALIB,
    crate::ptq::calib::BATCH,
    crate::prune::SAMPLES,
];

/// How the rank is chosen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RankBy {
    Energy(f64),
    Size(f64),
    Error(f64),
}

/// How k×k convs are factorized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvMethod {
    /// Whichever of the two has fewer params (where params and MACs drop).
    Best,
    Tucker,
    Spatial,
}

/// The pass. See the module docs.
#[derive(Debug)]
pub struct LowRank {
    pub by: RankBy,
    pub data_aware: bool,
    pub conv: ConvMethod,
    pub keep: Vec<String>,
    pub data: Option<crate::ptq::calib::DataOptions>,
}

impl LowRank {
    pub fn from_options(o: &Options) -> Result<LowRank, PassError> {
        let v = o.float("value")?;
        let bad = |expected: &str| PassError::BadOption {
            pass: PASS.into(),
            option: "value".into(),
            value: v.to_string(),
            expected: expected.into(),
        };
        let by = match o.word("by")? {
            "size" if v > 0.0 && v < 1.0 => RankBy::Size(v),
            "size" => return Err(bad("a size fraction in (0, 1)")),
            "error" if v > 0.0 && v < 1.0 => RankBy::Error(v),
            "error" => return Err(bad("a relative error in (0, 1)")),
            _ if v > 0.0 && v < 1.0 => RankBy::Energy(v),
            _ => return Err(bad("an energy fraction in (0, 1)")),
        };
        let mut data = crate::ptq::calib::DataOptions::from_options(o)?;
        if let Some(d) = &mut data {
            d.samples = Some(o.count("samples")?);
        }
        Ok(LowRank {
            by,
            data_aware: o.word("variant")? == "data",
            conv: match o.word("conv")? {
                "tucker" => ConvMethod::Tucker,
                "spatial" => ConvMethod::Spatial,
                _ => ConvMethod::Best,
            },
            keep: o.names("keep"),
            data,
        })
    }
}

/// A layer to factorize: its node, input, weight [K, N] (row-major, alpha
/// folded in).
struct Target {
    node: NodeId,
    x: ValueId,
    w: Vec<f64>,
    k: usize,
    n: usize,
}

fn targets(g: &Graph, keep: &[String]) -> Vec<Target> {
    let mut out = Vec::new();
    for &n in g.order() {
        let node = g.node(n);
        let label = crate::prune::structured::analyze::label(g, n);
        if keep.contains(&label) {
            continue;
        }
        let (Some(x), Some(wv)) = (node.input(0), node.input(1)) else {
            continue;
        };
        let Some(w) = g.weight_of(wv) else { continue };
        if !w.ty.dtype.is_float() || w.ty.quant.is_some() || w.ty.rank() != 2 {
            continue;
        }
        let Ok(t) = w.tensor() else { continue };
        let (r, c) = (t.shape()[0], t.shape()[1]);
        let v = t.to_f64_vec();
        let (wkn, k, nn) = match &node.op {
            Op::Gemm {
                trans_a: false,
                trans_b,
                alpha,
                ..
            } => {
                let a = f64::from(*alpha);
                if *trans_b {
                    // W is [N, K]: transpose.
                    let mut t = vec![0.0; r * c];
                    for i in 0..r {
                        for j in 0..c {
                            t[j * r + i] = v[i * c + j] * a;
                        }
                    }
                    (t, c, r)
                } else {
                    (v.iter().map(|x| x * a).collect(), r, c)
                }
            }
            Op::MatMul {} if g.ty(x).rank() >= 2 => (v, r, c),
            _ => continue,
        };
        out.push(Target {
            node: n,
            x,
            w: wkn,
            k,
            n: nn,
        });
    }
    out
}

/// Gram matrices of each target's input rows over the calibration batches.
fn grams(
    g: &Graph,
    targets: &[Target],
    batches: &[Vec<Tensor>],
) -> Result<HashMap<ValueId, Mat<f64>>, PassError> {
    let want: HashMap<ValueId, usize> = targets.iter().map(|t| (t.x, t.k)).collect();
    let mut out: HashMap<ValueId, Mat<f64>> = HashMap::new();
    let mut add = |v: ValueId, t: &Tensor| {
        let Some(&k) = want.get(&v) else { return };
        let vals = t.to_f64_vec();
        let rows = vals.len() / k.max(1);
        let a = Mat::from_fn(rows, k, |i, j| vals[i * k + j]);
        let gm = out.entry(v).or_insert_with(|| Mat::zeros(k, k));
        *gm += a.transpose() * &a;
    };
    observe_all(g, batches, &mut add)?;
    Ok(out)
}

/// Runs every batch, handing `seen` each graph input and each value computed.
pub(crate) fn observe_all(
    g: &Graph,
    batches: &[Vec<Tensor>],
    seen: &mut dyn FnMut(ValueId, &Tensor),
) -> Result<(), PassError> {
    observe_all_for(g, batches, PASS, seen)
}

/// [`observe_all`] for another pass: errors name `pass`.
pub(crate) fn observe_all_for(
    g: &Graph,
    batches: &[Vec<Tensor>],
    pass: &'static str,
    seen: &mut dyn FnMut(ValueId, &Tensor),
) -> Result<(), PassError> {
    for x in batches {
        for (&i, t) in g.inputs.iter().zip(x) {
            seen(i, t);
        }
        run_observed(g, x, &mut |v, t| seen(v, t)).map_err(|e| PassError::Analysis {
            pass,
            source: Box::new(e),
        })?;
    }
    Ok(())
}

/// The rank `by` asks for, from the chosen factorization's singular values;
/// `errors(r)` measures the relative output error at rank r for `Error`.
fn choose_rank(
    by: RankBy,
    f: &Factorization,
    k: usize,
    n: usize,
    errors: &dyn Fn(usize) -> f64,
) -> usize {
    let full = f.sigma.len();
    match by {
        RankBy::Energy(e) => {
            let total: f64 = f.sigma.iter().map(|s| s * s).sum();
            let mut acc = 0.0;
            for (i, s) in f.sigma.iter().enumerate() {
                acc += s * s;
                if acc >= e * total {
                    return i + 1;
                }
            }
            full
        }
        RankBy::Size(s) => ((s * (k * n) as f64 / (k + n) as f64).floor() as usize).clamp(1, full),
        RankBy::Error(e) => (1..=full).find(|&r| errors(r) <= e).unwrap_or(full),
    }
}

impl Pass for LowRank {
    fn name(&self) -> &'static str {
        PASS
    }

    fn run(&mut self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        crate::prune::structured::analyze::check_keep(g, &self.keep, PASS)?;
        let targets = targets(g, &self.keep);
        let batches = match &self.data {
            Some(d) => d.open(g, PASS)?.take(d.samples.unwrap_or(2048)).map_err(|e| {
                PassError::Analysis {
                    pass: PASS,
                    source: e,
                }
            })?,
            None if self.data_aware || matches!(self.by, RankBy::Error(_)) => {
                return Err(PassError::Config {
                    pass: PASS,
                    msg: "variant=data and by=error measure on calibration data: add calib=FILE.npz[:KEY] (or variant=plain with by=energy|size)".into(),
                })
            }
            None => Vec::new(),
        };
        let grams = grams(g, &targets, &batches)?;
        let mut changed = false;
        for t in &targets {
            let label = crate::prune::structured::analyze::label(g, t.node);
            let l = grams.get(&t.x).and_then(factor::whitener);
            let Some(plain) = factor::plain(&t.w, t.k, t.n) else {
                cx.note(PASS, format!("{label}: skipped, the SVD did not converge"));
                continue;
            };
            let data = match (&l, self.data_aware) {
                (Some(l), true) => factor::data_aware(&t.w, t.k, t.n, l),
                _ => None,
            };
            if self.data_aware && data.is_none() {
                cx.note(
                    PASS,
                    format!("{label}: skipped, its inputs' Gram matrix is not positive definite"),
                );
                continue;
            }
            let chosen = data.as_ref().unwrap_or(&plain);
            let out_err = |f: &Factorization, r: usize| match &l {
                Some(l) => factor::output_error(&t.w, t.k, t.n, &f.approx(r), l),
                None => factor::weight_error(&t.w, t.k, t.n, &f.approx(r)),
            };
            let r = choose_rank(self.by, chosen, t.k, t.n, &|r| out_err(chosen, r));
            let (before, after) = (t.k * t.n, r * (t.k + t.n));
            if after >= before {
                cx.note(
                    PASS,
                    format!(
                        "{label}: skipped, rank {r} of [{}, {}] would not shrink it ({after} params and MACs per row vs {before})",
                        t.k, t.n
                    ),
                );
                continue;
            }
            let errs = |f: &Factorization| {
                let a = f.approx(r);
                let w_err = factor::weight_error(&t.w, t.k, t.n, &a);
                let o_err = l
                    .as_ref()
                    .map(|l| factor::output_error(&t.w, t.k, t.n, &a, l));
                (w_err, o_err)
            };
            let (pw, po) = errs(&plain);
            let dn = data.as_ref().map(errs);
            let fmt_o = |o: Option<f64>| o.map_or("-".into(), |o| format!("{o:.3e}"));
            cx.note(
                PASS,
                format!(
                    "{label}: [{}, {}] -> rank {r} ({}), params {before} -> {after}; relative weight error plain {pw:.3e}{}, output error on calib plain {}{}",
                    t.k,
                    t.n,
                    if data.is_some() { "data-aware" } else { "plain SVD" },
                    dn.map_or(String::new(), |(w, _)| format!(", data-aware {w:.3e}")),
                    fmt_o(po),
                    dn.map_or(String::new(), |(_, o)| format!(", data-aware {}", fmt_o(o))),
                ),
            );
            rewrite(g, t, chosen, r).map_err(|e| PassError::node(PASS, g, t.node, e))?;
            changed = true;
        }
        changed |= conv::factorize(
            g,
            cx,
            self.by,
            self.conv,
            self.data_aware,
            &self.keep,
            &batches,
        )?;
        Ok(Changed::from_bool(changed))
    }
}

fn tensor_of(m: &Mat<f64>) -> Tensor {
    let (r, c) = (m.nrows(), m.ncols());
    let mut v = Vec::with_capacity(r * c);
    for i in 0..r {
        for j in 0..c {
            v.push(m[(i, j)] as f32);
        }
    }
    Tensor::from_vec(vec![r, c], v).expect("shape")
}

/// x·W becomes (x·A)·B: a MatMul by A before the node, which then reads B.
fn rewrite(g: &mut Graph, t: &Target, f: &Factorization, r: usize) -> Result<(), pare_ir::IrError> {
    let (a, b) = f.factors(r);
    let node = g.node(t.node).clone();
    let wname = g.value(node.input(1).expect("a weight")).name.clone();
    let av = g.add_weight(
        format!("{wname}.lowrank_a"),
        Weight::from_tensor(&tensor_of(&a)),
    )?;
    let b_t = match &node.op {
        Op::Gemm { trans_b: true, .. } => tensor_of(&b.transpose().to_owned()),
        _ => tensor_of(&b),
    };
    let bv = g.add_weight(format!("{wname}.lowrank_b"), Weight::from_tensor(&b_t))?;
    let xty = g.ty(t.x).clone();
    let mut hty = TensorType::new(xty.dtype, xty.shape.clone());
    if let Some(last) = hty.shape.last_mut() {
        *last = Dim::Fixed(r as u64);
    }
    let hname = format!(
        "{}.lowrank",
        crate::prune::structured::analyze::label(g, t.node)
    );
    let (_, outs) = g.insert_node_before(
        t.node,
        hname.clone(),
        Op::MatMul {},
        vec![Some(t.x), Some(av)],
        vec![(hname, hty)],
    )?;
    let nd = g.node_mut(t.node);
    nd.inputs[0] = Some(outs[0]);
    nd.inputs[1] = Some(bv);
    if let Op::Gemm { alpha, .. } = &mut nd.op {
        *alpha = 1.0;
    }
    Ok(())
}
