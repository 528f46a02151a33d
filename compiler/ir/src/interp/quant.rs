//! Linear quantization: QuantizeLinear / DequantizeLinear (per-tensor, per-axis and
//! blocked scales; u8/i8/u16/i16 outputs; round half to even, saturating) and
//! DynamicQuantizeLinear.

use super::util::{around_axis, float_dtype, int_dtype, slice, tensor, Args, Outputs};
use super::InterpError;
use crate::{DType, Element, Op, Tensor};

pub(super) fn eval(args: &Args) -> Outputs {
    match *args.op {
        Op::QuantizeLinear {
            axis, block_size, ..
        } => Ok(vec![quantize(args, axis, block_size)?]),
        Op::DequantizeLinear { axis, block_size } => Ok(vec![dequantize(args, axis, block_size)?]),
        Op::DynamicQuantizeLinear {} => dynamic_quantize(args),
        _ => Err(args.err("not a quantization op")),
    }
}

/// How scale and zero point map onto the elements, for x split as
/// `(outer, len, inner)` around the quantization axis.
#[derive(Clone, Copy)]
enum Layout {
    Tensor,
    Axis,
    Block { size: usize, blocks: usize },
}

struct Plan {
    layout: Layout,
    outer: usize,
    len: usize,
    inner: usize,
}

impl Plan {
    /// Parameter index of element `(o, k, i)`.
    fn param(&self, o: usize, k: usize, i: usize) -> usize {
        match self.layout {
            Layout::Tensor => 0,
            Layout::Axis => k,
            Layout::Block { size, blocks } => (o * blocks + k / size) * self.inner + i,
        }
    }
}

fn plan(
    args: &Args,
    x: &Tensor,
    scale: &Tensor,
    zp: Option<&Tensor>,
    axis: i64,
    block_size: i64,
) -> Result<Plan, InterpError> {
    // A scalar with a one-element vector is one parameter either way (as
    // onnxruntime accepts); other shapes must match.
    let one = |t: &Tensor| t.rank() <= 1 && t.len() == 1;
    if let Some(z) = zp {
        if z.shape() != scale.shape() && !(block_size <= 0 && one(z) && one(scale)) {
            return Err(args.err(format!(
                "zero point shape {:?} differs from scale shape {:?}",
                z.shape(),
                scale.shape()
            )));
        }
    }
    let per_tensor =
        scale.rank() == 0 || (scale.rank() == 1 && scale.len() == 1 && block_size == 0);
    if per_tensor {
        return Ok(Plan {
            layout: Layout::Tensor,
            outer: 1,
            len: x.len(),
            inner: 1,
        });
    }
    let a = args.axis(axis, x.rank())?;
    let (outer, len, inner) = around_axis(x.shape(), a);
    if block_size <= 0 {
        if scale.rank() != 1 || scale.len() != len {
            return Err(args.err(format!(
                "per-axis scale must be 1-D of length {len} (axis {a}), got {:?}",
                scale.shape()
            )));
        }
        return Ok(Plan {
            layout: Layout::Axis,
            outer,
            len,
            inner,
        });
    }
    let size = block_size as usize;
    let blocks = len.div_ceil(size);
    let mut want = x.shape().to_vec();
    want[a] = blocks;
    if scale.shape() != want.as_slice() {
        return Err(args.err(format!(
            "blocked scale shape {:?} should be {want:?} (block size {size}, axis {a})",
            scale.shape()
        )));
    }
    Ok(Plan {
        layout: Layout::Block { size, blocks },
        outer,
        len,
        inner,
    })
}

/// Range of a quantized integer dtype.
fn qrange(d: DType) -> Option<(f64, f64)> {
    match d {
        DType::U8 => Some((0.0, 255.0)),
        DType::I8 => Some((-128.0, 127.0)),
        DType::U16 => Some((0.0, 65535.0)),
        DType::I16 => Some((-32768.0, 32767.0)),
        _ => None,
    }
}

