//! Lowering check: the quantized graph with batch 1, its entry `quantize_linear`
//! and exit `dequantize_linear` nodes stripped (their parameters become the C
//! API's input/output scale and zero point), and every remaining node an
//! integer node with a C kernel — or a clear error per node that is not.

use super::kernels::c_kernel_for;
use super::Rp2040Error;
use crate::plan::bind_symbols;
use pare_ir::interp::{has_int_kernel, run_with, QuantExec, RunOptions};
use pare_ir::quant::Rounding;
use pare_ir::{DType, Graph, NodeId, Op, Tensor, TensorType, ValueId};
use std::collections::BTreeSet;

/// A model input or output in the integer domain: int8 codes, per-tensor
/// `real = scale · (code − zero_point)`.
#[derive(Clone, Debug, PartialEq)]
pub struct IoQuant {
    /// The float model's input/output name.
    pub name: String,
    /// The int8 value in [`Lowered::graph`].
    pub value: ValueId,
    pub shape: Vec<usize>,
    pub scale: f32,
    pub zero_point: i32,
}

impl IoQuant {
    /// Elements (= bytes of int8 codes).
    pub fn elements(&self) -> usize {
        self.shape.iter().product()
    }
}

/// The integer part of a quantized model, ready for code generation.
#[derive(Clone, Debug)]
pub struct Lowered {
    /// Batch bound to 1, no quantize/dequantize nodes: int8 in, int8 out.
    /// `pare_ir::interp::run_with` on it is what the C code must reproduce.
    pub graph: Graph,
    pub inputs: Vec<IoQuant>,
    pub outputs: Vec<IoQuant>,
}

/// Per-tensor signed 8-bit parameters of `ty`, if it has them.
pub(crate) fn int8_params(ty: &TensorType) -> Option<(f32, i32)> {
    let q = ty.quant.as_ref()?;
    let ok = ty.dtype == DType::I8
        && q.bits == 8
        && q.signed
        && q.axis.is_none()
        && q.scale.len() == 1
        && q.zero_point.len() == 1;
    ok.then(|| (q.scale[0], q.zero_point[0]))
}

fn fixed_shape(g: &Graph, v: ValueId) -> Result<Vec<usize>, Rp2040Error> {
    g.ty(v)
        .fixed_shape()
        .map(|s| s.into_iter().map(|d| d as usize).collect())
        .ok_or_else(|| {
            Rp2040Error::Boundary(format!(
                "value `{}` has the symbolic type {}",
                g.value(v).name,
                g.ty(v)
            ))
        })
}

