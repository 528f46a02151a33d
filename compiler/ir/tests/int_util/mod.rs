//! Helpers shared by the integer-interpreter tests: random quantized operands, an
//! output type fitted to the float result's range, and the comparison of the
//! integer kernels (both roundings) against the fake-quant path.
#![allow(dead_code)]

use pare_ir::interp::{eval_fake_quant, eval_int};
use pare_ir::quant::Rounding;
use pare_ir::{DType, Op, QParams, Tensor, TensorType};

/// One operand: data and its static type (`None`: no type, as for a test of errors).
#[derive(Clone, Debug)]
pub struct Operand {
    pub t: Tensor,
    pub ty: Option<TensorType>,
}

pub fn rng(seed: u64) -> fastrand::Rng {
    fastrand::Rng::with_seed(seed)
}

/// Per-tensor 8-bit parameters.
pub fn per_tensor(signed: bool, scale: f32, zp: i32) -> QParams {
    QParams {
        bits: 8,
        signed,
        scale: vec![scale],
        zero_point: vec![zp],
        axis: None,
    }
}

/// A type of `dtype` and `shape` with parameters `q`.
pub fn qtype(dtype: DType, shape: &[usize], q: QParams) -> TensorType {
    let mut ty = TensorType::fixed(dtype, &shape.iter().map(|&d| d as u64).collect::<Vec<_>>());
    ty.quant = Some(q);
    ty
}

/// An i8 activation of random codes over the whole range.
pub fn act(r: &mut fastrand::Rng, shape: &[usize], scale: f32, zp: i32) -> Operand {
    let n = shape.iter().product();
    let v: Vec<i8> = (0..n).map(|_| r.i8(..)).collect();
    act_from(shape, v, scale, zp)
}

/// An i8 activation with the given codes.
pub fn act_from(shape: &[usize], v: Vec<i8>, scale: f32, zp: i32) -> Operand {
    Operand {
        t: Tensor::from_vec(shape.to_vec(), v).unwrap(),
        ty: Some(qtype(DType::I8, shape, per_tensor(true, scale, zp))),
    }
}

/// A u8 activation of random codes.
pub fn act_u8(r: &mut fastrand::Rng, shape: &[usize], scale: f32, zp: i32) -> Operand {
    let n = shape.iter().product();
    let v: Vec<u8> = (0..n).map(|_| r.u8(..)).collect();
    Operand {
        t: Tensor::from_vec(shape.to_vec(), v).unwrap(),
        ty: Some(qtype(DType::U8, shape, per_tensor(false, scale, zp))),
    }
}

/// A symmetric i8 weight (zero point 0) with `bits`-bit codes, per channel on
/// `axis` (one scale per channel, drawn in [0.005, 0.05)) or per tensor.
pub fn weight(r: &mut fastrand::Rng, shape: &[usize], axis: Option<usize>, bits: u8) -> Operand {
    let n = shape.iter().product();
    let hi = (1i32 << (bits - 1)) - 1;
    let v: Vec<i8> = (0..n).map(|_| r.i32(-hi - 1..=hi) as i8).collect();
    let channels = axis.map_or(1, |a| shape[a]);
    let scale: Vec<f32> = (0..channels).map(|_| 0.005 + 0.045 * r.f32()).collect();
    let q = QParams {
        bits,
        signed: true,
        scale,
        zero_point: vec![0; channels],
        axis,
    };
    Operand {
        t: Tensor::from_vec(shape.to_vec(), v).unwrap(),
        ty: Some(qtype(DType::I8, shape, q)),
    }
}

/// The scales of an operand's quantization.
pub fn scales(o: &Operand) -> Vec<f32> {
    o.ty.as_ref().unwrap().quant.as_ref().unwrap().scale.clone()
}

/// An i32 bias of `n` channels for input scale `s_x` and weight `w` (scale
/// `s_x · s_w[c]`, per channel on axis 0), values in `[-range, range]`.
pub fn bias(r: &mut fastrand::Rng, n: usize, s_x: f32, w: &Operand, range: i32) -> Operand {
    let sw = scales(w);
    let scale: Vec<f32> = (0..n)
        .map(|c| s_x * sw[if sw.len() == 1 { 0 } else { c }])
        .collect();
    let v: Vec<i32> = (0..n).map(|_| r.i32(-range..=range)).collect();
    let q = QParams {
        bits: 32,
        signed: true,
        scale,
        zero_point: vec![0; n],
        axis: Some(0),
    };
    Operand {
        t: Tensor::from_vec(vec![n], v).unwrap(),
        ty: Some(qtype(DType::I32, &[n], q)),
    }
}

/// A non-quantized operand (shapes, axes, indices, float constants).
pub fn plain(t: Tensor) -> Operand {
    let ty = TensorType::fixed(
        t.dtype(),
        &t.shape().iter().map(|&d| d as u64).collect::<Vec<_>>(),
    );
    Operand { t, ty: Some(ty) }
}