fn quantize(args: &Args, axis: i64, block_size: i64) -> Result<Tensor, InterpError> {
    let (x, scale, zp) = (args.req(0)?, args.req(1)?, args.opt(2));
    if !scale.dtype().is_float() {
        return Err(args.bad_dtype("scale", scale.dtype()));
    }
    if !(x.dtype().is_float() || x.dtype() == DType::I32) {
        return Err(args.bad_dtype("input", x.dtype()));
    }
    let out_dt = zp.map_or(DType::U8, Tensor::dtype);
    let (lo, hi) = qrange(out_dt).ok_or_else(|| args.bad_dtype("zero point", out_dt))?;
    let p = plan(args, x, scale, zp, axis, block_size)?;
    // Divide in f32 like onnxruntime (f64 for f64 inputs), so ties round the same.
    let wide = x.dtype() == DType::F64;
    let xs = x.to_f64_vec();
    let ss = scale.to_f64_vec();
    let zs = zp.map_or_else(|| vec![0.0; ss.len()], Tensor::to_f64_vec);
    let mut q = Vec::with_capacity(xs.len());
    for o in 0..p.outer {
        for k in 0..p.len {
            for i in 0..p.inner {
                let e = xs[(o * p.len + k) * p.inner + i];
                let j = p.param(o, k, i);
                let r = if wide {
                    e / ss[j]
                } else {
                    (e as f32 / ss[j] as f32) as f64
                };
                q.push((r.round_ties_even() + zs[j]).clamp(lo, hi));
            }
        }
    }
    int_dtype!(out_dt, T => tensor(x.shape().to_vec(), q.into_iter().map(T::from_f64).collect::<Vec<T>>()),
        d => Err(args.bad_dtype("zero point", d)))
}

fn dequantize(args: &Args, axis: i64, block_size: i64) -> Result<Tensor, InterpError> {
    let (x, scale, zp) = (args.req(0)?, args.req(1)?, args.opt(2));
    if !matches!(
        x.dtype(),
        DType::U8 | DType::I8 | DType::U16 | DType::I16 | DType::I32
    ) {
        return Err(args.bad_dtype("input", x.dtype()));
    }
    if let Some(z) = zp {
        args.same_dtype("zero point", z, x.dtype())?;
    }
    let p = plan(args, x, scale, zp, axis, block_size)?;
    let xs = x.to_i64_vec();
    let zs = zp.map_or_else(|| vec![0; scale.len()], Tensor::to_i64_vec);
    float_dtype!(scale.dtype(), T => {
        let ss = scale.to_f64_vec();
        let wide = T::DTYPE == DType::F64;
        let mut out = Vec::with_capacity(xs.len());
        for o in 0..p.outer {
            for k in 0..p.len {
                for i in 0..p.inner {
                    let e = xs[(o * p.len + k) * p.inner + i];
                    let j = p.param(o, k, i);
                    let d = (e - zs[j]) as f64;
                    let y = if wide { d * ss[j] } else { (d as f32 * ss[j] as f32) as f64 };
                    out.push(T::from_f64(y));
                }
            }
        }
        tensor(x.shape().to_vec(), out)
    }, d => Err(args.bad_dtype("scale", d)))
}

/// DynamicQuantizeLinear(x): u8 quantization with scale and zero point chosen so
/// the range [min(x, 0), max(x, 0)] maps onto 0..=255.
fn dynamic_quantize(args: &Args) -> Outputs {
    let x = args.req(0)?;
    args.same_dtype("input", x, DType::F32)?;
    let v = slice::<f32>(x)?;
    let lo = v.iter().copied().fold(0f32, f32::min);
    let hi = v.iter().copied().fold(0f32, f32::max);
    let scale = (hi - lo) / 255.0;
    let (zp, q): (u8, Vec<u8>) = if scale == 0.0 || !scale.is_finite() {
        (0, vec![0; v.len()])
    } else {
        let zp = (0.0 - lo / scale).clamp(0.0, 255.0).round_ties_even();
        let q = v
            .iter()
            .map(|&e| ((e / scale).round_ties_even() + zp).clamp(0.0, 255.0) as u8)
            .collect();
        (zp as u8, q)
    };
    Ok(vec![
        tensor(x.shape().to_vec(), q)?,
        Tensor::scalar(scale),
        Tensor::scalar(zp),
    ])
}
