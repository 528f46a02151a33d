//! `prune-unstructured`: magnitude pruning of the constant f32 weights of Conv,
//! ConvTranspose, Gemm and MatMul, globally (one |w| threshold over every
//! prunable weight, like torch's `global_unstructured`), per layer, or in an N:M
//! pattern along the reduction axis; the pruned weights are stored sparse when
//! that is smaller.
//!
//! Biases are never pruned (they are few and each shifts a whole channel). Every
//! weight is a candidate whatever its size: a small layer simply loses few
//! elements at a given ratio, and `keep` protects a layer outright.
//!
//! N:M groups run along the axis each op reduces over:
//! * Conv `[O, C/g, k…]`: each output channel's row `(C/g, k…)` in memory order;
//! * ConvTranspose `[C, O/g, k…]`: axis 0 (input channels), at each `(O/g, k…)`;
//! * Gemm: K, i.e. axis 1 of B with `trans_b`, else axis 0;
//! * MatMul with a constant B `[…, K, N]`: axis −2 (K).

use super::magnitude::{global_masks, layer_mask, nm_mask, ReductionView};
use crate::pass::node_label;
use crate::registry::{OptionSpec, OptionType, Options};
use crate::{Changed, Pass, PassCx, PassError};
use pare_ir::{DType, Graph, NodeId, Op, Tensor, ValueDef, ValueId, Weight};
use std::collections::{BTreeMap, BTreeSet};

const PASS: &str = "prune-unstructured";

/// The N:M patterns offered (N kept of every M).
const PATTERNS: &[&str] = &["none", "1:2", "1:4", "2:4", "3:4", "1:8", "2:8", "4:8"];

pub const OPTIONS: &[OptionSpec] = &[
    OptionSpec {
        name: "ratio",
        ty: OptionType::Float,
        default: None,
        help: "fraction of the prunable weights set to zero, in [0, 1) (0.5 when no pattern is given; not with a pattern)",
    },
    OptionSpec {
        name: "scope",
        ty: OptionType::Choice(&["global", "layer"]),
        default: Some("global"),
        help: "global: one magnitude threshold over all layers; layer: the ratio in each layer",
    },
    OptionSpec {
        name: "pattern",
        ty: OptionType::Choice(PATTERNS),
        default: Some("none"),
        help: "N:M: keep the N largest of every M consecutive weights along the reduction axis",
    },
    OptionSpec {
        name: "keep",
        ty: OptionType::Names,
        default: None,
        help: "nodes whose weights stay dense and unpruned, separated by `;`",
    },
    OptionSpec {
        name: "refit",
        ty: OptionType::Bool,
        default: Some("false"),
        help: "re-fit each pruned layer's remaining weights and bias by least squares on calib (each output keeps its zeros), in graph order",
    },
    crate::ptq::calib::CALIB,
    crate::ptq::calib::BATCH,
    super::SAMPLES,
];

#[derive(Clone, Copy, Debug, PartialEq)]
enum Selection {
    Global(f64),
    Layer(f64),
    /// Keep `n` of every `m`.
    Pattern {
        n: usize,
        m: usize,
    },
}

#[derive(Debug)]
pub struct PruneUnstructured {
    selection: Selection,
    keep: Vec<String>,
    refit: bool,
    data: Option<crate::ptq::calib::DataOptions>,
}

impl PruneUnstructured {
    pub fn from_options(o: &Options) -> Result<PruneUnstructured, PassError> {
        let config = |msg: String| PassError::Config { pass: PASS, msg };
        let pattern = o.word("pattern")?;
        let ratio = if o.is_set("ratio") {
            Some(o.float("ratio")?)
        } else {
            None
        };
        if let Some(r) = ratio {
            if !(0.0..1.0).contains(&r) {
                return Err(config(format!(
                    "ratio {r} is out of range: expected a fraction in [0, 1)"
                )));
            }
        }
        let selection = match (pattern.split_once(':'), ratio) {
            (Some(_), Some(_)) => {
                return Err(config(format!(
                    "ratio and pattern={pattern} both set the fraction pruned; give one"
                )))
            }
            (Some((n, m)), None) => Selection::Pattern {
                n: n.parse()
                    .map_err(|_| config(format!("bad pattern {pattern}")))?,
                m: m.parse()
                    .map_err(|_| config(format!("bad pattern {pattern}")))?,
            },
            (None, r) => {
                let r = r.unwrap_or(0.5);
                match o.word("scope")? {
                    "layer" => Selection::Layer(r),
                    _ => Selection::Global(r),
                }
            }
        };
        let mut data = crate::ptq::calib::DataOptions::from_options(o)?;
        if let Some(d) = &mut data {
            d.samples = Some(o.count("samples")?);
        }
        Ok(PruneUnstructured {
            selection,
            keep: o.names("keep"),
            refit: o.bool("refit")?,
            data,
        })
    }
}

impl PruneUnstructured {
    /// Refit on `data` (what `refit=true,calib=…` asks for, from a caller that
    /// holds the data options already).
    pub fn with_refit(mut self, data: crate::ptq::calib::DataOptions) -> PruneUnstructured {
        self.refit = true;
        self.data = Some(data);
        self
    }
}

