//! Normalizations (batch, instance, layer, group, Lp, LRN, mean-variance) and the
//! softmax family: all keep the input's shape.

use super::{dims, dt, Cx, R};
use crate::{Dim, Op, TensorType};

pub(super) fn infer(cx: &Cx) -> R<Vec<TensorType>> {
    let x = cx.input(0)?;
    cx.want_dtype(0, x, dt::float, "a float type")?;
    let same = TensorType::new(x.dtype, x.shape.clone());
    match cx.op() {
        Op::BatchNormalization { .. } | Op::InstanceNormalization { .. } => {
            if x.rank() < 2 {
                return Err(cx.in_err(0, format!("has rank {}, expected at least 2", x.rank())));
            }
            for i in 1..cx.n_inputs() {
                per_channel(cx, i, &x.shape[1])?;
            }
            Ok(vec![same])
        }
        Op::GroupNormalization { num_groups, .. } => {
            if x.rank() < 2 {
                return Err(cx.in_err(0, format!("has rank {}, expected at least 2", x.rank())));
            }
            if *num_groups < 1 {
                return Err(cx.err(format!(
                    "attribute `num_groups` is {num_groups}, expected >= 1"
                )));
            }
            if let Some(c) = x.shape[1].fixed() {
                if c % (*num_groups as u64) != 0 {
                    return Err(cx.in_err(
                        0,
                        format!("has {c} channels, not divisible by num_groups {num_groups}"),
                    ));
                }
            }
            for i in 1..3 {
                per_channel(cx, i, &x.shape[1])?;
            }
            Ok(vec![same])
        }
        Op::LayerNormalization {
            axis, stash_type, ..
        } => {
            let a = cx.axis(*axis, x.rank(), "attribute `axis`")?;
            for i in 1..cx.n_inputs() {
                if let Some(t) = cx.opt_input(i)? {
                    cx.same_dtype(0, x, i, t)?;
                    super::broadcast::unidirectional(cx, i, &t.shape, &x.shape[a..])?;
                }
            }
            // Mean and inverse std dev keep the leading dims and 1 elsewhere.
            let mut stat = x.shape[..a].to_vec();
            stat.resize(x.rank(), Dim::Fixed(1));
            let mut out = vec![same];
            for _ in 1..cx.n_outputs() {
                out.push(TensorType::new(*stash_type, stat.clone()));
            }
            Ok(out)
        }
        Op::LpNormalization { axis, p } => {
            cx.axis(*axis, x.rank(), "attribute `axis`")?;
            if !matches!(p, 1 | 2) {
                return Err(cx.err(format!("attribute `p` is {p}, expected 1 or 2")));
            }
            Ok(vec![same])
        }
        Op::Lrn { size, .. } => {
            if *size < 1 {
                return Err(cx.err(format!("attribute `size` is {size}, expected >= 1")));
            }
            if x.rank() < 3 {
                return Err(cx.in_err(0, format!("has rank {}, expected at least 3", x.rank())));
            }
            Ok(vec![same])
        }
        Op::MeanVarianceNormalization { axes } => {
            for &a in axes {
                cx.axis(a, x.rank(), "axis")?;
            }
            Ok(vec![same])
        }
        Op::Softmax { axis, .. } | Op::LogSoftmax { axis, .. } | Op::Hardmax { axis, .. } => {
            if x.rank() > 0 {
                cx.axis(*axis, x.rank(), "attribute `axis`")?;
            }
            Ok(vec![same])
        }
        other => Err(cx.err(format!("no normalization rule for `{}`", other.name()))),
    }
}

/// Input `i` must be a 1-D per-channel vector with `c` entries.
fn per_channel(cx: &Cx, i: usize, c: &Dim) -> R<()> {
    let t = cx.input(i)?;
    cx.want_dtype(i, t, dt::float, "a float type")?;
    cx.want_rank(i, t, 1)?;
    if dims::unify(&t.shape[0], c).is_none() {
        return Err(cx.in_err(
            i,
            format!("has {} entries, expected {c} (channels)", t.shape[0]),
        ));
    }
    Ok(())
}
