//! Physical removal: every weight slice, constant operand, shape operand and
//! value type a set of removed channel classes touches is cut, so the pruned
//! model is a smaller dense model that every target emits as it is.

use super::analyze::Analysis;
use super::tags::{kept, removed_slices, NONE};
use pare_ir::{Dim, Graph, NodeId, Op, Tensor, ValueDef, ValueId, Weight};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Why removal failed (a bug or a case the analysis should have blocked; the
/// graph is left unchanged by the caller, which works on a copy).
#[derive(Debug, thiserror::Error)]
#[error("node `{node}` ({op}): {msg}")]
pub struct SurgeryError {
    pub node: String,
    pub op: &'static str,
    pub msg: String,
}

/// An axis of a weight and the class id of each index along it.
type AxisIds = (usize, Vec<u32>);

/// Removed indices per axis of each value that loses elements.
pub type Removed = HashMap<ValueId, Vec<Vec<usize>>>;

struct Cx<'a> {
    g: &'a mut Graph,
    a: &'a Graph,
    removed: Removed,
    /// Node-input uses left per weight value (shared weights get new names).
    uses: HashMap<ValueId, usize>,
    /// Weights already made, by the weight they replace and their content, so
    /// a shape constant shared by several reshapes is rewritten once.
    made: HashMap<(ValueId, Vec<usize>, Vec<u8>), ValueId>,
}

fn node_err(a: &Graph, n: NodeId, msg: impl Into<String>) -> SurgeryError {
    let node = a.node(n);
    SurgeryError {
        node: if node.name.is_empty() {
            format!("#{}", n.index())
        } else {
            node.name.clone()
        },
        op: node.op.name(),
        msg: msg.into(),
    }
}

fn fixed(a: &Graph, v: ValueId) -> Vec<usize> {
    a.ty(v)
        .fixed_shape()
        .map(|s| s.into_iter().map(|d| d as usize).collect())
        .unwrap_or_default()
}

/// Applies the removal of `classes` to `g` (`a`: its fixed-shape copy the
/// analysis ran on, with the same ids).
pub fn apply(
    g: &mut Graph,
    a: &Graph,
    an: &Analysis,
    classes: &BTreeSet<u32>,
) -> Result<Removed, SurgeryError> {
    let mut removed = Removed::new();
    for (&v, t) in &an.tags {
        let t = an.resolved(t);
        let mask: Vec<bool> = t
            .ids
            .iter()
            .map(|i| *i != NONE && classes.contains(i))
            .collect();
        if !mask.iter().any(|&m| m) {
            continue;
        }
        let slices = removed_slices(&t.shape, &mask).ok_or_else(|| SurgeryError {
            node: a.value(v).name.clone(),
            op: "value",
            msg: "the removed channels are not whole slices".into(),
        })?;
        removed.insert(v, slices);
    }
    let mut uses = HashMap::new();
    for (_, node) in g.nodes() {
        for v in node.present_inputs() {
            *uses.entry(v).or_insert(0) += 1;
        }
    }
    let mut cx = Cx {
        g,
        a,
        removed,
        uses,
        made: HashMap::new(),
    };
    let mut cuts: BTreeMap<(NodeId, usize), Vec<&AxisIds>> = BTreeMap::new();
    for c in &an.cuts {
        cuts.entry((c.node, c.slot))
            .or_default()
            .extend(c.axes.iter());
    }
    let order = a.order().to_vec();
    for n in order {
        // Weights cut by class.
        let slots: Vec<usize> = cuts
            .range((n, 0)..=(n, usize::MAX))
            .map(|(k, _)| k.1)
            .collect();
        for slot in &slots {
            let mut plan: Vec<(usize, Vec<usize>)> = Vec::new();
            for (axis, ids) in &cuts[&(n, *slot)] {
                let rm: Vec<usize> = ids
                    .iter()
                    .enumerate()
                    .filter(|(_, &id)| id != NONE && classes.contains(&an.class(id)))
                    .map(|(i, _)| i)
                    .collect();
                if !rm.is_empty() {
                    plan.push((*axis, rm));
                }
            }
            cut_weight(&mut cx, n, *slot, &plan)?;
        }
        follow_constants(&mut cx, n, &slots)?;
        shape_operands(&mut cx, n)?;
        if an.regroup.contains(&n) {
            regroup(&mut cx, n)?;
        }
    }
    // New value types: the removed slices leave fixed dims smaller; a
    // symbolic dim (batch times heads) becomes unknown and is inferred again.
    let mut next = pare_ir::infer::first_free_unknown(cx.g);
    let mut values: Vec<(ValueId, Vec<Vec<usize>>)> =
        cx.removed.iter().map(|(v, r)| (*v, r.clone())).collect();
    values.sort_by_key(|(v, _)| v.index());
    for (v, rm) in values {
        let ty = &mut cx.g.value_mut(v).ty;
        for (axis, idx) in rm.iter().enumerate() {
            if idx.is_empty() {
                continue;
            }
            ty.shape[axis] = match ty.shape[axis] {
                Dim::Fixed(d) => Dim::Fixed(d - idx.len() as u64),
                _ => {
                    next += 1;
                    Dim::Sym(format!("_u{}", next - 1))
                }
            };
        }
    }
    Ok(cx.removed)
}