/// One weight value to prune and the nodes reading it.
struct Target {
    value: ValueId,
    users: Vec<NodeId>,
    view: ReductionView,
}

impl Pass for PruneUnstructured {
    fn name(&self) -> &'static str {
        PASS
    }

    fn run(&mut self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        let names: BTreeSet<&str> = g.nodes().map(|(_, n)| n.name.as_str()).collect();
        if let Some(unknown) = self.keep.iter().find(|k| !names.contains(k.as_str())) {
            return Err(PassError::Config {
                pass: PASS,
                msg: format!("keep names node `{unknown}`, which the graph does not have"),
            });
        }
        let batches = if self.refit {
            let d = crate::ptq::calib::needs_data(&self.data, PASS, "refit")?;
            d.open(g, PASS)?
                .take(d.samples.unwrap_or(2048))
                .map_err(|e| PassError::Analysis {
                    pass: PASS,
                    source: e,
                })?
        } else {
            Vec::new()
        };
        let original = self.refit.then(|| g.clone());
        let (targets, skipped) = find_targets(g, &self.keep);
        for s in skipped {
            cx.note(PASS, s);
        }
        let mut tensors = Vec::with_capacity(targets.len());
        for t in &targets {
            let node = t.users[0];
            let w = g
                .weight_of(t.value)
                .expect("targets are weight values")
                .tensor()
                .map_err(|e| PassError::node(PASS, g, node, e))?;
            let Some(vals) = w.as_slice::<f32>() else {
                unreachable!("targets are f32 weights")
            };
            if let Some(k) = vals.iter().position(|x| !x.is_finite()) {
                return Err(PassError::node_msg(
                    PASS,
                    g,
                    node,
                    format!(
                        "weight \"{}\" holds {} at element {k}: magnitude pruning needs finite weights",
                        g.value(t.value).name,
                        vals[k]
                    ),
                ));
            }
            tensors.push(w);
        }
        let slices: Vec<&[f32]> = tensors
            .iter()
            .map(|t| t.as_slice::<f32>().expect("checked above"))
            .collect();
        let (masks, threshold) = match self.selection {
            Selection::Global(r) => global_masks(&slices, r),
            Selection::Layer(r) => (slices.iter().map(|w| layer_mask(w, r)).collect(), None),
            Selection::Pattern { n, m } => (
                slices
                    .iter()
                    .zip(&targets)
                    .map(|(w, t)| nm_mask(w, t.view, n, m))
                    .collect(),
                None,
            ),
        };

        let (mut zeros_total, mut total, mut before, mut after) = (0usize, 0usize, 0usize, 0usize);
        let mut changed = false;
        for ((t, w), mask) in targets.iter().zip(&slices).zip(&masks) {
            let pruned: Vec<f32> = w
                .iter()
                .zip(mask)
                .map(|(&x, &p)| if p { 0.0 } else { x })
                .collect();
            let zeros = pruned.iter().filter(|x| **x == 0.0).count();
            let old = g.weight_of(t.value).expect("targets are weight values");
            let dense = Weight::from_tensor(
                &Tensor::from_vec(tensors_shape(old), pruned)
                    .map_err(|e| PassError::node(PASS, g, t.users[0], e))?,
            );
            let stored =
                smaller_form(&dense).map_err(|e| PassError::node(PASS, g, t.users[0], e))?;
            let (was, now) = (old.stored_len(), stored.stored_len());
            zeros_total += zeros;
            total += mask.len();
            before += was;
            after += now;
            let users: Vec<String> = t.users.iter().map(|&n| node_label(g, n)).collect();
            cx.note(
                PASS,
                format!(
                    "{}: {zeros} of {} weights zero ({:.1}%), stored {} in {now} bytes (was {was})",
                    users.join(", "),
                    mask.len(),
                    100.0 * zeros as f64 / mask.len().max(1) as f64,
                    if stored.is_sparse() {
                        "sparse"
                    } else {
                        "dense"
                    },
                ),
            );
            if &stored != old {
                let ValueDef::Weight(wid) = g.value(t.value).def else {
                    unreachable!("targets are weight values")
                };
                *g.weight_mut(wid) = stored;
                changed = true;
            }
        }
        if let Some(orig) = &original {
            // Dense pruned weights while refitting; stored sparse again after.
            for t in &targets {
                let ValueDef::Weight(wid) = g.value(t.value).def else {
                    unreachable!("targets are weight values")
                };
                let dense = g
                    .weight(wid)
                    .to_dense()
                    .map_err(|e| PassError::node(PASS, g, t.users[0], e))?;
                *g.weight_mut(wid) = dense;
            }
            let nodes: BTreeSet<NodeId> = targets
                .iter()
                .flat_map(|t| t.users.iter().copied())
                .collect();
            let (done, skipped) =
                crate::prune::structured::refit::refit_masked(orig, g, &nodes, &batches);
            cx.note(
                PASS,
                format!(
                    "refit {} layer(s) by least squares on {} calibration batch(es), each output keeping its zeros",
                    done.len(),
                    batches.len()
                ),
            );
            for s in skipped {
                cx.note(PASS, format!("{}: not refitted, {}", s.layer, s.why));
            }
            for &n in &nodes {
                let Some(v) = g.node(n).input(1) else {
                    continue;
                };
                let ValueDef::Weight(wid) = g.value(v).def else {
                    continue;
                };
                let stored =
                    smaller_form(g.weight(wid)).map_err(|e| PassError::node(PASS, g, n, e))?;
                *g.weight_mut(wid) = stored;
            }
            changed = true;
        }
        let how = match (self.selection, threshold) {
            (Selection::Global(_), Some(t)) => format!("global threshold |w| <= {t:e}"),
            (Selection::Global(_), None) => "global".into(),
            (Selection::Layer(r), _) => format!("{r} per layer"),
            (Selection::Pattern { n, m }, _) => format!("{n}:{m} along the reduction axis"),
        };
        cx.note(
            PASS,
            format!(
                "{} layers, {zeros_total} of {total} weights zero ({:.1}%, {how}); weight bytes {before} -> {after}",
                targets.len(),
                100.0 * zeros_total as f64 / total.max(1) as f64,
            ),
        );
        Ok(Changed::from_bool(changed))
    }
}

