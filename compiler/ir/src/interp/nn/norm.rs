//! Normalization ops: BatchNormalization (inference), InstanceNormalization,
//! LayerNormalization, GroupNormalization, LpNormalization, Lrn and
//! MeanVarianceNormalization. Computes in f64, converts back to the input dtype.

use super::util::{float_dtype, from_f64, opt, req, same_dtype, Res};
use crate::interp::InterpError;
use crate::{DType, Op, Tensor};

/// Normalizes a possibly negative `axis` against `rank` (`allow_end`: `rank` itself is valid).
pub(crate) fn norm_axis(op: &Op, axis: i64, rank: usize, allow_end: bool) -> Res<usize> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    let hi = if allow_end { r } else { r - 1 };
    if a < 0 || a > hi {
        return Err(InterpError::op(
            op,
            format!("axis {axis} is out of range for rank {rank}"),
        ));
    }
    Ok(a as usize)
}

/// A per-channel parameter vector of length `c`.
fn per_channel(op: &Op, t: &Tensor, c: usize, name: &str, dt: DType) -> Res<Vec<f64>> {
    same_dtype(op, t, dt, name)?;
    if t.len() != c || t.rank() > 1 && t.shape().iter().filter(|&&d| d != 1).count() > 1 {
        return Err(InterpError::op(
            op,
            format!(
                "{name} must have {c} elements (one per channel), got shape {:?}",
                t.shape()
            ),
        ));
    }
    Ok(t.to_f64_vec())
}

