//! Shared helpers of the nn kernels: input access and checks, the float element trait the
//! hot kernels are generic over, and spatial window geometry (pads, strides, output sizes).

use super::gemm;
use crate::geometry;
use crate::interp::InterpError;
use crate::ops::AutoPad;
use crate::{checked_count, DType, Op, Tensor};
use half::f16;
use std::borrow::Cow;
use std::ops::{Add, AddAssign, Mul, Sub};

pub(crate) type Res<T> = Result<T, InterpError>;

/// Required input `i` (named `name` in messages).
pub(crate) fn req<'a>(
    op: &Op,
    inputs: &[Option<&'a Tensor>],
    i: usize,
    name: &str,
) -> Res<&'a Tensor> {
    inputs
        .get(i)
        .copied()
        .flatten()
        .ok_or_else(|| InterpError::op(op, format!("missing required input {i} ({name})")))
}

/// Optional input `i`.
pub(crate) fn opt<'a>(inputs: &[Option<&'a Tensor>], i: usize) -> Option<&'a Tensor> {
    inputs.get(i).copied().flatten()
}

/// Fails unless `t` has rank `rank`.
pub(crate) fn check_rank(op: &Op, t: &Tensor, rank: usize, name: &str) -> Res<()> {
    if t.rank() != rank {
        return Err(InterpError::op(
            op,
            format!("{name} must have rank {rank}, got shape {:?}", t.shape()),
        ));
    }
    Ok(())
}

/// Fails unless `t` has a float dtype; returns it.
pub(crate) fn float_dtype(op: &Op, t: &Tensor, name: &str) -> Res<DType> {
    let dt = t.dtype();
    if !dt.is_float() {
        return Err(InterpError::op(
            op,
            format!("{name} must be f32, f16 or f64, got {dt}"),
        ));
    }
    Ok(dt)
}

/// Fails unless `t` has dtype `dt`.
pub(crate) fn same_dtype(op: &Op, t: &Tensor, dt: DType, name: &str) -> Res<()> {
    if t.dtype() != dt {
        return Err(InterpError::op(
            op,
            format!(
                "{name} must have dtype {dt} like the first input, got {}",
                t.dtype()
            ),
        ));
    }
    Ok(())
}

/// Element count of `shape`, as an interpreter error when absurd.
pub(crate) fn count(op: &Op, shape: &[usize]) -> Res<usize> {
    checked_count(shape)
        .map_err(|_| InterpError::op(op, format!("output shape {shape:?} is too large")))
}

/// Builds a tensor from f64 results, converting to float dtype `dt`.
pub(crate) fn from_f64(op: &Op, dt: DType, shape: Vec<usize>, v: Vec<f64>) -> Res<Tensor> {
    let t = Tensor::from_vec(shape, v).map_err(|e| InterpError::op(op, e.to_string()))?;
    Ok(if dt == DType::F64 { t } else { t.cast(dt) })
}

/// A float type the hot kernels (conv, matmul) run in: `f32` (also for f16 data) or `f64`.
pub(crate) trait Float:
    Copy
    + Default
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + AddAssign
    + 'static
{
    const ZERO: Self;
    fn of(v: f64) -> Self;
    /// The elements of `t` in this type (f16 widens to f32), or a dtype error.
    fn slice<'a>(op: &Op, t: &'a Tensor, name: &str) -> Res<Cow<'a, [Self]>>;
    /// A tensor of dtype `dt` from results in this type.
    fn tensor(op: &Op, dt: DType, shape: Vec<usize>, v: Vec<Self>) -> Res<Tensor>;
    /// `c = alpha * a·b + beta * c` on row-major-strided matrices; see [`gemm::Mat`].
    #[allow(clippy::too_many_arguments)]
    fn gemm(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: gemm::Mat<'_, Self>,
        b: gemm::Mat<'_, Self>,
        beta: Self,
        c: &mut [Self],
        rsc: usize,
    );
}

fn tensor_err(op: &Op, e: crate::IrError) -> InterpError {
    InterpError::op(op, e.to_string())
}

