//! Einsum: general equations with ellipsis broadcasting, repeated indices
//! (diagonals), implicit output and any number of operands. One strided walk over
//! every label; floats accumulate in f64, integers in wrapping i64.

use super::util::{count, Res};
use crate::einsum_spec::{self, Term};
use crate::interp::InterpError;
use crate::{DType, Op, Tensor};

/// A label: a letter, or the `j`-th (right-aligned) dim covered by an ellipsis.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Label {
    Ellipsis(usize),
    Letter(char),
}

/// Labels of each dim of an operand of rank `rank` with term `t`, given the
/// equation's ellipsis rank.
fn labels(op: &Op, t: &Term, rank: usize, ell_rank: usize) -> Res<Vec<Label>> {
    let n_ell = if t.ellipsis {
        rank.checked_sub(t.letters()).ok_or_else(|| {
            InterpError::op(
                op,
                format!(
                    "operand of rank {rank} has fewer dims than its einsum term's {} letters",
                    t.letters()
                ),
            )
        })?
    } else if rank != t.letters() {
        return Err(InterpError::op(
            op,
            format!(
                "operand of rank {rank} does not match its einsum term of {} letters",
                t.letters()
            ),
        ));
    } else {
        0
    };
    let mut out: Vec<Label> = t.before.iter().map(|&c| Label::Letter(c)).collect();
    out.extend((ell_rank - n_ell..ell_rank).map(Label::Ellipsis));
    out.extend(t.after.iter().map(|&c| Label::Letter(c)));
    Ok(out)
}

