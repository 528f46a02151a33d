//! Static type and shape inference: the driver, the per-node context and the errors.
//!
//! [`infer_graph`] walks the node order, asks [`infer_node`] for each node's output
//! types and writes them into the output values, keeping [`ShapeValues`] (known
//! contents of small integer tensors, e.g. `Shape → Gather → Concat` chains) up to
//! date as it goes so that `Reshape`, `Expand`, `Slice`, ... see their targets.
//!
//! Each op family has one file with one function per family (`elementwise`,
//! `linalg`, `conv_pool`, `norm`, `reduce`, `shape_ops`, `index_ops`, `generators`,
//! `recurrent`, `quant`); the input names and arities of every op live in one table
//! (`arity`). Unknowable sizes get fresh symbols: inside one node they are named
//! `?k` (or `?v…` when they come from symbolic shape arithmetic); `infer_graph`
//! renames them to `_u0`, `_u1`, … in node order, starting past any `_uN` already
//! in the graph so that reruns after a rewrite never make two unknowns equal.
//!
//! Inference evaluates constant integer side computations itself ([`const_eval`]);
//! it never calls the interpreter, which depends on it (see the crate's layering).

mod arity;
mod broadcast;
pub mod const_eval;
mod conv_pool;
mod dims;
mod elementwise;
mod generators;
mod index_ops;
mod inputs;
mod linalg;
mod norm;
mod quant;
mod recurrent;
mod reduce;
mod shape_ops;
mod shape_values;

pub use arity::{signature, ArityError, Signature};
pub use inputs::{override_input_shapes, InputShapeError};
pub use shape_values::{shape_values, ShapeValues, SymInt};

use crate::{DType, Dim, Graph, Node, NodeId, Op, TensorType, ValueId};
use std::cell::Cell;
use std::collections::BTreeMap;

/// An inference failure. Node errors name the node, its op and what was wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InferError {
    #[error("node `{node}` ({op}): {msg}")]
    Node {
        node: String,
        op: &'static str,
        msg: String,
    },
    #[error(
        "value `{value}`: inferred type {inferred} conflicts with its declared type {declared}"
    )]
    Conflict {
        value: String,
        inferred: String,
        declared: String,
    },
    #[error("malformed graph: {0}")]
    Graph(String),
}

/// Printable name of a node: its source name, or `#index` when it has none.
pub(crate) fn node_label(g: &Graph, id: NodeId) -> String {
    let n = g.node(id);
    if n.name.is_empty() {
        format!("#{}", id.0)
    } else {
        n.name.clone()
    }
}

/// True for symbols inference made up inside one node (`?k`, `?v…`): they stand
/// for "unknown" and match any dim when checking a stored type.
pub fn is_unknown_sym(d: &Dim) -> bool {
    matches!(d, Dim::Sym(s) if s.starts_with('?'))
}

/// Output types of `node` computed from its input types and the known shape
/// values in `known` (weights are read directly when `known` lacks them).
///
/// Sizes that cannot be known statically are symbols starting with `?`.
pub fn infer_node(
    g: &Graph,
    node: NodeId,
    known: &ShapeValues,
) -> Result<Vec<TensorType>, InferError> {
    if node.index() >= g.node_slots() {
        return Err(InferError::Graph(format!(
            "node id {} out of range",
            node.0
        )));
    }
    let n = g.node(node);
    let quantized = is_quantized_node(g, n);
    // A quantized node means the float op on the real values: its rule sees every
    // quantized input as the f32 tensor it stands for.
    let real: Vec<Option<TensorType>> = if quantized {
        n.inputs
            .iter()
            .map(|i| {
                i.filter(|v| v.index() < g.value_count())
                    .map(|v| &g.value(v).ty)
                    .filter(|t| t.quant.is_some())
                    .map(|t| TensorType::new(DType::F32, t.shape.clone()))
            })
            .collect()
    } else {
        Vec::new()
    };
    let cx = Cx {
        g,
        id: node,
        node: n,
        known,
        real: &real,
        fresh: Cell::new(0),
    };
    arity::check(&cx)?;
    let mut out = dispatch(&cx)?;
    if quantized {
        // ... and its outputs are stored as their declared quantized types.
        for (t, &o) in out.iter_mut().zip(&n.outputs) {
            if let Some(declared) = g.values_get(o).map(|v| &v.ty) {
                if declared.quant.is_some() && t.dtype.is_float() {
                    t.dtype = declared.dtype;
                    t.quant = declared.quant.clone();
                }
            }
        }
    }
    if out.len() != cx.node.outputs.len() {
        return Err(cx.err(format!(
            "produces {} outputs but the node has {}",
            out.len(),
            cx.node.outputs.len()
        )));
    }
    for t in &out {
        dims::check_type_size(&cx, t)?;
    }
    Ok(out)
}