/// Replaces input `slot` of `n` by a new weight holding `t`. The new weight
/// takes the old one's name once nothing else reads the old one.
fn set_weight(cx: &mut Cx, n: NodeId, slot: usize, t: &Tensor) -> Result<(), SurgeryError> {
    let old = cx.g.node(n).input(slot).expect("a present input");
    let left = cx.uses.get_mut(&old).map_or(0, |u| {
        *u = u.saturating_sub(1);
        *u
    });
    let key = (old, t.shape().to_vec(), t.to_le_bytes());
    let new = match cx.made.get(&key) {
        Some(&v) => v,
        None => {
            let mut w = Weight::from_tensor(t);
            w.ty.quant = cx.g.ty(old).quant.clone();
            let name = format!("{}.pruned", cx.g.value(old).name);
            let v =
                cx.g.add_weight(name, w)
                    .map_err(|e| node_err(cx.a, n, e.to_string()))?;
            cx.made.insert(key, v);
            v
        }
    };
    if left == 0 {
        let name = std::mem::take(&mut cx.g.value_mut(old).name);
        cx.g.value_mut(new).name = name;
    }
    cx.g.node_mut(n).inputs[slot] = Some(new);
    Ok(())
}

fn weight_tensor(cx: &Cx, n: NodeId, slot: usize) -> Result<Option<Tensor>, SurgeryError> {
    let Some(v) = cx.g.node(n).input(slot) else {
        return Ok(None);
    };
    if !matches!(cx.g.value(v).def, ValueDef::Weight(_)) {
        return Ok(None);
    }
    cx.g.weight_of(v)
        .map(Weight::tensor)
        .transpose()
        .map_err(|e| node_err(cx.a, n, e.to_string()))
}

fn take_kept(t: &Tensor, axis: usize, rm: &[usize]) -> Result<Tensor, pare_ir::IrError> {
    t.take_along(axis, &kept(t.shape()[axis], rm))
}

fn cut_weight(
    cx: &mut Cx,
    n: NodeId,
    slot: usize,
    plan: &[(usize, Vec<usize>)],
) -> Result<(), SurgeryError> {
    if plan.is_empty() {
        return Ok(());
    }
    let Some(mut t) = weight_tensor(cx, n, slot)? else {
        return Err(node_err(cx.a, n, format!("input {slot} is not a weight")));
    };
    for (axis, rm) in plan {
        t = take_kept(&t, *axis, rm).map_err(|e| node_err(cx.a, n, e.to_string()))?;
    }
    set_weight(cx, n, slot, &t)
}

