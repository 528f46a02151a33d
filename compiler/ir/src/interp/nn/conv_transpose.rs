//! ConvTranspose: per group `W_gᵀ · X_g` with `sgemm`/`dgemm`, then col2im
//! scatter-add into the output (strides, dilations, pads, output_padding,
//! output_shape and auto_pad as ONNX specifies them).

use super::gemm::Mat;
use super::util::{
    axis, count, float_dtype, kernel_from, opt, pad_list, positive_list, req, same_dtype, Float,
    Res,
};
use crate::geometry;
use crate::interp::InterpError;
use crate::ops::AutoPad;
use crate::{DType, Op, Tensor};

/// Resolved geometry, per spatial dim; pads may be negative when `output_shape`
/// asks for more output than the natural size. Input position `i` and kernel tap
/// `k` land on output position `i·stride + k·dilation − pad_begin` (dropped when
/// outside `0..out`).
pub(crate) struct TGeom {
    pub input: Vec<usize>,
    pub kernel: Vec<usize>,
    pub strides: Vec<usize>,
    pub dilations: Vec<usize>,
    pub pad_begin: Vec<i64>,
    pub out: Vec<usize>,
}

/// Checked shapes of one ConvTranspose.
pub(crate) struct TransposeShape {
    pub n: usize,
    pub c: usize,
    /// Output channels: `w`'s dim 1 times `group`.
    pub m: usize,
    pub group: usize,
    pub geom: TGeom,
    pub out_shape: Vec<usize>,
}

/// Validates a ConvTranspose's operand shapes and attributes and resolves its
/// geometry (shared with the integer kernel so both read the attributes the same
/// way). Dtypes are the caller's to check.
pub(crate) fn transpose_shape(
    op: &Op,
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
) -> Res<TransposeShape> {
    let Op::ConvTranspose { group, .. } = op else {
        return Err(InterpError::op(op, "not a ConvTranspose"));
    };
    let (xs, ws) = (x.shape(), w.shape());
    if xs.len() < 3 || ws.len() != xs.len() {
        return Err(InterpError::op(
            op,
            format!("x must have rank >= 3 and w the same rank, got x {xs:?} and w {ws:?}"),
        ));
    }
    let group = usize::try_from(*group)
        .ok()
        .filter(|&g| g > 0)
        .ok_or_else(|| InterpError::op(op, format!("group must be positive, got {group}")))?;
    if xs[1] % group != 0 || ws[0] != xs[1] {
        return Err(InterpError::op(
            op,
            format!("w's dim 0 must equal x's {} channels and be divisible by group {group}, got w {ws:?}", xs[1]),
        ));
    }
    let m = ws[1] * group;
    if let Some(b) = b {
        if b.shape() != [m] {
            return Err(InterpError::op(
                op,
                format!("bias must have shape [{m}], got {:?}", b.shape()),
            ));
        }
    }
    let geom = transposed_geometry(op, xs, ws)?;
    let mut out_shape = vec![xs[0], m];
    out_shape.extend(&geom.out);
    count(op, &out_shape)?;
    Ok(TransposeShape {
        n: xs[0],
        c: xs[1],
        m,
        group,
        geom,
        out_shape,
    })
}

pub(super) fn transposed_geometry(op: &Op, xs: &[usize], ws: &[usize]) -> Res<TGeom> {
    let Op::ConvTranspose {
        auto_pad,
        kernel_shape,
        strides,
        pads,
        dilations,
        output_padding,
        output_shape,
        ..
    } = op
    else {
        return Err(InterpError::op(op, "not a ConvTranspose"));
    };
    let r = xs.len() - 2;
    let kernel = kernel_from(op, kernel_shape, &ws[2..])?;
    let strides = positive_list(op, "strides", strides, r)?;
    let dilations = positive_list(op, "dilations", dilations, r)?;
    let out_pad: Vec<i64> = if output_padding.is_empty() {
        vec![0; r]
    } else {
        output_padding.clone()
    };
    if out_pad.len() != r || out_pad.iter().any(|&p| p < 0) {
        return Err(InterpError::op(
            op,
            format!("output_padding must have {r} non-negative entries, got {output_padding:?}"),
        ));
    }
    let given: Option<Vec<i64>> = geometry::output_shape_spatial(output_shape, r)
        .map_err(|_| {
            InterpError::op(
                op,
                format!("output_shape must have {r} entries (spatial dims), got {output_shape:?}"),
            )
        })?
        .map(<[i64]>::to_vec);
    if let Some(g) = &given {
        if g.iter().any(|&d| d < 0) {
            return Err(InterpError::op(
                op,
                format!("output_shape must be non-negative, got {g:?}"),
            ));
        }
    }
    let (pb, pe) = match auto_pad {
        AutoPad::NotSet => pad_list(op, pads, r)?,
        _ => (vec![0; r], vec![0; r]),
    };
    let explicit_pads = *auto_pad == AutoPad::NotSet && pads.iter().any(|&p| p != 0);
    let mut pad_begin = vec![0i64; r];
    let mut out = vec![0usize; r];
    for d in 0..r {
        if xs[d + 2] == 0 {
            return Err(InterpError::op(op, "x has an empty spatial dim"));
        }
        let axis = axis(d, &kernel, &strides, &dilations, (&pb, &pe));
        let (i, op_d) = (xs[d + 2] as u64, out_pad[d] as u64);
        let overflow = || InterpError::op(op, "output size overflows");
        let natural = geometry::transpose_natural(i, &axis, op_d).ok_or_else(overflow)?;
        // The size without `output_shape`; SAME pads are then what makes it fit.
        let default = geometry::transpose_out(i, &axis, op_d, *auto_pad).ok_or_else(overflow)?;
        let given_d = given.as_ref().map(|g| i128::from(g[d]));
        let (begin, size) = match auto_pad {
            AutoPad::SameUpper | AutoPad::SameLower => {
                let o = given_d.unwrap_or(default);
                let total = natural - o;
                let half = total.div_euclid(2);
                let b = if *auto_pad == AutoPad::SameUpper {
                    half
                } else {
                    total - half
                };
                (b, o)
            }
            _ if given.is_some() && !explicit_pads => {
                let o = given_d.unwrap_or(0);
                let total = natural - o;
                (total - total.div_euclid(2), o)
            }
            _ => (i128::from(axis.pad_begin), given_d.unwrap_or(default)),
        };
        if size <= 0 {
            return Err(InterpError::op(
                op,
                format!("output size in spatial dim {d} would be {size}; pads are larger than the output"),
            ));
        }
        pad_begin[d] = i64::try_from(begin).map_err(|_| overflow())?;
        out[d] = usize::try_from(size).map_err(|_| overflow())?;
    }
    Ok(TGeom {
        input: xs[2..].to_vec(),
        kernel,
        strides,
        dilations,
        pad_begin,
        out,
    })
}

