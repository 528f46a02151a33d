//! The supported ATen targets (pre-dispatch and core ATen forms that `torch.export`
//! emits) and the dispatch from each to its pare ops (ONNX opset-21 semantics);
//! one-op and element-wise cases are lowered inline, the rest in [`super::nn`] and
//! (core ATen forms after decomposition) [`super::aten`].

use super::args::NodeCtx;
use super::aten;
use super::emit::*;
use super::nn::*;
use super::symint;
use super::uniform;
use super::Translator;
use pare_ir::ops::GeluApprox;
use pare_ir::{Op, Tensor};

/// Targets the translator lowers besides those the op table lists for an op (see
/// [`is_supported`]): ATen ops (without `torch.ops.`) and the Python operators torch
/// records on symbolic ints (`_operator.*`).
pub const SUPPORTED_OPS: &[&str] = &[
    "_operator.add",
    "_operator.floordiv",
    "_operator.mul",
    "_operator.sub",
    "aten._adaptive_avg_pool2d.default",
    "aten._log_softmax.default",
    "aten._native_batch_norm_legit_no_training.default",
    "aten._softmax.default",
    "aten._unsafe_view.default",
    "aten.adaptive_avg_pool2d.default",
    "aten.add.Scalar",
    "aten.add.Tensor",
    "aten.add_.Tensor",
    "aten.addmm.default",
    "aten.amax.default",
    "aten.amin.default",
    "aten.avg_pool2d.default",
    "aten.batch_norm.default",
    "aten.bmm.default",
    "aten.cat.default",
    "aten.clamp.default",
    "aten.conv1d.default",
    "aten.conv2d.default",
    "aten.conv_transpose2d.input",
    "aten.convolution.default",
    "aten.div.Scalar",
    "aten.div.Tensor",
    "aten.dropout.default",
    "aten.dropout_.default",
    "aten.embedding.default",
    "aten.expand.default",
    "aten.flatten.using_ints",
    "aten.gelu.default",
    "aten.hardsigmoid.default",
    "aten.hardsigmoid_.default",
    "aten.hardtanh.default",
    "aten.hardtanh_.default",
    "aten.layer_norm.default",
    "aten.leaky_relu.default",
    "aten.leaky_relu_.default",
    "aten.linear.default",
    "aten.log_softmax.int",
    "aten.matmul.default",
    "aten.max_pool2d.default",
    "aten.max_pool2d_with_indices.default",
    "aten.mean.default",
    "aten.mean.dim",
    "aten.mm.default",
    "aten.native_dropout.default",
    "aten.native_layer_norm.default",
    "aten.permute.default",
    "aten.relu6.default",
    "aten.reshape.default",
    "aten.rsqrt.default",
    "aten.rsub.Scalar",
    "aten.scaled_dot_product_attention.default",
    "aten.select.int",
    "aten.slice.Tensor",
    "aten.softmax.int",
    "aten.split.Tensor",
    "aten.split_with_sizes.default",
    "aten.squeeze.dim",
    "aten.squeeze.dims",
    "aten.sub.Scalar",
    "aten.sub.Tensor",
    "aten.sum.dim_IntList",
    "aten.sym_size.int",
    "aten.t.default",
    "aten.transpose.int",
    "aten.unflatten.int",
    "aten.unsqueeze.default",
    "aten.var.correction",
    "aten.view.default",
    "aten.where.ScalarOther",
    "aten.where.ScalarSelf",
    "aten.where.self",
];

/// Whether the translator lowers target `op` (without `torch.ops.`): a uniform op of
/// the IR's op table, one of the Core ATen lowerings, or one of the arms below.
pub fn is_supported(op: &str) -> bool {
    SUPPORTED_OPS.contains(&op)
        || uniform::op_for(op).is_some()
        || super::core_aten::CORE_ATEN_OPS.contains(&op)
}