/// Constant operands of element-wise and normalization ops follow the output's
/// axes: a parameter per channel loses the removed channels.
fn follow_constants(cx: &mut Cx, n: NodeId, cut_slots: &[usize]) -> Result<(), SurgeryError> {
    use pare_ir::ops::Category as C;
    let node = cx.a.node(n);
    let Some(&out) = node.outputs.first() else {
        return Ok(());
    };
    let Some(rm) = cx.removed.get(&out).cloned() else {
        return Ok(());
    };
    let os = fixed(cx.a, out);
    // Which slots are per-channel parameters, and how they line up.
    let axis1 = matches!(
        node.op,
        Op::BatchNormalization { .. } | Op::InstanceNormalization { .. }
    );
    let numpy = matches!(
        node.op.info().category,
        C::Unary(_) | C::UnaryTest(_) | C::Broadcast(_) | C::Compare(_) | C::Elementwise
    ) || matches!(node.op, Op::LayerNormalization { .. } | Op::Gemm { .. });
    if !axis1 && !numpy {
        return Ok(());
    }
    // Gemm's B is cut by class; its C follows the output. Elsewhere every
    // weight input is a per-channel parameter (data inputs are not weights).
    let first = if matches!(node.op, Op::Gemm { .. }) {
        2
    } else {
        0
    };
    for slot in first..node.inputs.len() {
        if cut_slots.contains(&slot) {
            continue;
        }
        let Some(mut t) = weight_tensor(cx, n, slot)? else {
            continue;
        };
        let cs = t.shape().to_vec();
        let mut changed = false;
        // (const axis, output axis) pairs.
        let pairs: Vec<(usize, usize)> = if axis1 {
            if cs.len() == 1 && os.len() > 1 {
                vec![(0, 1)]
            } else {
                Vec::new()
            }
        } else if cs.len() <= os.len() {
            (0..cs.len())
                .map(|j| (j, j + os.len() - cs.len()))
                .collect()
        } else {
            Vec::new()
        };
        for (j, ax) in pairs {
            if cs[j] > 1 && !rm[ax].is_empty() {
                if cs[j] != os[ax] {
                    return Err(node_err(
                        cx.a,
                        n,
                        format!("constant input {slot} of shape {cs:?} does not line up with output {os:?}"),
                    ));
                }
                t = take_kept(&t, j, &rm[ax]).map_err(|e| node_err(cx.a, n, e.to_string()))?;
                changed = true;
            }
        }
        if changed {
            set_weight(cx, n, slot, &t)?;
        }
    }
    Ok(())
}

fn ints(t: &Tensor) -> Vec<i64> {
    t.to_i64_vec()
}

fn int_tensor_like(orig: &Tensor, v: Vec<i64>) -> Tensor {
    let shape = orig.shape().to_vec();
    Tensor::from_vec(shape, v)
        .expect("same length")
        .cast(orig.dtype())
}

