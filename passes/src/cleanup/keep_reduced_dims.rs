//! `keep-reduced-dims`: reductions written with `keepdims=false` whose results
//! are only computed on element-wise and then reshaped back to the kept-dims
//! shape (TF and JAX exporters: `Sum` → `truediv` → `Reshape [0,1,256]`) keep
//! their dims instead, and the restoring reshapes go.
//!
//! A *region* starts at such a reduction and takes in every value connected
//! to it through element-wise ops: readers that are unary or broadcasting
//! element-wise ops join it, and so do the other operands of those ops, which
//! must themselves come from the region (another reduction over the same axes
//! of a same-shaped input, as E[x²] meets E[x] in a variance) unless they are
//! one-element constants of at most the reduced rank (those broadcast the same
//! against either shape). Every other reader must be a `Reshape` or
//! `Unsqueeze` with a constant target that puts back exactly the reduced axes
//! as ones. Then the reductions keep their dims, every region value takes the
//! kept-dims shape and the restoring nodes are bypassed: the values computed
//! are the same, element for element. A region with any other reader, a graph
//! output among its values, or no restoring node is left as it is.
//!
//! Why: patterns over a reduction (LayerNorm, Softmax) are matched on the
//! kept-dims form, where the reduced values broadcast against their input.

use super::shape_target::{const_ints, reshape_gives};
use crate::pass::node_label;
use crate::{Changed, Pass, PassCx, PassError};
use pare_ir::ops::Category;
use pare_ir::{Dim, Graph, NodeId, Op, ValueId};
use std::collections::BTreeSet;

#[derive(Debug, Default)]
pub struct KeepReducedDims;

impl Pass for KeepReducedDims {
    fn name(&self) -> &'static str {
        "keep-reduced-dims"
    }

    fn run(&mut self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        let mut tried = BTreeSet::new();
        let mut changed = false;
        // Each round rewrites one region or marks one reduction as tried, so
        // this ends; regions are disjoint, so a rewrite never undoes another.
        while let Some(start) = g
            .order()
            .iter()
            .copied()
            .find(|&n| !tried.contains(&n) && flat_reduction(g, n).is_some())
        {
            tried.insert(start);
            let uses = g.uses();
            let Some(region) = find_region(g, &uses, start) else {
                continue;
            };
            tried.extend(region.reductions.iter().copied());
            cx.note(self.name(), describe(g, &region));
            rewrite(g, &region);
            changed = true;
        }
        Ok(Changed::from_bool(changed))
    }
}

/// A reduction without kept dims over constant axes.
struct Flat {
    /// Sorted, non-negative, not empty.
    axes: Vec<usize>,
    /// The shape the reduction has with its dims kept.
    kept: Vec<Dim>,
}

fn flat_reduction(g: &Graph, n: NodeId) -> Option<Flat> {
    let node = g.node(n);
    let (false, _) = node.op.reduce_attrs()? else {
        return None;
    };
    let (data, axes) = (node.input(0)?, node.input(1)?);
    let shape = &g.ty(data).shape;
    let rank = shape.len() as i64;
    let mut norm = Vec::new();
    for a in const_ints(g, axes)? {
        let a = if a < 0 { a + rank } else { a };
        norm.push(usize::try_from(a).ok().filter(|&a| (a as i64) < rank)?);
    }
    norm.sort_unstable();
    norm.dedup();
    if norm.is_empty() || node.outputs.len() != 1 {
        return None;
    }
    let mut kept = shape.clone();
    for &a in &norm {
        kept[a] = Dim::Fixed(1);
    }
    Some(Flat { axes: norm, kept })
}

/// Element-wise ops whose output shape is the broadcast of their inputs.
fn is_elementwise(op: &Op) -> bool {
    matches!(
        op.info().category,
        Category::Unary(_) | Category::UnaryTest(_) | Category::Broadcast(_) | Category::Compare(_)
    ) || matches!(op, Op::Pow {} | Op::Clip {} | Op::Cast { .. })
}

/// What a region rewrite touches.
struct Region {
    reductions: BTreeSet<NodeId>,
    values: BTreeSet<ValueId>,
    restorers: BTreeSet<NodeId>,
    kept: Vec<Dim>,
}

