//! What every integer kernel reads: its operands with their static types, checked
//! quantization parameters (per-tensor activations, per-channel weights, i32 bias)
//! and the common requantize-and-clamp step.

use crate::interp::InterpError;
use crate::quant::{multiply_by_quantized_multiplier, qrange, Rounding};
use crate::{DType, Op, QParams, Tensor, TensorData, TensorType};

pub(super) type Res<T> = Result<T, InterpError>;

/// The operands of one integer op application.
#[derive(Debug)]
pub(super) struct Ctx<'a> {
    pub op: &'a Op,
    pub inputs: &'a [Option<&'a Tensor>],
    pub in_types: &'a [Option<&'a TensorType>],
    pub out_types: &'a [&'a TensorType],
    pub r: Rounding,
}

/// Per-tensor quantization of an 8-bit activation: `real = scale · (q − zp)`, codes in
/// `[lo, hi]`, stored as `dtype` (i8 when signed, u8 when not).
#[derive(Clone, Copy, PartialEq, Debug)]
pub(super) struct Act {
    pub scale: f32,
    pub zp: i32,
    pub lo: i32,
    pub hi: i32,
    pub dtype: DType,
}

impl Act {
    /// `clamp(zp + MBQM(acc, m, shift))`: the last step of every requantizing kernel.
    /// The zero-point addition saturates, which equals exact addition before the clamp.
    #[inline]
    pub fn requant(&self, acc: i32, (m, shift): (i32, i32), r: Rounding) -> i32 {
        multiply_by_quantized_multiplier(acc, m, shift, r)
            .saturating_add(self.zp)
            .clamp(self.lo, self.hi)
    }
}

/// Per-channel (or per-tensor, repeated) quantization of a weight-like operand.
#[derive(Clone, PartialEq, Debug)]
pub(super) struct Chan {
    pub scale: Vec<f32>,
    pub zp: Vec<i32>,
}

/// Checks that an 8-bit type's storage matches its parameters; returns the code range.
fn eight_bit(q: &QParams, dtype: DType) -> Result<(i32, i32), String> {
    let want = if q.signed { DType::I8 } else { DType::U8 };
    if dtype != want || q.bits == 0 || q.bits > 8 {
        return Err(format!(
            "integer kernels take 8-bit (i8 or u8) codes; got dtype {dtype} with {}-bit {} parameters",
            q.bits,
            if q.signed { "signed" } else { "unsigned" }
        ));
    }
    if q.scale.len() != q.zero_point.len() || q.scale.is_empty() {
        return Err(format!(
            "{} scales and {} zero points",
            q.scale.len(),
            q.zero_point.len()
        ));
    }
    let (lo, hi) = qrange(q);
    if let Some(s) = q.scale.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
        return Err(format!("scale {s} is not a positive finite number"));
    }
    if let Some(z) = q.zero_point.iter().find(|z| !(lo..=hi).contains(*z)) {
        return Err(format!(
            "zero point {z} is outside the code range [{lo}, {hi}]"
        ));
    }
    Ok((lo, hi))
}

impl<'a> Ctx<'a> {
    pub fn err(&self, msg: impl Into<String>) -> InterpError {
        InterpError::op(self.op, msg)
    }

    /// `input i (name)` for messages.
    pub fn in_name(&self, i: usize) -> String {
        let sig = crate::infer::signature(self.op);
        let name = sig.inputs.get(i).or(if sig.variadic {
            sig.inputs.last()
        } else {
            None
        });
        match name {
            Some(n) => format!("input {i} ({n})"),
            None => format!("input {i}"),
        }
    }