/// True for a node of the integer domain: an op other than the explicit
/// quantize/dequantize ops with a quantized input or output type.
pub fn is_quantized_node(g: &Graph, n: &Node) -> bool {
    use Op::*;
    if matches!(
        n.op,
        QuantizeLinear { .. } | DequantizeLinear { .. } | DynamicQuantizeLinear {}
    ) {
        return false;
    }
    n.inputs
        .iter()
        .flatten()
        .chain(&n.outputs)
        .filter_map(|&v| g.values_get(v))
        .any(|v| v.ty.quant.is_some())
}

/// Routes a node to its op family.
fn dispatch(cx: &Cx) -> Result<Vec<TensorType>, InferError> {
    use Op::*;
    let op = &cx.node.op;
    match op {
        MatMul {} | Gemm { .. } | Einsum { .. } => linalg::infer(cx),
        Conv { .. }
        | ConvTranspose { .. }
        | MaxPool { .. }
        | AveragePool { .. }
        | LpPool { .. }
        | GlobalAveragePool {}
        | GlobalMaxPool {}
        | GlobalLpPool { .. } => conv_pool::infer(cx),
        BatchNormalization { .. }
        | InstanceNormalization { .. }
        | LayerNormalization { .. }
        | GroupNormalization { .. }
        | LpNormalization { .. }
        | Lrn { .. }
        | MeanVarianceNormalization { .. }
        | Softmax { .. }
        | LogSoftmax { .. }
        | Hardmax { .. } => norm::infer(cx),
        ArgMax { .. } | ArgMin { .. } | CumSum { .. } | TopK { .. } => reduce::infer(cx),
        _ if op.reduce_attrs().is_some() => reduce::infer(cx),
        Shape { .. }
        | Size {}
        | Reshape { .. }
        | Flatten { .. }
        | Transpose { .. }
        | Squeeze {}
        | Unsqueeze {}
        | Concat { .. }
        | Split { .. }
        | Slice {}
        | Expand {}
        | Tile {}
        | Pad { .. }
        | Resize { .. }
        | DepthToSpace { .. }
        | SpaceToDepth { .. } => shape_ops::infer(cx),
        Gather { .. }
        | GatherElements { .. }
        | GatherNd { .. }
        | ScatterElements { .. }
        | ScatterNd { .. }
        | Trilu { .. }
        | Compress { .. }
        | ReverseSequence { .. } => index_ops::infer(cx),
        ConstantOfShape { .. } | Range {} | EyeLike { .. } | OneHot { .. } | NonZero {} => {
            generators::infer(cx)
        }
        Lstm { .. } | Gru { .. } | Rnn { .. } => recurrent::infer(cx),
        QuantizeLinear { .. } | DequantizeLinear { .. } | DynamicQuantizeLinear {} => {
            quant::infer(cx)
        }
        _ => elementwise::infer(cx),
    }
}

/// Infers every node's output types in order and writes them into the graph.
///
/// Where an output already has a type of the same rank (e.g. declared by the source
/// model), a fixed size or a source symbol there is kept over an unknown; two
/// different fixed sizes are a [`InferError::Conflict`]. Quantization parameters
/// already on an output are kept when the dtype is unchanged.
pub fn infer_graph(g: &mut Graph) -> Result<(), InferError> {
    let mut known = ShapeValues::default();
    shape_values::seed_weights(g, &mut known);
    let mut next_unknown = first_free_unknown(g);
    // `?v…` symbols come from the shared table, so one rename serves every node.
    let mut table_names: BTreeMap<String, String> = BTreeMap::new();
    let order: Vec<NodeId> = g.order().to_vec();
    for id in order {
        let inferred = infer_node(g, id, &known)?;
        let outputs = g.node(id).outputs.clone();
        let mut local_names: BTreeMap<String, String> = BTreeMap::new();
        for (v, mut ty) in outputs.iter().copied().zip(inferred) {
            if v.index() >= g.value_count() {
                return Err(InferError::Graph(format!(
                    "node `{}` output value {} out of range",
                    node_label(g, id),
                    v.0
                )));
            }
            for d in &mut ty.shape {
                if let Dim::Sym(s) = d {
                    if s.starts_with('?') {
                        let names = if s.starts_with("?v") {
                            &mut table_names
                        } else {
                            &mut local_names
                        };
                        let name = names.entry(s.clone()).or_insert_with(|| {
                            let n = format!("_u{next_unknown}");
                            next_unknown += 1;
                            n
                        });
                        *d = Dim::Sym(name.clone());
                    }
                }
            }
            let old = g.value(v).ty.clone();
            let merged = merge_declared(g, v, ty, &old)?;
            g.value_mut(v).ty = merged;
        }
        shape_values::update_node(g, id, &mut known);
    }
    Ok(())
}

