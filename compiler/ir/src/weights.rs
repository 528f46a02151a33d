//! The out-of-line weight store: raw little-endian bytes, owned or memory-mapped,
//! identified by a content hash.

use crate::{IrError, Tensor, TensorType};
use std::fmt;
use std::sync::{Arc, OnceLock};

/// Where a weight's bytes live. Mapped weights point into a memory-mapped file
/// (ONNX external data), so a multi-gigabyte model is not copied into memory.
#[derive(Clone)]
pub enum WeightBytes {
    Owned(Arc<[u8]>),
    Mapped {
        map: Arc<memmap2::Mmap>,
        offset: usize,
        len: usize,
    },
}

impl WeightBytes {
    /// A window of a mapped file, checked to lie inside it.
    pub fn mapped(
        map: Arc<memmap2::Mmap>,
        offset: usize,
        len: usize,
    ) -> Result<WeightBytes, IrError> {
        match offset.checked_add(len) {
            Some(end) if end <= map.len() => Ok(WeightBytes::Mapped { map, offset, len }),
            _ => Err(IrError::OutOfFile {
                offset,
                len,
                file_len: map.len(),
            }),
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        match self {
            WeightBytes::Owned(b) => b,
            WeightBytes::Mapped { map, offset, len } => &map[*offset..*offset + *len],
        }
    }
}

impl fmt::Debug for WeightBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WeightBytes::Owned(b) => write!(f, "Owned({} bytes)", b.len()),
            WeightBytes::Mapped { offset, len, .. } => write!(f, "Mapped(@{offset}, {len} bytes)"),
        }
    }
}

/// One weight: its type (always fully known shape) and raw bytes.
#[derive(Clone, Debug)]
pub struct Weight {
    pub ty: TensorType,
    bytes: WeightBytes,
    hash: OnceLock<[u8; 32]>,
}

impl Weight {
    /// A weight over `bytes`, checked against the element count `ty` declares.
    pub fn new(ty: TensorType, bytes: WeightBytes) -> Result<Weight, IrError> {
        let shape = ty
            .fixed_shape()
            .ok_or_else(|| IrError::SymbolicWeight(ty.to_string()))?;
        let shape: Vec<usize> = shape
            .iter()
            .map(|&d| usize::try_from(d).map_err(|_| IrError::TooLarge))
            .collect::<Result<_, _>>()?;
        // No size cap: the bytes exist (possibly memory-mapped); they must match.
        let n = crate::tensor::checked_product(&shape).ok_or(IrError::TooLarge)?;
        let want = n
            .checked_mul(ty.dtype.size_bytes())
            .ok_or(IrError::TooLarge)?;
        let have = bytes.as_bytes().len();
        if want != have {
            return Err(IrError::ByteCount {
                dtype: ty.dtype,
                shape,
                expected: want,
                actual: have,
            });
        }
        Ok(Weight {
            ty,
            bytes,
            hash: OnceLock::new(),
        })
    }

    /// A weight holding a copy of `t`'s data.
    pub fn from_tensor(t: &Tensor) -> Weight {
        let ty = TensorType::fixed(
            t.dtype(),
            &t.shape().iter().map(|&d| d as u64).collect::<Vec<_>>(),
        );
        Weight {
            ty,
            bytes: WeightBytes::Owned(t.to_le_bytes().into()),
            hash: OnceLock::new(),
        }
    }

    pub fn bytes(&self) -> &[u8] {
        self.bytes.as_bytes()
    }

    pub fn storage(&self) -> &WeightBytes {
        &self.bytes
    }

    /// Decodes the bytes into a tensor (copies).
    pub fn tensor(&self) -> Result<Tensor, IrError> {
        let shape = self
            .ty
            .fixed_shape()
            .ok_or_else(|| IrError::SymbolicWeight(self.ty.to_string()))?
            .into_iter()
            .map(|d| d as usize)
            .collect();
        Tensor::from_le_bytes(self.ty.dtype, shape, self.bytes())
    }

    /// BLAKE3 of the dtype, shape and bytes: the identity the textual IR prints.
    pub fn content_hash(&self) -> &[u8; 32] {
        self.hash.get_or_init(|| {
            let mut h = blake3::Hasher::new();
            h.update(self.ty.to_string().as_bytes());
            h.update(&[0]);
            h.update(self.bytes());
            *h.finalize().as_bytes()
        })
    }

    /// First 16 hex digits of [`Weight::content_hash`].
    pub fn short_hash(&self) -> String {
        self.content_hash()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// Two weights are equal when their types and bytes are, wherever the bytes live.
impl PartialEq for Weight {
    fn eq(&self, other: &Weight) -> bool {
        self.ty == other.ty && self.bytes() == other.bytes()
    }
}
