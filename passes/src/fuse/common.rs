//! What every fusion shares: constants compared with an exporter's rounding in
//! mind, the check that a matched pattern's inner values have no readers
//! outside it, and the rewrite that puts one op in the pattern's place.

use crate::pass::node_label;
use crate::PassCx;
use pare_ir::{DType, Graph, IrError, NodeId, Op, Tensor, TensorType, ValueId, Weight};
use std::collections::{BTreeSet, HashMap};

/// Relative tolerance for constants: exporters write `√(2/π)` as
/// 0.7978845608 or 0.79788456, `1/√2` as 0.70710677 or 0.7071067811865476,
/// `1/6` as 0.16666667; a constant further off than this is another function.
pub(crate) const CONST_TOL: f64 = 1e-4;

/// Whether `got` is `want` to within [`CONST_TOL`] (relative).
pub(crate) fn close(got: f64, want: f64) -> bool {
    (got - want).abs() <= CONST_TOL * want.abs().max(1e-30)
}

/// Whether value `v` is an f32 tensor without quantization.
pub(crate) fn is_plain_f32(g: &Graph, v: ValueId) -> bool {
    g.ty(v).dtype == DType::F32 && g.ty(v).quant.is_none()
}

/// Whether every node of `matched` other than `root` is read only by nodes of
/// `matched` and none of their outputs is a graph output: only then can the
/// pattern be replaced without changing what anything else reads.
pub(crate) fn is_private(
    g: &Graph,
    uses: &[Vec<(NodeId, usize)>],
    matched: &BTreeSet<NodeId>,
    root: NodeId,
) -> bool {
    matched.iter().filter(|&&n| n != root).all(|&n| {
        g.node(n).outputs.iter().all(|&o| {
            !g.outputs.contains(&o) && uses[o.index()].iter().all(|(u, _)| matched.contains(u))
        })
    })
}

/// The nodes reachable from `start` through readers whose op `follow` accepts,
/// at most `limit` of them, latest in the graph order first: the candidate
/// final nodes of a pattern that begins at `start`.
pub(crate) fn downstream(
    g: &Graph,
    uses: &[Vec<(NodeId, usize)>],
    start: ValueId,
    follow: &dyn Fn(&Op) -> bool,
    limit: usize,
) -> Vec<NodeId> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![start];
    while let Some(v) = stack.pop() {
        for &(u, _) in &uses[v.index()] {
            if seen.len() >= limit || !follow(&g.node(u).op) || !seen.insert(u) {
                continue;
            }
            stack.extend(g.node(u).outputs.iter().copied());
        }
    }
    let pos: HashMap<NodeId, usize> = g.order().iter().enumerate().map(|(i, &n)| (n, i)).collect();
    let mut out: Vec<NodeId> = seen.into_iter().collect();
    out.sort_by_key(|n| std::cmp::Reverse(pos.get(n).copied().unwrap_or(0)));
    out
}

/// Element-wise arithmetic, the ops a written-out pattern is made of.
pub(crate) fn is_arithmetic(op: &Op) -> bool {
    matches!(
        op,
        Op::Add {}
            | Op::Sub {}
            | Op::Mul {}
            | Op::Div {}
            | Op::Neg {}
            | Op::Reciprocal {}
            | Op::Pow {}
    )
}

/// An input of a fused op: a value the pattern read, or a constant the
/// fusion computed (LayerNormalization's scale and bias), added as a weight
/// named after the fused node with `suffix`.
pub(crate) enum FusedInput {
    Value(ValueId),
    Const {
        suffix: &'static str,
        tensor: Tensor,
    },
}

/// One match: the node whose output the fused op replaces, every node the
/// pattern consists of (the root included), the fused op and its inputs.
pub(crate) struct Fusion {
    pub root: NodeId,
    pub matched: BTreeSet<NodeId>,
    pub op: Op,
    pub inputs: Vec<FusedInput>,
    /// When set, the fused op works in another axis order: its first input
    /// is transposed by this permutation and its output transposed back (a
    /// LayerNorm over middle axes, which `layer_normalization` takes last).
    pub perm: Option<Vec<usize>>,
}