/// The first `N` such that no dim in the graph is named `_uM` with `M >= N`.
/// The first `_uN` unknown-size number not used in `g` (for a pass that makes
/// sizes unknown again before re-inferring them).
pub fn first_free_unknown(g: &Graph) -> u64 {
    let mut next = 0;
    for (_, v) in g.values() {
        for d in &v.ty.shape {
            if let Dim::Sym(s) = d {
                if let Some(n) = s.strip_prefix("_u").and_then(|r| r.parse::<u64>().ok()) {
                    next = next.max(n.saturating_add(1));
                }
            }
        }
    }
    next
}

/// Combines a freshly inferred type with the type the value had before.
fn merge_declared(
    g: &Graph,
    v: ValueId,
    mut new: TensorType,
    old: &TensorType,
) -> Result<TensorType, InferError> {
    if old.rank() != new.rank() || old.dtype != new.dtype {
        // A placeholder or a stale type from before a rewrite: inference wins.
        return Ok(new);
    }
    let inferred = new.to_string();
    for (n, o) in new.shape.iter_mut().zip(&old.shape) {
        match (&*n, o) {
            (Dim::Fixed(a), Dim::Fixed(b)) if a != b => {
                return Err(InferError::Conflict {
                    value: value_label(g, v),
                    inferred,
                    declared: old.to_string(),
                })
            }
            // An unknown yields to whatever the old type knew (a size, a source
            // symbol, or the unknown's earlier name, which keeps reruns stable).
            (Dim::Sym(s), _) if s.starts_with("_u") => *n = o.clone(),
            _ => {}
        }
    }
    if new.quant.is_none() {
        new.quant = old.quant.clone();
    }
    Ok(new)
}

fn value_label(g: &Graph, v: ValueId) -> String {
    let name = &g.value(v).name;
    if name.is_empty() {
        format!("%{}", v.0)
    } else {
        name.clone()
    }
}

/// Everything a family's rule needs about one node, with error helpers.
pub(crate) struct Cx<'a> {
    pub g: &'a Graph,
    pub id: NodeId,
    pub node: &'a Node,
    pub known: &'a ShapeValues,
    /// For a quantized node: the f32 type standing for each quantized input.
    real: &'a [Option<TensorType>],
    fresh: Cell<u32>,
}

pub(crate) type R<T> = Result<T, InferError>;

