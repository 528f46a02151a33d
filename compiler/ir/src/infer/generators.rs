//! Generators whose output shape comes from values: `ConstantOfShape`, `Range`,
//! `EyeLike`, `OneHot`, and the data-dependent `NonZero`.

use super::{dims, dt, Cx, SymInt, R};
use crate::{DType, Dim, Op, TensorType};

pub(super) fn infer(cx: &Cx) -> R<Vec<TensorType>> {
    match cx.op() {
        Op::ConstantOfShape { dtype, .. } => {
            let t = cx.input(0)?;
            cx.want_dtype(0, t, dt::index, "i64")?;
            cx.want_rank(0, t, 1)?;
            let len = dims::rank_from_len(cx, 0, t)?;
            let shape = match cx.values(0)? {
                Some(v) => v
                    .iter()
                    .map(|e| match e {
                        SymInt::Int(n) => dims::fixed(cx, *n, "constant_of_shape size"),
                        SymInt::Sym(s) => Ok(Dim::Sym(s.clone())),
                    })
                    .collect::<R<Vec<_>>>()?,
                None => (0..len).map(|_| cx.fresh()).collect(),
            };
            Ok(vec![TensorType::new(*dtype, shape)])
        }
        Op::Range {} => {
            let s = cx.input(0)?;
            cx.want_dtype(0, s, dt::numeric, "a numeric type")?;
            for i in 0..3 {
                let t = cx.input(i)?;
                cx.same_dtype(0, s, i, t)?;
                if t.num_elements() != Some(1) {
                    return Err(cx.in_err(i, format!("must be a scalar, got {t}")));
                }
            }
            let vals: Option<Vec<f64>> = (0..3)
                .map(|i| cx.floats(i).map(|v| v.and_then(|v| v.first().copied())))
                .collect::<R<Option<Vec<_>>>>()?;
            let n = match vals.as_deref() {
                Some(&[start, limit, delta]) => {
                    if delta == 0.0 {
                        return Err(cx.in_err(2, "is zero"));
                    }
                    let n = ((limit - start) / delta).ceil().max(0.0);
                    if !n.is_finite() || n > dims::MAX_DIM as f64 {
                        return Err(cx.err(format!("range length {n} is out of range")));
                    }
                    Dim::Fixed(n as u64)
                }
                _ => cx.fresh(),
            };
            Ok(vec![TensorType::new(s.dtype, vec![n])])
        }
        Op::EyeLike { dtype, .. } => {
            let x = cx.input(0)?;
            cx.want_rank(0, x, 2)?;
            Ok(vec![TensorType::new(
                dtype.unwrap_or(x.dtype),
                x.shape.clone(),
            )])
        }
        Op::OneHot { axis } => {
            let idx = cx.input(0)?;
            cx.want_dtype(0, idx, dt::numeric, "a numeric type")?;
            let depth = cx.input(1)?;
            if depth.num_elements() != Some(1) {
                return Err(cx.in_err(1, format!("must hold one element, got {depth}")));
            }
            let values = cx.input(2)?;
            cx.want_rank(2, values, 1)?;
            if values.shape[0].fixed().is_some_and(|n| n != 2) {
                return Err(cx.in_err(
                    2,
                    format!("has {} entries, expected 2 (off, on)", values.shape[0]),
                ));
            }
            let r = idx.rank() + 1;
            let a = cx.axis(*axis, r, "attribute `axis`")?;
            let d = match cx.floats(1)?.as_deref() {
                Some(&[v]) => {
                    if !(v >= 1.0 && v <= dims::MAX_DIM as f64) {
                        return Err(cx.in_err(1, format!("holds invalid depth {v}")));
                    }
                    Dim::Fixed(v as u64)
                }
                _ => match cx.values(1)?.as_deref() {
                    Some([SymInt::Sym(s)]) => Dim::Sym(s.clone()),
                    _ => cx.fresh(),
                },
            };
            let mut shape = idx.shape.clone();
            shape.insert(a, d);
            Ok(vec![TensorType::new(values.dtype, shape)])
        }
        Op::NonZero {} => {
            let x = cx.input(0)?;
            Ok(vec![TensorType::new(
                DType::I64,
                vec![Dim::Fixed(x.rank() as u64), cx.fresh()],
            )])
        }
        other => Err(cx.err(format!("no generator rule for `{}`", other.name()))),
    }
}