pub fn i64s(v: &[i64]) -> Operand {
    plain(Tensor::from_vec(vec![v.len()], v.to_vec()).unwrap())
}

type Split<'a> = (Vec<Option<&'a Tensor>>, Vec<Option<&'a TensorType>>);

fn split<'a>(ops: &[Option<&'a Operand>]) -> Split<'a> {
    (
        ops.iter().map(|o| o.map(|o| &o.t)).collect(),
        ops.iter().map(|o| o.and_then(|o| o.ty.as_ref())).collect(),
    )
}

/// The float results of `op` on the dequantized operands (`n_out` outputs).
pub fn float_out(op: &Op, ops: &[Option<&Operand>], n_out: usize) -> Vec<Tensor> {
    let (ts, tys) = split(ops);
    let f = TensorType::scalar(DType::F32);
    let outs: Vec<&TensorType> = vec![&f; n_out];
    eval_fake_quant(op, &ts, &tys, &outs).expect("float reference")
}

/// An i8 per-tensor type for `t` (float) whose range covers `t`'s values and 0.
/// The scale is stretched by an odd factor: a scale that is an exact rational
/// multiple of the input scales would put many results exactly on a half, where
/// the f32 fake-quant path and exact integer arithmetic legitimately round apart.
pub fn fitted(t: &Tensor) -> TensorType {
    let v = t.to_f32_vec();
    let lo = v.iter().copied().fold(0f32, f32::min);
    let hi = v.iter().copied().fold(0f32, f32::max);
    let scale = ((hi - lo) / 255.0 * 1.013_7).max(1e-6);
    let zp = ((-128.0 - lo / scale).round() as i32).clamp(-128, 127);
    qtype(DType::I8, t.shape(), per_tensor(true, scale, zp))
}

pub fn eval_i(
    op: &Op,
    ops: &[Option<&Operand>],
    outs: &[&TensorType],
    r: Rounding,
) -> Result<Vec<Tensor>, pare_ir::interp::InterpError> {
    let (ts, tys) = split(ops);
    eval_int(op, &ts, &tys, outs, r)
}

pub fn eval_fq(op: &Op, ops: &[Option<&Operand>], outs: &[&TensorType]) -> Vec<Tensor> {
    let (ts, tys) = split(ops);
    eval_fake_quant(op, &ts, &tys, outs).expect("fake-quant")
}

/// The share of codes that may differ (by one) from fake-quant, per rounding mode.
#[derive(Clone, Copy, Debug)]
pub struct Bound {
    pub gemmlowp: f64,
    pub single: f64,
}

impl Bound {
    fn of(&self, r: Rounding) -> f64 {
        match r {
            Rounding::Gemmlowp => self.gemmlowp,
            Rounding::Single => self.single,
        }
    }
}

/// Runs `op` on the integer kernels with both roundings and on the fake-quant
/// path; asserts equal shapes and dtypes, every code within 1 of the fake-quant
/// code, and at most `bound`'s share of the codes (or 2 codes, for tiny outputs)
/// differing at all. `PARE_INT_STATS=1` prints the counts.
pub fn check_close(op: &Op, ops: &[Option<&Operand>], outs: &[&TensorType], bound: Bound) {
    let want = eval_fq(op, ops, outs);
    for r in Rounding::ALL {
        let got = eval_i(op, ops, outs, r).unwrap_or_else(|e| panic!("{r}: {e}"));
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g.shape(), w.shape(), "{r}: shape");
            assert_eq!(g.dtype(), w.dtype(), "{r}: dtype");
            let (gv, wv) = (g.to_i64_vec(), w.to_i64_vec());
            let mut differ = 0usize;
            for (i, (a, b)) in gv.iter().zip(&wv).enumerate() {
                assert!(
                    (a - b).abs() <= 1,
                    "{} ({r}): element {i} is {a}, fake-quant gives {b}",
                    op.name()
                );
                differ += usize::from(a != b);
            }
            let allowed = ((bound.of(r) * gv.len() as f64) as usize).max(2);
            assert!(
                differ <= allowed,
                "{} ({r}): {differ} of {} codes differ from fake-quant (at most {allowed} may)",
                op.name(),
                gv.len()
            );
            if std::env::var_os("PARE_INT_STATS").is_some() {
                eprintln!("{} ({r}): {differ} of {} differ", op.name(), gv.len());
            }
        }
    }
}

/// Asserts the integer kernels (both roundings) equal the fake-quant path exactly.
pub fn check_exact(op: &Op, ops: &[Option<&Operand>], outs: &[&TensorType]) {
    let want = eval_fq(op, ops, outs);
    for r in Rounding::ALL {
        let got = eval_i(op, ops, outs, r).unwrap_or_else(|e| panic!("{r}: {e}"));
        assert_eq!(got, want, "{} ({r})", op.name());
    }
}

/// The codes of an i8 result.
pub fn codes(t: &Tensor) -> Vec<i64> {
    t.to_i64_vec()
}
