//! Concrete tensors: a shape and a typed buffer. Used by the interpreter, constant
//! folding and weight decoding.

use crate::{DType, IrError};
use half::f16;

/// Typed element storage of a [`Tensor`], row-major.
#[derive(Clone, PartialEq, Debug)]
pub enum TensorData {
    F32(Vec<f32>),
    F16(Vec<f16>),
    F64(Vec<f64>),
    I8(Vec<i8>),
    I16(Vec<i16>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
    U64(Vec<u64>),
    Bool(Vec<bool>),
}

/// Applies `$body` to the vector inside any [`TensorData`] variant, binding it as `$v`.
#[macro_export]
macro_rules! with_data {
    ($data:expr, $v:ident => $body:expr) => {
        match $data {
            $crate::TensorData::F32($v) => $body,
            $crate::TensorData::F16($v) => $body,
            $crate::TensorData::F64($v) => $body,
            $crate::TensorData::I8($v) => $body,
            $crate::TensorData::I16($v) => $body,
            $crate::TensorData::I32($v) => $body,
            $crate::TensorData::I64($v) => $body,
            $crate::TensorData::U8($v) => $body,
            $crate::TensorData::U16($v) => $body,
            $crate::TensorData::U32($v) => $body,
            $crate::TensorData::U64($v) => $body,
            $crate::TensorData::Bool($v) => $body,
        }
    };
}

/// Element types that a [`Tensor`] can hold, with lossless-as-possible conversions
/// used by casts and generic kernels.
pub trait Element: Copy + PartialEq + std::fmt::Debug + Default + 'static {
    const DTYPE: DType;
    fn wrap(v: Vec<Self>) -> TensorData;
    fn unwrap_ref(d: &TensorData) -> Option<&[Self]>;
    fn unwrap_mut(d: &mut TensorData) -> Option<&mut Vec<Self>>;
    fn to_f64(self) -> f64;
    /// Conversion with ONNX `Cast` semantics: float→int truncates toward zero
    /// (saturating; NaN gives 0), int→int wraps, anything→bool is `!= 0`.
    fn from_f64(v: f64) -> Self;
    fn to_i64(self) -> i64;
    fn from_i64(v: i64) -> Self;
}

macro_rules! int_element {
    ($t:ty, $variant:ident) => {
        impl Element for $t {
            const DTYPE: DType = DType::$variant;
            fn wrap(v: Vec<Self>) -> TensorData {
                TensorData::$variant(v)
            }
            fn unwrap_ref(d: &TensorData) -> Option<&[Self]> {
                match d {
                    TensorData::$variant(v) => Some(v),
                    _ => None,
                }
            }
            fn unwrap_mut(d: &mut TensorData) -> Option<&mut Vec<Self>> {
                match d {
                    TensorData::$variant(v) => Some(v),
                    _ => None,
                }
            }
            fn to_f64(self) -> f64 {
                self as f64
            }
            fn from_f64(v: f64) -> Self {
                // ONNX/numpy casts of out-of-range floats are undefined; truncate and
                // saturate deterministically (Rust `as` semantics), then wrap via i64
                // for narrow types the way C converts.
                (v as i64) as $t
            }
            fn to_i64(self) -> i64 {
                self as i64
            }
            fn from_i64(v: i64) -> Self {
                v as $t
            }
        }
    };
}

int_element!(i8, I8);
int_element!(i16, I16);
int_element!(i32, I32);
int_element!(i64, I64);
int_element!(u8, U8);
int_element!(u16, U16);
int_element!(u32, U32);
int_element!(u64, U64);

macro_rules! float_element {
    ($t:ty, $variant:ident, $to:path, $from:path) => {
        impl Element for $t {
            const DTYPE: DType = DType::$variant;
            fn wrap(v: Vec<Self>) -> TensorData {
                TensorData::$variant(v)
            }
            fn unwrap_ref(d: &TensorData) -> Option<&[Self]> {
                match d {
                    TensorData::$variant(v) => Some(v),
                    _ => None,
                }
            }
            fn unwrap_mut(d: &mut TensorData) -> Option<&mut Vec<Self>> {
                match d {
                    TensorData::$variant(v) => Some(v),
                    _ => None,
                }
            }
            fn to_f64(self) -> f64 {
                $to(self)
            }
            fn from_f64(v: f64) -> Self {
                $from(v)
            }
            fn to_i64(self) -> i64 {
                $to(self) as i64
            }
            fn from_i64(v: i64) -> Self {
                $from(v as f64)
            }
        }
    };
}

