//! `fold-shapes`: uses shape-value propagation to turn shape computations into
//! constants.
//!
//! * A value whose elements are all known numbers (the `Shape` of a fixed-shape
//!   tensor, a `Gather`/`Concat`/... of such) becomes an integer weight.
//! * Shape-like inputs known up to symbols are rewritten into constants that mean
//!   the same thing at run time:
//!   - `Reshape`: a symbol equal to the input dim at the same position becomes
//!     `0` ("copy", only with `allowzero=0`); one remaining symbol becomes `-1`.
//!     PyTorch's `Shape→Gather→Unsqueeze→Concat→Reshape` chain with a symbolic
//!     batch thus becomes a constant-shape `Reshape` and the chain dies in `dce`.
//!   - `Expand`: a symbol equal to the (right-aligned) input dim becomes `1`.
//!   - `Slice`: an `ends` symbol equal to the sliced dim (with a positive step)
//!     becomes `i64::MAX`, "to the end".
//!
//! `ConstantOfShape` and `Tile` have no constant spelling for a symbolic size.

use crate::util::{add_tensor_weight, is_graph_output, is_weight, replace_with_weight};
use crate::{Changed, Pass, PassCx, PassError};
use pare_ir::infer::{ShapeValues, SymInt};
use pare_ir::{Dim, Graph, NodeId, Op, Tensor, ValueId};

#[derive(Debug, Default)]
pub struct FoldShapes;

impl Pass for FoldShapes {
    fn name(&self) -> &'static str {
        "fold-shapes"
    }

    fn run(&mut self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        let sv = pare_ir::infer::shape_values(g).map_err(|e| PassError::Analysis {
            pass: self.name(),
            source: Box::new(e),
        })?;
        let mut consts = 0;
        let mut rewrites = 0;
        let order: Vec<NodeId> = g.order().to_vec();

        // Values that are fully known become weights. Only used values are
        // replaced, so a replaced value (now unused) is not replaced again.
        let mut used = vec![false; g.value_count()];
        for (_, n) in g.nodes() {
            for v in n.present_inputs() {
                used[v.index()] = true;
            }
        }
        for &id in &order {
            for o in g.node(id).outputs.clone() {
                if !(used[o.index()] || is_graph_output(g, o)) {
                    continue;
                }
                let Some(nums) = known_numbers(&sv, o) else {
                    continue;
                };
                let Some(t) = shaped_tensor(g, o, nums) else {
                    continue;
                };
                replace_with_weight(g, o, &t)
                    .map_err(|e| PassError::node(self.name(), g, id, e))?;
                consts += 1;
            }
        }

        // Shape-like inputs known up to symbols.
        for &id in &order {
            if !g.is_live(id) {
                continue;
            }
            let node = g.node(id);
            let rewrite = match &node.op {
                Op::Reshape { allowzero } => reshape_shape(g, &sv, id, *allowzero).map(|s| (1, s)),
                Op::Expand {} => expand_shape(g, &sv, id).map(|s| (1, s)),
                Op::Slice {} => slice_ends(g, &sv, id).map(|s| (2, s)),
                _ => None,
            };
            let Some((slot, values)) = rewrite else {
                continue;
            };
            let t = Tensor::from_vec(vec![values.len()], values)
                .map_err(|e| PassError::node(self.name(), g, id, e))?;
            let old = g.node(id).input(slot);
            let name = old.map(|v| g.value(v).name.clone()).unwrap_or_default();
            let w = add_tensor_weight(g, name, &t)
                .map_err(|e| PassError::node(self.name(), g, id, e))?;
            g.node_mut(id).inputs[slot] = Some(w);
            rewrites += 1;
        }

        if consts + rewrites == 0 {
            return Ok(Changed::No);
        }
        cx.note(
            self.name(),
            format!("shape values made constant: {consts}, shape inputs rewritten: {rewrites}"),
        );
        Ok(Changed::Yes)
    }
}

/// The elements of `v` as known by shape-value propagation.
fn elems(sv: &ShapeValues, v: ValueId) -> Option<Vec<SymInt>> {
    sv.get(v).map(<[SymInt]>::to_vec)
}

