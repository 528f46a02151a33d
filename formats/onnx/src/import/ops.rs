//! Lowering of one ONNX node to pare ops, normalizing every opset 11..=21 form (and
//! older opsets' where the operator means the same, see `support::since_version`) to
//! the `Op` enum's opset-21 conventions (see `pare_ir::ops`).

use super::attrs::Attrs;
use super::Importer;
use crate::error::ErrorKind;
use crate::proto::attribute_proto::AttributeType;
use crate::proto::NodeProto;
use crate::tensor::dtype_of;
use pare_ir::ops::{
    AutoPad, CoordTransform, DepthToSpaceMode, Direction, GeluApprox, KeepAspect, NearestMode,
    PadMode, ResizeMode, ScatterReduction,
};
use pare_ir::{DType, Op, Tensor, TensorData, ValueId, Weight};

type Inputs = Vec<Option<ValueId>>;

/// Lowers node `n` into the importer's graph.
pub(crate) fn lower(imp: &mut Importer, n: &NodeProto) -> Result<(), ErrorKind> {
    let op_type = n.op_type.as_deref().unwrap_or("");
    let mut a = Attrs::new(n)?;
    let mut ins = imp.inputs(n)?;
    let opset = imp.opset;
    let node_name = n.name.clone().unwrap_or_default();
    // Helper nodes and weights pare adds are named after the node, or after its first
    // output when the node is unnamed, so they stay distinct.
    let base = match (&n.name, n.output.first()) {
        (Some(name), _) if !name.is_empty() => name.clone(),
        (_, Some(out)) => out.clone(),
        _ => String::new(),
    };
    let outputs = n
        .output
        .iter()
        .rposition(|o| !o.is_empty())
        .map_or(0, |i| i + 1);
    if outputs == 0 {
        return Err(a.node_err("has no outputs"));
    }

    // An op whose inputs are the node's, checked against the op's signature.
    macro_rules! simple {
        ($op:expr) => {{
            let op = $op;
            let sig = op.info().signature;
            let max = if sig.variadic {
                usize::MAX
            } else {
                sig.inputs.len()
            };
            arity(&a, &ins, sig.min_inputs, max)?;
            op
        }};
    }

    let op = match op_type {
        "Constant" => {
            let w = constant_value(imp, &mut a, &node_name)?;
            arity(&a, &ins, 0, 0)?;
            a.finish()?;
            let out = n.output.first().cloned().unwrap_or_default();
            if n.output.len() != 1 || out.is_empty() {
                return Err(ErrorKind::Node {
                    node: node_name,
                    op: op_type.into(),
                    msg: "must have exactly one output".into(),
                });
            }
            imp.define_weight(&out, w)?;
            return Ok(());
        }
        "IsInf" => simple!(Op::IsInf {
            detect_negative: a.bool_or("detect_negative", true)?,
            detect_positive: a.bool_or("detect_positive", true)?,
        }),
        "LeakyRelu" => simple!(Op::LeakyRelu {
            alpha: a.float_or("alpha", 0.01)?
        }),
        "Elu" => simple!(Op::Elu {
            alpha: a.float_or("alpha", 1.0)?
        }),
        "Selu" => simple!(Op::Selu {
            alpha: a.float_or("alpha", 1.673_263_2)?,
            gamma: a.float_or("gamma", 1.050_701)?,
        }),
        "Celu" => simple!(Op::Celu {
            alpha: a.float_or("alpha", 1.0)?
        }),
        "ThresholdedRelu" => simple!(Op::ThresholdedRelu {
            alpha: a.float_or("alpha", 1.0)?
        }),
        "HardSigmoid" => simple!(Op::HardSigmoid {
            alpha: a.float_or("alpha", 0.2)?,
            beta: a.float_or("beta", 0.5)?,
        }),
        "Gelu" => simple!(Op::Gelu {
            approximate: a.enum_or(
                "approximate",
                GeluApprox::None,
                GeluApprox::parse,
                GeluApprox::NAMES
            )?,
        }),
        "Shrink" => simple!(Op::Shrink {
            bias: a.float_or("bias", 0.0)?,
            lambd: a.float_or("lambd", 0.5)?,
        }),
        "Cast" => {
            let to = a.req_int("to")?;
            let to = i32::try_from(to)
                .map_err(|_| a.err("to", format!("{to} is not an element type")))
                .and_then(|c| dtype_of(c, &format!("{node_name} (Cast.to)")))?;
            // `saturate` only affects float8 targets, which pare rejects anyway.
            a.ignore("saturate", AttributeType::Int)?;
            simple!(Op::Cast { to })
        }
        "CastLike" => {
            a.ignore("saturate", AttributeType::Int)?;
            simple!(Op::CastLike {})
        }
        "Dropout" => dropout(imp, &mut a, &mut ins, opset)?,
        "Mod" => simple!(Op::Mod {
            fmod: a.bool_or("fmod", false)?
        }),
        "BitShift" => {
            let left = match a.string("direction")?.as_deref() {
                Some("LEFT") => true,
                Some("RIGHT") => false,
                Some(s) => return Err(a.err("direction", format!("`{s}` is not LEFT or RIGHT"))),
                None => return Err(a.err("direction", "required but missing")),
            };
            simple!(Op::BitShift { left })
        }
        "Max" | "Min" | "Sum" | "Mean" => {
            arity(&a, &ins, 1, usize::MAX)?;
            a.finish()?;
            return variadic(imp, n, op_type, ins, &base);
        }
        "Gemm" => simple!(Op::Gemm {
            alpha: a.float_or("alpha", 1.0)?,
            beta: a.float_or("beta", 1.0)?,
            trans_a: a.bool_or("transA", false)?,
            trans_b: a.bool_or("transB", false)?,
        }),
        "Conv" | "ConvTranspose" => {
            arity(&a, &ins, 2, 3)?;
            let kernel = kernel_from_weight(imp, &a, ins[1])?;
            let s = spatial(&mut a, kernel)?;
            let group = a.int_or("group", 1)?;
            if group < 1 {
                return Err(a.err("group", format!("must be at least 1, got {group}")));
            }
            if op_type == "Conv" {
                Op::Conv {
                    auto_pad: s.auto_pad,
                    kernel_shape: s.kernel_shape,
                    strides: s.strides,
                    pads: s.pads,
                    dilations: s.dilations,
                    group,
                }
            } else {
                let rank = s.kernel_shape.len();
                let output_padding = a.ints("output_padding")?.unwrap_or_else(|| vec![0; rank]);
                if output_padding.len() != rank {
                    return Err(a.err("output_padding", format!("needs {rank} values")));
                }
                let output_shape = a.ints("output_shape")?.unwrap_or_default();
                Op::ConvTranspose {
                    auto_pad: s.auto_pad,
                    kernel_shape: s.kernel_shape,
                    strides: s.strides,
                    pads: s.pads,
                    dilations: s.dilations,
                    group,
                    output_padding,
                    output_shape,
                }
            }
        }
        "Einsum" => {
            arity(&a, &ins, 1, usize::MAX)?;
            let equation = a
                .string("equation")?
                .ok_or_else(|| a.err("equation", "required but missing"))?;
            Op::Einsum { equation }
        }
        "BatchNormalization" => {
            arity(&a, &ins, 5, 5)?;
            if a.bool_or("training_mode", false)? {
                return Err(a.err(
                    "training_mode",
                    "training mode is not supported (inference only)",
                ));
            }
            a.ignore("momentum", AttributeType::Float)?;
            if outputs > 1 {
                return Err(a.node_err(
                    "running mean/variance outputs are training-mode only; pare imports inference graphs",
                ));
            }
            Op::BatchNormalization {
                epsilon: a.float_or("epsilon", 1e-5)?,
            }
        }
        "InstanceNormalization" => simple!(Op::InstanceNormalization {
            epsilon: a.float_or("epsilon", 1e-5)?,
        }),
        "LayerNormalization" => simple!(Op::LayerNormalization {
            axis: a.int_or("axis", -1)?,
            epsilon: a.float_or("epsilon", 1e-5)?,
            stash_type: stash_type(&mut a)?,
        }),
        "GroupNormalization" => {
            arity(&a, &ins, 3, 3)?;
            let num_groups = a.req_int("num_groups")?;
            if num_groups < 1 {
                return Err(a.err(
                    "num_groups",
                    format!("must be at least 1, got {num_groups}"),
                ));
            }
            let op = Op::GroupNormalization {
                num_groups,
                epsilon: a.float_or("epsilon", 1e-5)?,
                stash_type: stash_type(&mut a)?,
            };
            if opset < 21 {
                // Opsets 18-20 scale and bias per group; opset 21 per channel.
                per_group_to_per_channel(imp, &mut ins, num_groups, &base)?;
            }
            op
        }
        "LpNormalization" => simple!(Op::LpNormalization {
            axis: a.int_or("axis", -1)?,
            p: a.int_or("p", 2)?,
        }),
        "LRN" => simple!(Op::Lrn {
            alpha: a.float_or("alpha", 1e-4)?,
            beta: a.float_or("beta", 0.75)?,
            bias: a.float_or("bias", 1.0)?,
            size: a.req_int("size")?,
        }),
        "MeanVarianceNormalization" => simple!(Op::MeanVarianceNormalization {
            axes: a.ints("axes")?.unwrap_or_else(|| vec![0, 2, 3]),
        }),
        "MaxPool" | "AveragePool" | "LpPool" => {
            arity(&a, &ins, 1, 1)?;
            let s = spatial(&mut a, None)?;
            let ceil_mode = a.bool_or("ceil_mode", false)?;
            match op_type {
                "MaxPool" => Op::MaxPool {
                    auto_pad: s.auto_pad,
                    kernel_shape: s.kernel_shape,
                    strides: s.strides,
                    pads: s.pads,
                    dilations: s.dilations,
                    ceil_mode,
                    storage_order: a.int_or("storage_order", 0)?,
                },
                "AveragePool" => Op::AveragePool {
                    auto_pad: s.auto_pad,
                    kernel_shape: s.kernel_shape,
                    strides: s.strides,
                    pads: s.pads,
                    dilations: s.dilations,
                    ceil_mode,
                    count_include_pad: a.bool_or("count_include_pad", false)?,
                },
                _ => Op::LpPool {
                    auto_pad: s.auto_pad,
                    kernel_shape: s.kernel_shape,
                    strides: s.strides,
                    pads: s.pads,
                    dilations: s.dilations,
                    ceil_mode,
                    p: a.int_or("p", 2)?,
                },
            }
        }
        "GlobalLpPool" => simple!(Op::GlobalLpPool {
            p: a.int_or("p", 2)?
        }),
        "Softmax" | "LogSoftmax" | "Hardmax" => {
            arity(&a, &ins, 1, 1)?;
            // Before opset 13 these flatten the input to 2-D at `axis` (default 1).
            let coerce_2d = opset < 13;
            let axis = a.int_or("axis", if coerce_2d { 1 } else { -1 })?;
            match op_type {
                "Softmax" => Op::Softmax { axis, coerce_2d },
                "LogSoftmax" => Op::LogSoftmax { axis, coerce_2d },
                _ => Op::Hardmax { axis, coerce_2d },
            }
        }
        "ReduceSum" | "ReduceMean" | "ReduceMax" | "ReduceMin" | "ReduceProd" | "ReduceL1"
        | "ReduceL2" | "ReduceLogSum" | "ReduceLogSumExp" | "ReduceSumSquare" => {
            let axes_as_input = if op_type == "ReduceSum" { 13 } else { 18 };
            let keepdims = a.bool_or("keepdims", true)?;
            let noop_with_empty_axes = if opset >= axes_as_input {
                arity(&a, &ins, 1, 2)?;
                a.bool_or("noop_with_empty_axes", false)?
            } else {
                arity(&a, &ins, 1, 1)?;
                if let Some(axes) = a.ints("axes")? {
                    ins.push(Some(imp.add_i64s(format!("{base}__axes"), &axes)?));
                }
                false
            };
            match op_type {
                "ReduceSum" => Op::ReduceSum {
                    keepdims,
                    noop_with_empty_axes,
                },
                "ReduceMean" => Op::ReduceMean {
                    keepdims,
                    noop_with_empty_axes,
                },
                "ReduceMax" => Op::ReduceMax {
                    keepdims,
                    noop_with_empty_axes,
                },
                "ReduceMin" => Op::ReduceMin {
                    keepdims,
                    noop_with_empty_axes,
                },
                "ReduceProd" => Op::ReduceProd {
                    keepdims,
                    noop_with_empty_axes,
                },
                "ReduceL1" => Op::ReduceL1 {
                    keepdims,
                    noop_with_empty_axes,
                },
                "ReduceL2" => Op::ReduceL2 {
                    keepdims,
                    noop_with_empty_axes,
                },
                "ReduceLogSum" => Op::ReduceLogSum {
                    keepdims,
                    noop_with_empty_axes,
                },
                "ReduceLogSumExp" => Op::ReduceLogSumExp {
                    keepdims,
                    noop_with_empty_axes,
                },
                _ => Op::ReduceSumSquare {
                    keepdims,
                    noop_with_empty_axes,
                },
            }
        }
        "ArgMax" | "ArgMin" => {
            arity(&a, &ins, 1, 1)?;
            let axis = a.int_or("axis", 0)?;
            let keepdims = a.bool_or("keepdims", true)?;
            let select_last_index = a.bool_or("select_last_index", false)?;
            if op_type == "ArgMax" {
                Op::ArgMax {
                    axis,
                    keepdims,
                    select_last_index,
                }
            } else {
                Op::ArgMin {
                    axis,
                    keepdims,
                    select_last_index,
                }
            }
        }
        "CumSum" => simple!(Op::CumSum {
            exclusive: a.bool_or("exclusive", false)?,
            reverse: a.bool_or("reverse", false)?,
        }),
        "TopK" => simple!(Op::TopK {
            axis: a.int_or("axis", -1)?,
            largest: a.bool_or("largest", true)?,
            sorted: a.bool_or("sorted", true)?,
        }),
        "Shape" => simple!(Op::Shape {
            start: a.int_or("start", 0)?,
            end: a.int("end")?,
        }),
        "Reshape" => simple!(Op::Reshape {
            allowzero: a.bool_or("allowzero", false)?
        }),
        "Flatten" => simple!(Op::Flatten {
            axis: a.int_or("axis", 1)?
        }),
        "Transpose" => simple!(Op::Transpose {
            perm: a.ints("perm")?
        }),
        "Squeeze" | "Unsqueeze" => {
            if opset < 13 {
                arity(&a, &ins, 1, 1)?;
                match a.ints("axes")? {
                    Some(axes) => ins.push(Some(imp.add_i64s(format!("{base}__axes"), &axes)?)),
                    None if op_type == "Unsqueeze" => {
                        return Err(a.err("axes", "required but missing"))
                    }
                    None => {}
                }
            } else if op_type == "Unsqueeze" {
                arity(&a, &ins, 2, 2)?;
            } else {
                arity(&a, &ins, 1, 2)?;
            }
            if op_type == "Squeeze" {
                Op::Squeeze {}
            } else {
                Op::Unsqueeze {}
            }
        }
        "Concat" => simple!(Op::Concat {
            axis: a
                .int("axis")?
                .ok_or_else(|| a.err("axis", "required but missing"))?,
        }),
        "Split" => {
            let axis = a.int_or("axis", 0)?;
            let mut num_outputs = None;
            if opset < 13 {
                arity(&a, &ins, 1, 1)?;
                if let Some(split) = a.ints("split")? {
                    ins.push(Some(imp.add_i64s(format!("{base}__split"), &split)?));
                }
            } else {
                arity(&a, &ins, 1, 2)?;
                if opset >= 18 {
                    num_outputs = a.int("num_outputs")?;
                }
            }
            // Without sizes the older forms split evenly into as many outputs as the
            // node has: exactly what opset 18's `num_outputs` says.
            if ins.get(1).copied().flatten().is_none() && num_outputs.is_none() {
                num_outputs = Some(n.output.len() as i64);
            }
            Op::Split { axis, num_outputs }
        }
        "Gather" => simple!(Op::Gather {
            axis: a.int_or("axis", 0)?
        }),
        "GatherElements" => simple!(Op::GatherElements {
            axis: a.int_or("axis", 0)?
        }),
        "GatherND" => simple!(Op::GatherNd {
            batch_dims: a.int_or("batch_dims", 0)?
        }),
        "ScatterElements" => simple!(Op::ScatterElements {
            axis: a.int_or("axis", 0)?,
            reduction: scatter_reduction(&mut a)?,
        }),
        "ScatterND" => simple!(Op::ScatterNd {
            reduction: scatter_reduction(&mut a)?
        }),
        "Pad" => simple!(Op::Pad {
            mode: a.enum_or("mode", PadMode::Constant, PadMode::parse, PadMode::NAMES)?,
        }),
        "Resize" => resize(imp, &mut a, &mut ins)?,
        "DepthToSpace" => simple!(Op::DepthToSpace {
            blocksize: a.req_int("blocksize")?,
            mode: a.enum_or(
                "mode",
                DepthToSpaceMode::Dcr,
                DepthToSpaceMode::parse,
                DepthToSpaceMode::NAMES
            )?,
        }),
        "SpaceToDepth" => simple!(Op::SpaceToDepth {
            blocksize: a.req_int("blocksize")?
        }),
        "Trilu" => simple!(Op::Trilu {
            upper: a.bool_or("upper", true)?
        }),
        "Compress" => simple!(Op::Compress {
            axis: a.int("axis")?
        }),
        "ReverseSequence" => simple!(Op::ReverseSequence {
            batch_axis: a.int_or("batch_axis", 1)?,
            time_axis: a.int_or("time_axis", 0)?,
        }),
        "ConstantOfShape" => {
            arity(&a, &ins, 1, 1)?;
            constant_of_shape(imp, &mut a, &node_name)?
        }
        "EyeLike" => {
            let dtype = match a.int("dtype")? {
                None => None,
                Some(c) => Some(
                    i32::try_from(c)
                        .map_err(|_| a.err("dtype", format!("{c} is not an element type")))
                        .and_then(|c| dtype_of(c, &format!("{node_name} (EyeLike.dtype)")))?,
                ),
            };
            simple!(Op::EyeLike {
                dtype,
                k: a.int_or("k", 0)?
            })
        }
        "OneHot" => simple!(Op::OneHot {
            axis: a.int_or("axis", -1)?
        }),
        "LSTM" | "GRU" | "RNN" => recurrent(imp, &mut a, &ins, op_type)?,
        "QuantizeLinear" => {
            arity(&a, &ins, 2, 3)?;
            let op = Op::QuantizeLinear {
                axis: a.int_or("axis", 1)?,
                saturate: a.bool_or("saturate", true)?,
                block_size: a.int_or("block_size", 0)?,
            };
            quantize_output_dtype(imp, &mut a, &mut ins, &base)?;
            op
        }
        "DequantizeLinear" => simple!(Op::DequantizeLinear {
            axis: a.int_or("axis", 1)?,
            block_size: a.int_or("block_size", 0)?,
        }),
        // Attribute-free operators map one to one onto their row of the op table.
        other => match pare_ir::ops::by_onnx_name(other).and_then(|(name, _)| Op::bare(name)) {
            Some(op) => simple!(op),
            None => return Err(a.node_err(format!("op `{other}` is not supported"))),
        },
    };
    a.finish()?;
    if let Some(max) = op.info().signature.max_outputs {
        if outputs > max {
            return Err(ErrorKind::Node {
                node: node_name,
                op: op_type.into(),
                msg: format!("has {outputs} outputs; at most {max} expected"),
            });
        }
    }
    imp.emit(n, op, ins)?;
    Ok(())
}