fn f32_to_f64(x: f32) -> f64 {
    x as f64
}
fn f64_to_f32(v: f64) -> f32 {
    v as f32
}
fn f64_id(v: f64) -> f64 {
    v
}
float_element!(f32, F32, f32_to_f64, f64_to_f32);
float_element!(f64, F64, f64_id, f64_id);
float_element!(f16, F16, f16::to_f64, f16::from_f64);

impl Element for bool {
    const DTYPE: DType = DType::Bool;
    fn wrap(v: Vec<Self>) -> TensorData {
        TensorData::Bool(v)
    }
    fn unwrap_ref(d: &TensorData) -> Option<&[Self]> {
        match d {
            TensorData::Bool(v) => Some(v),
            _ => None,
        }
    }
    fn unwrap_mut(d: &mut TensorData) -> Option<&mut Vec<Self>> {
        match d {
            TensorData::Bool(v) => Some(v),
            _ => None,
        }
    }
    fn to_f64(self) -> f64 {
        if self {
            1.0
        } else {
            0.0
        }
    }
    fn from_f64(v: f64) -> Self {
        v != 0.0
    }
    fn to_i64(self) -> i64 {
        self as i64
    }
    fn from_i64(v: i64) -> Self {
        v != 0
    }
}

/// A dense row-major tensor with a fully known shape.
#[derive(Clone, PartialEq, Debug)]
pub struct Tensor {
    shape: Vec<usize>,
    data: TensorData,
}

impl Tensor {
    /// Builds a tensor, checking that the element count matches the shape.
    pub fn new(shape: Vec<usize>, data: TensorData) -> Result<Tensor, IrError> {
        let want = checked_count(&shape)?;
        let have = with_data!(&data, v => v.len());
        if want != have {
            return Err(IrError::TensorSize {
                shape,
                expected: want,
                actual: have,
            });
        }
        Ok(Tensor { shape, data })
    }

    /// Builds a tensor from a typed vector.
    pub fn from_vec<T: Element>(shape: Vec<usize>, v: Vec<T>) -> Result<Tensor, IrError> {
        Tensor::new(shape, T::wrap(v))
    }

    /// A rank-0 tensor.
    pub fn scalar<T: Element>(v: T) -> Tensor {
        Tensor {
            shape: Vec::new(),
            data: T::wrap(vec![v]),
        }
    }

