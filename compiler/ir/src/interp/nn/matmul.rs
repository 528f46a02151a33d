//! MatMul (numpy semantics: 1-D operands, batched broadcasting) and Gemm, on
//! `sgemm`/`dgemm` for floats (f16 computes in f32) and wrapping i64 arithmetic for integers.

use super::gemm::Mat;
use super::util::{check_rank, count, opt, req, Float, Res};
use crate::interp::InterpError;
use crate::{DType, Element, Op, Tensor};

/// Broadcasts two batch shapes numpy-style (the shared elementwise rule).
fn broadcast_shapes(op: &Op, a: &[usize], b: &[usize]) -> Res<Vec<usize>> {
    crate::interp::strided::broadcast_shapes(a, b)
        .ok_or_else(|| InterpError::op(op, format!("batch dims {a:?} and {b:?} do not broadcast")))
}

/// Element offsets (in units of whole matrices) of each output batch index into an
/// operand with batch shape `shape`, broadcast to `out` (row-major). Code generators
/// use it to lay out batched products exactly as the interpreter runs them.
pub fn batch_offsets(shape: &[usize], out: &[usize]) -> Vec<usize> {
    let n: usize = out.iter().product();
    let r = out.len();
    // Strides of the operand, zero where it broadcasts.
    let mut strides = vec![0usize; r];
    let mut acc = 1;
    for i in (0..shape.len()).rev() {
        let oi = i + r - shape.len();
        strides[oi] = if shape[i] == 1 { 0 } else { acc };
        acc *= shape[i];
    }
    let mut offs = Vec::with_capacity(n);
    let mut idx = vec![0usize; r];
    for _ in 0..n {
        offs.push(idx.iter().zip(&strides).map(|(i, s)| i * s).sum());
        for d in (0..r).rev() {
            idx[d] += 1;
            if idx[d] < out[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    offs
}

/// The shapes of one MatMul: batch dims and m, k, n, plus the output shape.
pub(crate) struct MatMulShape {
    pub a_batch: Vec<usize>,
    pub b_batch: Vec<usize>,
    pub batch: Vec<usize>,
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub out: Vec<usize>,
}

pub(crate) fn matmul_shape(op: &Op, a: &[usize], b: &[usize]) -> Res<MatMulShape> {
    if a.is_empty() || b.is_empty() {
        return Err(InterpError::op(
            op,
            "operands must have rank >= 1, got a scalar",
        ));
    }
    let (a_batch, m, ka) = if a.len() == 1 {
        (vec![], 1, a[0])
    } else {
        (a[..a.len() - 2].to_vec(), a[a.len() - 2], a[a.len() - 1])
    };
    let (b_batch, kb, n) = if b.len() == 1 {
        (vec![], b[0], 1)
    } else {
        (b[..b.len() - 2].to_vec(), b[b.len() - 2], b[b.len() - 1])
    };
    if ka != kb {
        return Err(InterpError::op(
            op,
            format!("inner dims differ: a is {a:?}, b is {b:?}"),
        ));
    }
    let batch = broadcast_shapes(op, &a_batch, &b_batch)?;
    let mut out = batch.clone();
    if a.len() > 1 {
        out.push(m);
    }
    if b.len() > 1 {
        out.push(n);
    }
    count(op, &out)?;
    Ok(MatMulShape {
        a_batch,
        b_batch,
        batch,
        m,
        k: ka,
        n,
        out,
    })
}

fn matmul_float<T: Float>(op: &Op, a: &Tensor, b: &Tensor, s: &MatMulShape) -> Res<Tensor> {
    let av = T::slice(op, a, "a")?;
    let bv = T::slice(op, b, "b")?;
    let (m, k, n) = (s.m, s.k, s.n);
    let total = count(op, &s.out)?;
    let mut y = vec![T::ZERO; total];
    let b_single = s.b_batch.iter().product::<usize>() == 1;
    if b_single && s.a_batch == s.batch {
        // b is one matrix: fold a's batch into the rows, one big product.
        let rows = total / n.max(1);
        T::gemm(
            rows,
            k,
            n,
            T::of(1.0),
            Mat::rows(&av, k),
            Mat::rows(&bv, n),
            T::ZERO,
            &mut y,
            n,
        );
    } else {
        let ao = batch_offsets(&s.a_batch, &s.batch);
        let bo = batch_offsets(&s.b_batch, &s.batch);
        for (i, (oa, ob)) in ao.iter().zip(&bo).enumerate() {
            let a_m = &av[oa * m * k..(oa + 1) * m * k];
            let b_m = &bv[ob * k * n..(ob + 1) * k * n];
            let c = &mut y[i * m * n..(i + 1) * m * n];
            T::gemm(
                m,
                k,
                n,
                T::of(1.0),
                Mat::rows(a_m, k),
                Mat::rows(b_m, n),
                T::ZERO,
                c,
                n,
            );
        }
    }
    T::tensor(op, a.dtype(), s.out.clone(), y)
}

fn matmul_int<E: Element>(op: &Op, a: &[E], b: &[E], s: &MatMulShape) -> Res<Tensor> {
    let (m, k, n) = (s.m, s.k, s.n);
    let ao = batch_offsets(&s.a_batch, &s.batch);
    let bo = batch_offsets(&s.b_batch, &s.batch);
    let mut y = Vec::with_capacity(count(op, &s.out)?);
    let bi: Vec<i64> = b.iter().map(|x| x.to_i64()).collect();
    for (oa, ob) in ao.iter().zip(&bo) {
        let a_m = &a[oa * m * k..(oa + 1) * m * k];
        let b_m = &bi[ob * k * n..(ob + 1) * k * n];
        for i in 0..m {
            let mut row = vec![0i64; n];
            for p in 0..k {
                let av = a_m[i * k + p].to_i64();
                for (r, bv) in row.iter_mut().zip(&b_m[p * n..(p + 1) * n]) {
                    *r = r.wrapping_add(av.wrapping_mul(*bv));
                }
            }
            y.extend(row.into_iter().map(E::from_i64));
        }
    }
    Tensor::from_vec(s.out.clone(), y).map_err(|e| InterpError::op(op, e.to_string()))
}

/// MatMul: inputs a, b.
pub(crate) fn matmul(op: &Op, inputs: &[Option<&Tensor>]) -> Res<Vec<Tensor>> {
    let a = req(op, inputs, 0, "a")?;
    let b = req(op, inputs, 1, "b")?;
    if a.dtype() != b.dtype() {
        return Err(InterpError::op(
            op,
            format!(
                "a and b must have the same dtype, got {} and {}",
                a.dtype(),
                b.dtype()
            ),
        ));
    }
    let s = matmul_shape(op, a.shape(), b.shape())?;
    let y = match a.dtype() {
        DType::F32 | DType::F16 => matmul_float::<f32>(op, a, b, &s)?,
        DType::F64 => matmul_float::<f64>(op, a, b, &s)?,
        DType::Bool => return Err(InterpError::op(op, "expected a numeric dtype, got bool")),
        _ => crate::with_data!(a.data(), av => {
            let bv = Element::unwrap_ref(b.data()).ok_or_else(|| InterpError::op(op, "dtype mismatch"))?;
            matmul_int(op, av, bv, &s)?
        }),
    };
    Ok(vec![y])
}

/// Gemm: inputs a, b, c?; `y = alpha * op(a) op(b) + beta * c`.
pub(crate) fn gemm(op: &Op, inputs: &[Option<&Tensor>]) -> Res<Vec<Tensor>> {
    let Op::Gemm {
        alpha,
        beta,
        trans_a,
        trans_b,
    } = *op
    else {
        return Err(InterpError::op(op, "not a Gemm"));
    };
    let a = req(op, inputs, 0, "a")?;
    let b = req(op, inputs, 1, "b")?;
    let c = opt(inputs, 2);
    check_rank(op, a, 2, "a")?;
    check_rank(op, b, 2, "b")?;
    let (m, ka) = if trans_a {
        (a.shape()[1], a.shape()[0])
    } else {
        (a.shape()[0], a.shape()[1])
    };
    let (kb, n) = if trans_b {
        (b.shape()[1], b.shape()[0])
    } else {
        (b.shape()[0], b.shape()[1])
    };
    if ka != kb {
        return Err(InterpError::op(
            op,
            format!(
                "inner dims differ: a is {:?} (trans_a={trans_a}), b is {:?} (trans_b={trans_b})",
                a.shape(),
                b.shape()
            ),
        ));
    }
    for (t, name) in [(Some(b), "b"), (c, "c")] {
        if let Some(t) = t {
            if t.dtype() != a.dtype() {
                return Err(InterpError::op(
                    op,
                    format!(
                        "{name} must have dtype {} like a, got {}",
                        a.dtype(),
                        t.dtype()
                    ),
                ));
            }
        }
    }
    let out = vec![m, n];
    count(op, &out)?;
    // Index of c's element for each output position (unidirectional broadcast).
    let c_index = |cs: &[usize]| -> Res<(usize, usize)> {
        let (cr, cc) = match cs.len() {
            0 => (1, 1),
            1 => (1, cs[0]),
            2 => (cs[0], cs[1]),
            _ => (0, 0),
        };
        if (cr != 1 && cr != m) || (cc != 1 && cc != n) {
            return Err(InterpError::op(
                op,
                format!("c of shape {cs:?} does not broadcast to [{m}, {n}]"),
            ));
        }
        Ok((if cr == 1 { 0 } else { cc }, if cc == 1 { 0 } else { 1 }))
    };
    let c_strides = c.map(|c| c_index(c.shape())).transpose()?;
    let y = match a.dtype() {
        DType::F32 | DType::F16 => gemm_float::<f32>(op, a, b, c, c_strides, (m, ka, n))?,
        DType::F64 => gemm_float::<f64>(op, a, b, c, c_strides, (m, ka, n))?,
        DType::Bool => return Err(InterpError::op(op, "expected a numeric dtype, got bool")),
        _ => {
            let (av, bv) = (a.to_i64_vec(), b.to_i64_vec());
            let cv = c.map(|c| c.to_i64_vec());
            let mut y = Vec::with_capacity(m * n);
            for i in 0..m {
                for j in 0..n {
                    let mut acc = 0i64;
                    for p in 0..ka {
                        let x = if trans_a {
                            av[p * m + i]
                        } else {
                            av[i * ka + p]
                        };
                        let w = if trans_b {
                            bv[j * ka + p]
                        } else {
                            bv[p * n + j]
                        };
                        acc = acc.wrapping_add(x.wrapping_mul(w));
                    }
                    let mut v = if alpha == 1.0 {
                        acc
                    } else {
                        (alpha as f64 * acc as f64) as i64
                    };
                    if let (Some(cv), Some((rs, cs))) = (&cv, c_strides) {
                        let cval = cv[i * rs + j * cs];
                        v = v.wrapping_add(if beta == 1.0 {
                            cval
                        } else {
                            (beta as f64 * cval as f64) as i64
                        });
                    }
                    y.push(v);
                }
            }
            Tensor::from_vec(out, y)
                .map_err(|e| InterpError::op(op, e.to_string()))?
                .cast(a.dtype())
        }
    };
    Ok(vec![y])
}

fn gemm_float<T: Float>(
    op: &Op,
    a: &Tensor,
    b: &Tensor,
    c: Option<&Tensor>,
    c_strides: Option<(usize, usize)>,
    (m, k, n): (usize, usize, usize),
) -> Res<Tensor> {
    let Op::Gemm {
        alpha,
        beta,
        trans_a,
        trans_b,
    } = *op
    else {
        return Err(InterpError::op(op, "not a Gemm"));
    };
    let av = T::slice(op, a, "a")?;
    let bv = T::slice(op, b, "b")?;
    let mut y = vec![T::ZERO; m * n];
    let mut beta_t = T::ZERO;
    if let (Some(c), Some((rs, cs))) = (c, c_strides) {
        let cv = T::slice(op, c, "c")?;
        for i in 0..m {
            for j in 0..n {
                y[i * n + j] = cv[i * rs + j * cs];
            }
        }
        beta_t = T::of(beta as f64);
    }
    let am = if trans_a {
        Mat::transposed(&av, m)
    } else {
        Mat::rows(&av, k)
    };
    let bm = if trans_b {
        Mat::transposed(&bv, k)
    } else {
        Mat::rows(&bv, n)
    };
    T::gemm(m, k, n, T::of(alpha as f64), am, bm, beta_t, &mut y, n);
    T::tensor(op, a.dtype(), vec![m, n], y)
}
