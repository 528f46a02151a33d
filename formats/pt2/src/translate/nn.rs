//! Lowerings with more than one pare op or non-trivial attributes: linear,
//! convolutions, normalizations, pooling, reductions, reshapes and attention.

use super::args::NodeCtx;
use super::emit::*;
use super::Translator;
use pare_ir::ops::AutoPad;
use pare_ir::{DType, Op, Tensor};

/// `linear(x, w, b)` = x·wᵀ + b: Gemm for 2-D inputs, MatMul with a transposed
/// weight otherwise.
pub(super) fn linear(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
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

pub(super) fn conv(t: &mut Translator<'_>, c: &NodeCtx<'_>, transposed: bool) -> R<()> {
    let wn = c.tensor("weight")?;
    let wsizes = t.sizes(wn)?;
    if wsizes.len() < 3 {
        return Err(format!(
            "weight of rank {} is not a convolution kernel",
            wsizes.len()
        )
        .into());
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

pub(super) fn batch_norm(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
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

pub(super) fn layer_norm(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
    let xn = c.tensor("input")?;
    let rank = t.sizes(xn)?.len() as i64;
    let shape = c.ints("normalized_shape", None)?;
    let axis = rank - shape.len() as i64;
    if axis < 0 || shape.is_empty() {
        return Err(format!("normalized_shape {shape:?} does not fit rank {rank}").into());
    }
    let dtype = t.dtype(xn)?;
    let x = t.value(xn)?;
    let scale = match c.opt_tensor("weight")? {
        Some(n) => t.value(n)?,
        None => {
            let dims: Vec<usize> = shape.iter().map(|&d| d.max(0) as usize).collect();
            let n = pare_ir::checked_count(&dims)
                .map_err(|e| format!("normalized_shape {shape:?}: {e}"))?;
            let ones = Tensor::from_vec(vec![n], vec![1.0f32; n])
                .and_then(|o| o.reshaped(dims))
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

pub(super) fn pool(t: &mut Translator<'_>, c: &NodeCtx<'_>, max: bool) -> R<()> {
    let op = pool_op(c, max)?;
    let x = t.value(c.tensor("self")?)?;
    finish(t, c, op, vec![Some(x)])
}

/// The MaxPool/AveragePool op of a `max_pool2d`/`avg_pool2d`-style node.
pub(super) fn pool_op(c: &NodeCtx<'_>, max: bool) -> R<Op> {
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
    Ok(if max {
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
    })
}

pub(super) fn adaptive_avg_pool(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
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
        )
        .into());
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

pub(super) fn reduce(t: &mut Translator<'_>, c: &NodeCtx<'_>, mean: bool) -> R<()> {
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
pub(super) fn reshape_to_output(t: &mut Translator<'_>, c: &NodeCtx<'_>, input: &str) -> R<()> {
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
pub(super) fn sdpa(t: &mut Translator<'_>, c: &NodeCtx<'_>) -> R<()> {
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
        pare_ir::checked_count(&[l, sl]).map_err(|e| format!("causal mask {l}x{sl}: {e}"))?;
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
