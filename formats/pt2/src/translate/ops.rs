//! Lowering of each supported ATen op (pre-dispatch and core ATen forms that
//! `torch.export` emits) to pare ops with ONNX opset-21 semantics.

use super::args::NodeCtx;
use super::Translator;
use pare_ir::ops::{AutoPad, GeluApprox};
use pare_ir::{DType, Op, Tensor, ValueId};

/// ATen targets (without `torch.ops.`) the translator lowers.
pub const SUPPORTED_OPS: &[&str] = &[
    "aten._native_batch_norm_legit_no_training.default",
    "aten._softmax.default",
    "aten._log_softmax.default",
    "aten._unsafe_view.default",
    "aten.adaptive_avg_pool2d.default",
    "aten.add.Scalar",
    "aten.add.Tensor",
    "aten.add_.Tensor",
    "aten.addmm.default",
    "aten.alias.default",
    "aten.avg_pool2d.default",
    "aten.batch_norm.default",
    "aten.bmm.default",
    "aten.cat.default",
    "aten.clamp.default",
    "aten.clone.default",
    "aten.contiguous.default",
    "aten.conv1d.default",
    "aten.conv2d.default",
    "aten.conv_transpose2d.input",
    "aten.convolution.default",
    "aten.detach.default",
    "aten.div.Scalar",
    "aten.div.Tensor",
    "aten.dropout.default",
    "aten.dropout_.default",
    "aten.exp.default",
    "aten.flatten.using_ints",
    "aten.gelu.default",
    "aten.hardsigmoid.default",
    "aten.hardsigmoid_.default",
    "aten.hardswish.default",
    "aten.hardswish_.default",
    "aten.hardtanh.default",
    "aten.hardtanh_.default",
    "aten.layer_norm.default",
    "aten.leaky_relu.default",
    "aten.leaky_relu_.default",
    "aten.linear.default",
    "aten.log_softmax.int",
    "aten.matmul.default",
    "aten.max_pool2d.default",
    "aten.mean.default",
    "aten.mean.dim",
    "aten.mm.default",
    "aten.mul.Scalar",
    "aten.mul.Tensor",
    "aten.mul_.Tensor",
    "aten.native_layer_norm.default",
    "aten.permute.default",
    "aten.relu.default",
    "aten.relu6.default",
    "aten.relu_.default",
    "aten.reshape.default",
    "aten.rsub.Scalar",
    "aten.scaled_dot_product_attention.default",
    "aten.select.int",
    "aten.sigmoid.default",
    "aten.sigmoid_.default",
    "aten.silu.default",
    "aten.silu_.default",
    "aten.slice.Tensor",
    "aten.softmax.int",
    "aten.sqrt.default",
    "aten.squeeze.dim",
    "aten.squeeze.dims",
    "aten.sub.Scalar",
    "aten.sub.Tensor",
    "aten.sum.dim_IntList",
    "aten.t.default",
    "aten.tanh.default",
    "aten.transpose.int",
    "aten.unflatten.int",
    "aten.unsqueeze.default",
    "aten.view.default",
];

type R<T> = Result<T, String>;

