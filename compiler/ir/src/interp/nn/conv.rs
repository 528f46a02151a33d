//! Conv (1-D to 3-D, groups, dilations, strides, pads, auto_pad, bias): im2col plus
//! `sgemm`/`dgemm` per group, a direct loop for depthwise convolution.

use super::gemm::Mat;
use super::util::{
    count, float_dtype, kernel_from, opt, req, same_dtype, window, Float, Res, Window, WindowAttrs,
};
use crate::interp::InterpError;
use crate::{DType, Op, Tensor};

/// Geometry padded to exactly three spatial dims (leading dims of size 1), so one
/// loop nest serves 1-D, 2-D and 3-D.
#[derive(Clone, Debug)]
pub(crate) struct Geom3 {
    pub input: [usize; 3],
    pub kernel: [usize; 3],
    pub strides: [usize; 3],
    pub dilations: [usize; 3],
    pub pad_begin: [usize; 3],
    pub pad_end: [usize; 3],
    pub out: [usize; 3],
}

impl Geom3 {
    pub fn new(op: &Op, input: &[usize], w: &Window) -> Res<Geom3> {
        let r = input.len();
        if r == 0 || r > 3 {
            return Err(InterpError::op(
                op,
                format!("expected 1 to 3 spatial dims, got {r}"),
            ));
        }
        let pad3 = |v: &[usize], fill: usize| -> [usize; 3] {
            let mut o = [fill; 3];
            o[3 - r..].copy_from_slice(v);
            o
        };
        Ok(Geom3 {
            input: pad3(input, 1),
            kernel: pad3(&w.kernel, 1),
            strides: pad3(&w.strides, 1),
            dilations: pad3(&w.dilations, 1),
            pad_begin: pad3(&w.pad_begin, 0),
            pad_end: pad3(&w.pad_end, 0),
            out: pad3(&w.out, 1),
        })
    }

    pub fn in_size(&self) -> usize {
        self.input.iter().product()
    }
    pub fn out_size(&self) -> usize {
        self.out.iter().product()
    }
    pub fn kernel_size(&self) -> usize {
        self.kernel.iter().product()
    }

    /// Input coordinate along dim `d` for output `o` and kernel tap `k`, if inside.
    #[inline]
    pub fn src(&self, d: usize, o: usize, k: usize) -> Option<usize> {
        let p = o * self.strides[d] + k * self.dilations[d];
        p.checked_sub(self.pad_begin[d])
            .filter(|&i| i < self.input[d])
    }

    /// Range of outputs along dim `d` whose tap `k` lands inside the input.
    #[inline]
    pub fn valid(&self, d: usize, k: usize) -> (usize, usize) {
        let (s, off) = (self.strides[d], k * self.dilations[d]);
        // o*s + off - pb >= 0  <=>  o >= ceil((pb - off) / s)
        let lo = self.pad_begin[d].saturating_sub(off).div_ceil(s);
        // o*s + off - pb <= in - 1  <=>  o <= (in - 1 + pb - off) / s
        let hi = match (self.input[d] + self.pad_begin[d]).checked_sub(off + 1) {
            Some(v) => (v / s + 1).min(self.out[d]),
            None => 0,
        };
        (lo.min(hi), hi)
    }

    /// Whether im2col would be the identity (1x1 kernel, stride 1, no padding).
    fn is_pointwise(&self) -> bool {
        self.kernel == [1; 3]
            && self.strides == [1; 3]
            && self.pad_begin == [0; 3]
            && self.out == self.input
    }
}