/// Lowers one node.
pub(crate) fn lower(t: &mut Translator<'_>, c: &mut NodeCtx<'_>) -> R<()> {
    if let Some(op) = uniform::op_for(&c.op) {
        return uniform::lower(t, c, op);
    }
    if super::core_aten::CORE_ATEN_OPS.contains(&c.op.as_str()) {
        return super::core_aten::lower(t, c);
    }
    let op = c.op.clone();
    let base = op
        .strip_prefix("aten.")
        .and_then(|s| s.rsplit_once('.'))
        .map(|(b, _)| b)
        .unwrap_or(&op);
    match base {
        "dropout" | "dropout_" => {
            let x = if c.arg("input").is_some() {
                "input"
            } else {
                "self"
            };
            if c.bool("train", false)? && c.float("p", Some(0.5))? > 0.0 {
                return Err(
                    "dropout in training mode cannot be imported (export in eval mode)".into(),
                );
            }
            unary(t, c, x, Op::Identity {})
        }
        "hardsigmoid" | "hardsigmoid_" => unary(
            t,
            c,
            "self",
            Op::HardSigmoid {
                alpha: 1.0 / 6.0,
                beta: 0.5,
            },
        ),
        "leaky_relu" | "leaky_relu_" => {
            let alpha = c.float("negative_slope", Some(0.01))? as f32;
            unary(t, c, "self", Op::LeakyRelu { alpha })
        }
        "gelu" => {
            let approximate = match c.string("approximate", "none")?.as_str() {
                "none" => GeluApprox::None,
                "tanh" => GeluApprox::Tanh,
                other => return Err(format!("unknown gelu approximation `{other}`").into()),
            };
            unary(t, c, "self", Op::Gelu { approximate })
        }
        "relu6" => clip(t, c, Some(0.0), Some(6.0)),
        "hardtanh" | "hardtanh_" => {
            let lo = c.float("min_val", Some(-1.0))?;
            let hi = c.float("max_val", Some(1.0))?;
            clip(t, c, Some(lo), Some(hi))
        }
        "clamp" => {
            let lo = c.opt_float("min")?;
            let hi = c.opt_float("max")?;
            clip(t, c, lo, hi)
        }
        "add" | "add_" | "sub" => {
            let x = operand(t, c, "self")?;
            let mut y = operand(t, c, "other")?;
            let alpha = c.float("alpha", Some(1.0))?;
            if alpha != 1.0 {
                let a = scalar(t, c, "alpha", alpha)?;
                y = tmp(t, c, "scaled", Op::Mul {}, vec![Some(y), Some(a)])?;
            }
            let op = if base == "sub" {
                Op::Sub {}
            } else {
                Op::Add {}
            };
            finish(t, c, op, vec![Some(x), Some(y)])
        }
        "rsub" => {
            let x = operand(t, c, "self")?;
            let mut y = operand(t, c, "other")?;
            let alpha = c.float("alpha", Some(1.0))?;
            if alpha != 1.0 {
                let a = scalar(t, c, "alpha", alpha)?;
                y = tmp(t, c, "scaled", Op::Mul {}, vec![Some(y), Some(a)])?;
            }
            finish(t, c, Op::Sub {}, vec![Some(y), Some(x)])
        }
        "div" => {
            if c.arg("rounding_mode").is_some() {
                return Err("div with a rounding mode is not supported".into());
            }
            let x = operand(t, c, "self")?;
            let y = operand(t, c, "other")?;
            finish(t, c, Op::Div {}, vec![Some(x), Some(y)])
        }
        "matmul" | "mm" | "bmm" => {
            let x = t.value(c.tensor("self")?)?;
            let y = t.value(c.tensor(if c.arg("mat2").is_some() {
                "mat2"
            } else {
                "other"
            })?)?;
            finish(t, c, Op::MatMul {}, vec![Some(x), Some(y)])
        }
        "addmm" => {
            let b = t.value(c.tensor("self")?)?;
            let x = t.value(c.tensor("mat1")?)?;
            let y = t.value(c.tensor("mat2")?)?;
            let beta = c.float("beta", Some(1.0))? as f32;
            let alpha = c.float("alpha", Some(1.0))? as f32;
            let op = Op::Gemm {
                alpha,
                beta,
                trans_a: false,
                trans_b: false,
            };
            finish(t, c, op, vec![Some(x), Some(y), Some(b)])
        }
        "linear" => linear(t, c),
        "conv1d" | "conv2d" => conv(t, c, false),
        "conv_transpose2d" => conv(t, c, true),
        "convolution" => {
            let tr = c.bool("transposed", false)?;
            conv(t, c, tr)
        }
        "batch_norm" | "_native_batch_norm_legit_no_training" => batch_norm(t, c),
        "layer_norm" | "native_layer_norm" => layer_norm(t, c),
        "max_pool2d" => pool(t, c, true),
        "avg_pool2d" => pool(t, c, false),
        "adaptive_avg_pool2d" => adaptive_avg_pool(t, c),
        "mean" | "sum" => reduce(t, c, base == "mean"),
        "softmax" | "_softmax" | "log_softmax" | "_log_softmax" => {
            let x = t.value(c.tensor("self")?)?;
            let axis = c.int("dim", None)?;
            let op = if base.contains("log") {
                Op::LogSoftmax {
                    axis,
                    coerce_2d: false,
                }
            } else {
                Op::Softmax {
                    axis,
                    coerce_2d: false,
                }
            };
            finish(t, c, op, vec![Some(x)])
        }
        "flatten" => {
            let name = c.tensor("self")?;
            let rank = t.sizes(name)?.len() as i64;
            let start = norm(c.int("start_dim", Some(0))?, rank.max(1))?;
            let end = norm(c.int("end_dim", Some(-1))?, rank.max(1))?;
            if start == 1 && end == rank - 1 {
                let x = t.value(name)?;
                return finish(t, c, Op::Flatten { axis: 1 }, vec![Some(x)]);
            }
            reshape_to_output(t, c, name)
        }
        "view" | "reshape" | "_unsafe_view" => {
            let name = c.tensor("self")?;
            let arg = if c.arg("shape").is_some() {
                "shape"
            } else {
                "size"
            };
            match symint::sym_list(t, c, arg, Ok)? {
                Some(shape) => {
                    let x = t.value(name)?;
                    let op = Op::Reshape {
                        allowzero: symint::has_zero(c, arg),
                    };
                    finish(t, c, op, vec![Some(x), Some(shape)])
                }
                None => reshape_to_output(t, c, name),
            }
        }
        "unflatten" => {
            let name = c.tensor("self")?;
            reshape_to_output(t, c, name)
        }
        "transpose" => {
            let name = c.tensor("self")?;
            let rank = t.sizes(name)?.len() as i64;
            let a = norm(c.int("dim0", None)?, rank)?;
            let b = norm(c.int("dim1", None)?, rank)?;
            let mut perm: Vec<i64> = (0..rank).collect();
            perm.swap(a as usize, b as usize);
            let x = t.value(name)?;
            finish(t, c, Op::Transpose { perm: Some(perm) }, vec![Some(x)])
        }
        "t" => {
            let name = c.tensor("self")?;
            let rank = t.sizes(name)?.len() as i64;
            let perm = if rank == 2 {
                vec![1, 0]
            } else {
                (0..rank).collect()
            };
            let x = t.value(name)?;
            finish(t, c, Op::Transpose { perm: Some(perm) }, vec![Some(x)])
        }
        "permute" => {
            let name = c.tensor("self")?;
            let rank = t.sizes(name)?.len() as i64;
            let perm = c
                .ints("dims", None)?
                .into_iter()
                .map(|d| norm(d, rank))
                .collect::<R<Vec<_>>>()?;
            let x = t.value(name)?;
            finish(t, c, Op::Transpose { perm: Some(perm) }, vec![Some(x)])
        }
        "unsqueeze" => {
            let name = c.tensor("self")?;
            let rank = t.sizes(name)?.len() as i64 + 1;
            let d = norm(c.int("dim", None)?, rank)?;
            let x = t.value(name)?;
            let axes = i64s(t, c, "axes", &[d])?;
            finish(t, c, Op::Unsqueeze {}, vec![Some(x), Some(axes)])
        }
        "squeeze" => {
            let name = c.tensor("self")?;
            let sizes = t.sizes(name)?;
            let rank = sizes.len() as i64;
            let dims = if c.op.ends_with(".dims") {
                c.ints("dim", None)?
            } else {
                vec![c.int("dim", None)?]
            };
            // torch leaves dims that are not 1 alone; ONNX would fail on them.
            let mut axes = Vec::new();
            for d in dims {
                let d = norm(d, rank.max(1))?;
                match sizes.get(d as usize).copied().flatten() {
                    Some(1) => axes.push(d),
                    Some(_) => {}
                    None if rank == 0 => {}
                    None => return Err(format!("squeeze of symbolic dim {d}").into()),
                }
            }
            let x = t.value(name)?;
            if axes.is_empty() {
                return finish(t, c, Op::Identity {}, vec![Some(x)]);
            }
            let a = i64s(t, c, "axes", &axes)?;
            finish(t, c, Op::Squeeze {}, vec![Some(x), Some(a)])
        }
        "select" => {
            let name = c.tensor("self")?;
            let rank = t.sizes(name)?.len() as i64;
            let axis = norm(c.int("dim", None)?, rank)?;
            let index = c.int("index", None)?;
            let x = t.value(name)?;
            let i = t.constant(&format!("{}/index", c.name), &Tensor::scalar(index))?;
            finish(t, c, Op::Gather { axis }, vec![Some(x), Some(i)])
        }
        "slice" => {
            let name = c.tensor("self")?;
            let rank = t.sizes(name)?.len() as i64;
            let axis = norm(c.int("dim", Some(0))?, rank)?;
            // Bounds naming a sym int are read below; constants here.
            let concrete = |arg: &str| match c.arg(arg) {
                Some(("as_sym_int", j)) if j.get("as_name").is_some() => Ok(None),
                _ => c.opt_int(arg),
            };
            let start = concrete("start")?.unwrap_or(0);
            let end = concrete("end")?.unwrap_or(i64::MAX);
            let step = c.int("step", Some(1))?;
            let x = t.value(name)?;
            let s = match symint::sym_arg(t, c, "start")? {
                Some(v) => v,
                None => i64s(t, c, "starts", &[start])?,
            };
            let e = match symint::sym_arg(t, c, "end")? {
                Some(v) => v,
                None => i64s(t, c, "ends", &[end])?,
            };
            let a = i64s(t, c, "axes", &[axis])?;
            let st = i64s(t, c, "steps", &[step])?;
            finish(
                t,
                c,
                Op::Slice {},
                vec![Some(x), Some(s), Some(e), Some(a), Some(st)],
            )
        }
        "cat" => {
            let names = c.tensors("tensors")?;
            let first = names.first().ok_or("cat of no tensors")?;
            let rank = t.sizes(first)?.len() as i64;
            let axis = norm(c.int("dim", Some(0))?, rank)?;
            let inputs = names
                .iter()
                .map(|n| t.value(n).map(Some))
                .collect::<R<Vec<_>>>()?;
            finish(t, c, Op::Concat { axis }, inputs)
        }
        "scaled_dot_product_attention" => sdpa(t, c),
        "_adaptive_avg_pool2d" => adaptive_avg_pool(t, c),
        "max_pool2d_with_indices" => aten::max_pool_with_indices(t, c),
        "native_dropout" => aten::native_dropout(t, c),
        "split" | "split_with_sizes" => aten::split(t, c),
        "expand" => aten::expand(t, c),
        "where" => aten::where_(t, c),
        "embedding" => aten::embedding(t, c),
        "amax" | "amin" => aten::amax(t, c, base == "amax"),
        "var" => aten::var(t, c),
        "rsqrt" => {
            let x = t.value(c.tensor("self")?)?;
            let s = tmp(t, c, "sqrt", Op::Sqrt {}, vec![Some(x)])?;
            finish(t, c, Op::Reciprocal {}, vec![Some(s)])
        }
        "sym_size" => symint::sym_size(t, c),
        "_operator.add" | "_operator.sub" | "_operator.mul" | "_operator.floordiv" => {
            symint::sym_binary(t, c)
        }
        _ => Err(format!("no lowering for `{}`", c.op).into()),
    }
}
