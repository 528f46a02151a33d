//! Whole-graph evaluation: checks the inputs against the graph's declared types
//! (binding symbolic dims), evaluates nodes in topological order, decodes each
//! weight once when first needed and frees every intermediate after its last use.
//! Quantized nodes run on the integer kernels or the fake-quant path
//! ([`RunOptions`]).

use super::{eval_fake_quant, eval_int, eval_op, InterpError};
use crate::quant::Rounding;
use crate::{Dim, Graph, Tensor, TensorType, ValueDef, ValueId};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// How quantized nodes are evaluated.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum QuantExec {
    /// Bit-exact integer kernels ([`eval_int`]) with this rounding: the reference
    /// the targets match.
    Integer(Rounding),
    /// Dequantize the inputs, run the float kernel, quantize the outputs
    /// ([`eval_fake_quant`]): for analysis.
    FakeQuant,
}

impl Default for QuantExec {
    fn default() -> QuantExec {
        QuantExec::Integer(Rounding::default())
    }
}

/// Options of [`run_with`].
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct RunOptions {
    pub quant: QuantExec,
}

/// Evaluates `g` on `inputs` (one per graph input, in order) with default
/// [`RunOptions`] (quantized nodes on the integer kernels, gemmlowp rounding);
/// returns the graph's outputs in order.
pub fn run(g: &Graph, inputs: &[Tensor]) -> Result<Vec<Tensor>, InterpError> {
    run_with(g, inputs, &RunOptions::default(), &mut |_, _| {})
}

/// Like [`run`], and calls `observe` with every node output as soon as it is
/// computed (for calibration and debugging).
pub fn run_observed(
    g: &Graph,
    inputs: &[Tensor],
    observe: &mut dyn FnMut(ValueId, &Tensor),
) -> Result<Vec<Tensor>, InterpError> {
    run_with(g, inputs, &RunOptions::default(), observe)
}

/// Evaluates `g` on `inputs` as `opts` says, calling `observe` with every node
/// output as soon as it is computed. Quantized nodes (some input or output type
/// carries quantization; not a QDQ boundary op) go to [`eval_int`] under
/// [`QuantExec::Integer`] or to [`eval_fake_quant`] under [`QuantExec::FakeQuant`];
/// the others run their float/integer kernels as usual. Errors name the node and op.
pub fn run_with(
    g: &Graph,
    inputs: &[Tensor],
    opts: &RunOptions,
    observe: &mut dyn FnMut(ValueId, &Tensor),
) -> Result<Vec<Tensor>, InterpError> {
    if inputs.len() != g.inputs.len() {
        return Err(InterpError::Run(format!(
            "graph `{}` takes {} inputs, {} were given",
            g.name,
            g.inputs.len(),
            inputs.len()
        )));
    }
    let mut values: Vec<Option<Cow<Tensor>>> = vec![None; g.value_count()];
    let mut syms = BTreeMap::new();
    for (&id, t) in g.inputs.iter().zip(inputs) {
        let v = g.value(id);
        check_input(&v.name, &v.ty, t, &mut syms)?;
        values[id.index()] = Some(Cow::Borrowed(t));
    }

    // Remaining uses of each value; graph outputs are pinned so they are never freed.
    let mut uses = vec![0usize; g.value_count()];
    for (_, n) in g.nodes() {
        for v in n.present_inputs() {
            uses[v.index()] += 1;
        }
    }
    for &o in &g.outputs {
        uses[o.index()] = usize::MAX;
    }

    for (_, node) in g.nodes() {
        let wrap = |e: InterpError| InterpError::Node {
            node: node.name.clone(),
            op: node.op.name(),
            source: Box::new(e),
        };
        for v in node.present_inputs() {
            ensure(g, &mut values, v).map_err(wrap)?;
        }
        let results = {
            let refs: Vec<Option<&Tensor>> = node
                .inputs
                .iter()
                .map(|i| i.and_then(|v| values[v.index()].as_deref()))
                .collect();
            if crate::infer::is_quantized_node(g, node) {
                let in_types: Vec<Option<&TensorType>> = node
                    .inputs
                    .iter()
                    .map(|i| i.map(|v| &g.value(v).ty))
                    .collect();
                let out_types: Vec<&TensorType> =
                    node.outputs.iter().map(|&v| &g.value(v).ty).collect();
                match opts.quant {
                    QuantExec::Integer(r) => eval_int(&node.op, &refs, &in_types, &out_types, r),
                    QuantExec::FakeQuant => eval_fake_quant(&node.op, &refs, &in_types, &out_types),
                }
                .map_err(wrap)?
            } else {
                eval_op(&node.op, &refs, node.outputs.len()).map_err(wrap)?
            }
        };
        if results.len() != node.outputs.len() {
            return Err(wrap(InterpError::Run(format!(
                "produced {} outputs, the node has {}",
                results.len(),
                node.outputs.len()
            ))));
        }
        for (&id, t) in node.outputs.iter().zip(results) {
            let v = g.value(id);
            check_output(&v.ty, &t)
                .map_err(|msg| wrap(InterpError::Run(format!("output `{}`: {msg}", v.name))))?;
            observe(id, &t);
            values[id.index()] = Some(Cow::Owned(t));
        }
        for v in node.present_inputs() {
            let u = &mut uses[v.index()];
            if *u != usize::MAX {
                *u -= 1;
                if *u == 0 {
                    values[v.index()] = None;
                }
            }
        }
    }

    let mut out = Vec::with_capacity(g.outputs.len());
    for &o in &g.outputs {
        ensure(g, &mut values, o)?;
        match values[o.index()].as_deref() {
            Some(t) => out.push(t.clone()),
            None => {
                return Err(InterpError::Run(format!(
                    "graph output `{}` was never computed",
                    g.value(o).name
                )))
            }
        }
    }
    Ok(out)
}