/// Unfolds `channels` channels of `x` into `col` (`channels * kernel` rows of
/// `out_size` columns), writing zeros for padding taps.
fn im2col<T: Float>(g: &Geom3, channels: usize, x: &[T], col: &mut [T]) {
    let [od_n, oh_n, ow_n] = g.out;
    let [kd_n, kh_n, kw_n] = g.kernel;
    let [_, ih_n, iw_n] = g.input;
    let out_sp = g.out_size();
    let in_sp = g.in_size();
    let mut row = 0;
    for c in 0..channels {
        let xc = &x[c * in_sp..(c + 1) * in_sp];
        for kd in 0..kd_n {
            for kh in 0..kh_n {
                for kw in 0..kw_n {
                    let dst = &mut col[row * out_sp..(row + 1) * out_sp];
                    row += 1;
                    let (lo, hi) = g.valid(2, kw);
                    for od in 0..od_n {
                        let id = g.src(0, od, kd);
                        for oh in 0..oh_n {
                            let seg =
                                &mut dst[(od * oh_n + oh) * ow_n..(od * oh_n + oh + 1) * ow_n];
                            let (Some(id), Some(ih)) = (id, g.src(1, oh, kh)) else {
                                seg.fill(T::ZERO);
                                continue;
                            };
                            let base = (id * ih_n + ih) * iw_n;
                            seg[..lo].fill(T::ZERO);
                            seg[hi..].fill(T::ZERO);
                            // No column of this tap lands inside the row (and `first`
                            // below would underflow).
                            if lo == hi {
                                continue;
                            }
                            let first = lo * g.strides[2] + kw * g.dilations[2] - g.pad_begin[2];
                            if g.strides[2] == 1 {
                                seg[lo..hi]
                                    .copy_from_slice(&xc[base + first..base + first + (hi - lo)]);
                            } else {
                                for (j, v) in seg[lo..hi].iter_mut().enumerate() {
                                    *v = xc[base + first + j * g.strides[2]];
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Depthwise convolution of one input channel `x` with one filter `w` into `y`.
fn depthwise<T: Float>(g: &Geom3, x: &[T], w: &[T], y: &mut [T]) {
    let [od_n, oh_n, ow_n] = g.out;
    let [kd_n, kh_n, kw_n] = g.kernel;
    let [_, ih_n, iw_n] = g.input;
    let sw = g.strides[2];
    let valid_w: Vec<(usize, usize)> = (0..kw_n).map(|kw| g.valid(2, kw)).collect();
    for od in 0..od_n {
        for oh in 0..oh_n {
            let yrow = &mut y[(od * oh_n + oh) * ow_n..(od * oh_n + oh + 1) * ow_n];
            for kd in 0..kd_n {
                let Some(id) = g.src(0, od, kd) else { continue };
                for kh in 0..kh_n {
                    let Some(ih) = g.src(1, oh, kh) else { continue };
                    let xrow = &x[(id * ih_n + ih) * iw_n..(id * ih_n + ih + 1) * iw_n];
                    for (kw, &(lo, hi)) in valid_w.iter().enumerate() {
                        if lo == hi {
                            continue; // tap kw never lands inside the row
                        }
                        let wv = w[(kd * kh_n + kh) * kw_n + kw];
                        let first = lo * sw + kw * g.dilations[2] - g.pad_begin[2];
                        if sw == 1 {
                            for (yv, xv) in yrow[lo..hi].iter_mut().zip(&xrow[first..]) {
                                *yv += wv * *xv;
                            }
                        } else {
                            for (j, yv) in yrow[lo..hi].iter_mut().enumerate() {
                                *yv += wv * xrow[first + j * sw];
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Checked shapes of one Conv.
pub(crate) struct ConvShape {
    pub n: usize,
    pub c: usize,
    pub m: usize,
    pub group: usize,
    pub geom: Geom3,
    pub out_shape: Vec<usize>,
}

/// Validates a Conv's operands and attributes and resolves its geometry (shared
/// with the integer kernel so both read the attributes the same way).
pub(crate) fn conv_shape(op: &Op, x: &Tensor, w: &Tensor, b: Option<&Tensor>) -> Res<ConvShape> {
    let Op::Conv {
        auto_pad,
        kernel_shape,
        strides,
        pads,
        dilations,
        group,
    } = op
    else {
        return Err(InterpError::op(op, "not a Conv"));
    };
    let xs = x.shape();
    let ws = w.shape();
    if xs.len() < 3 {
        return Err(InterpError::op(
            op,
            format!("x must have rank >= 3 ([N, C, spatial...]), got shape {xs:?}"),
        ));
    }
    if ws.len() != xs.len() {
        return Err(InterpError::op(
            op,
            format!("w must have the rank of x ({}), got shape {ws:?}", xs.len()),
        ));
    }
    let group = usize::try_from(*group)
        .ok()
        .filter(|&g| g > 0)
        .ok_or_else(|| InterpError::op(op, format!("group must be positive, got {group}")))?;
    let (n, c, m) = (xs[0], xs[1], ws[0]);
    if c % group != 0 || ws[1] * group != c {
        return Err(InterpError::op(
            op,
            format!(
                "x has {c} channels; with group {group} w's dim 1 must be {}, got w shape {ws:?}",
                c / group.max(1)
            ),
        ));
    }
    if m % group != 0 {
        return Err(InterpError::op(
            op,
            format!("output channels {m} are not divisible by group {group}"),
        ));
    }
    let kernel = kernel_from(op, kernel_shape, &ws[2..])?;
    if let Some(b) = b {
        if b.shape() != [m] {
            return Err(InterpError::op(
                op,
                format!("bias must have shape [{m}], got {:?}", b.shape()),
            ));
        }
    }
    let win = window(
        op,
        &xs[2..],
        &kernel,
        &WindowAttrs {
            auto_pad: *auto_pad,
            strides,
            pads,
            dilations,
            ceil_mode: false,
        },
    )?;
    let geom = Geom3::new(op, &xs[2..], &win)?;
    let mut out_shape = vec![n, m];
    out_shape.extend(&win.out);
    count(op, &out_shape)?;
    Ok(ConvShape {
        n,
        c,
        m,
        group,
        geom,
        out_shape,
    })
}

fn conv_impl<T: Float>(
    op: &Op,
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    s: &ConvShape,
) -> Res<Tensor> {
    let xv = T::slice(op, x, "x")?;
    let wv = T::slice(op, w, "w")?;
    let g = &s.geom;
    let (cg, mg) = (s.c / s.group, s.m / s.group);
    let (in_sp, out_sp, ksz) = (g.in_size(), g.out_size(), g.kernel_size());
    let mut y = vec![T::ZERO; count(op, &s.out_shape)?];
    if cg == 1 && s.group == s.c {
        for bi in 0..s.n {
            for oc in 0..s.m {
                let ci = oc / mg;
                let xs = &xv[(bi * s.c + ci) * in_sp..(bi * s.c + ci + 1) * in_sp];
                let ws = &wv[oc * ksz..(oc + 1) * ksz];
                let ys = &mut y[(bi * s.m + oc) * out_sp..(bi * s.m + oc + 1) * out_sp];
                depthwise(g, xs, ws, ys);
            }
        }
    } else {
        let pointwise = g.is_pointwise();
        let rows = cg * ksz;
        let mut col = if pointwise {
            Vec::new()
        } else {
            vec![T::ZERO; count(op, &[rows, out_sp])?]
        };
        for bi in 0..s.n {
            for gi in 0..s.group {
                let c0 = bi * s.c + gi * cg;
                let xs = &xv[c0 * in_sp..(c0 + cg) * in_sp];
                let bmat: &[T] = if pointwise {
                    xs
                } else {
                    im2col(g, cg, xs, &mut col);
                    &col
                };
                let wm = &wv[gi * mg * rows..(gi + 1) * mg * rows];
                let m0 = bi * s.m + gi * mg;
                let ys = &mut y[m0 * out_sp..(m0 + mg) * out_sp];
                T::gemm(
                    mg,
                    rows,
                    out_sp,
                    T::of(1.0),
                    Mat::rows(wm, rows),
                    Mat::rows(bmat, out_sp),
                    T::ZERO,
                    ys,
                    out_sp,
                );
            }
        }
    }
    if let Some(b) = b {
        let bv = T::slice(op, b, "bias")?;
        for (i, plane) in y.chunks_mut(out_sp.max(1)).enumerate() {
            let bias = bv[i % s.m];
            for v in plane {
                *v += bias;
            }
        }
    }
    T::tensor(op, x.dtype(), s.out_shape.clone(), y)
}

/// Conv: inputs x, w, b?.
pub(crate) fn conv(op: &Op, inputs: &[Option<&Tensor>]) -> Res<Vec<Tensor>> {
    let x = req(op, inputs, 0, "x")?;
    let w = req(op, inputs, 1, "w")?;
    let b = opt(inputs, 2);
    let dt = float_dtype(op, x, "x")?;
    same_dtype(op, w, dt, "w")?;
    if let Some(b) = b {
        same_dtype(op, b, dt, "bias")?;
    }
    let s = conv_shape(op, x, w, b)?;
    let y = if dt == DType::F64 {
        conv_impl::<f64>(op, x, w, b, &s)?
    } else {
        conv_impl::<f32>(op, x, w, b, &s)?
    };
    Ok(vec![y])
}