/// Scatter-adds `cols` (`channels * kernel` rows of `in_size` columns) into `y`
/// (`channels` planes of the output).
fn col2im<T: Float>(g: &TGeom, channels: usize, cols: &[T], y: &mut [T]) {
    let r = g.input.len();
    let in_sp: usize = g.input.iter().product();
    let out_sp: usize = g.out.iter().product();
    let ksz: usize = g.kernel.iter().product();
    let mut kidx = vec![0usize; r];
    let mut iidx = vec![0usize; r];
    for c in 0..channels {
        let yc = &mut y[c * out_sp..(c + 1) * out_sp];
        kidx.fill(0);
        for kr in 0..ksz {
            let row = &cols[(c * ksz + kr) * in_sp..(c * ksz + kr + 1) * in_sp];
            iidx.fill(0);
            for &v in row {
                let mut flat = 0usize;
                let mut inside = true;
                for d in 0..r {
                    let p =
                        (iidx[d] * g.strides[d] + kidx[d] * g.dilations[d]) as i64 - g.pad_begin[d];
                    if p < 0 || p >= g.out[d] as i64 {
                        inside = false;
                        break;
                    }
                    flat = flat * g.out[d] + p as usize;
                }
                if inside {
                    yc[flat] += v;
                }
                for d in (0..r).rev() {
                    iidx[d] += 1;
                    if iidx[d] < g.input[d] {
                        break;
                    }
                    iidx[d] = 0;
                }
            }
            for d in (0..r).rev() {
                kidx[d] += 1;
                if kidx[d] < g.kernel[d] {
                    break;
                }
                kidx[d] = 0;
            }
        }
    }
}

fn run<T: Float>(
    op: &Op,
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    group: usize,
    g: &TGeom,
    out_shape: &[usize],
) -> Res<Tensor> {
    let xv = T::slice(op, x, "x")?;
    let wv = T::slice(op, w, "w")?;
    let (n, c, m) = (out_shape[0], x.shape()[1], out_shape[1]);
    let (cg, mg) = (c / group, m / group);
    let in_sp: usize = g.input.iter().product();
    let out_sp: usize = g.out.iter().product();
    let ksz: usize = g.kernel.iter().product();
    let rows = mg * ksz;
    let mut y = vec![T::ZERO; count(op, out_shape)?];
    let mut cols = vec![T::ZERO; count(op, &[rows, in_sp])?];
    for bi in 0..n {
        for gi in 0..group {
            let c0 = bi * c + gi * cg;
            let xg = &xv[c0 * in_sp..(c0 + cg) * in_sp];
            let wg = &wv[gi * cg * rows..(gi + 1) * cg * rows];
            T::gemm(
                rows,
                cg,
                in_sp,
                T::of(1.0),
                Mat::transposed(wg, rows),
                Mat::rows(xg, in_sp),
                T::ZERO,
                &mut cols,
                in_sp,
            );
            let m0 = bi * m + gi * mg;
            col2im(g, mg, &cols, &mut y[m0 * out_sp..(m0 + mg) * out_sp]);
        }
    }
    if let Some(b) = b {
        let bv = T::slice(op, b, "bias")?;
        for (i, plane) in y.chunks_mut(out_sp.max(1)).enumerate() {
            let bias = bv[i % m];
            for v in plane {
                *v += bias;
            }
        }
    }
    T::tensor(op, x.dtype(), out_shape.to_vec(), y)
}

/// ConvTranspose: inputs x, w, b?.
pub(crate) fn conv_transpose(op: &Op, inputs: &[Option<&Tensor>]) -> Res<Vec<Tensor>> {
    let x = req(op, inputs, 0, "x")?;
    let w = req(op, inputs, 1, "w")?;
    let b = opt(inputs, 2);
    let dt = float_dtype(op, x, "x")?;
    same_dtype(op, w, dt, "w")?;
    if let Some(b) = b {
        same_dtype(op, b, dt, "bias")?;
    }
    let s = transpose_shape(op, x, w, b)?;
    let y = if dt == DType::F64 {
        run::<f64>(op, x, w, b, s.group, &s.geom, &s.out_shape)?
    } else {
        run::<f32>(op, x, w, b, s.group, &s.geom, &s.out_shape)?
    };
    Ok(vec![y])
}