    pub fn req(&self, i: usize) -> Res<&'a Tensor> {
        self.opt(i)
            .ok_or_else(|| self.err(format!("{} is required", self.in_name(i))))
    }

    pub fn opt(&self, i: usize) -> Option<&'a Tensor> {
        self.inputs.get(i).copied().flatten()
    }

    pub fn in_quant(&self, i: usize) -> Option<&'a QParams> {
        self.in_types
            .get(i)
            .copied()
            .flatten()
            .and_then(|t| t.quant.as_ref())
    }

    pub fn out_quant(&self, j: usize) -> Option<&'a QParams> {
        self.out_types.get(j).and_then(|t| t.quant.as_ref())
    }

    /// Errors unless input `i`'s data has its declared dtype.
    pub fn check_dtype(&self, i: usize) -> Res<()> {
        let t = self.req(i)?;
        match self.in_types.get(i).copied().flatten() {
            Some(ty) if ty.dtype != t.dtype() => Err(self.err(format!(
                "{} holds {} data but its type is {ty}",
                self.in_name(i),
                t.dtype()
            ))),
            _ => Ok(()),
        }
    }

    fn act(&self, what: &str, ty: Option<&TensorType>) -> Res<Act> {
        let ty = ty.ok_or_else(|| self.err(format!("{what} has no type")))?;
        let q = ty
            .quant
            .as_ref()
            .ok_or_else(|| self.err(format!("{what} is not quantized (type {ty})")))?;
        if q.axis.is_some() || q.scale.len() != 1 {
            return Err(self.err(format!(
                "{what} must be quantized per tensor, got {} scales on axis {:?}",
                q.scale.len(),
                q.axis
            )));
        }
        let (lo, hi) = eight_bit(q, ty.dtype).map_err(|m| self.err(format!("{what}: {m}")))?;
        Ok(Act {
            scale: q.scale[0],
            zp: q.zero_point[0],
            lo,
            hi,
            dtype: ty.dtype,
        })
    }

    /// Input `i` as a per-tensor 8-bit activation.
    pub fn act_in(&self, i: usize) -> Res<Act> {
        self.check_dtype(i)?;
        self.act(&self.in_name(i), self.in_types.get(i).copied().flatten())
    }

    /// Output `j` as a per-tensor 8-bit activation.
    pub fn act_out(&self, j: usize) -> Res<Act> {
        self.act(&format!("output {j}"), self.out_types.get(j).copied())
    }

    /// Input `i` as a weight quantized per tensor or per channel along `axis`
    /// (which must have `channels` entries); per-tensor parameters are repeated.
    pub fn chan(&self, i: usize, channels: usize, axis: usize) -> Res<Chan> {
        self.check_dtype(i)?;
        let what = self.in_name(i);
        let ty = self
            .in_types
            .get(i)
            .copied()
            .flatten()
            .ok_or_else(|| self.err(format!("{what} has no type")))?;
        let q = ty
            .quant
            .as_ref()
            .ok_or_else(|| self.err(format!("{what} is not quantized (type {ty})")))?;
        eight_bit(q, ty.dtype).map_err(|m| self.err(format!("{what}: {m}")))?;
        match q.axis {
            None if q.scale.len() == 1 => Ok(Chan {
                scale: vec![q.scale[0]; channels],
                zp: vec![q.zero_point[0]; channels],
            }),
            Some(a) if a == axis && q.scale.len() == channels => Ok(Chan {
                scale: q.scale.clone(),
                zp: q.zero_point.clone(),
            }),
            _ => Err(self.err(format!(
                "{what} must be quantized per tensor or per channel on axis {axis} ({channels} channels), got {} scales on axis {:?}",
                q.scale.len(),
                q.axis
            ))),
        }
    }

    /// The codes of input `i` (i8 or u8 data) widened to i32, minus `zp`.
    pub fn centered(&self, i: usize, zp: i32) -> Res<Vec<i32>> {
        let t = self.req(i)?;
        match t.data() {
            TensorData::I8(v) => Ok(v.iter().map(|&q| i32::from(q) - zp).collect()),
            TensorData::U8(v) => Ok(v.iter().map(|&q| i32::from(q) - zp).collect()),
            _ => Err(self.err(format!(
                "{} must hold i8 or u8 codes, got {}",
                self.in_name(i),
                t.dtype()
            ))),
        }
    }

    /// Errors unless every value of `idx` (input `i`'s codes minus its `qmin`) is in
    /// `0..len`: codes outside a narrow (< 8-bit) type's range would index past a table.
    pub fn check_range(&self, i: usize, idx: &[i32], len: usize) -> Res<()> {
        match idx.iter().find(|&&v| v < 0 || v as usize >= len) {
            Some(_) => Err(self.err(format!(
                "{} holds codes outside its type's range",
                self.in_name(i)
            ))),
            None => Ok(()),
        }
    }

    /// The optional i32 bias at input `i` for `channels` output channels, checked
    /// against its quantization when it has one: zero point 0 and scale
    /// `s_x · s_w[c]` (relative tolerance 1e-4, the f32 rounding of that product
    /// being far smaller), so the integer accumulator and the bias share units.
    pub fn bias(&self, i: usize, channels: usize, s_x: f32, w: &Chan) -> Res<Option<Vec<i32>>> {
        let Some(b) = self.opt(i) else {
            return Ok(None);
        };
        self.check_dtype(i)?;
        let what = self.in_name(i);
        let v = b
            .as_slice::<i32>()
            .ok_or_else(|| self.err(format!("{what} must be i32, got {}", b.dtype())))?;
        if v.len() != channels {
            return Err(self.err(format!(
                "{what} must hold {channels} values (one per output channel), got shape {:?}",
                b.shape()
            )));
        }
        if let Some(q) = self.in_quant(i) {
            let per = |k: usize| -> Option<(f32, i32)> {
                match q.axis {
                    None => Some((*q.scale.first()?, *q.zero_point.first()?)),
                    Some(_) => Some((*q.scale.get(k)?, *q.zero_point.get(k)?)),
                }
            };
            for (c, &sw) in w.scale.iter().enumerate() {
                let want = f64::from(s_x) * f64::from(sw);
                let ok = per(c)
                    .is_some_and(|(s, z)| z == 0 && ((f64::from(s) - want).abs() <= 1e-4 * want));
                if !ok {
                    return Err(self.err(format!(
                        "{what} channel {c} must have zero point 0 and scale s_x·s_w = {want:e}, got {:?}",
                        per(c)
                    )));
                }
            }
        }
        Ok(Some(v.to_vec()))
    }

    /// A tensor of `act`'s dtype from codes already clamped to its range.
    pub fn output(&self, act: &Act, shape: Vec<usize>, codes: Vec<i32>) -> Res<Tensor> {
        let t = match act.dtype {
            DType::I8 => Tensor::from_vec(shape, codes.into_iter().map(|q| q as i8).collect()),
            DType::U8 => Tensor::from_vec(shape, codes.into_iter().map(|q| q as u8).collect()),
            d => return Err(self.err(format!("cannot store codes as {d}"))),
        };
        Ok(t?)
    }
}