/// Checks the number of inputs (after dropping trailing absent ones) and that the
/// first `min` are present.
fn arity(a: &Attrs, ins: &Inputs, min: usize, max: usize) -> Result<(), ErrorKind> {
    let k = ins.len();
    if k < min || k > max {
        let want = match (min, max) {
            (m, x) if m == x => format!("{m}"),
            (m, usize::MAX) => format!("at least {m}"),
            (m, x) => format!("{m} to {x}"),
        };
        return Err(a.node_err(format!("expects {want} inputs, got {k}")));
    }
    if let Some(i) = ins.iter().take(min).position(Option::is_none) {
        return Err(a.node_err(format!("required input {i} is missing")));
    }
    Ok(())
}

/// The weight of a `Constant` node from whichever `value*` attribute it uses.
fn constant_value(imp: &mut Importer, a: &mut Attrs, node: &str) -> Result<Weight, ErrorKind> {
    for unsupported in ["sparse_value", "value_string", "value_strings"] {
        if a.has(unsupported) {
            return Err(a.err(unsupported, "string and sparse constants are not supported"));
        }
    }
    let mut found: Vec<Weight> = Vec::new();
    if let Some(t) = a.tensor("value")? {
        found.push(imp.decode_weight(t, node)?);
    }
    if let Some(v) = a.float("value_float")? {
        found.push(Weight::from_tensor(&Tensor::scalar(v)));
    }
    if let Some(v) = a.floats("value_floats")? {
        found.push(Weight::from_tensor(&Tensor::from_vec(vec![v.len()], v)?));
    }
    if let Some(v) = a.int("value_int")? {
        found.push(Weight::from_tensor(&Tensor::scalar(v)));
    }
    if let Some(v) = a.ints("value_ints")? {
        found.push(Weight::from_tensor(&Tensor::from_vec(vec![v.len()], v)?));
    }
    if found.len() != 1 {
        return Err(a.node_err(format!(
            "needs exactly one value attribute, found {}",
            found.len()
        )));
    }
    found
        .pop()
        .ok_or_else(|| a.node_err("needs exactly one value attribute"))
}