/// Lowers one node.
pub(crate) fn lower(t: &mut Translator<'_>, c: &mut NodeCtx<'_>) -> R<()> {
    let op = c.op.clone();
    let base = op
        .strip_prefix("aten.")
        .and_then(|s| s.rsplit_once('.'))
        .map(|(b, _)| b)
        .unwrap_or(&op);
    match base {
        "contiguous" | "clone" | "alias" | "detach" => unary(t, c, "self", Op::Identity {}),
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
        "relu" | "relu_" => unary(t, c, "self", Op::Relu {}),
        "sigmoid" | "sigmoid_" => unary(t, c, "self", Op::Sigmoid {}),
        "tanh" => unary(t, c, "self", Op::Tanh {}),
        "exp" => unary(t, c, "self", Op::Exp {}),
        "sqrt" => unary(t, c, "self", Op::Sqrt {}),
        "hardswish" | "hardswish_" => unary(t, c, "self", Op::HardSwish {}),
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
                other => return Err(format!("unknown gelu approximation `{other}`")),
            };
            unary(t, c, "self", Op::Gelu { approximate })
        }
        "silu" | "silu_" => {
            let x = t.value(c.tensor("self")?)?;
            let s = tmp(t, c, "sigmoid", Op::Sigmoid {}, vec![Some(x)])?;
            finish(t, c, Op::Mul {}, vec![Some(x), Some(s)])
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
        "mul" | "mul_" => {
            let x = operand(t, c, "self")?;
            let y = operand(t, c, "other")?;
            finish(t, c, Op::Mul {}, vec![Some(x), Some(y)])
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
        "view" | "reshape" | "_unsafe_view" | "unflatten" => {
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
                    None => return Err(format!("squeeze of symbolic dim {d}")),
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
            let start = c.opt_int("start")?.unwrap_or(0);
            let end = c.opt_int("end")?.unwrap_or(i64::MAX);
            let step = c.int("step", Some(1))?;
            let x = t.value(name)?;
            let s = i64s(t, c, "starts", &[start])?;
            let e = i64s(t, c, "ends", &[end])?;
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
        _ => Err(format!("no lowering for `{}`", c.op)),
    }
}

/// Normalizes a possibly negative dim against `rank`.
fn norm(d: i64, rank: i64) -> R<i64> {
    let n = if d < 0 { d + rank } else { d };
    if (0..rank).contains(&n) {
        Ok(n)
    } else {
        Err(format!("dim {d} is out of range for rank {rank}"))
    }
}

/// Emits the node's final op, bound to its first output.
fn finish(t: &mut Translator<'_>, c: &NodeCtx<'_>, op: Op, inputs: Vec<Option<ValueId>>) -> R<()> {
    let out = c.out(0)?;
    t.emit(&c.name, op, inputs, out).map(|_| ())
}

/// A helper node of this lowering.
fn tmp(
    t: &mut Translator<'_>,
    c: &NodeCtx<'_>,
    suffix: &str,
    op: Op,
    inputs: Vec<Option<ValueId>>,
) -> R<ValueId> {
    let name = format!("{}/{suffix}", c.name);
    t.emit(&name, op, inputs, &name)
}

fn unary(t: &mut Translator<'_>, c: &NodeCtx<'_>, arg: &str, op: Op) -> R<()> {
    let x = t.value(c.tensor(arg)?)?;
    finish(t, c, op, vec![Some(x)])
}

fn i64s(t: &mut Translator<'_>, c: &NodeCtx<'_>, suffix: &str, v: &[i64]) -> R<ValueId> {
    let tensor = Tensor::from_vec(vec![v.len()], v.to_vec()).map_err(|e| e.to_string())?;
    t.constant(&format!("{}/{suffix}", c.name), &tensor)
}

/// A scalar constant in the dtype of the node's output.
fn scalar(t: &mut Translator<'_>, c: &NodeCtx<'_>, suffix: &str, v: f64) -> R<ValueId> {
    let dtype = t.dtype(c.out(0)?)?;
    scalar_of(t, c, suffix, v, dtype)
}

fn scalar_of(
    t: &mut Translator<'_>,
    c: &NodeCtx<'_>,
    suffix: &str,
    v: f64,
    dtype: DType,
) -> R<ValueId> {
    if !dtype.is_float() && v.fract() != 0.0 {
        return Err(format!(
            "scalar {v} cannot be represented in {}",
            dtype.name()
        ));
    }
    let tensor = Tensor::scalar(v).cast(dtype);
    t.constant(&format!("{}/{suffix}", c.name), &tensor)
}

/// A binary op's operand: a tensor (cast to the output dtype when torch would
/// promote it) or a Python scalar made a constant of the output dtype.
fn operand(t: &mut Translator<'_>, c: &NodeCtx<'_>, arg: &str) -> R<ValueId> {
    let out_dtype = t.dtype(c.out(0)?)?;
    if let Some(name) = c.opt_tensor(arg).ok().flatten() {
        let v = t.value(name)?;
        if t.dtype(name)? != out_dtype {
            return tmp(
                t,
                c,
                &format!("{arg}_cast"),
                Op::Cast { to: out_dtype },
                vec![Some(v)],
            );
        }
        return Ok(v);
    }
    let v = c.float(arg, None)?;
    scalar_of(t, c, arg, v, out_dtype)
}

fn clip(t: &mut Translator<'_>, c: &NodeCtx<'_>, lo: Option<f64>, hi: Option<f64>) -> R<()> {
    let x = t.value(c.tensor("self")?)?;
    let lo = lo.map(|v| scalar(t, c, "min", v)).transpose()?;
    let hi = hi.map(|v| scalar(t, c, "max", v)).transpose()?;
    finish(t, c, Op::Clip {}, vec![Some(x), lo, hi])
}

/// `linear(x, w, b)` = x·wᵀ + b: Gemm for 2-D inputs, MatMul with a transposed
/// weight otherwise.
fn linear(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let xn = c.tensor("input")?;
    let rank = t.sizes(xn)?.len();
    let x = t.value(xn)?;
    let w = t.value(c.tensor("weight")?)?;
    let b = c.opt_tensor("bias")?.map(|n| t.value(n)).transpose()?;
    if rank == 2 {
        let op = Op::Gemm {
            alpha: 1.0,
            beta: 1.0,
            trans_a: false,
            trans_b: true,
        };
        return finish(t, c, op, vec![Some(x), Some(w), b]);
    }
    let wt = tmp(
        t,
        c,
        "weight_t",
        Op::Transpose {
            perm: Some(vec![1, 0]),
        },
        vec![Some(w)],
    )?;
    match b {
        None => finish(t, c, Op::MatMul {}, vec![Some(x), Some(wt)]),
        Some(b) => {
            let m = tmp(t, c, "matmul", Op::MatMul {}, vec![Some(x), Some(wt)])?;
            finish(t, c, Op::Add {}, vec![Some(m), Some(b)])
        }
    }
}

/// Expands a torch int list (one value for all spatial dims allowed).
fn spatial(v: Vec<i64>, n: usize, what: &str) -> R<Vec<i64>> {
    match v.len() {
        1 => Ok(vec![v[0]; n]),
        l if l == n => Ok(v),
        l => Err(format!("{what} has {l} entries for {n} spatial dims")),
    }
}

fn conv(t: &mut Translator<'_>, c: &NodeCtx<'_>, transposed: bool) -> R<()> {
    let wn = c.tensor("weight")?;
    let wsizes = t.sizes(wn)?;
    if wsizes.len() < 3 {
        return Err(format!(
            "weight of rank {} is not a convolution kernel",
            wsizes.len()
        ));
    }
    let n = wsizes.len() - 2;
    let kernel_shape = wsizes[2..]
        .iter()
        .map(|d| d.ok_or("symbolic kernel size"))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some((k, _)) = c.arg("padding") {
        if k == "as_string" {
            return Err("string padding (`same`/`valid`) is not supported".into());
        }
    }
    let strides = spatial(c.ints("stride", Some(&[1]))?, n, "stride")?;
    let pad = spatial(c.ints("padding", Some(&[0]))?, n, "padding")?;
    let dilations = spatial(c.ints("dilation", Some(&[1]))?, n, "dilation")?;
    let group = c.int("groups", Some(1))?;
    let pads = [pad.clone(), pad].concat();
    let x = t.value(c.tensor("input")?)?;
    let w = t.value(wn)?;
    let b = c.opt_tensor("bias")?.map(|n| t.value(n)).transpose()?;
    let op = if transposed {
        let output_padding = spatial(c.ints("output_padding", Some(&[0]))?, n, "output_padding")?;
        Op::ConvTranspose {
            auto_pad: AutoPad::NotSet,
            kernel_shape,
            strides,
            pads,
            dilations,
            group,
            output_padding,
            output_shape: Vec::new(),
        }
    } else {
        Op::Conv {
            auto_pad: AutoPad::NotSet,
            kernel_shape,
            strides,
            pads,
            dilations,
            group,
        }
    };
    finish(t, c, op, vec![Some(x), Some(w), b])
}

/// A per-channel constant of `len` copies of `v` (missing affine parameters).
fn filled(
    t: &mut Translator<'_>,
    c: &NodeCtx<'_>,
    suffix: &str,
    len: usize,
    v: f32,
    dtype: DType,
) -> R<ValueId> {
    let tensor = Tensor::from_vec(vec![len], vec![v; len])
        .map_err(|e| e.to_string())?
        .cast(dtype);
    t.constant(&format!("{}/{suffix}", c.name), &tensor)
}

fn batch_norm(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    if c.bool("training", false)? {
        return Err("batch norm in training mode cannot be imported (export in eval mode)".into());
    }
    let mean_n = c.tensor("running_mean")?;
    let var_n = c.tensor("running_var")?;
    let channels = t
        .sizes(mean_n)?
        .first()
        .copied()
        .flatten()
        .ok_or("running_mean is not 1-D")? as usize;
    let dtype = t.dtype(mean_n)?;
    let x = t.value(c.tensor("input")?)?;
    let scale = match c.opt_tensor("weight")? {
        Some(n) => t.value(n)?,
        None => filled(t, c, "scale", channels, 1.0, dtype)?,
    };
    let bias = match c.opt_tensor("bias")? {
        Some(n) => t.value(n)?,
        None => filled(t, c, "bias", channels, 0.0, dtype)?,
    };
    let mean = t.value(mean_n)?;
    let var = t.value(var_n)?;
    let epsilon = c.float("eps", Some(1e-5))? as f32;
    finish(
        t,
        c,
        Op::BatchNormalization { epsilon },
        vec![Some(x), Some(scale), Some(bias), Some(mean), Some(var)],
    )
}

fn layer_norm(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let xn = c.tensor("input")?;
    let rank = t.sizes(xn)?.len() as i64;
    let shape = c.ints("normalized_shape", None)?;
    let axis = rank - shape.len() as i64;
    if axis < 0 || shape.is_empty() {
        return Err(format!(
            "normalized_shape {shape:?} does not fit rank {rank}"
        ));
    }
    let dtype = t.dtype(xn)?;
    let x = t.value(xn)?;
    let scale = match c.opt_tensor("weight")? {
        Some(n) => t.value(n)?,
        None => {
            let n: usize = shape.iter().map(|&d| d.max(0) as usize).product();
            let ones = Tensor::from_vec(vec![n], vec![1.0f32; n])
                .and_then(|o| o.reshaped(shape.iter().map(|&d| d.max(0) as usize).collect()))
                .map_err(|e| e.to_string())?
                .cast(dtype);
            t.constant(&format!("{}/scale", c.name), &ones)?
        }
    };
    let bias = c.opt_tensor("bias")?.map(|n| t.value(n)).transpose()?;
    let epsilon = c.float("eps", Some(1e-5))? as f32;
    let op = Op::LayerNormalization {
        axis,
        epsilon,
        stash_type: DType::F32,
    };
    finish(t, c, op, vec![Some(x), Some(scale), bias])
}

fn pool(t: &mut Translator<'_>, c: &NodeCtx<'_>, max: bool) -> R<()> {
    let kernel_shape = spatial(c.ints("kernel_size", None)?, 2, "kernel_size")?;
    let stride = c.ints("stride", Some(&[]))?;
    let strides = if stride.is_empty() {
        kernel_shape.clone()
    } else {
        spatial(stride, 2, "stride")?
    };
    let pad = spatial(c.ints("padding", Some(&[0]))?, 2, "padding")?;
    let pads = [pad.clone(), pad].concat();
    let ceil_mode = c.bool("ceil_mode", false)?;
    let x = t.value(c.tensor("self")?)?;
    let op = if max {
        Op::MaxPool {
            auto_pad: AutoPad::NotSet,
            kernel_shape,
            strides,
            pads,
            dilations: spatial(c.ints("dilation", Some(&[1]))?, 2, "dilation")?,
            ceil_mode,
            storage_order: 0,
        }
    } else {
        if c.arg("divisor_override").is_some() {
            return Err("avg_pool2d with divisor_override is not supported".into());
        }
        Op::AveragePool {
            auto_pad: AutoPad::NotSet,
            kernel_shape,
            strides,
            pads,
            dilations: vec![1, 1],
            ceil_mode,
            count_include_pad: c.bool("count_include_pad", true)?,
        }
    };
    finish(t, c, op, vec![Some(x)])
}

fn adaptive_avg_pool(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let xn = c.tensor("self")?;
    let out = spatial(c.ints("output_size", None)?, 2, "output_size")?;
    let x = t.value(xn)?;
    if out == [1, 1] {
        return finish(t, c, Op::GlobalAveragePool {}, vec![Some(x)]);
    }
    let sizes = t.sizes(xn)?;
    let hw: Vec<i64> = sizes
        .iter()
        .rev()
        .take(2)
        .rev()
        .map(|d| d.ok_or("symbolic spatial size"))
        .collect::<Result<_, _>>()?;
    if hw.len() != 2 || out.iter().any(|&o| o <= 0) || hw[0] % out[0] != 0 || hw[1] % out[1] != 0 {
        return Err(format!(
            "adaptive pooling of {hw:?} to {out:?} is only supported when the sizes divide evenly"
        ));
    }
    let k = vec![hw[0] / out[0], hw[1] / out[1]];
    let op = Op::AveragePool {
        auto_pad: AutoPad::NotSet,
        kernel_shape: k.clone(),
        strides: k,
        pads: vec![0; 4],
        dilations: vec![1, 1],
        ceil_mode: false,
        count_include_pad: true,
    };
    finish(t, c, op, vec![Some(x)])
}

fn reduce(t: &mut Translator<'_>, c: &NodeCtx<'_>, mean: bool) -> R<()> {
    let xn = c.tensor("self")?;
    let rank = t.sizes(xn)?.len() as i64;
    if c.arg("dtype").is_some() {
        return Err("reductions with a dtype argument are not supported".into());
    }
    let dims = c.ints("dim", Some(&[]))?;
    let keepdims = c.bool("keepdim", false)?;
    let x = t.value(xn)?;
    let axes = if dims.is_empty() {
        None
    } else {
        let d = dims
            .into_iter()
            .map(|d| norm(d, rank))
            .collect::<R<Vec<_>>>()?;
        Some(i64s(t, c, "axes", &d)?)
    };
    let op = if mean {
        Op::ReduceMean {
            keepdims,
            noop_with_empty_axes: false,
        }
    } else {
        Op::ReduceSum {
            keepdims,
            noop_with_empty_axes: false,
        }
    };
    finish(t, c, op, vec![Some(x), axes])
}

/// Reshapes to the output's declared sizes (at most one symbolic size, as -1).
fn reshape_to_output(t: &mut Translator<'_>, c: &NodeCtx<'_>, input: &str) -> R<()> {
    let out = t.sizes(c.out(0)?)?;
    if out.iter().filter(|d| d.is_none()).count() > 1 {
        return Err("reshape with more than one symbolic output size is not supported".into());
    }
    let shape: Vec<i64> = out.iter().map(|d| d.unwrap_or(-1)).collect();
    let x = t.value(input)?;
    let s = i64s(t, c, "shape", &shape)?;
    finish(
        t,
        c,
        Op::Reshape { allowzero: false },
        vec![Some(x), Some(s)],
    )
}

/// `softmax(q·kᵀ·scale + mask)·v`, decomposed.
fn sdpa(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let qn = c.tensor("query")?;
    let kn = c.tensor("key")?;
    let qs = t.sizes(qn)?;
    let krank = t.sizes(kn)?.len() as i64;
    if krank < 2 || qs.len() < 2 {
        return Err("attention inputs must have rank >= 2".into());
    }
    if c.float("dropout_p", Some(0.0))? != 0.0 {
        return Err("attention dropout cannot be imported (export in eval mode)".into());
    }
    if c.bool("enable_gqa", false)? {
        return Err("grouped-query attention (enable_gqa) is not supported".into());
    }
    let e = qs.last().copied().flatten().ok_or("symbolic head dim")?;
    let scale = c.opt_float("scale")?.unwrap_or(1.0 / (e as f64).sqrt());
    let dtype = t.dtype(qn)?;
    let q = t.value(qn)?;
    let k = t.value(kn)?;
    let v = t.value(c.tensor("value")?)?;
    let mut perm: Vec<i64> = (0..krank).collect();
    perm.swap(krank as usize - 1, krank as usize - 2);
    let kt = tmp(
        t,
        c,
        "key_t",
        Op::Transpose { perm: Some(perm) },
        vec![Some(k)],
    )?;
    let qk = tmp(t, c, "scores", Op::MatMul {}, vec![Some(q), Some(kt)])?;
    let s = scalar_of(t, c, "scale", scale, dtype)?;
    let mut scores = tmp(t, c, "scaled", Op::Mul {}, vec![Some(qk), Some(s)])?;
    if let Some(mn) = c.opt_tensor("attn_mask")? {
        let m = t.value(mn)?;
        scores = if t.dtype(mn)? == DType::Bool {
            let ninf = scalar_of(t, c, "neg_inf", f64::NEG_INFINITY, dtype)?;
            tmp(
                t,
                c,
                "masked",
                Op::Where {},
                vec![Some(m), Some(scores), Some(ninf)],
            )?
        } else {
            tmp(t, c, "masked", Op::Add {}, vec![Some(scores), Some(m)])?
        };
    }
    if c.bool("is_causal", false)? {
        let l = qs[qs.len() - 2].ok_or("symbolic query length with is_causal")?;
        let ks = t.sizes(kn)?;
        let sl = ks[ks.len() - 2].ok_or("symbolic key length with is_causal")?;
        let (l, sl) = (l.max(0) as usize, sl.max(0) as usize);
        let mask: Vec<bool> = (0..l * sl)
            .map(|i| i % sl.max(1) <= i / sl.max(1))
            .collect();
        let mt = Tensor::from_vec(vec![l, sl], mask).map_err(|e| e.to_string())?;
        let m = t.constant(&format!("{}/causal_mask", c.name), &mt)?;
        let ninf = scalar_of(t, c, "causal_neg_inf", f64::NEG_INFINITY, dtype)?;
        scores = tmp(
            t,
            c,
            "causal",
            Op::Where {},
            vec![Some(m), Some(scores), Some(ninf)],
        )?;
    }
    let p = tmp(
        t,
        c,
        "probs",
        Op::Softmax {
            axis: -1,
            coerce_2d: false,
        },
        vec![Some(scores)],
    )?;
    finish(t, c, Op::MatMul {}, vec![Some(p), Some(v)])
}