/// Values of `t` broadcast (numpy-style, trailing-aligned) to `target`.
fn broadcast_to(op: &Op, t: &Tensor, target: &[usize], name: &str) -> Res<Vec<f64>> {
    let s = t.shape();
    let bad = || {
        InterpError::op(
            op,
            format!("{name} of shape {s:?} does not broadcast to {target:?}"),
        )
    };
    if s.len() > target.len() {
        // Leading unit dims beyond the target's rank are harmless.
        if s[..s.len() - target.len()].iter().any(|&d| d != 1) {
            return Err(bad());
        }
    }
    let sv = &s[s.len().saturating_sub(target.len())..];
    let off = target.len() - sv.len();
    for (i, &d) in sv.iter().enumerate() {
        if d != 1 && d != target[off + i] {
            return Err(bad());
        }
    }
    let v = t.to_f64_vec();
    let n: usize = target.iter().product();
    let mut strides = vec![0usize; target.len()];
    let mut acc = 1;
    for i in (0..sv.len()).rev() {
        strides[off + i] = if sv[i] == 1 { 0 } else { acc };
        acc *= sv[i];
    }
    let mut out = Vec::with_capacity(n);
    let mut idx = vec![0usize; target.len()];
    for _ in 0..n {
        out.push(v[idx.iter().zip(&strides).map(|(a, b)| a * b).sum::<usize>()]);
        for d in (0..target.len()).rev() {
            idx[d] += 1;
            if idx[d] < target[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    Ok(out)
}

/// Mean and biased variance of `v`.
fn moments(v: &[f64]) -> (f64, f64) {
    let n = v.len().max(1) as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    (mean, var)
}

fn channels_first<'a>(
    op: &Op,
    inputs: &[Option<&'a Tensor>],
) -> Res<(&'a Tensor, DType, usize, usize, usize)> {
    let x = req(op, inputs, 0, "x")?;
    let dt = float_dtype(op, x, "x")?;
    if x.rank() < 2 {
        return Err(InterpError::op(
            op,
            format!(
                "x must have rank >= 2 ([N, C, ...]), got shape {:?}",
                x.shape()
            ),
        ));
    }
    let (n, c) = (x.shape()[0], x.shape()[1]);
    let inner: usize = x.shape()[2..].iter().product();
    Ok((x, dt, n, c, inner))
}

/// BatchNormalization (inference): x, scale, bias, mean, var.
pub(crate) fn batch_norm(op: &Op, inputs: &[Option<&Tensor>]) -> Res<Vec<Tensor>> {
    let Op::BatchNormalization { epsilon } = op else {
        return Err(InterpError::op(op, "not a BatchNormalization"));
    };
    let (x, dt, _, c, inner) = channels_first(op, inputs)?;
    let names = ["scale", "bias", "mean", "var"];
    let mut p = Vec::new();
    for (i, name) in names.iter().enumerate() {
        p.push(per_channel(op, req(op, inputs, i + 1, name)?, c, name, dt)?);
    }
    let eps = *epsilon as f64;
    let xv = x.to_f64_vec();
    let y = xv
        .chunks(inner.max(1))
        .enumerate()
        .flat_map(|(i, plane)| {
            let ch = i % c.max(1);
            let k = p[0][ch] / (p[3][ch] + eps).sqrt();
            let b = p[1][ch] - p[2][ch] * k;
            plane.iter().map(move |v| v * k + b)
        })
        .collect();
    Ok(vec![from_f64(op, dt, x.shape().to_vec(), y)?])
}

/// InstanceNormalization: x, scale, bias.
pub(crate) fn instance_norm(op: &Op, inputs: &[Option<&Tensor>]) -> Res<Vec<Tensor>> {
    let Op::InstanceNormalization { epsilon } = op else {
        return Err(InterpError::op(op, "not an InstanceNormalization"));
    };
    let (x, dt, _, c, inner) = channels_first(op, inputs)?;
    let scale = per_channel(op, req(op, inputs, 1, "scale")?, c, "scale", dt)?;
    let bias = per_channel(op, req(op, inputs, 2, "bias")?, c, "bias", dt)?;
    let mut y = Vec::with_capacity(x.len());
    for (i, plane) in x.to_f64_vec().chunks(inner.max(1)).enumerate() {
        let ch = i % c.max(1);
        let (mean, var) = moments(plane);
        let k = scale[ch] / (var + *epsilon as f64).sqrt();
        y.extend(plane.iter().map(|v| (v - mean) * k + bias[ch]));
    }
    Ok(vec![from_f64(op, dt, x.shape().to_vec(), y)?])
}

/// LayerNormalization: x, scale, bias?; outputs y, mean?, inv_std_dev?.
pub(crate) fn layer_norm(
    op: &Op,
    inputs: &[Option<&Tensor>],
    num_outputs: usize,
) -> Res<Vec<Tensor>> {
    let Op::LayerNormalization {
        axis,
        epsilon,
        stash_type,
    } = op
    else {
        return Err(InterpError::op(op, "not a LayerNormalization"));
    };
    let x = req(op, inputs, 0, "x")?;
    let dt = float_dtype(op, x, "x")?;
    let ax = norm_axis(op, *axis, x.rank(), false)?;
    let norm_shape = &x.shape()[ax..];
    let inner: usize = norm_shape.iter().product();
    let scale_t = req(op, inputs, 1, "scale")?;
    same_dtype(op, scale_t, dt, "scale")?;
    let scale = broadcast_to(op, scale_t, norm_shape, "scale")?;
    let bias = match opt(inputs, 2) {
        Some(b) => {
            same_dtype(op, b, dt, "bias")?;
            Some(broadcast_to(op, b, norm_shape, "bias")?)
        }
        None => None,
    };
    let xv = x.to_f64_vec();
    let mut y = Vec::with_capacity(xv.len());
    let (mut means, mut invs) = (Vec::new(), Vec::new());
    if inner > 0 {
        for row in xv.chunks(inner) {
            let (mean, var) = moments(row);
            let inv = 1.0 / (var + *epsilon as f64).sqrt();
            means.push(mean);
            invs.push(inv);
            for (j, v) in row.iter().enumerate() {
                let b = bias.as_ref().map_or(0.0, |b| b[j]);
                y.push((v - mean) * inv * scale[j] + b);
            }
        }
    }
    let mut out = vec![from_f64(op, dt, x.shape().to_vec(), y)?];
    let stat_dt = if stash_type.is_float() {
        *stash_type
    } else {
        dt
    };
    let mut stat_shape = x.shape()[..ax].to_vec();
    stat_shape.extend(std::iter::repeat_n(1, x.rank() - ax));
    if num_outputs >= 2 {
        out.push(from_f64(op, stat_dt, stat_shape.clone(), means)?);
    }
    if num_outputs >= 3 {
        out.push(from_f64(op, stat_dt, stat_shape, invs)?);
    }
    Ok(out)
}

/// GroupNormalization (opset 21, per-channel scale and bias): x, scale, bias.
pub(crate) fn group_norm(op: &Op, inputs: &[Option<&Tensor>]) -> Res<Vec<Tensor>> {
    let Op::GroupNormalization {
        num_groups,
        epsilon,
        ..
    } = op
    else {
        return Err(InterpError::op(op, "not a GroupNormalization"));
    };
    let (x, dt, _, c, inner) = channels_first(op, inputs)?;
    let g = usize::try_from(*num_groups)
        .ok()
        .filter(|&g| g > 0 && c % g == 0)
        .ok_or_else(|| {
            InterpError::op(
                op,
                format!(
                    "num_groups must be positive and divide the {c} channels, got {num_groups}"
                ),
            )
        })?;
    let scale = per_channel(op, req(op, inputs, 1, "scale")?, c, "scale", dt)?;
    let bias = per_channel(op, req(op, inputs, 2, "bias")?, c, "bias", dt)?;
    let cg = c / g;
    let gsize = cg * inner;
    let mut y = Vec::with_capacity(x.len());
    if gsize > 0 {
        for (i, block) in x.to_f64_vec().chunks(gsize).enumerate() {
            let (mean, var) = moments(block);
            let inv = 1.0 / (var + *epsilon as f64).sqrt();
            for (j, v) in block.iter().enumerate() {
                let ch = (i % g) * cg + j / inner.max(1);
                y.push((v - mean) * inv * scale[ch] + bias[ch]);
            }
        }
    }
    Ok(vec![from_f64(op, dt, x.shape().to_vec(), y)?])
}

/// LpNormalization along `axis` with p = 1 or 2.
pub(crate) fn lp_norm(op: &Op, inputs: &[Option<&Tensor>]) -> Res<Vec<Tensor>> {
    let Op::LpNormalization { axis, p } = op else {
        return Err(InterpError::op(op, "not an LpNormalization"));
    };
    let x = req(op, inputs, 0, "x")?;
    let dt = float_dtype(op, x, "x")?;
    if !matches!(p, 1 | 2) {
        return Err(InterpError::op(op, format!("p must be 1 or 2, got {p}")));
    }
    if x.rank() == 0 {
        return Err(InterpError::op(op, "x must have rank >= 1, got a scalar"));
    }
    let ax = norm_axis(op, *axis, x.rank(), false)?;
    let s = x.shape();
    let (len, inner) = (s[ax], s[ax + 1..].iter().product::<usize>());
    let xv = x.to_f64_vec();
    let mut y = vec![0.0; xv.len()];
    let outer = xv.len().checked_div(len * inner).unwrap_or(0);
    for o in 0..outer {
        for i in 0..inner {
            let at = |k: usize| o * len * inner + k * inner + i;
            let norm = if *p == 1 {
                (0..len).map(|k| xv[at(k)].abs()).sum::<f64>()
            } else {
                (0..len).map(|k| xv[at(k)] * xv[at(k)]).sum::<f64>().sqrt()
            };
            for k in 0..len {
                y[at(k)] = xv[at(k)] / norm;
            }
        }
    }
    Ok(vec![from_f64(op, dt, s.to_vec(), y)?])
}

/// Lrn: local response normalization across channels.
pub(crate) fn lrn(op: &Op, inputs: &[Option<&Tensor>]) -> Res<Vec<Tensor>> {
    let Op::Lrn {
        alpha,
        beta,
        bias,
        size,
    } = op
    else {
        return Err(InterpError::op(op, "not an Lrn"));
    };
    let (x, dt, n, c, inner) = channels_first(op, inputs)?;
    let size = usize::try_from(*size)
        .ok()
        .filter(|&s| s > 0)
        .ok_or_else(|| InterpError::op(op, format!("size must be positive, got {size}")))?;
    let (lo, hi) = ((size - 1) / 2, (size - 1).div_ceil(2));
    let xv = x.to_f64_vec();
    let mut y = vec![0.0; xv.len()];
    let k = *alpha as f64 / size as f64;
    for b in 0..n {
        for ch in 0..c {
            let (c0, c1) = (ch.saturating_sub(lo), (ch + hi + 1).min(c));
            for i in 0..inner {
                let sq: f64 = (c0..c1)
                    .map(|cc| xv[(b * c + cc) * inner + i].powi(2))
                    .sum();
                let at = (b * c + ch) * inner + i;
                y[at] = xv[at] / (*bias as f64 + k * sq).powf(*beta as f64);
            }
        }
    }
    Ok(vec![from_f64(op, dt, x.shape().to_vec(), y)?])
}

/// MeanVarianceNormalization over `axes` (empty: [0, 2, 3]); `(x - mean) / (std + 1e-9)`.
pub(crate) fn mvn(op: &Op, inputs: &[Option<&Tensor>]) -> Res<Vec<Tensor>> {
    let Op::MeanVarianceNormalization { axes } = op else {
        return Err(InterpError::op(op, "not a MeanVarianceNormalization"));
    };
    let x = req(op, inputs, 0, "x")?;
    let dt = float_dtype(op, x, "x")?;
    let r = x.rank();
    let axes: Vec<i64> = if axes.is_empty() {
        vec![0, 2, 3]
    } else {
        axes.clone()
    };
    let mut reduced = vec![false; r];
    for &a in &axes {
        reduced[norm_axis(op, a, r, false)?] = true;
    }
    let s = x.shape();
    // Group key of each element: its flat index over the kept axes.
    let groups: usize = (0..r).filter(|&d| !reduced[d]).map(|d| s[d]).product();
    let xv = x.to_f64_vec();
    let mut key = Vec::with_capacity(xv.len());
    let mut idx = vec![0usize; r];
    for _ in 0..xv.len() {
        key.push(
            (0..r)
                .filter(|&d| !reduced[d])
                .fold(0, |k, d| k * s[d] + idx[d]),
        );
        for d in (0..r).rev() {
            idx[d] += 1;
            if idx[d] < s[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    let (mut sum, mut sq, mut cnt) = (vec![0.0; groups], vec![0.0; groups], vec![0usize; groups]);
    for (v, &k) in xv.iter().zip(&key) {
        sum[k] += v;
        sq[k] += v * v;
        cnt[k] += 1;
    }
    let y = xv
        .iter()
        .zip(&key)
        .map(|(v, &k)| {
            let n = cnt[k] as f64;
            let mean = sum[k] / n;
            let var = (sq[k] / n - mean * mean).max(0.0);
            (v - mean) / (var.sqrt() + 1e-9)
        })
        .collect();
    Ok(vec![from_f64(op, dt, s.to_vec(), y)?])
}
