//! Shape queries and data movement whose output shape depends on attributes or on
//! known shape values: `Shape`, `Size`, `Reshape`, `Flatten`, `Transpose`,
//! `Squeeze`, `Unsqueeze`, `Concat`, `Split`, `Slice`, `Expand`, `Tile`, `Pad`,
//! `Resize`, `DepthToSpace`, `SpaceToDepth`.

use super::reduce::{norm_axes, runtime_axes_len};
use super::shape_values::{shape_range, slice_len};
use super::{broadcast, dims, dt, Cx, SymInt, R};
use crate::ops::KeepAspect;
use crate::{DType, Dim, Op, TensorType};

pub(super) fn infer(cx: &Cx) -> R<Vec<TensorType>> {
    let x = cx.input(0)?;
    let same_dtype = |shape: Vec<Dim>| Ok(vec![TensorType::new(x.dtype, shape)]);
    match cx.op() {
        Op::Shape { start, end } => {
            let (s, e) = shape_range(x.rank(), *start, *end);
            Ok(vec![TensorType::fixed(DType::I64, &[(e - s) as u64])])
        }
        Op::Size {} => Ok(vec![TensorType::scalar(DType::I64)]),
        Op::Reshape { allowzero } => same_dtype(reshape(cx, x, *allowzero)?),
        Op::Flatten { axis } => {
            let r = x.rank() as i64;
            let a = if *axis < 0 {
                axis.saturating_add(r)
            } else {
                *axis
            };
            if !(0..=r).contains(&a) {
                return Err(cx.err(format!(
                    "attribute `axis` {axis} is out of range for rank {r}"
                )));
            }
            let a = a as usize;
            same_dtype(vec![
                dims::product(cx, &x.shape[..a])?,
                dims::product(cx, &x.shape[a..])?,
            ])
        }
        Op::Transpose { perm } => {
            let r = x.rank();
            let perm: Vec<i64> = match perm {
                Some(p) => p.clone(),
                None => (0..r as i64).rev().collect(),
            };
            let mut seen = vec![false; r];
            let mut out = Vec::with_capacity(r);
            for &p in &perm {
                match usize::try_from(p).ok().filter(|&p| p < r && !seen[p]) {
                    Some(p) => {
                        seen[p] = true;
                        out.push(x.shape[p].clone());
                    }
                    None => break,
                }
            }
            if out.len() != r || perm.len() != r {
                return Err(cx.err(format!(
                    "attribute `perm` {perm:?} is not a permutation of 0..{r}"
                )));
            }
            same_dtype(out)
        }
        Op::Squeeze {} => {
            let axes = match cx.opt_input(1)? {
                None => {
                    if let Some(d) = x.shape.iter().find(|d| d.is_sym()) {
                        return Err(cx.in_err(
                            0,
                            format!(
                                "has symbolic dim {d}; squeeze without axes needs every dim known"
                            ),
                        ));
                    }
                    (0..x.rank())
                        .filter(|&k| x.shape[k] == Dim::Fixed(1))
                        .collect()
                }
                Some(t) => {
                    cx.want_dtype(1, t, dt::index, "i64")?;
                    match cx.ints(1)? {
                        Some(v) => norm_axes(cx, 1, &v, x.rank())?,
                        None => return same_dtype(runtime_squeeze(cx, x)?),
                    }
                }
            };
            for &a in &axes {
                if let Some(n) = x.shape[a].fixed().filter(|&n| n != 1) {
                    return Err(cx.in_err(0, format!("dim {a} has size {n}, cannot squeeze it")));
                }
            }
            same_dtype(
                (0..x.rank())
                    .filter(|k| !axes.contains(k))
                    .map(|k| x.shape[k].clone())
                    .collect(),
            )
        }
        Op::Unsqueeze {} => {
            let t = cx.input(1)?;
            cx.want_dtype(1, t, dt::index, "i64")?;
            let Some(v) = cx.ints(1)? else {
                return same_dtype(runtime_unsqueeze(cx, x)?);
            };
            let r = x.rank() + v.len();
            let axes = norm_axes(cx, 1, &v, r)?;
            let mut rest = x.shape.iter();
            let out = (0..r)
                .map(|k| {
                    if axes.contains(&k) {
                        Some(Dim::Fixed(1))
                    } else {
                        rest.next().cloned()
                    }
                })
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| cx.err("axes do not fit the output rank"))?;
            same_dtype(out)
        }
        Op::Concat { axis } => concat(cx, x, *axis),
        Op::Split { axis, num_outputs } => split(cx, x, *axis, *num_outputs),
        Op::Slice {} => same_dtype(slice(cx, x)?),
        Op::Expand {} => {
            let target = shape_operand(cx, 1)?;
            let r = x.rank().max(target.len());
            let mut out = Vec::with_capacity(r);
            for k in 0..r {
                let xd = (k + x.rank()).checked_sub(r).map(|j| &x.shape[j]);
                let td = (k + target.len()).checked_sub(r).map(|j| &target[j]);
                let d = match (xd, td) {
                    (Some(a), None) => a.clone(),
                    (None, Some(Some(b))) => b.clone(),
                    (None, Some(None)) => cx.fresh(),
                    (Some(a), Some(Some(b))) => broadcast::dim(cx, a, b).map_err(|()| {
                        cx.in_err(1, format!("asks for {b} at dim {k}, which input 0 (input) of size {a} cannot broadcast to"))
                    })?,
                    (Some(a), Some(None)) => match a {
                        Dim::Fixed(n) if *n > 1 => a.clone(),
                        _ => cx.fresh(),
                    },
                    (None, None) => cx.fresh(),
                };
                out.push(d);
            }
            same_dtype(out)
        }
        Op::Tile {} => {
            let reps = shape_operand(cx, 1)?;
            if reps.len() != x.rank() {
                return Err(cx.in_err(
                    1,
                    format!(
                        "has {} entries, expected {} (input rank)",
                        reps.len(),
                        x.rank()
                    ),
                ));
            }
            let out = x
                .shape
                .iter()
                .zip(&reps)
                .map(|(d, r)| match r {
                    Some(r) => dims::mul(cx, d, r),
                    None => Ok(cx.fresh()),
                })
                .collect::<R<Vec<_>>>()?;
            same_dtype(out)
        }
        Op::Pad { .. } => same_dtype(pad(cx, x)?),
        Op::Resize {
            axes,
            keep_aspect_ratio_policy,
            ..
        } => same_dtype(resize(cx, x, axes.as_deref(), *keep_aspect_ratio_policy)?),
        Op::DepthToSpace { blocksize, .. } | Op::SpaceToDepth { blocksize } => {
            cx.want_rank(0, x, 4)?;
            // Capped so that `b * b` cannot overflow.
            if !(1..=1 << 20).contains(blocksize) {
                return Err(cx.err(format!(
                    "attribute `blocksize` is {blocksize}, expected >= 1"
                )));
            }
            let b = *blocksize as u64;
            let bb = Dim::Fixed(b * b);
            let s = &x.shape;
            let div = |d: &Dim, by: u64, what: &str| -> R<Dim> {
                match d {
                    Dim::Fixed(n) if n % by != 0 => {
                        Err(cx.in_err(0, format!("{what} {n} is not divisible by {by}")))
                    }
                    Dim::Fixed(n) => Ok(Dim::Fixed(n / by)),
                    Dim::Sym(_) if by == 1 => Ok(d.clone()),
                    Dim::Sym(_) => Ok(cx.fresh()),
                }
            };
            let out = if matches!(cx.op(), Op::DepthToSpace { .. }) {
                vec![
                    s[0].clone(),
                    div(&s[1], b * b, "channel count")?,
                    dims::mul(cx, &s[2], &Dim::Fixed(b))?,
                    dims::mul(cx, &s[3], &Dim::Fixed(b))?,
                ]
            } else {
                vec![
                    s[0].clone(),
                    dims::mul(cx, &s[1], &bb)?,
                    div(&s[2], b, "height")?,
                    div(&s[3], b, "width")?,
                ]
            };
            same_dtype(out)
        }
        other => Err(cx.err(format!("no shape rule for `{}`", other.name()))),
    }
}