impl Float for f32 {
    const ZERO: f32 = 0.0;
    fn of(v: f64) -> f32 {
        v as f32
    }
    fn slice<'a>(op: &Op, t: &'a Tensor, name: &str) -> Res<Cow<'a, [f32]>> {
        if let Some(s) = t.as_slice::<f32>() {
            return Ok(Cow::Borrowed(s));
        }
        if let Some(s) = t.as_slice::<f16>() {
            return Ok(Cow::Owned(s.iter().map(|x| x.to_f32()).collect()));
        }
        Err(InterpError::op(
            op,
            format!("{name} must be f32 or f16, got {}", t.dtype()),
        ))
    }
    fn tensor(op: &Op, dt: DType, shape: Vec<usize>, v: Vec<f32>) -> Res<Tensor> {
        if dt == DType::F16 {
            let h: Vec<f16> = v.into_iter().map(f16::from_f32).collect();
            Tensor::from_vec(shape, h).map_err(|e| tensor_err(op, e))
        } else {
            Tensor::from_vec(shape, v).map_err(|e| tensor_err(op, e))
        }
    }
    #[allow(clippy::too_many_arguments)]
    fn gemm(
        m: usize,
        k: usize,
        n: usize,
        alpha: f32,
        a: gemm::Mat<'_, f32>,
        b: gemm::Mat<'_, f32>,
        beta: f32,
        c: &mut [f32],
        rsc: usize,
    ) {
        gemm::sgemm(m, k, n, alpha, a, b, beta, c, rsc)
    }
}

impl Float for f64 {
    const ZERO: f64 = 0.0;
    fn of(v: f64) -> f64 {
        v
    }
    fn slice<'a>(op: &Op, t: &'a Tensor, name: &str) -> Res<Cow<'a, [f64]>> {
        t.as_slice::<f64>()
            .map(Cow::Borrowed)
            .ok_or_else(|| InterpError::op(op, format!("{name} must be f64, got {}", t.dtype())))
    }
    fn tensor(op: &Op, _dt: DType, shape: Vec<usize>, v: Vec<f64>) -> Res<Tensor> {
        Tensor::from_vec(shape, v).map_err(|e| tensor_err(op, e))
    }
    #[allow(clippy::too_many_arguments)]
    fn gemm(
        m: usize,
        k: usize,
        n: usize,
        alpha: f64,
        a: gemm::Mat<'_, f64>,
        b: gemm::Mat<'_, f64>,
        beta: f64,
        c: &mut [f64],
        rsc: usize,
    ) {
        gemm::dgemm(m, k, n, alpha, a, b, beta, c, rsc)
    }
}

/// Resolved geometry of one windowed op (conv or pool) over the spatial dims.
#[derive(Clone, Debug)]
pub(crate) struct Window {
    pub kernel: Vec<usize>,
    pub strides: Vec<usize>,
    pub dilations: Vec<usize>,
    pub pad_begin: Vec<usize>,
    pub pad_end: Vec<usize>,
    pub out: Vec<usize>,
}

/// Reads a positive per-spatial-dim attribute (`strides`, `dilations`); empty means
/// all 1 ([`geometry::spatial_list`]).
pub(crate) fn positive_list(op: &Op, name: &str, v: &[i64], rank: usize) -> Res<Vec<usize>> {
    let list = geometry::spatial_list(v, rank, 1, 1).map_err(|e| {
        let msg = match e {
            geometry::ListError::Len(_) => {
                format!("{name} must have {rank} entries (one per spatial dim), got {v:?}")
            }
            geometry::ListError::Entry(_) => format!("{name} must be positive, got {v:?}"),
        };
        InterpError::op(op, msg)
    })?;
    to_usize(op, name, &list)
}

/// Explicit `pads` as (begin, end); empty means all zero ([`geometry::spatial_list`]).
pub(crate) fn pad_list(op: &Op, v: &[i64], rank: usize) -> Res<(Vec<usize>, Vec<usize>)> {
    let list = geometry::spatial_list(v, 2 * rank, 0, 0).map_err(|e| {
        let msg = match e {
            geometry::ListError::Len(_) => format!(
                "pads must have {} entries (begin and end per spatial dim), got {v:?}",
                2 * rank
            ),
            geometry::ListError::Entry(_) => format!("pads must be non-negative, got {v:?}"),
        };
        InterpError::op(op, msg)
    })?;
    let p = to_usize(op, "pads", &list)?;
    Ok((p[..rank].to_vec(), p[rank..].to_vec()))
}