/// Inference-mode Dropout. Opset 11's `ratio` attribute only matters in training.
fn dropout(imp: &Importer, a: &mut Attrs, ins: &mut Inputs, opset: i64) -> Result<Op, ErrorKind> {
    if opset < 12 {
        arity(a, ins, 1, 1)?;
        a.ignore("ratio", AttributeType::Float)?;
    } else {
        arity(a, ins, 1, 3)?;
        a.ignore("seed", AttributeType::Int)?;
        if let Some(tm) = ins.get(2).copied().flatten() {
            match imp.constant(tm).map(|t| t.to_f64_vec()) {
                Some(v) if v.iter().all(|&x| x == 0.0) => {}
                Some(_) => {
                    return Err(a.node_err("training_mode is true; pare imports inference graphs"))
                }
                None => {
                    return Err(a.node_err(
                        "training_mode is not a constant; pare needs it to be a constant false",
                    ))
                }
            }
        }
    }
    Ok(Op::Dropout {})
}

/// Sum/Mean/Max/Min of any number of inputs as a chain of binary ops (Mean divides the
/// sum by the input count, cast to the inputs' type with `CastLike`).
fn variadic(
    imp: &mut Importer,
    n: &NodeProto,
    op_type: &str,
    ins: Inputs,
    node_name: &str,
) -> Result<(), ErrorKind> {
    let ins: Vec<ValueId> = ins.into_iter().flatten().collect();
    let bin = || match op_type {
        "Max" => Op::Max {},
        "Min" => Op::Min {},
        _ => Op::Add {},
    };
    let (first, rest) = match ins.split_first() {
        Some(x) => x,
        None => {
            return Err(ErrorKind::Graph(format!(
                "node `{node_name}` has no inputs"
            )))
        }
    };
    let mean = op_type == "Mean" && !rest.is_empty();
    let out_name = n.output.first().cloned().unwrap_or_default();
    if rest.is_empty() {
        imp.emit(n, Op::Identity {}, vec![Some(*first)])?;
        return Ok(());
    }
    let mut acc = *first;
    for (i, &x) in rest.iter().enumerate() {
        let last = i + 1 == rest.len();
        if last && !mean {
            imp.emit(n, bin(), vec![Some(acc), Some(x)])?;
            return Ok(());
        }
        acc = imp.emit_tmp(
            format!("{node_name}__{i}"),
            bin(),
            vec![Some(acc), Some(x)],
            format!("{out_name}__{i}"),
        )?;
    }
    let count = imp.add_const(
        format!("{node_name}__count"),
        &Tensor::scalar(ins.len() as f32),
    )?;
    let count = imp.emit_tmp(
        format!("{node_name}__cast"),
        Op::CastLike {},
        vec![Some(count), Some(*first)],
        format!("{out_name}__count"),
    )?;
    imp.emit(n, Op::Div {}, vec![Some(acc), Some(count)])?;
    Ok(())
}