/// Checks and strips `g` (a graph from `pare compile --quantize int8`): see the
/// module docs. Every problem is reported at once, one line per node.
pub fn lower(g: &Graph) -> Result<Lowered, Rp2040Error> {
    let g = bind_symbols(g, 1)?;
    if !g
        .nodes()
        .any(|(_, n)| matches!(n.op, Op::QuantizeLinear { .. }))
    {
        return Err(Rp2040Error::Boundary(format!(
            "graph `{}` is not quantized (it has no quantize_linear): quantize it to int8 first (pare compile --quantize int8)",
            g.name
        )));
    }
    // Float nodes anywhere (at the entry too) are the real reason a model
    // cannot run here: name them all before looking at the boundaries.
    let (float, no_kernel) = node_problems(&g);
    if !float.is_empty() || !no_kernel.is_empty() {
        return Err(Rp2040Error::Unsupported([float, no_kernel].concat()));
    }
    let uses = g.uses();
    let mut skip: BTreeSet<NodeId> = BTreeSet::new();
    let mut map: Vec<Option<ValueId>> = vec![None; g.value_count()];
    let mut out = Graph::new(g.name.clone());
    out.meta = g.meta.clone();

    let mut inputs = Vec::new();
    for &x in &g.inputs {
        let name = &g.value(x).name;
        // The quantizer puts one quantize_linear before each consumer; they
        // must agree, and then they are one int8 input.
        let qs: Vec<NodeId> = uses[x.index()].iter().map(|&(n, _)| n).collect();
        let bad = |why: String| {
            Rp2040Error::Boundary(format!(
                "input `{name}` must enter the integer domain through quantize_linear nodes with one set of parameters; {why}"
            ))
        };
        let Some(&q0) = qs.first() else {
            return Err(bad("it is not used".into()));
        };
        if let Some(&(n, _)) = uses[x.index()]
            .iter()
            .find(|&&(n, slot)| slot != 0 || !matches!(g.node(n).op, Op::QuantizeLinear { .. }))
        {
            return Err(bad(format!(
                "it feeds `{}` ({})",
                g.node(n).name,
                g.node(n).op.name()
            )));
        }
        let ty = g.ty(g.node(q0).outputs[0]).clone();
        if let Some(&n) = qs.iter().find(|&&n| *g.ty(g.node(n).outputs[0]) != ty) {
            return Err(bad(format!(
                "`{}` quantizes it to {} but `{}` to {ty}",
                g.node(n).name,
                g.ty(g.node(n).outputs[0]),
                g.node(q0).name
            )));
        }
        let (scale, zero_point) = int8_params(&ty).ok_or_else(|| {
            Rp2040Error::Boundary(format!(
                "input `{name}` is quantized to {ty}; the rp2040 target takes int8 with one scale and zero point"
            ))
        })?;
        let new = out.add_input(name.clone(), ty)?;
        for &q in &qs {
            map[g.node(q).outputs[0].index()] = Some(new);
            skip.insert(q);
        }
        let qv = g.node(q0).outputs[0];
        inputs.push(IoQuant {
            name: name.clone(),
            value: new,
            shape: fixed_shape(&g, qv)?,
            scale,
            zero_point,
        });
    }

    // Exit dequantize_linear nodes: stripped when nothing but the graph output reads them.
    let mut exits = Vec::new();
    for &y in &g.outputs {
        let name = &g.value(y).name;
        let dq = g
            .producer(y)
            .filter(|&n| matches!(g.node(n).op, Op::DequantizeLinear { .. }))
            .filter(|_| uses[y.index()].is_empty())
            .ok_or_else(|| {
                let what = g.producer(y).map_or("a graph input or weight".to_string(), |n| {
                    format!("`{}` ({})", g.node(n).name, g.node(n).op.name())
                });
                Rp2040Error::Boundary(format!(
                    "output `{name}` must come straight from a dequantize_linear (where the model leaves the integer domain); it comes from {what}"
                ))
            })?;
        let qy = g.node(dq).inputs[0].ok_or_else(|| {
            Rp2040Error::Boundary(format!(
                "output `{name}`: its dequantize_linear has no input"
            ))
        })?;
        let ty = g.ty(qy);
        let (scale, zero_point) = int8_params(ty).ok_or_else(|| {
            Rp2040Error::Boundary(format!(
                "output `{name}` is dequantized from {ty}; the rp2040 target takes int8 with one scale and zero point"
            ))
        })?;
        skip.insert(dq);
        exits.push((name.clone(), qy, scale, zero_point));
    }

    for &id in g.order() {
        if skip.contains(&id) {
            continue;
        }
        let node = g.node(id);
        let mut ins = Vec::with_capacity(node.inputs.len());
        for v in &node.inputs {
            ins.push(match v {
                None => None,
                Some(v) => Some(match map[v.index()] {
                    Some(new) => new,
                    None => {
                        let w = g.weight_of(*v).ok_or_else(|| {
                            Rp2040Error::node(
                                node,
                                format!(
                                    "reads `{}`, which nothing before it defines",
                                    g.value(*v).name
                                ),
                            )
                        })?;
                        let new = out.add_weight(g.value(*v).name.clone(), w.clone())?;
                        map[v.index()] = Some(new);
                        new
                    }
                }),
            });
        }
        let outs = node
            .outputs
            .iter()
            .map(|&v| (g.value(v).name.clone(), g.ty(v).clone()))
            .collect();
        let (_, new_outs) = out.add_node(node.name.clone(), node.op.clone(), ins, outs)?;
        for (&old, new) in node.outputs.iter().zip(new_outs) {
            map[old.index()] = Some(new);
        }
    }

    let mut outputs = Vec::new();
    for (name, qy, scale, zero_point) in exits {
        let v = map[qy.index()].ok_or_else(|| {
            Rp2040Error::Boundary(format!(
                "output `{name}` is dequantized from `{}`, which no node computes",
                g.value(qy).name
            ))
        })?;
        out.outputs.push(v);
        outputs.push(IoQuant {
            name,
            value: v,
            shape: fixed_shape(&g, qy)?,
            scale,
            zero_point,
        });
    }

    check_nodes(&out)?;
    dry_run(&out, &inputs)?;
    Ok(Lowered {
        graph: out,
        inputs,
        outputs,
    })
}