fn known_numbers(sv: &ShapeValues, v: ValueId) -> Option<Vec<i64>> {
    elems(sv, v)?
        .into_iter()
        .map(|e| match e {
            SymInt::Int(n) => Some(n),
            SymInt::Sym(_) => None,
        })
        .collect()
}

/// `nums` as a tensor of `v`'s dtype and (fixed) shape.
fn shaped_tensor(g: &Graph, v: ValueId, nums: Vec<i64>) -> Option<Tensor> {
    let ty = g.ty(v);
    if !ty.dtype.is_int() || ty.quant.is_some() {
        return None;
    }
    let shape: Vec<usize> = ty.fixed_shape()?.iter().map(|&d| d as usize).collect();
    let t = Tensor::from_vec(shape, nums).ok()?;
    Some(t.cast(ty.dtype))
}

/// A shape-like input that is not yet a weight and is known with symbols.
fn symbolic_input(g: &Graph, sv: &ShapeValues, id: NodeId, slot: usize) -> Option<Vec<SymInt>> {
    let v = g.node(id).input(slot)?;
    if is_weight(g, v) {
        return None;
    }
    let e = elems(sv, v)?;
    e.iter().any(|x| matches!(x, SymInt::Sym(_))).then_some(e)
}

fn reshape_shape(g: &Graph, sv: &ShapeValues, id: NodeId, allowzero: bool) -> Option<Vec<i64>> {
    let shape = symbolic_input(g, sv, id, 1)?;
    let data = g.node(id).input(0)?;
    let in_dims = &g.ty(data).shape;
    let mut minus_one = shape.contains(&SymInt::Int(-1));
    let mut out = Vec::with_capacity(shape.len());
    for (i, e) in shape.iter().enumerate() {
        out.push(match e {
            SymInt::Int(n) => *n,
            SymInt::Sym(s) if !allowzero && in_dims.get(i) == Some(&Dim::Sym(s.clone())) => 0,
            SymInt::Sym(_) if !minus_one => {
                minus_one = true;
                -1
            }
            SymInt::Sym(_) => return None,
        });
    }
    Some(out)
}

fn expand_shape(g: &Graph, sv: &ShapeValues, id: NodeId) -> Option<Vec<i64>> {
    let shape = symbolic_input(g, sv, id, 1)?;
    let data = g.node(id).input(0)?;
    let in_dims = &g.ty(data).shape;
    // Broadcasting aligns dims from the right.
    let offset = shape.len() as isize - in_dims.len() as isize;
    shape
        .iter()
        .enumerate()
        .map(|(i, e)| match e {
            SymInt::Int(n) => Some(*n),
            SymInt::Sym(s) => {
                let j = i as isize - offset;
                let same = j >= 0 && in_dims.get(j as usize) == Some(&Dim::Sym(s.clone()));
                same.then_some(1)
            }
        })
        .collect()
}

fn slice_ends(g: &Graph, sv: &ShapeValues, id: NodeId) -> Option<Vec<i64>> {
    let ends = symbolic_input(g, sv, id, 2)?;
    let node = g.node(id);
    let in_dims = &g.ty(node.input(0)?).shape;
    let rank = in_dims.len() as i64;
    let axes: Vec<i64> = match node.input(3) {
        Some(a) => known_numbers(sv, a).or_else(|| weight_ints(g, a))?,
        None => (0..ends.len() as i64).collect(),
    };
    let steps: Vec<i64> = match node.input(4) {
        Some(s) => known_numbers(sv, s).or_else(|| weight_ints(g, s))?,
        None => vec![1; ends.len()],
    };
    if axes.len() != ends.len() || steps.len() != ends.len() {
        return None;
    }
    ends.iter()
        .zip(axes.iter().zip(&steps))
        .map(|(e, (&axis, &step))| match e {
            SymInt::Int(n) => Some(*n),
            SymInt::Sym(s) => {
                let axis = if axis < 0 { axis + rank } else { axis };
                let dim = in_dims.get(usize::try_from(axis).ok()?)?;
                (step > 0 && dim == &Dim::Sym(s.clone())).then_some(i64::MAX)
            }
        })
        .collect()
}

fn weight_ints(g: &Graph, v: ValueId) -> Option<Vec<i64>> {
    g.weight_of(v)?.tensor().ok().map(|t| t.to_i64_vec())
}