/// Resolved spatial attributes with defaults made explicit.
struct Spatial {
    auto_pad: AutoPad,
    kernel_shape: Vec<i64>,
    strides: Vec<i64>,
    pads: Vec<i64>,
    dilations: Vec<i64>,
}

/// The kernel's spatial shape from a weight input (`[M, C/g, k...]`), if it is one.
fn kernel_from_weight(
    imp: &Importer,
    a: &Attrs,
    w: Option<ValueId>,
) -> Result<Option<Vec<i64>>, ErrorKind> {
    let Some(w) = w else { return Ok(None) };
    // A weight's shape, or a graph input's declared one (node outputs only have
    // placeholder types during import).
    let shape = match imp.g.weight_of(w) {
        Some(weight) => weight.ty.fixed_shape().unwrap_or_default(),
        None if imp.g.value(w).def == pare_ir::ValueDef::Input => match imp.g.ty(w).fixed_shape() {
            Some(s) => s,
            None => return Ok(None),
        },
        None => return Ok(None),
    };
    if shape.len() < 3 {
        return Err(a.node_err(format!(
            "weight has rank {}, expected at least 3 ([M, C/group, k...])",
            shape.len()
        )));
    }
    Ok(Some(shape[2..].iter().map(|&d| d as i64).collect()))
}