/// `Squeeze` with axes known only at run time: the static length `k` of the axes
/// still fixes the rank. The removed dims are all 1, so when exactly `rank - k`
/// dims are provably not 1 they are the output; otherwise the dims are unknown.
fn runtime_squeeze(cx: &Cx, x: &TensorType) -> R<Vec<Dim>> {
    let k = runtime_axes_len(cx, 1, x.rank())?;
    if k == 0 {
        return Ok(x.shape.clone());
    }
    let keep = x.rank() - k;
    let not_one: Vec<&Dim> = x
        .shape
        .iter()
        .filter(|d| d.fixed().is_some_and(|n| n != 1))
        .collect();
    if not_one.len() > keep {
        return Err(cx.in_err(
            0,
            format!(
                "has {} dims of size other than 1, so squeezing {k} of its {} dims cannot work",
                not_one.len(),
                x.rank()
            ),
        ));
    }
    if not_one.len() == keep {
        return Ok(not_one.into_iter().cloned().collect());
    }
    if x.shape.iter().all(|d| *d == Dim::Fixed(1)) {
        return Ok(vec![Dim::Fixed(1); keep]);
    }
    Ok((0..keep).map(|_| cx.fresh()).collect())
}

/// `Unsqueeze` with axes known only at run time: the rank is the input rank plus
/// the axes' static length; each output dim is an inserted 1 or an input dim at
/// an unknown place, so it is 1 only when every input dim is.
fn runtime_unsqueeze(cx: &Cx, x: &TensorType) -> R<Vec<Dim>> {
    // Each axis adds a dim; the cap keeps a hostile length from allocating.
    let k = runtime_axes_len(cx, 1, dims::MAX_RANK.saturating_sub(x.rank()))?;
    if k == 0 {
        return Ok(x.shape.clone());
    }
    let r = x.rank() + k;
    if x.shape.iter().all(|d| *d == Dim::Fixed(1)) {
        return Ok(vec![Dim::Fixed(1); r]);
    }
    Ok((0..r).map(|_| cx.fresh()).collect())
}