/// Replaces `f.root`'s output by one node computing `f.op` and removes the
/// pattern's nodes. The new node takes the root's name (or its output's) and
/// its output keeps the root output's name and type; with a permutation
/// (`f.perm`) it sits between two transposes, and the last of them defines
/// the output. Returns a line for the pass log.
pub(crate) fn apply(g: &mut Graph, f: Fusion) -> Result<String, IrError> {
    let y = g.node(f.root).outputs[0];
    let label = node_label(g, f.root);
    let name = match g.node(f.root).name.as_str() {
        "" => g.value(y).name.clone(),
        n => n.to_string(),
    };
    let ty = g.ty(y).clone();
    let removed = f.matched.len();
    let mut inputs = Vec::with_capacity(f.inputs.len());
    for i in f.inputs {
        inputs.push(Some(match i {
            FusedInput::Value(v) => v,
            FusedInput::Const { suffix, tensor } => {
                g.add_weight(format!("{name}{suffix}"), Weight::from_tensor(&tensor))?
            }
        }));
    }
    let out = match &f.perm {
        None => {
            g.insert_node_before(
                f.root,
                name,
                f.op.clone(),
                inputs,
                vec![(String::new(), ty)],
            )?
            .1[0]
        }
        Some(perm) => insert_permuted(g, f.root, &name, &f.op, inputs, ty, perm)?,
    };
    g.replace_all_uses(y, out);
    let yname = std::mem::take(&mut g.value_mut(y).name);
    g.value_mut(out).name = yname;
    for n in f.matched {
        g.remove_node(n);
    }
    Ok(format!(
        "fused {removed} nodes ending at {label} into one {}{}",
        f.op.name(),
        if f.perm.is_some() {
            " between transposes"
        } else {
            ""
        }
    ))
}

/// Inserts `op` before `anchor` between a transpose of its first input by
/// `perm` and a transpose of its output back; returns the last transpose's
/// output, typed `ty`.
fn insert_permuted(
    g: &mut Graph,
    anchor: NodeId,
    name: &str,
    op: &Op,
    mut inputs: Vec<Option<ValueId>>,
    ty: TensorType,
    perm: &[usize],
) -> Result<ValueId, IrError> {
    let Some(Some(x)) = inputs.first().copied() else {
        return Err(IrError::Invalid(format!(
            "the fused {} at {name} has no input to permute",
            op.name()
        )));
    };
    let xt = permuted(g.ty(x), perm)?;
    let to_last = format!("{name}_to_last");
    let (_, t) = g.insert_node_before(
        anchor,
        to_last.clone(),
        transpose(perm),
        vec![Some(x)],
        vec![(to_last, xt)],
    )?;
    inputs[0] = Some(t[0]);
    let (_, o) = g.insert_node_before(
        anchor,
        name,
        op.clone(),
        inputs,
        vec![(format!("{name}_last"), permuted(&ty, perm)?)],
    )?;
    let mut back = vec![0; perm.len()];
    for (i, &p) in perm.iter().enumerate() {
        back[p] = i;
    }
    let (_, out) = g.insert_node_before(
        anchor,
        format!("{name}_from_last"),
        transpose(&back),
        vec![Some(o[0])],
        vec![(String::new(), ty)],
    )?;
    Ok(out[0])
}

fn transpose(perm: &[usize]) -> Op {
    Op::Transpose {
        perm: Some(perm.iter().map(|&p| p as i64).collect()),
    }
}

/// `t` with its dims in the order `perm` gives.
fn permuted(t: &TensorType, perm: &[usize]) -> Result<TensorType, IrError> {
    let shape = perm
        .iter()
        .map(|&p| t.shape.get(p).cloned())
        .collect::<Option<Vec<_>>>()
        .filter(|s| s.len() == t.shape.len())
        .ok_or_else(|| IrError::Invalid(format!("permutation {perm:?} does not fit {t}")))?;
    Ok(TensorType { shape, ..t.clone() })
}

/// Runs `find` over the graph until it finds nothing more, applying each
/// match; logs each under `pass`. `find` sees the graph as the previous
/// fusion left it.
pub(crate) fn fuse_all(
    g: &mut Graph,
    cx: &mut PassCx,
    pass: &'static str,
    find: &dyn Fn(&Graph) -> Option<Fusion>,
) -> Result<bool, crate::PassError> {
    let mut changed = false;
    // Each fusion removes at least two nodes, so this bounds the loop.
    for _ in 0..=g.order().len() {
        let Some(f) = find(g) else {
            return Ok(changed);
        };
        let root = f.root;
        let msg = apply(g, f).map_err(|e| crate::PassError::node(pass, g, root, e))?;
        cx.note(pass, msg);
        changed = true;
    }
    Ok(changed)
}