/// Reads auto_pad/kernel_shape/strides/pads/dilations, filling defaults for the
/// spatial rank (from `kernel_shape`, else from the weight's kernel).
fn spatial(a: &mut Attrs, from_weight: Option<Vec<i64>>) -> Result<Spatial, ErrorKind> {
    let auto_pad = a.enum_or("auto_pad", AutoPad::NotSet, AutoPad::parse, AutoPad::NAMES)?;
    let kernel_shape = match (a.ints("kernel_shape")?, from_weight) {
        (Some(k), Some(w)) if k != w => {
            return Err(a.err(
                "kernel_shape",
                format!("{k:?} disagrees with the weight's kernel {w:?}"),
            ))
        }
        (Some(k), _) => k,
        (None, Some(w)) => w,
        (None, None) => {
            return Err(a.err(
                "kernel_shape",
                "missing, and the weight is neither a constant nor a graph input of known shape, so the spatial rank is unknown",
            ))
        }
    };
    let r = kernel_shape.len();
    if r == 0 || kernel_shape.iter().any(|&k| k < 1) {
        return Err(a.err(
            "kernel_shape",
            format!("{kernel_shape:?} is not a valid kernel"),
        ));
    }
    let mut list =
        |name: &str, len: usize, default: i64, min: i64| -> Result<Vec<i64>, ErrorKind> {
            let v = a.ints(name)?.unwrap_or_else(|| vec![default; len]);
            if v.len() != len || v.iter().any(|&x| x < min) {
                return Err(a.err(
                    name,
                    format!("{v:?} must have {len} values, each at least {min}"),
                ));
            }
            Ok(v)
        };
    let strides = list("strides", r, 1, 1)?;
    let pads = list("pads", 2 * r, 0, 0)?;
    let dilations = list("dilations", r, 1, 1)?;
    Ok(Spatial {
        auto_pad,
        kernel_shape,
        strides,
        pads,
        dilations,
    })
}