fn tensors_shape(w: &Weight) -> Vec<usize> {
    w.ty.fixed_shape()
        .unwrap_or_default()
        .into_iter()
        .map(|d| d as usize)
        .collect()
}

/// `w` stored sparse when that takes fewer bytes, else dense.
pub(crate) fn smaller_form(w: &Weight) -> Result<Weight, pare_ir::IrError> {
    match w.sparse_len() {
        Some(s) if s < w.bytes().len() => w.to_sparse(),
        _ => w.to_dense(),
    }
}

/// The prunable weight values (a constant unquantized f32 weight read only by
/// prunable slots of nodes not kept), and a note for each weight left alone
/// because something else also reads it.
fn find_targets(g: &Graph, keep: &[String]) -> (Vec<Target>, Vec<String>) {
    let uses = g.uses();
    let mut found: BTreeMap<ValueId, (Vec<NodeId>, ReductionView)> = BTreeMap::new();
    for (id, n) in g.nodes() {
        if keep.contains(&n.name) {
            continue;
        }
        let Some(Some(v)) = n.inputs.get(1).copied() else {
            continue;
        };
        let Some(w) = g.weight_of(v) else { continue };
        if w.ty.dtype != DType::F32 || w.ty.quant.is_some() {
            continue;
        }
        let Some(view) = reduction_view(&n.op, &tensors_shape(w)) else {
            continue;
        };
        let entry = found.entry(v).or_insert_with(|| (Vec::new(), view));
        if entry.1 == view {
            entry.0.push(id);
        }
    }
    let mut targets = Vec::new();
    let mut skipped = Vec::new();
    for (v, (users, view)) in found {
        let other = uses[v.index()]
            .iter()
            .find(|&&(n, slot)| slot != 1 || !users.contains(&n));
        if let Some(&(n, _)) = other {
            skipped.push(format!(
                "left \"{}\" dense: {} also reads it",
                g.value(v).name,
                node_label(g, n)
            ));
            continue;
        }
        // Another value over the same stored weight (an alias) would change too.
        let ValueDef::Weight(wid) = g.value(v).def else {
            continue;
        };
        let aliased = g.values().any(|(u, val)| {
            u != v && val.def == ValueDef::Weight(wid) && !uses[u.index()].is_empty()
        });
        if aliased {
            skipped.push(format!(
                "left \"{}\" dense: another value shares its stored weight",
                g.value(v).name
            ));
            continue;
        }
        targets.push(Target {
            value: v,
            users,
            view,
        });
    }
    (targets, skipped)
}

/// The axis N:M groups run along for a prunable op's weight (see the module docs).
fn reduction_view(op: &Op, shape: &[usize]) -> Option<ReductionView> {
    let prod = |s: &[usize]| s.iter().product::<usize>();
    match op {
        Op::Conv { .. } if shape.len() >= 2 => Some(ReductionView {
            outer: shape[0],
            reduce: prod(&shape[1..]),
            inner: 1,
        }),
        Op::ConvTranspose { .. } if shape.len() >= 2 => Some(ReductionView {
            outer: 1,
            reduce: shape[0],
            inner: prod(&shape[1..]),
        }),
        Op::Gemm { trans_b, .. } if shape.len() == 2 => Some(if *trans_b {
            ReductionView {
                outer: shape[0],
                reduce: shape[1],
                inner: 1,
            }
        } else {
            ReductionView {
                outer: 1,
                reduce: shape[0],
                inner: shape[1],
            }
        }),
        Op::MatMul {} if shape.len() == 1 => Some(ReductionView {
            outer: 1,
            reduce: shape[0],
            inner: 1,
        }),
        Op::MatMul {} if shape.len() >= 2 => {
            let r = shape.len();
            Some(ReductionView {
                outer: prod(&shape[..r - 2]),
                reduce: shape[r - 2],
                inner: shape[r - 1],
            })
        }
        _ => None,
    }
}