impl<'a> Cx<'a> {
    pub fn op(&self) -> &'a Op {
        &self.node.op
    }

    /// An error about this node.
    pub fn err(&self, msg: impl Into<String>) -> InferError {
        InferError::Node {
            node: node_label(self.g, self.id),
            op: self.node.op.name(),
            msg: msg.into(),
        }
    }

    /// Printable "input 1 (weight)".
    pub fn in_label(&self, i: usize) -> String {
        let name = signature(&self.node.op).input_name(i);
        format!("input {i} ({name})")
    }

    /// An error about input `i`: "input 1 (weight) {msg}".
    pub fn in_err(&self, i: usize, msg: impl std::fmt::Display) -> InferError {
        self.err(format!("{} {msg}", self.in_label(i)))
    }

    /// The value id of input `i` if present (bounds-checked).
    pub fn input_id(&self, i: usize) -> R<Option<ValueId>> {
        match self.node.input(i) {
            Some(v) if v.index() >= self.g.value_count() => {
                Err(self.in_err(i, format!("refers to value {} out of range", v.0)))
            }
            other => Ok(other),
        }
    }

    /// Type of required input `i`.
    pub fn input(&self, i: usize) -> R<&'a TensorType> {
        match self.opt_input(i)? {
            Some(t) => Ok(t),
            None => Err(self.in_err(i, "is required but absent")),
        }
    }

    /// Type of optional input `i`.
    pub fn opt_input(&self, i: usize) -> R<Option<&'a TensorType>> {
        if let Some(Some(real)) = self.real.get(i) {
            return Ok(Some(real));
        }
        Ok(self.input_id(i)?.map(|v| &self.g.value(v).ty))
    }

    /// Number of input slots (including absent optional ones).
    pub fn n_inputs(&self) -> usize {
        self.node.inputs.len()
    }

    pub fn n_outputs(&self) -> usize {
        self.node.outputs.len()
    }

    /// A fresh unknown dim, unique within this node.
    pub fn fresh(&self) -> Dim {
        let k = self.fresh.get();
        self.fresh.set(k + 1);
        Dim::Sym(format!("?{k}"))
    }

    /// Known contents of input `i` (shape-value table, then small integer weights).
    pub fn values(&self, i: usize) -> R<Option<Vec<SymInt>>> {
        match self.input_id(i)? {
            Some(v) => Ok(self.known.get_or_weight(self.g, v)),
            None => Ok(None),
        }
    }

    /// Input `i`'s contents when every element is a known integer.
    pub fn ints(&self, i: usize) -> R<Option<Vec<i64>>> {
        Ok(self.values(i)?.and_then(|v| SymInt::all_ints(&v)))
    }

    /// Input `i`'s contents as floats, from a weight of any dtype or known integers.
    pub fn floats(&self, i: usize) -> R<Option<Vec<f64>>> {
        let Some(v) = self.input_id(i)? else {
            return Ok(None);
        };
        if let Some(w) = self.g.weight_of(v) {
            if w.ty
                .num_elements()
                .is_some_and(|n| n <= shape_values::MAX_LEN as u64)
            {
                if let Ok(t) = w.tensor() {
                    return Ok(Some(t.to_f64_vec()));
                }
            }
        }
        Ok(self
            .ints(i)?
            .map(|v| v.into_iter().map(|x| x as f64).collect()))
    }

    /// Normalizes `axis` (may be negative) against `rank`; errors name the attribute.
    pub fn axis(&self, axis: i64, rank: usize, what: &str) -> R<usize> {
        dims::norm_axis(axis, rank)
            .ok_or_else(|| self.err(format!("{what} {axis} is out of range for rank {rank}")))
    }

    /// Requires input `i` to have one of the dtypes accepted by `ok`.
    pub fn want_dtype(
        &self,
        i: usize,
        t: &TensorType,
        ok: fn(DType) -> bool,
        expected: &str,
    ) -> R<()> {
        if ok(t.dtype) {
            Ok(())
        } else {
            Err(self.in_err(i, format!("has dtype {}, expected {expected}", t.dtype)))
        }
    }

    /// Requires input `i` to have rank `rank`.
    pub fn want_rank(&self, i: usize, t: &TensorType, rank: usize) -> R<()> {
        if t.rank() == rank {
            Ok(())
        } else {
            Err(self.in_err(i, format!("has rank {}, expected {rank}", t.rank())))
        }
    }

    /// Requires inputs `i` and `j` to share a dtype.
    pub fn same_dtype(&self, i: usize, a: &TensorType, j: usize, b: &TensorType) -> R<()> {
        if a.dtype == b.dtype {
            Ok(())
        } else {
            Err(self.err(format!(
                "{} has dtype {} but {} has dtype {}",
                self.in_label(i),
                a.dtype,
                self.in_label(j),
                b.dtype
            )))
        }
    }
}

/// Dtype predicates used by the family rules.
pub(crate) mod dt {
    use crate::DType;
    pub fn float(d: DType) -> bool {
        d.is_float()
    }
    pub fn numeric(d: DType) -> bool {
        d != DType::Bool
    }
    pub fn int(d: DType) -> bool {
        d.is_int()
    }
    pub fn index(d: DType) -> bool {
        matches!(d, DType::I32 | DType::I64)
    }
    pub fn boolean(d: DType) -> bool {
        d == DType::Bool
    }
}