fn stash_type(a: &mut Attrs) -> Result<DType, ErrorKind> {
    let code = a.int_or("stash_type", 1)?;
    match i32::try_from(code).ok().and_then(DType::from_onnx_code) {
        Some(d) if d.is_float() => Ok(d),
        _ => Err(a.err("stash_type", format!("{code} is not a float element type"))),
    }
}

fn scatter_reduction(a: &mut Attrs) -> Result<ScatterReduction, ErrorKind> {
    a.enum_or(
        "reduction",
        ScatterReduction::None,
        ScatterReduction::parse,
        ScatterReduction::NAMES,
    )
}

/// Opsets 18-20 give GroupNormalization's scale and bias per group; opset 21 per
/// channel. Expands each `[G]` input to `[C]` (each group's value repeated `C/G` times)
/// with shape arithmetic on `x`, so the model keeps working for any channel count.
fn per_group_to_per_channel(
    imp: &mut Importer,
    ins: &mut Inputs,
    groups: i64,
    node: &str,
) -> Result<(), ErrorKind> {
    let (Some(x), Some(scale), Some(bias)) = (ins[0], ins[1], ins[2]) else {
        return Err(ErrorKind::Graph(format!(
            "node `{node}`: GroupNormalization needs x, scale and bias"
        )));
    };
    let tmp = |s: &str| (format!("{node}__{s}"), format!("{node}__{s}_out"));
    let (nn, vn) = tmp("channels");
    let c = imp.emit_tmp(
        nn,
        Op::Shape {
            start: 1,
            end: Some(2),
        },
        vec![Some(x)],
        vn,
    )?;
    let g = imp.add_i64s(format!("{node}__groups"), &[groups])?;
    let (nn, vn) = tmp("per_group");
    let cpg = imp.emit_tmp(nn, Op::Div {}, vec![Some(c), Some(g)], vn)?;
    let (nn, vn) = tmp("grid");
    let grid = imp.emit_tmp(nn, Op::Concat { axis: 0 }, vec![Some(g), Some(cpg)], vn)?;
    let one = imp.add_i64s(format!("{node}__axis1"), &[1])?;
    let flat = imp.add_i64s(format!("{node}__flat"), &[-1])?;
    let mut expand = |p: ValueId, which: &str| -> Result<ValueId, ErrorKind> {
        let (nn, vn) = tmp(&format!("{which}_col"));
        let col = imp.emit_tmp(nn, Op::Unsqueeze {}, vec![Some(p), Some(one)], vn)?;
        let (nn, vn) = tmp(&format!("{which}_grid"));
        let e = imp.emit_tmp(nn, Op::Expand {}, vec![Some(col), Some(grid)], vn)?;
        let (nn, vn) = tmp(&format!("{which}_per_channel"));
        imp.emit_tmp(
            nn,
            Op::Reshape { allowzero: false },
            vec![Some(e), Some(flat)],
            vn,
        )
    };
    ins[1] = Some(expand(scale, "scale")?);
    ins[2] = Some(expand(bias, "bias")?);
    Ok(())
}