    /// A tensor of `shape` filled with zeros of `dtype`.
    pub fn zeros(dtype: DType, shape: Vec<usize>) -> Result<Tensor, IrError> {
        let n = checked_count(&shape)?;
        let data = match dtype {
            DType::F32 => TensorData::F32(vec![0.0; n]),
            DType::F16 => TensorData::F16(vec![f16::ZERO; n]),
            DType::F64 => TensorData::F64(vec![0.0; n]),
            DType::I8 => TensorData::I8(vec![0; n]),
            DType::I16 => TensorData::I16(vec![0; n]),
            DType::I32 => TensorData::I32(vec![0; n]),
            DType::I64 => TensorData::I64(vec![0; n]),
            DType::U8 => TensorData::U8(vec![0; n]),
            DType::U16 => TensorData::U16(vec![0; n]),
            DType::U32 => TensorData::U32(vec![0; n]),
            DType::U64 => TensorData::U64(vec![0; n]),
            DType::Bool => TensorData::Bool(vec![false; n]),
        };
        Ok(Tensor { shape, data })
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    pub fn len(&self) -> usize {
        with_data!(&self.data, v => v.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn dtype(&self) -> DType {
        match &self.data {
            TensorData::F32(_) => DType::F32,
            TensorData::F16(_) => DType::F16,
            TensorData::F64(_) => DType::F64,
            TensorData::I8(_) => DType::I8,
            TensorData::I16(_) => DType::I16,
            TensorData::I32(_) => DType::I32,
            TensorData::I64(_) => DType::I64,
            TensorData::U8(_) => DType::U8,
            TensorData::U16(_) => DType::U16,
            TensorData::U32(_) => DType::U32,
            TensorData::U64(_) => DType::U64,
            TensorData::Bool(_) => DType::Bool,
        }
    }

    pub fn data(&self) -> &TensorData {
        &self.data
    }

    pub fn into_data(self) -> TensorData {
        self.data
    }

    /// The elements as `&[T]` when the dtype is `T`.
    pub fn as_slice<T: Element>(&self) -> Option<&[T]> {
        T::unwrap_ref(&self.data)
    }

    pub fn as_mut_vec<T: Element>(&mut self) -> Option<&mut Vec<T>> {
        T::unwrap_mut(&mut self.data)
    }

    /// Same data, new shape with the same element count.
    pub fn reshaped(self, shape: Vec<usize>) -> Result<Tensor, IrError> {
        Tensor::new(shape, self.data)
    }

    /// The slices at `indices` (in that order) along `axis`, any dtype: what
    /// structured pruning keeps of a weight, and a gather with constant indices.
    pub fn take_along(&self, axis: usize, indices: &[usize]) -> Result<Tensor, IrError> {
        let rank = self.shape.len();
        if axis >= rank {
            return Err(IrError::Invalid(format!(
                "axis {axis} out of range for a tensor of rank {rank}"
            )));
        }
        let d = self.shape[axis];
        if let Some(&bad) = indices.iter().find(|&&i| i >= d) {
            return Err(IrError::Invalid(format!(
                "index {bad} out of range for axis {axis} of size {d}"
            )));
        }
        let outer: usize = self.shape[..axis].iter().product();
        let inner: usize = self.shape[axis + 1..].iter().product();
        let mut shape = self.shape.clone();
        shape[axis] = indices.len();
        fn pick<T: Copy>(v: &[T], outer: usize, d: usize, inner: usize, idx: &[usize]) -> Vec<T> {
            let mut out = Vec::with_capacity(outer * idx.len() * inner);
            for o in 0..outer {
                for &i in idx {
                    let start = (o * d + i) * inner;
                    out.extend_from_slice(&v[start..start + inner]);
                }
            }
            out
        }
        let data = with_data!(&self.data, v => Element::wrap(pick(v, outer, d, inner, indices)));
        Tensor::new(shape, data)
    }

    /// Elements converted to `f64` (any dtype).
    pub fn to_f64_vec(&self) -> Vec<f64> {
        with_data!(&self.data, v => v.iter().map(|x| x.to_f64()).collect())
    }

    /// Elements converted to `f32` (any dtype).
    pub fn to_f32_vec(&self) -> Vec<f32> {
        match &self.data {
            TensorData::F32(v) => v.clone(),
            d => with_data!(d, v => v.iter().map(|x| x.to_f64() as f32).collect()),
        }
    }

    /// Elements converted to `i64` (any dtype; floats truncate).
    pub fn to_i64_vec(&self) -> Vec<i64> {
        with_data!(&self.data, v => v.iter().map(|x| x.to_i64()).collect())
    }

    /// Element-wise conversion to `dtype` with ONNX `Cast` semantics.
    pub fn cast(&self, dtype: DType) -> Tensor {
        fn conv<S: Element, T: Element>(v: &[S]) -> Vec<T> {
            // Integer sources go through i64 so that large int64 values survive
            // int→int casts exactly; floats go through f64.
            if S::DTYPE.is_float() {
                v.iter().map(|x| T::from_f64(x.to_f64())).collect()
            } else {
                v.iter().map(|x| T::from_i64(x.to_i64())).collect()
            }
        }
        let data = with_data!(&self.data, v => match dtype {
            DType::F32 => TensorData::F32(conv(v)),
            DType::F16 => TensorData::F16(conv(v)),
            DType::F64 => TensorData::F64(conv(v)),
            DType::I8 => TensorData::I8(conv(v)),
            DType::I16 => TensorData::I16(conv(v)),
            DType::I32 => TensorData::I32(conv(v)),
            DType::I64 => TensorData::I64(conv(v)),
            DType::U8 => TensorData::U8(conv(v)),
            DType::U16 => TensorData::U16(conv(v)),
            DType::U32 => TensorData::U32(conv(v)),
            DType::U64 => TensorData::U64(conv(v)),
            DType::Bool => TensorData::Bool(conv(v)),
        });
        Tensor {
            shape: self.shape.clone(),
            data,
        }
    }

    /// Decodes little-endian raw bytes (the layout of ONNX `raw_data`, `.npy` and
    /// pare's weight store). The byte count must match exactly.
    pub fn from_le_bytes(dtype: DType, shape: Vec<usize>, bytes: &[u8]) -> Result<Tensor, IrError> {
        let n = checked_count(&shape)?;
        let want = n.checked_mul(dtype.size_bytes()).ok_or(IrError::TooLarge)?;
        if bytes.len() != want {
            return Err(IrError::ByteCount {
                dtype,
                shape,
                expected: want,
                actual: bytes.len(),
            });
        }
        macro_rules! decode {
            ($t:ty, $w:literal) => {
                bytes
                    .chunks_exact($w)
                    .map(|c| <$t>::from_le_bytes(c.try_into().expect("chunk width")))
                    .collect()
            };
        }
        let data = match dtype {
            DType::F32 => TensorData::F32(decode!(f32, 4)),
            DType::F16 => TensorData::F16(
                bytes
                    .chunks_exact(2)
                    .map(|c| f16::from_le_bytes([c[0], c[1]]))
                    .collect(),
            ),
            DType::F64 => TensorData::F64(decode!(f64, 8)),
            DType::I8 => TensorData::I8(bytes.iter().map(|&b| b as i8).collect()),
            DType::I16 => TensorData::I16(decode!(i16, 2)),
            DType::I32 => TensorData::I32(decode!(i32, 4)),
            DType::I64 => TensorData::I64(decode!(i64, 8)),
            DType::U8 => TensorData::U8(bytes.to_vec()),
            DType::U16 => TensorData::U16(decode!(u16, 2)),
            DType::U32 => TensorData::U32(decode!(u32, 4)),
            DType::U64 => TensorData::U64(decode!(u64, 8)),
            DType::Bool => TensorData::Bool(bytes.iter().map(|&b| b != 0).collect()),
        };
        Ok(Tensor { shape, data })
    }

    /// Encodes the elements as little-endian raw bytes.
    pub fn to_le_bytes(&self) -> Vec<u8> {
        match &self.data {
            TensorData::Bool(v) => v.iter().map(|&b| b as u8).collect(),
            TensorData::I8(v) => v.iter().map(|&b| b as u8).collect(),
            TensorData::U8(v) => v.clone(),
            TensorData::F16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            TensorData::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            TensorData::F64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            TensorData::I16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            TensorData::I32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            TensorData::I64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            TensorData::U16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            TensorData::U32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            TensorData::U64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        }
    }
}

/// Element count of `shape`, refusing overflow and anything past [`MAX_ELEMENTS`]:
/// the check before materializing a tensor.
pub fn checked_count(shape: &[usize]) -> Result<usize, IrError> {
    let n = checked_product(shape).ok_or(IrError::TooLarge)?;
    if n > MAX_ELEMENTS {
        return Err(IrError::TooLarge);
    }
    Ok(n)
}

/// Element count of `shape`, refusing only overflow. For data that already exists
/// (a weight's bytes on disk or mapped): its size is checked against those bytes.
pub fn checked_product(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d))
}

/// Largest tensor pare will materialize (2^28 elements: 1 GiB of f32): a guard
/// against absurd sizes computed from hostile files, far above any activation of
/// the models pare targets. Weights that already exist on disk are not limited.
pub const MAX_ELEMENTS: usize = 1 << 28;

#[cfg(test)]
mod take_along_tests {
    use super::*;

    #[test]
    fn takes_slices_along_a_middle_axis() {
        let t = Tensor::from_vec(vec![2, 3, 2], (0..12).collect::<Vec<i64>>()).unwrap();
        let s = t.take_along(1, &[2, 0]).unwrap();
        assert_eq!(s.shape(), &[2, 2, 2]);
        assert_eq!(s.to_i64_vec(), vec![4, 5, 0, 1, 10, 11, 6, 7]);
    }

    #[test]
    fn rejects_an_index_past_the_axis() {
        let t = Tensor::from_vec(vec![2], vec![1.0f32, 2.0]).unwrap();
        assert!(t.take_along(0, &[2]).is_err());
        assert!(t.take_along(1, &[0]).is_err());
    }
}