/// A 1-D shape-like operand: its length must be known; each element is a dim when
/// known (non-negative or symbolic), `None` when not.
fn shape_operand(cx: &Cx, i: usize) -> R<Vec<Option<Dim>>> {
    let t = cx.input(i)?;
    cx.want_dtype(i, t, dt::index, "i64")?;
    cx.want_rank(i, t, 1)?;
    let len = dims::rank_from_len(cx, i, t)?;
    match cx.values(i)? {
        Some(v) => v
            .iter()
            .map(|e| match e {
                SymInt::Int(n) if *n < 0 => Err(cx.in_err(i, format!("holds negative size {n}"))),
                SymInt::Int(n) => dims::fixed(cx, *n, "size").map(Some),
                SymInt::Sym(s) => Ok(Some(Dim::Sym(s.clone()))),
            })
            .collect(),
        None => Ok(vec![None; len]),
    }
}

fn reshape(cx: &Cx, x: &TensorType, allowzero: bool) -> R<Vec<Dim>> {
    let t = cx.input(1)?;
    cx.want_dtype(1, t, dt::index, "i64")?;
    cx.want_rank(1, t, 1)?;
    let len = dims::rank_from_len(cx, 1, t)?;
    let Some(vals) = cx.values(1)? else {
        return Ok((0..len).map(|_| cx.fresh()).collect());
    };
    let mut out: Vec<Option<Dim>> = Vec::with_capacity(vals.len());
    let mut infer_at = None;
    for (k, e) in vals.iter().enumerate() {
        let d = match e {
            SymInt::Int(0) if !allowzero => match x.shape.get(k) {
                Some(d) => Some(d.clone()),
                None => {
                    return Err(cx.in_err(
                        1,
                        format!(
                            "copies dim {k} (0) but input 0 (data) has rank {}",
                            x.rank()
                        ),
                    ))
                }
            },
            SymInt::Int(-1) => {
                if infer_at.replace(k).is_some() {
                    return Err(cx.in_err(1, "has more than one -1"));
                }
                None
            }
            SymInt::Int(n) if *n < 0 => return Err(cx.in_err(1, format!("holds invalid size {n}"))),
            SymInt::Int(n) => Some(dims::fixed(cx, *n, "reshape size")?),
            SymInt::Sym(s) => Some(Dim::Sym(s.clone())),
        };
        out.push(d);
    }
    // Compare element counts as (fixed product, symbols) with common symbols cancelled.
    let split = |ds: &mut dyn Iterator<Item = &Dim>| -> R<(u64, Vec<String>)> {
        let mut p: u64 = 1;
        let mut syms = Vec::new();
        for d in ds {
            match d {
                Dim::Fixed(n) => {
                    p = p
                        .checked_mul(*n)
                        .ok_or_else(|| cx.err("element count overflows"))?;
                }
                Dim::Sym(s) => syms.push(s.clone()),
            }
        }
        Ok((p, syms))
    };
    let (pin, mut sin) = split(&mut x.shape.iter())?;
    let (pout, sout) = split(&mut out.iter().flatten())?;
    let mut rest_out = Vec::new();
    for s in sout {
        match sin.iter().position(|t| *t == s) {
            Some(j) => {
                sin.remove(j);
            }
            None => rest_out.push(s),
        }
    }
    let known = sin.is_empty() && rest_out.is_empty();
    match infer_at {
        Some(k) => {
            let d = if pout == 0 {
                if pin != 0 {
                    return Err(cx.in_err(1, "has a 0 size beside -1 but the input is not empty"));
                }
                cx.fresh()
            } else if known {
                if pin % pout != 0 {
                    return Err(cx.err(format!(
                        "cannot reshape {x} ({pin} elements) to a multiple of {pout}"
                    )));
                }
                Dim::Fixed(pin / pout)
            } else if rest_out.is_empty() && sin.len() == 1 && pin == pout {
                Dim::Sym(sin[0].clone())
            } else {
                cx.fresh()
            };
            out[k] = Some(d);
        }
        None if known && pin != pout => {
            return Err(cx.err(format!(
                "cannot reshape {x} ({pin} elements) to {pout} elements"
            )));
        }
        None => {}
    }
    Ok(out
        .into_iter()
        .map(|d| d.unwrap_or_else(|| cx.fresh()))
        .collect())
}