fn resize(imp: &Importer, a: &mut Attrs, ins: &mut Inputs) -> Result<Op, ErrorKind> {
    arity(a, ins, 1, 4)?;
    // Opsets 11/12 require roi and scales as inputs and pass empty tensors for unused
    // ones; an empty constant means "absent" in every opset.
    for i in [1, 2] {
        if let Some(v) = ins.get(i).copied().flatten() {
            if imp.constant(v).is_some_and(|t| t.is_empty()) {
                ins[i] = None;
            }
        }
    }
    while ins.last() == Some(&None) {
        ins.pop();
    }
    Ok(Op::Resize {
        mode: a.enum_or(
            "mode",
            ResizeMode::Nearest,
            ResizeMode::parse,
            ResizeMode::NAMES,
        )?,
        coordinate_transformation_mode: a.enum_or(
            "coordinate_transformation_mode",
            CoordTransform::HalfPixel,
            CoordTransform::parse,
            CoordTransform::NAMES,
        )?,
        nearest_mode: a.enum_or(
            "nearest_mode",
            NearestMode::RoundPreferFloor,
            NearestMode::parse,
            NearestMode::NAMES,
        )?,
        cubic_coeff_a: a.float_or("cubic_coeff_a", -0.75)?,
        exclude_outside: a.bool_or("exclude_outside", false)?,
        extrapolation_value: a.float_or("extrapolation_value", 0.0)?,
        antialias: a.bool_or("antialias", false)?,
        axes: a.ints("axes")?,
        keep_aspect_ratio_policy: a.enum_or(
            "keep_aspect_ratio_policy",
            KeepAspect::Stretch,
            KeepAspect::parse,
            KeepAspect::NAMES,
        )?,
    })
}

fn constant_of_shape(imp: &mut Importer, a: &mut Attrs, node: &str) -> Result<Op, ErrorKind> {
    let Some(t) = a.tensor("value")? else {
        return Ok(Op::ConstantOfShape {
            dtype: DType::F32,
            value: 0.0,
        });
    };
    let w = imp.decode_weight(t, &format!("{node} (ConstantOfShape.value)"))?;
    let t = w.tensor()?;
    if t.len() != 1 {
        return Err(a.err("value", format!("must hold one element, holds {}", t.len())));
    }
    let value = t.to_f64_vec()[0];
    let exact = match t.data() {
        TensorData::I64(v) => value as i64 == v[0],
        TensorData::U64(v) => value as u64 == v[0],
        _ => true,
    };
    if !exact {
        return Err(a.err(
            "value",
            "integer fill value beyond 2^53 is not representable",
        ));
    }
    Ok(Op::ConstantOfShape {
        dtype: t.dtype(),
        value,
    })
}