fn find_region(g: &Graph, uses: &[Vec<(NodeId, usize)>], start: NodeId) -> Option<Region> {
    let Flat { axes, kept } = flat_reduction(g, start)?;
    let reduced: Vec<Dim> = kept
        .iter()
        .enumerate()
        .filter(|(i, _)| !axes.contains(i))
        .map(|(_, d)| d.clone())
        .collect();
    let mut r = Region {
        reductions: BTreeSet::new(),
        values: BTreeSet::new(),
        restorers: BTreeSet::new(),
        kept,
    };
    let mut stack = vec![g.node(start).outputs[0]];
    while let Some(v) = stack.pop() {
        if !r.values.insert(v) {
            continue;
        }
        if g.outputs.contains(&v) || g.ty(v).shape != reduced {
            return None;
        }
        // Where the value comes from: a reduction like the first, or an
        // element-wise op on region values and one-element constants.
        let p = g.producer(v)?;
        let node = g.node(p);
        if let Some(f) = flat_reduction(g, p) {
            if f.axes != axes || f.kept != r.kept {
                return None;
            }
            r.reductions.insert(p);
        } else if is_elementwise(&node.op) && node.outputs.len() == 1 {
            for i in node.present_inputs() {
                if !is_small_constant(g, i, reduced.len()) {
                    stack.push(i);
                }
            }
        } else {
            return None;
        }
        // Who reads it: element-wise ops (their outputs join) or restorers.
        for &(u, slot) in &uses[v.index()] {
            let reader = g.node(u);
            if is_elementwise(&reader.op) && reader.outputs.len() == 1 {
                stack.push(reader.outputs[0]);
            } else if slot == 0 && restores(g, u, &reduced, &r.kept, &axes) {
                r.restorers.insert(u);
            } else {
                return None;
            }
        }
    }
    (!r.restorers.is_empty()).then_some(r)
}

/// A one-element constant of at most `rank` dims: it broadcasts against the
/// reduced and the kept-dims shape alike without changing either.
fn is_small_constant(g: &Graph, v: ValueId, rank: usize) -> bool {
    g.weight_of(v).is_some() && g.ty(v).num_elements() == Some(1) && g.ty(v).rank() <= rank
}

/// Whether node `u` (reading a region value as its data) turns the reduced
/// shape into exactly the kept-dims shape, and is no graph output.
fn restores(g: &Graph, u: NodeId, reduced: &[Dim], kept: &[Dim], axes: &[usize]) -> bool {
    let n = g.node(u);
    let (Some(target), Some(&out)) = (n.input(1), n.outputs.first()) else {
        return false;
    };
    if g.outputs.contains(&out) {
        return false;
    }
    let Some(t) = const_ints(g, target) else {
        return false;
    };
    match n.op {
        Op::Reshape { allowzero } => reshape_gives(reduced, &t, allowzero, kept),
        Op::Unsqueeze {} => {
            let rank = kept.len() as i64;
            let mut at: Vec<i64> = t
                .iter()
                .map(|&a| if a < 0 { a + rank } else { a })
                .collect();
            at.sort_unstable();
            at.iter().copied().eq(axes.iter().map(|&a| a as i64))
        }
        _ => false,
    }
}

fn describe(g: &Graph, r: &Region) -> String {
    let names: Vec<String> = r.reductions.iter().map(|&n| node_label(g, n)).collect();
    format!(
        "kept the reduced dims of {}; bypassed {} restoring node(s)",
        names.join(", "),
        r.restorers.len()
    )
}

fn rewrite(g: &mut Graph, r: &Region) {
    for &n in &r.reductions {
        g.node_mut(n).op.set_keepdims(true);
    }
    for &v in &r.values {
        g.value_mut(v).ty.shape = r.kept.clone();
    }
    for &n in &r.restorers {
        let node = g.node(n);
        let (data, out) = (node.inputs[0], node.outputs[0]);
        if let Some(data) = data {
            g.replace_all_uses(out, data);
            g.remove_node(n);
        }
    }
}