fn concat(cx: &Cx, x: &TensorType, axis: i64) -> R<Vec<TensorType>> {
    if x.rank() == 0 {
        return Err(cx.in_err(0, "is a scalar; concat needs rank >= 1"));
    }
    let a = cx.axis(axis, x.rank(), "attribute `axis`")?;
    let mut out = x.shape.clone();
    let mut parts = vec![x.shape[a].clone()];
    for i in 1..cx.n_inputs() {
        let t = cx.input(i)?;
        cx.same_dtype(0, x, i, t)?;
        cx.want_rank(i, t, x.rank())?;
        for (k, (o, d)) in out.iter_mut().zip(&t.shape).enumerate() {
            if k == a {
                parts.push(d.clone());
            } else {
                *o = dims::unify(o, d).ok_or_else(|| {
                    cx.in_err(i, format!("has size {d} at dim {k}, input 0 has {o}"))
                })?;
            }
        }
    }
    let nonzero: Vec<&Dim> = parts.iter().filter(|d| **d != Dim::Fixed(0)).collect();
    out[a] = match nonzero.as_slice() {
        [] => Dim::Fixed(0),
        [one] => (*one).clone(),
        _ if parts.iter().all(|d| !d.is_sym()) => {
            let s = parts
                .iter()
                .filter_map(Dim::fixed)
                .try_fold(0u64, |a, n| a.checked_add(n));
            dims::fixed(
                cx,
                s.map_or(-1, |s| i64::try_from(s).unwrap_or(-1)),
                "concatenated size",
            )?
        }
        _ => cx.fresh(),
    };
    Ok(vec![TensorType::new(x.dtype, out)])
}

fn split(cx: &Cx, x: &TensorType, axis: i64, num_outputs: Option<i64>) -> R<Vec<TensorType>> {
    let a = cx.axis(axis, x.rank(), "attribute `axis`")?;
    let n = cx.n_outputs();
    let d = &x.shape[a];
    let sizes: Vec<Dim> = if cx.opt_input(1)?.is_some() {
        if num_outputs.is_some() {
            return Err(cx.err("both input 1 (split) and attribute `num_outputs` are given"));
        }
        let sizes = shape_operand(cx, 1)?;
        if sizes.len() != n {
            return Err(cx.in_err(
                1,
                format!("has {} entries but the node has {n} outputs", sizes.len()),
            ));
        }
        let fixed: Option<Vec<u64>> = sizes
            .iter()
            .map(|s| s.as_ref().and_then(Dim::fixed))
            .collect();
        if let (Some(f), Some(total)) = (&fixed, d.fixed()) {
            if f.iter().sum::<u64>() != total {
                return Err(cx.in_err(
                    1,
                    format!("sizes {f:?} do not add up to dim {a} of input 0 ({total})"),
                ));
            }
        }
        sizes
            .into_iter()
            .map(|s| s.unwrap_or_else(|| cx.fresh()))
            .collect()
    } else {
        if let Some(k) = num_outputs {
            if k != n as i64 {
                return Err(cx.err(format!(
                    "attribute `num_outputs` is {k} but the node has {n} outputs"
                )));
            }
        }
        match d {
            _ if n == 1 => vec![d.clone()],
            Dim::Fixed(total) => {
                let n64 = n as u64;
                let chunk = total.div_ceil(n64);
                let last = total
                    .checked_sub(chunk * (n64 - 1))
                    .ok_or_else(|| cx.err(format!("cannot split size {total} into {n} outputs")))?;
                let mut v = vec![Dim::Fixed(chunk); n - 1];
                v.push(Dim::Fixed(last));
                v
            }
            Dim::Sym(_) => (0..n).map(|_| cx.fresh()).collect(),
        }
    };
    Ok(sizes
        .into_iter()
        .map(|s| {
            let mut shape = x.shape.clone();
            shape[a] = s;
            TensorType::new(x.dtype, shape)
        })
        .collect())
}

