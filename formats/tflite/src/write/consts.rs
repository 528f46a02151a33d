//! Constants as TFLite tensors: IR weights re-laid for their reader (OIHW → OHWI,
//! depthwise → 1HWO, transposed fully connected weights), and the constant expressions
//! the IR keeps as nodes: `cast(f16 weight)` (fp16 models) and
//! `dequantize_linear(int8 weight)` (weight-only layers) become the narrow constant plus
//! a DEQUANTIZE, as the TFLite converter writes them.

use super::layout::{permuted, transpose_bytes};
use super::lower::Lower;
use super::model::{Operator, Options, Quant, Tensor};
use crate::schema::BuiltinOperator;
use crate::TfliteError;
use pare_ir::{DType, Op, ValueDef, ValueId};

/// A constant as stored: its dense little-endian bytes, dtype, shape and quantization.
pub struct ConstData {
    /// One element per value (4-bit weights unpacked to one byte each).
    pub bytes: Vec<u8>,
    /// The weight is 4-bit: written as TFLite INT4, two per byte, low nibble first.
    pub int4: bool,
    pub dtype: DType,
    pub shape: Vec<usize>,
    pub quant: Option<pare_ir::QParams>,
}

impl Lower<'_> {
    /// The weight behind `v`, if `v` is a weight.
    pub(super) fn weight_data(&self, v: ValueId) -> Result<Option<ConstData>, TfliteError> {
        let Some(w) = self.g.weight_of(v) else {
            return Ok(None);
        };
        // `tensor()` unpacks 4-bit weights to one i8 per value; they are re-packed
        // once laid out for TFLite.
        let t = w.tensor()?;
        Ok(Some(ConstData {
            int4: pare_ir::is_nibble_packed(&w.ty),
            bytes: t.to_le_bytes(),
            dtype: t.dtype(),
            shape: t.shape().to_vec(),
            quant: w.ty.quant.clone(),
        }))
    }

    /// Whether `v` is a constant: a weight or a constant expression over one.
    pub(super) fn is_const(&self, v: ValueId) -> bool {
        matches!(self.g.value(v).def, ValueDef::Weight(_)) || self.const_expr(v).is_some()
    }

    /// The weight a constant expression node (`cast` of an f16 weight to f32,
    /// `dequantize_linear` of a weight) reads.
    pub(super) fn const_expr(&self, v: ValueId) -> Option<ValueId> {
        let n = self.g.node(self.g.producer(v)?);
        let src = n.input(0)?;
        if !matches!(self.g.value(src).def, ValueDef::Weight(_)) {
            return None;
        }
        match &n.op {
            Op::Cast { to: DType::F32 } if self.g.ty(src).dtype == DType::F16 => Some(src),
            Op::DequantizeLinear { .. } if self.g.ty(src).quant.is_some() => Some(src),
            _ => None,
        }
    }

    /// `v` (a constant) as a TFLite tensor whose dim `i` is dim `perm[i]` of `v`
    /// reshaped to `view` (its own shape when `None`); cached per view and perm.
    pub(super) fn const_tensor(
        &mut self,
        v: ValueId,
        view: Option<&[usize]>,
        perm: &[usize],
    ) -> Result<i32, TfliteError> {
        self.const_tensor_as(v, view, perm, None)
    }

    /// [`Lower::const_tensor`], the permuted data then written with shape `fin`
    /// (same elements; e.g. a fully connected weight re-laid as 4-D, written 2-D).
    pub(super) fn const_tensor_as(
        &mut self,
        v: ValueId,
        view: Option<&[usize]>,
        perm: &[usize],
        fin: Option<&[usize]>,
    ) -> Result<i32, TfliteError> {
        self.const_tensor_packed(v, view, perm, fin, true)
    }

    /// [`Lower::const_tensor_as`], 4-bit weights written as INT4 when `pack_int4`,
    /// else as int8 holding the same values (for kernels without INT4 filters).
    pub(super) fn const_tensor_packed(
        &mut self,
        v: ValueId,
        view: Option<&[usize]>,
        perm: &[usize],
        fin: Option<&[usize]>,
        pack_int4: bool,
    ) -> Result<i32, TfliteError> {
        let key = (v, view.map(<[usize]>::to_vec), perm.to_vec(), pack_int4);
        if let Some(&t) = self.consts.get(&key) {
            return Ok(t);
        }
        let (src, widened) = match self.const_expr(v) {
            Some(w) => (w, true),
            None => (v, false),
        };
        let Some(c) = self.weight_data(src)? else {
            return Err(TfliteError::Value {
                value: self.value_name(v),
                why: "expected a constant here".into(),
            });
        };
        let shape = view.map_or(c.shape.clone(), <[usize]>::to_vec);
        if shape.iter().product::<usize>() != c.shape.iter().product::<usize>()
            || shape.len() != perm.len()
        {
            return Err(TfliteError::Value {
                value: self.value_name(v),
                why: format!("cannot view shape {:?} as {shape:?}", c.shape),
            });
        }
        let mut bytes = transpose_bytes(&c.bytes, c.dtype.size_bytes(), &shape, perm);
        let int4 = c.int4 && pack_int4;
        if int4 {
            bytes = pare_ir::pack_nibbles(&bytes);
        }
        let laid = permuted(&shape, perm);
        let fin = fin.map_or(laid.clone(), <[usize]>::to_vec);
        let out_shape: Vec<i32> = fin.iter().map(|&d| d as i32).collect();
        // A per-channel axis moves with the dims (views only merge or split dims
        // around it, never across: the caller keeps the channel dim whole).
        let quant = match &c.quant {
            Some(q) => Some(self.quant_of(q, |axis| {
                let view_axis = axis_in_view(&c.shape, &shape, axis);
                let laid_axis = perm.iter().position(|&p| p == view_axis).unwrap_or(0);
                axis_in_view(&laid, &fin, laid_axis)
            })?),
            None => None,
        };
        let name = self.value_name(src);
        let narrow = Tensor {
            name: name.clone(),
            shape: out_shape.clone(),
            signature: None,
            ty: if int4 {
                crate::schema::TensorType::INT4
            } else {
                super::lower::tfl_type(c.dtype, &name)?
            },
            buffer: 0,
            quant,
        };
        let narrow = self.m.add_tensor(narrow, Some(bytes));
        let t = if widened {
            let wide_name = self.value_name(v);
            let wide = self.m.add_tensor(
                Tensor {
                    name: wide_name,
                    shape: out_shape,
                    signature: None,
                    ty: crate::schema::TensorType::FLOAT32,
                    buffer: 0,
                    quant: None,
                },
                None,
            );
            self.emit(Operator {
                code: BuiltinOperator::DEQUANTIZE,
                version: 1,
                inputs: vec![narrow],
                outputs: vec![wide],
                options: Options::Empty,
            });
            wide
        } else {
            narrow
        };
        self.consts.insert(key, t);
        Ok(t)
    }

    /// IR quantization parameters as TFLite's, the per-channel axis mapped by `axis`.
    pub(super) fn quant_of(
        &self,
        q: &pare_ir::QParams,
        axis: impl Fn(usize) -> usize,
    ) -> Result<Quant, TfliteError> {
        Ok(Quant {
            scale: q.scale.clone(),
            zero_point: q.zero_point.iter().map(|&z| i64::from(z)).collect(),
            dim: q.axis.map_or(0, |a| axis(a) as i32),
        })
    }
}

/// Where dim `axis` of `shape` lands in `view` (same elements, dims merged or split):
/// the view dim that starts at the same element stride.
fn axis_in_view(shape: &[usize], view: &[usize], axis: usize) -> usize {
    let inner: usize = shape[axis + 1..].iter().product();
    let mut stride = 1usize;
    for i in (0..view.len()).rev() {
        if stride == inner && view[i] == shape[axis] {
            return i;
        }
        stride *= view[i];
    }
    0
}