/// Makes value `v` available: decodes a weight on first use; errors if `v` is a
/// node output not yet computed (the order is not topological).
fn ensure(g: &Graph, values: &mut [Option<Cow<Tensor>>], v: ValueId) -> Result<(), InterpError> {
    if values[v.index()].is_some() {
        return Ok(());
    }
    let val = g.value(v);
    match val.def {
        ValueDef::Weight(w) => {
            values[v.index()] = Some(Cow::Owned(g.weight(w).tensor()?));
            Ok(())
        }
        _ => Err(InterpError::Run(format!(
            "value `{}` is used before it is computed",
            val.name
        ))),
    }
}

/// Checks a graph input against its declared type, binding symbolic dims.
fn check_input(
    name: &str,
    ty: &TensorType,
    t: &Tensor,
    syms: &mut BTreeMap<String, usize>,
) -> Result<(), InterpError> {
    let err = |msg: String| InterpError::Input {
        name: name.to_string(),
        msg,
    };
    if t.dtype() != ty.dtype {
        return Err(err(format!(
            "dtype is {}, expected {}",
            t.dtype(),
            ty.dtype
        )));
    }
    if t.rank() != ty.rank() {
        return Err(err(format!(
            "shape {:?} has rank {}, expected {ty} (rank {})",
            t.shape(),
            t.rank(),
            ty.rank()
        )));
    }
    for (i, (d, &n)) in ty.shape.iter().zip(t.shape()).enumerate() {
        match d {
            Dim::Fixed(f) if *f != n as u64 => {
                return Err(err(format!(
                    "dim {i} is {n}, expected {f} (shape {:?} vs {ty})",
                    t.shape()
                )))
            }
            Dim::Fixed(_) => {}
            Dim::Sym(s) => match syms.get(s) {
                Some(&b) if b != n => {
                    return Err(err(format!(
                        "dim {i} is {n}, but symbol `{s}` is already bound to {b}"
                    )))
                }
                Some(_) => {}
                None => {
                    syms.insert(s.clone(), n);
                }
            },
        }
    }
    Ok(())
}

/// Checks a node output against its declared dtype, rank and fixed dims.
fn check_output(ty: &TensorType, t: &Tensor) -> Result<(), String> {
    let fits = t.dtype() == ty.dtype
        && t.rank() == ty.rank()
        && ty
            .shape
            .iter()
            .zip(t.shape())
            .all(|(d, &n)| d.fixed().is_none_or(|f| f == n as u64));
    if fits {
        Ok(())
    } else {
        Err(format!(
            "computed {}{:?}, declared type is {ty}",
            t.dtype(),
            t.shape()
        ))
    }
}