fn slice(cx: &Cx, x: &TensorType) -> R<Vec<Dim>> {
    let r = x.rank();
    for i in 1..5 {
        if let Some(t) = cx.opt_input(i)? {
            cx.want_dtype(i, t, dt::index, "i32 or i64")?;
            cx.want_rank(i, t, 1)?;
        }
    }
    let starts = cx.values(1)?;
    let ends = cx.values(2)?;
    let len = match (&starts, &ends, cx.input(1)?.shape[0].fixed()) {
        (Some(s), _, _) => s.len(),
        (_, Some(e), _) => e.len(),
        (_, _, Some(n)) => n as usize,
        _ => return Ok(x.shape.iter().map(|_| cx.fresh()).collect()),
    };
    let axes: Vec<usize> = match cx.opt_input(3)? {
        None => (0..len.min(r)).collect(),
        Some(_) => match cx.ints(3)? {
            Some(v) => norm_axes(cx, 3, &v, r)?,
            // Unknown axes: any dim may change.
            None => return Ok(x.shape.iter().map(|_| cx.fresh()).collect()),
        },
    };
    if axes.len() != len || len > r {
        return Err(cx.err(format!(
            "starts/ends have {len} entries but {} axes are sliced (rank {r})",
            axes.len()
        )));
    }
    let steps: Option<Vec<i64>> = match cx.opt_input(4)? {
        None => Some(vec![1; len]),
        Some(_) => cx.ints(4)?,
    };
    for check in [
        starts.as_ref().map(Vec::len),
        ends.as_ref().map(Vec::len),
        steps.as_ref().map(Vec::len),
    ] {
        if check.is_some_and(|l| l != len) {
            return Err(cx.err(format!(
                "starts, ends and steps must have {len} entries each"
            )));
        }
    }
    let mut out = x.shape.clone();
    for (k, &a) in axes.iter().enumerate() {
        let st = starts.as_ref().map(|v| &v[k]);
        let en = ends.as_ref().map(|v| &v[k]);
        let step = steps.as_ref().map(|v| v[k]);
        if step == Some(0) {
            return Err(cx.in_err(4, format!("has a zero step for axis {a}")));
        }
        let d = &x.shape[a];
        out[a] = match (d, st, en, step) {
            (Dim::Fixed(n), Some(SymInt::Int(s)), Some(SymInt::Int(e)), Some(step)) => {
                let n = i64::try_from(*n).map_err(|_| cx.err("dim too large"))?;
                Dim::Fixed(slice_len(n, *s, *e, step) as u64)
            }
            // The whole axis of a symbolic dim: [0, N) or [0, huge).
            (Dim::Sym(_), Some(SymInt::Int(0)), Some(e), Some(1))
                if matches!(e, SymInt::Int(e) if *e >= i32::MAX as i64)
                    || SymInt::from_dim(d) == *e =>
            {
                d.clone()
            }
            _ => cx.fresh(),
        };
    }
    Ok(out)
}