/// Lines for the nodes that stay float and the integer nodes without a C
/// kernel (quantize/dequantize nodes are not judged here).
fn node_problems(g: &Graph) -> (Vec<String>, Vec<String>) {
    let mut float = Vec::new();
    let mut no_kernel = Vec::new();
    for (_, n) in g.nodes() {
        if matches!(
            n.op,
            Op::QuantizeLinear { .. } | Op::DequantizeLinear { .. }
        ) {
            continue;
        }
        let line = |why: String| format!("  node `{}` ({}): {why}", n.name, n.op.name());
        let int8 =
            !n.outputs.is_empty() && n.outputs.iter().all(|&v| int8_params(g.ty(v)).is_some());
        if !int8 {
            float.push(line(if has_int_kernel(&n.op) {
                format!(
                    "stays float: the quantizer left `{}` in float (its output is {})",
                    n.op.name(),
                    n.outputs
                        .first()
                        .map_or("nothing".into(), |&v| g.ty(v).to_string())
                )
            } else {
                format!("stays float: `{}` has no integer kernel", n.op.name())
            }));
        } else if c_kernel_for(&n.op).is_none() {
            no_kernel.push(line(format!(
                "`{}` has no C kernel in the rp2040 target",
                n.op.name()
            )));
        }
    }
    (float, no_kernel)
}

/// After stripping, every node must be an integer node with a C kernel and no
/// quantize/dequantize may remain (a float island inside the model).
fn check_nodes(g: &Graph) -> Result<(), Rp2040Error> {
    let (float, no_kernel) = node_problems(g);
    let mut all = [float, no_kernel].concat();
    if all.is_empty() {
        all = g
            .nodes()
            .filter(|(_, n)| {
                matches!(
                    n.op,
                    Op::QuantizeLinear { .. } | Op::DequantizeLinear { .. }
                )
            })
            .map(|(_, n)| {
                format!(
                    "  node `{}` ({}): leaves or re-enters the integer domain inside the model",
                    n.name,
                    n.op.name()
                )
            })
            .collect();
    }
    if all.is_empty() {
        Ok(())
    } else {
        Err(Rp2040Error::Unsupported(all))
    }
}

/// Runs the integer interpreter once on zero codes: every parameter check of
/// the reference kernels (matching quantization of moved data, the softmax
/// output scale, bias scales, …) then holds for the code generated.
fn dry_run(g: &Graph, inputs: &[IoQuant]) -> Result<(), Rp2040Error> {
    let zeros = inputs
        .iter()
        .map(|io| {
            let codes = vec![io.zero_point.clamp(-128, 127) as i8; io.elements()];
            Tensor::from_vec(io.shape.clone(), codes)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let opts = RunOptions {
        quant: QuantExec::Integer(Rounding::Gemmlowp),
    };
    run_with(g, &zeros, &opts, &mut |_, _| {})?;
    Ok(())
}