/// Shape, slice, split and gather operands that name sizes or positions along
/// a cut axis.
fn shape_operands(cx: &mut Cx, n: NodeId) -> Result<(), SurgeryError> {
    let node = cx.a.node(n).clone();
    let out_rm = node
        .outputs
        .first()
        .and_then(|o| cx.removed.get(o).cloned());
    let in_rm = node.input(0).and_then(|x| cx.removed.get(&x).cloned());
    match &node.op {
        Op::Reshape { .. } | Op::Expand {} => {
            let Some(rm) = out_rm else { return Ok(()) };
            let Some(t) = weight_tensor(cx, n, 1)? else {
                return Err(node_err(cx.a, n, "the shape operand is not constant"));
            };
            let mut s = ints(&t);
            let r = rm.len();
            let off = r - s.len().min(r);
            let expand = matches!(node.op, Op::Expand {});
            for (ax, idx) in rm.iter().enumerate() {
                if idx.is_empty() || ax < off {
                    continue;
                }
                let j = ax - off;
                if s[j] > 1 || (!expand && s[j] > 0) {
                    s[j] -= idx.len() as i64;
                }
            }
            set_weight(cx, n, 1, &int_tensor_like(&t, s))?;
        }
        Op::Slice {} => {
            let Some(rm) = in_rm else { return Ok(()) };
            let xs = fixed(cx.a, node.input(0).expect("arity"));
            let starts_t = weight_tensor(cx, n, 1)?;
            let ends_t = weight_tensor(cx, n, 2)?;
            let (Some(starts_t), Some(ends_t)) = (starts_t, ends_t) else {
                return Err(node_err(cx.a, n, "starts and ends must be constant"));
            };
            let (mut starts, mut ends) = (ints(&starts_t), ints(&ends_t));
            let axes: Vec<i64> = match weight_tensor(cx, n, 3)? {
                Some(t) => ints(&t),
                None => (0..starts.len() as i64).collect(),
            };
            let steps: Vec<i64> = match weight_tensor(cx, n, 4)? {
                Some(t) => ints(&t),
                None => vec![1; starts.len()],
            };
            let mut changed = false;
            for k in 0..starts.len() {
                let ax = if axes[k] < 0 {
                    axes[k] + xs.len() as i64
                } else {
                    axes[k]
                } as usize;
                if rm[ax].is_empty() {
                    continue;
                }
                if steps[k] != 1 {
                    return Err(node_err(cx.a, n, "a strided slice along a pruned axis"));
                }
                let d = xs[ax] as i64;
                let norm = |x: i64| (if x < 0 { x + d } else { x }).clamp(0, d) as usize;
                let keep = kept(xs[ax], &rm[ax]);
                let count = |p: usize| keep.iter().filter(|&&i| i < p).count() as i64;
                starts[k] = count(norm(starts[k]));
                ends[k] = count(norm(ends[k]));
                changed = true;
            }
            if changed {
                set_weight(cx, n, 1, &int_tensor_like(&starts_t, starts))?;
                set_weight(cx, n, 2, &int_tensor_like(&ends_t, ends))?;
            }
        }
        Op::Split { axis, .. } => {
            let xs = fixed(cx.a, node.input(0).expect("arity"));
            let ax = if *axis < 0 {
                *axis + xs.len() as i64
            } else {
                *axis
            } as usize;
            let touched = in_rm.as_ref().is_some_and(|r| !r[ax].is_empty());
            if !touched {
                return Ok(());
            }
            let sizes: Vec<i64> = node
                .outputs
                .iter()
                .map(|o| {
                    let d = fixed(cx.a, *o)[ax];
                    let k = cx.removed.get(o).map_or(0, |r| r[ax].len());
                    (d - k) as i64
                })
                .collect();
            let t = Tensor::from_vec(vec![sizes.len()], sizes).expect("1-d");
            if node.input(1).is_some() {
                set_weight(cx, n, 1, &t)?;
                return Ok(());
            }
            let v =
                cx.g.add_weight(
                    format!("{}.split", super::analyze::label(cx.a, n)),
                    Weight::from_tensor(&t),
                )
                .map_err(|e| node_err(cx.a, n, e.to_string()))?;
            let nd = cx.g.node_mut(n);
            if nd.inputs.len() < 2 {
                nd.inputs.resize(2, None);
            }
            nd.inputs[1] = Some(v);
            if let Op::Split { num_outputs, .. } = &mut nd.op {
                *num_outputs = None;
            }
        }
        Op::Gather { axis } => {
            let Some(rm) = in_rm else { return Ok(()) };
            let xs = fixed(cx.a, node.input(0).expect("arity"));
            let ax = if *axis < 0 {
                *axis + xs.len() as i64
            } else {
                *axis
            } as usize;
            if rm[ax].is_empty() {
                return Ok(());
            }
            let Some(it) = weight_tensor(cx, n, 1)? else {
                return Err(node_err(cx.a, n, "the indices are not constant"));
            };
            let keep = kept(xs[ax], &rm[ax]);
            let pos = |i: i64| -> Option<i64> {
                let i = if i < 0 { i + xs[ax] as i64 } else { i } as usize;
                keep.iter().position(|&k| k == i).map(|p| p as i64)
            };
            let idx = ints(&it);
            let new: Vec<i64> =
                match it.rank() {
                    0 => vec![pos(idx[0])
                        .ok_or_else(|| node_err(cx.a, n, "gathers a removed channel"))?],
                    1 => {
                        let orm = out_rm.map(|r| r[ax].clone()).unwrap_or_default();
                        idx.iter()
                            .enumerate()
                            .filter(|(j, _)| !orm.contains(j))
                            .map(|(_, &i)| {
                                pos(i).ok_or_else(|| node_err(cx.a, n, "gathers a removed channel"))
                            })
                            .collect::<Result<_, _>>()?
                    }
                    _ => {
                        return Err(node_err(
                            cx.a,
                            n,
                            "multi-dimensional indices along a pruned axis",
                        ))
                    }
                };
            let shape = if it.rank() == 0 {
                vec![]
            } else {
                vec![new.len()]
            };
            let t = Tensor::from_vec(shape, new)
                .expect("shape")
                .cast(it.dtype());
            set_weight(cx, n, 1, &t)?;
        }
        _ => {}
    }
    Ok(())
}

/// A depthwise conv's group count follows its (pruned) channel count.
fn regroup(cx: &mut Cx, n: NodeId) -> Result<(), SurgeryError> {
    let x = cx.a.node(n).input(0).expect("arity");
    let c = fixed(cx.a, x)[1];
    let k = cx.removed.get(&x).map_or(0, |r| r[1].len());
    if let Op::Conv { group, .. } = &mut cx.g.node_mut(n).op {
        *group = (c - k) as i64;
    }
    Ok(())
}