/// LSTM/GRU/RNN with defaults made explicit (activations per direction).
fn recurrent(imp: &Importer, a: &mut Attrs, ins: &Inputs, op_type: &str) -> Result<Op, ErrorKind> {
    let max = if op_type == "LSTM" { 8 } else { 6 };
    arity(a, ins, 3, max)?;
    let direction = a.enum_or(
        "direction",
        Direction::Forward,
        Direction::parse,
        Direction::NAMES,
    )?;
    let dirs = if direction == Direction::Bidirectional {
        2
    } else {
        1
    };
    // R is [num_directions, gates*hidden, hidden]: its last dim is the hidden size.
    let from_r = ins[2]
        .and_then(|r| imp.g.weight_of(r))
        .and_then(|w| w.ty.fixed_shape())
        .and_then(|s| s.last().map(|&d| d as i64));
    let hidden_size = match (a.int("hidden_size")?, from_r) {
        (Some(h), _) if h >= 1 => h,
        (Some(h), _) => return Err(a.err("hidden_size", format!("must be at least 1, got {h}"))),
        (None, Some(h)) => h,
        (None, None) => {
            return Err(a.err(
                "hidden_size",
                "missing, and R is not a constant to read it from",
            ))
        }
    };
    let defaults: &[&str] = match op_type {
        "LSTM" => &["Sigmoid", "Tanh", "Tanh"],
        "GRU" => &["Sigmoid", "Tanh"],
        _ => &["Tanh"],
    };
    let activations = match a.strings("activations")? {
        Some(v) => {
            if v.len() != defaults.len() * dirs {
                return Err(a.err(
                    "activations",
                    format!("needs {} names, got {}", defaults.len() * dirs, v.len()),
                ));
            }
            v
        }
        None => (0..dirs)
            .flat_map(|_| defaults.iter().map(|s| s.to_string()))
            .collect(),
    };
    let activation_alpha = a.floats("activation_alpha")?.unwrap_or_default();
    let activation_beta = a.floats("activation_beta")?.unwrap_or_default();
    let clip = a.float("clip")?;
    let layout = a.int_or("layout", 0)?;
    if !(0..=1).contains(&layout) {
        return Err(a.err("layout", format!("must be 0 or 1, got {layout}")));
    }
    Ok(match op_type {
        "LSTM" => Op::Lstm {
            direction,
            hidden_size,
            activations,
            activation_alpha,
            activation_beta,
            clip,
            input_forget: a.bool_or("input_forget", false)?,
            layout,
        },
        "GRU" => Op::Gru {
            direction,
            hidden_size,
            activations,
            activation_alpha,
            activation_beta,
            clip,
            linear_before_reset: a.bool_or("linear_before_reset", false)?,
            layout,
        },
        _ => Op::Rnn {
            direction,
            hidden_size,
            activations,
            activation_alpha,
            activation_beta,
            clip,
            layout,
        },
    })
}

/// Opset 21's `output_dtype` picks the quantized type when no zero point is given;
/// pare's `QuantizeLinear` reads it from the zero point, so one of zeros is added.
fn quantize_output_dtype(
    imp: &mut Importer,
    a: &mut Attrs,
    ins: &mut Inputs,
    node: &str,
) -> Result<(), ErrorKind> {
    let code = a.int_or("output_dtype", 0)?;
    if code == 0 {
        return Ok(());
    }
    let dtype = i32::try_from(code)
        .ok()
        .and_then(DType::from_onnx_code)
        .ok_or_else(|| {
            a.err(
                "output_dtype",
                format!("{code} is not a supported element type"),
            )
        })?;
    if let Some(zp) = ins.get(2).copied().flatten() {
        if imp.g.ty(zp).dtype != dtype && imp.g.weight_of(zp).is_some() {
            return Err(a.err("output_dtype", "disagrees with the zero point's type"));
        }
        return Ok(());
    }
    let scale = ins.get(1).copied().flatten();
    let shape = scale
        .and_then(|s| imp.g.weight_of(s))
        .and_then(|w| w.ty.fixed_shape())
        .ok_or_else(|| {
            a.err(
                "output_dtype",
                "without a zero point needs a constant scale",
            )
        })?;
    let shape: Vec<usize> = shape.iter().map(|&d| d as usize).collect();
    let zero = Tensor::zeros(dtype, shape)?;
    let zp = imp.add_const(format!("{node}__zero_point"), &zero)?;
    ins.resize(2, None);
    ins.push(Some(zp));
    Ok(())
}
