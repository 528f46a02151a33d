//! The out-of-line weight store: raw little-endian bytes, owned or memory-mapped,
//! stored dense, sparse or as a palette, identified by a content hash.

pub mod palette;
pub mod sparse;

pub use palette::PaletteSpec;

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

/// How a weight's bytes are stored: a storage property, not a dtype, so every
/// reader of [`Weight::bytes`] or [`Weight::tensor`] sees the same dense values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WeightEncoding {
    /// Every element in row-major order (4-bit types packed two per byte).
    Dense,
    /// A per-row bitmap of the non-zero elements, then their values: see [`sparse`].
    Sparse { nnz: usize },
    /// Codebooks and packed indices (weight sharing): see [`palette`].
    Palette(PaletteSpec),
}

/// One weight: its type (always fully known shape) and raw bytes.
#[derive(Clone, Debug)]
pub struct Weight {
    pub ty: TensorType,
    bytes: WeightBytes,
    encoding: WeightEncoding,
    /// The dense bytes of a sparse or palette weight, decoded on first use.
    dense: OnceLock<Arc<[u8]>>,
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
        let want = stored_len(&ty, n).ok_or(IrError::TooLarge)?;
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
            encoding: WeightEncoding::Dense,
            dense: OnceLock::new(),
            hash: OnceLock::new(),
        })
    }

    /// A sparse weight over `bytes` in the layout of [`sparse`]: every size it
    /// declares (bitmap length, values against the bitmap's popcount, padding) is
    /// checked here, so a bad one is an error and never reaches a reader.
    pub fn sparse(ty: TensorType, bytes: WeightBytes) -> Result<Weight, IrError> {
        if ty.fixed_shape().is_none() {
            return Err(IrError::SymbolicWeight(ty.to_string()));
        }
        let dense = sparse::decode(&ty, bytes.as_bytes())?;
        let nnz = sparse::count_nonzero(&ty, &dense).ok_or(IrError::TooLarge)?;
        Ok(Weight {
            ty,
            bytes,
            encoding: WeightEncoding::Sparse { nnz },
            dense: OnceLock::from(Arc::from(dense)),
            hash: OnceLock::new(),
        })
    }

    /// This weight stored sparse (the same values), whatever its encoding now.
    pub fn to_sparse(&self) -> Result<Weight, IrError> {
        if self.is_sparse() {
            return Ok(self.clone());
        }
        let stored = sparse::encode(&self.ty, self.bytes())?;
        Weight::sparse(self.ty.clone(), WeightBytes::Owned(stored.into()))
    }

    /// A palette weight over `bytes` in the layout of [`palette`]: sizes, indices,
    /// padding and canonical form are checked here, so a bad one never reaches a reader.
    pub fn palette(
        ty: TensorType,
        spec: PaletteSpec,
        bytes: WeightBytes,
    ) -> Result<Weight, IrError> {
        if ty.fixed_shape().is_none() {
            return Err(IrError::SymbolicWeight(ty.to_string()));
        }
        let dense = palette::decode(&ty, spec, bytes.as_bytes())?;
        Ok(Weight {
            ty,
            bytes,
            encoding: WeightEncoding::Palette(spec),
            dense: OnceLock::from(Arc::from(dense)),
            hash: OnceLock::new(),
        })
    }

    /// This weight stored as a palette of `spec` (the same values): fails when a
    /// group holds more distinct values than the codebook has entries.
    pub fn to_palette(&self, spec: PaletteSpec) -> Result<Weight, IrError> {
        if self.encoding == WeightEncoding::Palette(spec) {
            return Ok(self.clone());
        }
        let stored = palette::encode(&self.ty, spec, self.bytes())?;
        Weight::palette(self.ty.clone(), spec, WeightBytes::Owned(stored.into()))
    }

    /// This weight stored dense (the same values), whatever its encoding now.
    pub fn to_dense(&self) -> Result<Weight, IrError> {
        if self.encoding == WeightEncoding::Dense {
            return Ok(self.clone());
        }
        Weight::new(self.ty.clone(), WeightBytes::Owned(self.bytes().into()))
    }

    /// Bytes the sparse form of this weight would take (its current size if sparse).
    pub fn sparse_len(&self) -> Option<usize> {
        let nnz = match self.encoding {
            WeightEncoding::Sparse { nnz } => nnz,
            _ => sparse::count_nonzero(&self.ty, self.bytes())?,
        };
        sparse::sparse_len(&self.ty, nnz)
    }

    pub fn encoding(&self) -> WeightEncoding {
        self.encoding
    }

    pub fn is_sparse(&self) -> bool {
        matches!(self.encoding, WeightEncoding::Sparse { .. })
    }

    /// The palette this weight is stored as, if it is.
    pub fn palette_spec(&self) -> Option<PaletteSpec> {
        match self.encoding {
            WeightEncoding::Palette(spec) => Some(spec),
            _ => None,
        }
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
            encoding: WeightEncoding::Dense,
            dense: OnceLock::new(),
            hash: OnceLock::new(),
        }
    }

    /// A weight of quantized type `ty` holding `t`'s values (dtype and shape must
    /// match `ty`), packed two per byte when `ty` is a 4-bit type.
    pub fn with_type(ty: TensorType, t: &Tensor) -> Result<Weight, IrError> {
        let shape: Vec<u64> = t.shape().iter().map(|&d| d as u64).collect();
        if t.dtype() != ty.dtype || ty.fixed_shape().as_deref() != Some(&shape[..]) {
            return Err(IrError::Invalid(format!(
                "tensor {}{:?} does not fit weight type {ty}",
                t.dtype(),
                t.shape()
            )));
        }
        let raw = t.to_le_bytes();
        let bytes = if is_nibble_packed(&ty) {
            pack_nibbles(&raw)
        } else {
            raw
        };
        Weight::new(ty, WeightBytes::Owned(bytes.into()))
    }

    /// The dense bytes (packed for 4-bit types: see [`is_nibble_packed`]), whatever
    /// the encoding: a sparse weight is decoded once and kept, so no reader can take
    /// its sparse bytes for dense ones. [`Weight::stored_bytes`] is what is stored.
    pub fn bytes(&self) -> &[u8] {
        match self.encoding {
            WeightEncoding::Dense => self.bytes.as_bytes(),
            // The constructors checked and decoded the bytes; decoding again only
            // follows a clone that dropped them, and cannot fail.
            WeightEncoding::Sparse { .. } => self.dense.get_or_init(|| {
                sparse::decode(&self.ty, self.bytes.as_bytes())
                    .unwrap_or_default()
                    .into()
            }),
            WeightEncoding::Palette(spec) => self.dense.get_or_init(|| {
                palette::decode(&self.ty, spec, self.bytes.as_bytes())
                    .unwrap_or_default()
                    .into()
            }),
        }
    }

    /// The bytes as stored: the sparse or palette form (what an artifact
    /// holds and what size figures count).
    pub fn stored_bytes(&self) -> &[u8] {
        self.bytes.as_bytes()
    }

    /// Length of [`Weight::stored_bytes`].
    pub fn stored_len(&self) -> usize {
        self.bytes.as_bytes().len()
    }

    pub fn storage(&self) -> &WeightBytes {
        &self.bytes
    }

    /// Decodes the bytes into a tensor (copies).
    pub fn tensor(&self) -> Result<Tensor, IrError> {
        let shape: Vec<usize> = self
            .ty
            .fixed_shape()
            .ok_or_else(|| IrError::SymbolicWeight(self.ty.to_string()))?
            .into_iter()
            .map(|d| d as usize)
            .collect();
        if is_nibble_packed(&self.ty) {
            let n = crate::tensor::checked_product(&shape).ok_or(IrError::TooLarge)?;
            let signed = self.ty.dtype == crate::DType::I8;
            let vals = unpack_nibbles(self.bytes(), n, signed);
            return Tensor::from_le_bytes(self.ty.dtype, shape, &vals);
        }
        Tensor::from_le_bytes(self.ty.dtype, shape, self.bytes())
    }

    /// BLAKE3 of the dtype, shape, encoding and stored bytes: the identity the
    /// textual IR prints. A dense weight hashes as it did before sparse storage.
    pub fn content_hash(&self) -> &[u8; 32] {
        self.hash.get_or_init(|| {
            let mut h = blake3::Hasher::new();
            h.update(self.ty.to_string().as_bytes());
            h.update(&[0]);
            match self.encoding {
                WeightEncoding::Dense => {}
                WeightEncoding::Sparse { .. } => {
                    h.update(b"sparse\0");
                }
                WeightEncoding::Palette(spec) => {
                    h.update(format!("palette k={} groups={}\0", spec.k, spec.groups).as_bytes());
                }
            }
            h.update(self.stored_bytes());
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

/// Two weights are equal when their types, encodings and stored bytes are,
/// wherever the bytes live.
impl PartialEq for Weight {
    fn eq(&self, other: &Weight) -> bool {
        self.ty == other.ty
            && self.encoding == other.encoding
            && self.stored_bytes() == other.stored_bytes()
    }
}

/// True when weights of type `ty` are stored as packed nibbles: an i8 or u8 type
/// quantized to 4 bits or fewer keeps two values per byte, low nibble first (the
/// ONNX INT4/UINT4 layout), so a 4-bit model really is half the size of int8.
pub fn is_nibble_packed(ty: &TensorType) -> bool {
    matches!(ty.dtype, crate::DType::I8 | crate::DType::U8)
        && ty.quant.as_ref().is_some_and(|q| q.bits <= 4)
}

/// Bytes a weight of type `ty` with `n` elements occupies in the store.
pub fn stored_len(ty: &TensorType, n: usize) -> Option<usize> {
    if is_nibble_packed(ty) {
        Some(n / 2 + n % 2)
    } else {
        n.checked_mul(ty.dtype.size_bytes())
    }
}

/// Packs one-byte values two per byte, low nibble first; an odd count leaves the
/// last high nibble zero.
pub fn pack_nibbles(vals: &[u8]) -> Vec<u8> {
    vals.chunks(2)
        .map(|p| (p[0] & 0x0f) | (p.get(1).map_or(0, |&h| h & 0x0f) << 4))
        .collect()
}

/// Unpacks `n` nibbles into bytes, sign-extending from 4 bits when `signed`.
pub fn unpack_nibbles(bytes: &[u8], n: usize, signed: bool) -> Vec<u8> {
    let widen = |x: u8| if signed && x & 0x08 != 0 { x | 0xf0 } else { x };
    bytes
        .iter()
        .flat_map(|&b| [widen(b & 0x0f), widen(b >> 4)])
        .take(n)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DType, QParams};

    fn int4_type(shape: &[u64]) -> TensorType {
        let mut ty = TensorType::fixed(DType::I8, shape);
        ty.quant = Some(QParams {
            bits: 4,
            signed: true,
            scale: vec![0.5],
            zero_point: vec![0],
            axis: None,
        });
        ty
    }

    #[test]
    fn int4_weights_pack_two_per_byte_and_round_trip() {
        let vals: Vec<i8> = vec![-8, 7, -1, 0, 3];
        let t = Tensor::from_vec(vec![5], vals.clone()).unwrap();
        let w = Weight::with_type(int4_type(&[5]), &t).unwrap();
        assert_eq!(w.bytes(), &[0x78, 0x0f, 0x03]);
        assert_eq!(w.tensor().unwrap().as_slice::<i8>().unwrap(), &vals[..]);
    }

    #[test]
    fn int4_byte_count_is_checked() {
        let err = Weight::new(int4_type(&[5]), WeightBytes::Owned(vec![0u8; 5].into()));
        assert!(matches!(err, Err(IrError::ByteCount { expected: 3, .. })));
    }
}