fn pad(cx: &Cx, x: &TensorType) -> R<Vec<Dim>> {
    let r = x.rank();
    let pt = cx.input(1)?;
    cx.want_dtype(1, pt, dt::index, "i64")?;
    if let Some(c) = cx.opt_input(2)? {
        cx.same_dtype(0, x, 2, c)?;
    }
    let axes: Option<Vec<usize>> = match cx.opt_input(3)? {
        None => Some((0..r).collect()),
        Some(t) => {
            cx.want_dtype(3, t, dt::index, "i32 or i64")?;
            match cx.ints(3)? {
                Some(v) => Some(norm_axes(cx, 3, &v, r)?),
                None => None,
            }
        }
    };
    let (Some(axes), Some(pads)) = (axes, cx.ints(1)?) else {
        return Ok(x.shape.iter().map(|_| cx.fresh()).collect());
    };
    if pads.len() != 2 * axes.len() {
        return Err(cx.in_err(
            1,
            format!(
                "has {} entries, expected {} (2 per padded axis)",
                pads.len(),
                2 * axes.len()
            ),
        ));
    }
    let mut out = x.shape.clone();
    for (k, &a) in axes.iter().enumerate() {
        let delta = pads[k]
            .checked_add(pads[k + axes.len()])
            .ok_or_else(|| cx.in_err(1, "overflows"))?;
        out[a] = dims::add(cx, &x.shape[a], delta, "padded size")?;
    }
    Ok(out)
}

fn resize(cx: &Cx, x: &TensorType, axes: Option<&[i64]>, policy: KeepAspect) -> R<Vec<Dim>> {
    let r = x.rank();
    let axes: Vec<usize> = match axes {
        Some(a) => a
            .iter()
            .map(|&a| cx.axis(a, r, "entry of `axes`"))
            .collect::<R<_>>()?,
        None => (0..r).collect(),
    };
    let mut out = x.shape.clone();
    let has = |i: usize| -> R<bool> {
        Ok(cx
            .opt_input(i)?
            .is_some_and(|t| t.num_elements() != Some(0)))
    };
    if has(3)? {
        let sizes = shape_operand(cx, 3)?;
        if sizes.len() != axes.len() {
            return Err(cx.in_err(
                3,
                format!("has {} entries, expected {}", sizes.len(), axes.len()),
            ));
        }
        if policy == KeepAspect::Stretch {
            for (s, &a) in sizes.into_iter().zip(&axes) {
                out[a] = s.unwrap_or_else(|| cx.fresh());
            }
            return Ok(out);
        }
        // Keep the aspect ratio: one scale for all axes, from the tightest ratio.
        let ins: Option<Vec<f64>> = axes
            .iter()
            .map(|&a| x.shape[a].fixed().map(|n| n as f64))
            .collect();
        let want: Option<Vec<f64>> = sizes
            .iter()
            .map(|s| s.as_ref().and_then(Dim::fixed).map(|n| n as f64))
            .collect();
        let (Some(ins), Some(want)) = (ins, want) else {
            for &a in &axes {
                out[a] = cx.fresh();
            }
            return Ok(out);
        };
        let ratios = ins.iter().zip(&want).map(|(i, w)| w / i);
        let scale = if policy == KeepAspect::NotLarger {
            ratios.fold(f64::INFINITY, f64::min)
        } else {
            ratios.fold(0.0, f64::max)
        };
        for (i, &a) in ins.iter().zip(&axes) {
            out[a] = scaled(cx, i * scale, true)?;
        }
        return Ok(out);
    }
    if !has(2)? {
        return Err(cx.err("needs input 2 (scales) or input 3 (sizes)"));
    }
    let st = cx.input(2)?;
    cx.want_dtype(2, st, dt::float, "a float type")?;
    match cx.floats(2)? {
        Some(scales) => {
            if scales.len() != axes.len() {
                return Err(cx.in_err(
                    2,
                    format!("has {} entries, expected {}", scales.len(), axes.len()),
                ));
            }
            for (s, &a) in scales.iter().zip(&axes) {
                if !(s.is_finite() && *s > 0.0) {
                    return Err(cx.in_err(2, format!("holds invalid scale {s}")));
                }
                out[a] = match &x.shape[a] {
                    Dim::Fixed(n) => scaled(cx, *n as f64 * s, false)?,
                    d if *s == 1.0 => d.clone(),
                    _ => cx.fresh(),
                };
            }
        }
        None => {
            for &a in &axes {
                out[a] = cx.fresh();
            }
        }
    }
    Ok(out)
}

/// A resized extent: `floor(v)` for scales, `round(v)` for aspect-kept sizes.
fn scaled(cx: &Cx, v: f64, round: bool) -> R<Dim> {
    let v = if round { (v + 0.5).floor() } else { v.floor() };
    if !(0.0..=dims::MAX_DIM as f64).contains(&v) {
        return Err(cx.err(format!("resized size {v} is out of range")));
    }
    Ok(Dim::Fixed(v as u64))
}