/// Accumulator arithmetic: f64, or wrapping i64 for integer operands.
trait Acc: Copy {
    const ZERO: Self;
    const ONE: Self;
    fn add(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
}
impl Acc for f64 {
    const ZERO: f64 = 0.0;
    const ONE: f64 = 1.0;
    fn add(self, o: f64) -> f64 {
        self + o
    }
    fn mul(self, o: f64) -> f64 {
        self * o
    }
}
impl Acc for i64 {
    const ZERO: i64 = 0;
    const ONE: i64 = 1;
    fn add(self, o: i64) -> i64 {
        self.wrapping_add(o)
    }
    fn mul(self, o: i64) -> i64 {
        self.wrapping_mul(o)
    }
}

/// Walks every assignment of `sizes` (output labels first) accumulating products.
fn contract<A: Acc>(
    ops: &[Vec<A>],
    strides: &[Vec<usize>],
    sizes: &[usize],
    n_out: usize,
    total_out: usize,
) -> Vec<A> {
    let mut y = vec![A::ZERO; total_out];
    if sizes.contains(&0) {
        return y;
    }
    let nl = sizes.len();
    let mut idx = vec![0usize; nl];
    let mut offs = vec![0usize; ops.len()];
    let inner: usize = sizes[n_out..].iter().product();
    for yv in y.iter_mut() {
        let mut acc = A::ZERO;
        for _ in 0..inner {
            let mut p = A::ONE;
            for (o, v) in ops.iter().enumerate() {
                p = p.mul(v[offs[o]]);
            }
            acc = acc.add(p);
            // Advance the contracted labels (innermost last).
            for l in (n_out..nl).rev() {
                idx[l] += 1;
                for (o, s) in strides.iter().enumerate() {
                    offs[o] += s[l];
                }
                if idx[l] < sizes[l] {
                    break;
                }
                for (o, s) in strides.iter().enumerate() {
                    offs[o] -= s[l] * sizes[l];
                }
                idx[l] = 0;
            }
        }
        *yv = acc;
        for l in (0..n_out).rev() {
            idx[l] += 1;
            for (o, s) in strides.iter().enumerate() {
                offs[o] += s[l];
            }
            if idx[l] < sizes[l] {
                break;
            }
            for (o, s) in strides.iter().enumerate() {
                offs[o] -= s[l] * sizes[l];
            }
            idx[l] = 0;
        }
    }
    y
}

/// Einsum: any number of operands of one dtype.
pub(crate) fn einsum(op: &Op, inputs: &[Option<&Tensor>]) -> Res<Vec<Tensor>> {
    let Op::Einsum { equation } = op else {
        return Err(InterpError::op(op, "not an Einsum"));
    };
    let xs: Vec<&Tensor> = inputs
        .iter()
        .enumerate()
        .map(|(i, t)| t.ok_or_else(|| InterpError::op(op, format!("input {i} is missing"))))
        .collect::<Res<_>>()?;
    let spec = einsum_spec::parse(equation).map_err(|e| InterpError::op(op, e.to_string()))?;
    let terms = &spec.inputs;
    if terms.len() != xs.len() {
        return Err(InterpError::op(
            op,
            format!(
                "equation `{equation}` has {} operands, got {} inputs",
                terms.len(),
                xs.len()
            ),
        ));
    }
    let dt = xs[0].dtype();
    if dt == DType::Bool || xs.iter().any(|x| x.dtype() != dt) {
        return Err(InterpError::op(op, "inputs must share one numeric dtype"));
    }
    let ell_rank = terms
        .iter()
        .zip(&xs)
        .filter(|(t, _)| t.ellipsis)
        .map(|(t, x)| x.rank().saturating_sub(t.letters()))
        .max()
        .unwrap_or(0);
    let op_labels: Vec<Vec<Label>> = terms
        .iter()
        .zip(&xs)
        .map(|(t, x)| labels(op, t, x.rank(), ell_rank))
        .collect::<Res<_>>()?;
    // Label sizes (ellipsis dims broadcast; letters must agree).
    let mut size: std::collections::BTreeMap<Label, usize> = Default::default();
    for (labels, x) in op_labels.iter().zip(&xs) {
        for (&l, &d) in labels.iter().zip(x.shape()) {
            match size.get(&l).copied() {
                None => {
                    size.insert(l, d);
                }
                Some(s) if s == d => {}
                Some(s) if matches!(l, Label::Ellipsis(_)) && (s == 1 || d == 1) => {
                    size.insert(l, s.max(d));
                }
                Some(s) => {
                    return Err(InterpError::op(
                        op,
                        format!("label {l:?} has size {s} in one place and {d} in another"),
                    ))
                }
            }
        }
    }
    // The output term: explicit, or implicit (ellipsis dims, then letters used once,
    // alphabetically); `parse` checked its letters are known and not repeated.
    let out = &spec.output;
    let mut out_labels: Vec<Label> = out.before.iter().map(|&c| Label::Letter(c)).collect();
    if out.ellipsis {
        out_labels.extend((0..ell_rank).map(Label::Ellipsis));
    }
    out_labels.extend(out.after.iter().map(|&c| Label::Letter(c)));
    let mut order = out_labels.clone();
    order.extend(size.keys().filter(|l| !out_labels.contains(l)));
    let sizes: Vec<usize> = order.iter().map(|l| size[l]).collect();
    let out_shape: Vec<usize> = sizes[..out_labels.len()].to_vec();
    let total = count(op, &out_shape)?;
    count(op, &sizes)?;
    // Per operand, the stride of each label (summed over repeats: a diagonal).
    let strides: Vec<Vec<usize>> = op_labels
        .iter()
        .zip(&xs)
        .map(|(labels, x)| {
            let mut st = vec![0usize; order.len()];
            let mut acc = 1;
            for (i, l) in labels.iter().enumerate().rev() {
                let d = x.shape()[i];
                if d != 1 || size[l] == 1 {
                    let j = order.iter().position(|o| o == l).unwrap_or(0);
                    st[j] += acc;
                }
                acc *= d;
            }
            st
        })
        .collect();
    let n_out = out_labels.len();
    let y = if dt.is_float() {
        let ops: Vec<Vec<f64>> = xs.iter().map(|x| x.to_f64_vec()).collect();
        let v = contract(&ops, &strides, &sizes, n_out, total);
        Tensor::from_vec(out_shape, v)
            .map_err(|e| InterpError::op(op, e.to_string()))?
            .cast(dt)
    } else {
        let ops: Vec<Vec<i64>> = xs.iter().map(|x| x.to_i64_vec()).collect();
        let v = contract(&ops, &strides, &sizes, n_out, total);
        Tensor::from_vec(out_shape, v)
            .map_err(|e| InterpError::op(op, e.to_string()))?
            .cast(dt)
    };
    Ok(vec![y])
}