/// Validated non-negative attribute entries as sizes.
fn to_usize(op: &Op, name: &str, v: &[i64]) -> Res<Vec<usize>> {
    v.iter()
        .map(|&x| {
            usize::try_from(x)
                .map_err(|_| InterpError::op(op, format!("{name} entry {x} does not fit a size")))
        })
        .collect()
}

/// Spatial attributes as given on a conv or pool op.
pub(crate) struct WindowAttrs<'a> {
    pub auto_pad: AutoPad,
    pub strides: &'a [i64],
    pub pads: &'a [i64],
    pub dilations: &'a [i64],
    pub ceil_mode: bool,
}

/// Resolves pads and output sizes for input spatial sizes `input` and kernel `kernel`
/// by ONNX's rules (see [`geometry::window`]).
pub(crate) fn window(
    op: &Op,
    input: &[usize],
    kernel: &[usize],
    a: &WindowAttrs<'_>,
) -> Res<Window> {
    let rank = input.len();
    if kernel.len() != rank {
        return Err(InterpError::op(
            op,
            format!("kernel_shape must have {rank} entries, got {kernel:?}"),
        ));
    }
    if kernel.contains(&0) {
        return Err(InterpError::op(
            op,
            format!("kernel_shape must be positive, got {kernel:?}"),
        ));
    }
    let strides = positive_list(op, "strides", a.strides, rank)?;
    let dilations = positive_list(op, "dilations", a.dilations, rank)?;
    let (mut pb, mut pe) = match a.auto_pad {
        AutoPad::NotSet => pad_list(op, a.pads, rank)?,
        _ => (vec![0; rank], vec![0; rank]),
    };
    let mut out = vec![0; rank];
    for d in 0..rank {
        let axis = axis(d, kernel, &strides, &dilations, (&pb, &pe));
        let r = match geometry::window(input[d] as u64, &axis, a.auto_pad, a.ceil_mode) {
            Ok(r) => r,
            Err(geometry::WindowError::TooLarge { extent, padded }) => {
                return Err(InterpError::op(
                    op,
                    format!(
                        "kernel extent {extent} (kernel {}, dilation {}) is larger than the padded input {padded} in spatial dim {d}",
                        kernel[d], dilations[d]
                    ),
                ))
            }
            Err(geometry::WindowError::Overflow) => {
                return Err(InterpError::op(op, "window geometry overflows"))
            }
        };
        let size = |v: u64| {
            usize::try_from(v).map_err(|_| InterpError::op(op, "window geometry overflows"))
        };
        (out[d], pb[d], pe[d]) = (size(r.out)?, size(r.pad_begin)?, size(r.pad_end)?);
    }
    Ok(Window {
        kernel: kernel.to_vec(),
        strides,
        dilations,
        pad_begin: pb,
        pad_end: pe,
        out,
    })
}

/// Kernel shape of a Conv or ConvTranspose: the weight's spatial dims `weight`,
/// which `kernel_shape` must repeat when it is given.
pub(crate) fn kernel_from(op: &Op, attr: &[i64], weight: &[usize]) -> Res<Vec<usize>> {
    if attr.is_empty() {
        return Ok(weight.to_vec());
    }
    let kernel = attr
        .iter()
        .map(|&k| {
            usize::try_from(k).ok().filter(|&k| k > 0).ok_or_else(|| {
                InterpError::op(op, format!("kernel_shape must be positive, got {attr:?}"))
            })
        })
        .collect::<Res<Vec<usize>>>()?;
    if kernel != weight {
        return Err(InterpError::op(
            op,
            format!("kernel_shape {attr:?} does not match w's spatial dims {weight:?}"),
        ));
    }
    Ok(kernel)
}

/// Axis `d` of a resolved window in the shared geometry's terms.
pub(crate) fn axis(
    d: usize,
    kernel: &[usize],
    strides: &[usize],
    dilations: &[usize],
    pads: (&[usize], &[usize]),
) -> geometry::Axis {
    geometry::Axis {
        kernel: kernel[d] as u64,
        stride: strides[d] as u64,
        dilation: dilations[d] as u64,
        pad_begin: pads.0[d] as u64,
        pad_end: pads.1[d] as u64,
    }
}
