//! The sparse weight encoding: a per-row bitmap of the non-zero elements followed by
//! the non-zero values in their stored form.
//!
//! Layout (all little-endian, like the dense form):
//!
//! * rows = the size of axis 0 (1 for a scalar), row length = elements / rows.
//!   Axis 0 is the output channel of Conv weights and of Gemm weights with
//!   `trans_b`; for ConvTranspose, MatMul and Gemm without `trans_b` it is the
//!   reduction axis, and a kernel walks the rows in order;
//! * a bitmap of `rows * ceil(row_len / 8)` bytes: each row starts on a byte
//!   boundary (so a kernel can start at any output channel) and bit `j % 8` of the
//!   row's byte `j / 8` (least significant bit first) is set when element `j` of the
//!   row is stored; bits past the row's end are zero;
//! * the stored elements in row-major order, each in the dense stored form: 4-bit
//!   types keep two per byte, low nibble first, the last high nibble zero when the
//!   count is odd; every other dtype keeps its own byte size.
//!
//! An element is left out when its stored bits are all zero (a float `-0.0` is kept),
//! so decoding gives back exactly the dense bytes, and the encoding of a dense weight
//! is unique: decoding rejects a stored zero, set padding bits or a set padding
//! nibble, so a sparse weight always equals the encoding of its dense form.

use crate::{IrError, TensorType};

/// Where the rows of a weight of `n` elements lie in the bitmap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SparseLayout {
    pub rows: usize,
    pub row_len: usize,
    /// Bytes of bitmap per row: `ceil(row_len / 8)`.
    pub row_bytes: usize,
}

impl SparseLayout {
    /// The layout of a weight of type `ty` (fixed shape), or None when its element
    /// count overflows.
    pub fn of(ty: &TensorType) -> Option<SparseLayout> {
        let shape = ty.fixed_shape()?;
        let n = shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(usize::try_from(d).ok()?))?;
        let rows = match shape.first() {
            Some(&r) => usize::try_from(r).ok()?,
            None => 1,
        };
        let row_len = n.checked_div(rows).unwrap_or(0);
        Some(SparseLayout {
            rows,
            row_len,
            row_bytes: row_len.div_ceil(8),
        })
    }

    pub fn elements(&self) -> usize {
        self.rows * self.row_len
    }

    pub fn bitmap_len(&self) -> usize {
        self.rows * self.row_bytes
    }
}

/// One byte per element: the dense stored bytes, with 4-bit weights unpacked (as
/// unsigned nibbles; only zero versus non-zero and the low four bits matter here).
fn element_bytes(ty: &TensorType, dense: &[u8], n: usize) -> (Vec<u8>, usize) {
    if crate::is_nibble_packed(ty) {
        (super::unpack_nibbles(dense, n, false), 1)
    } else {
        (dense.to_vec(), ty.dtype.size_bytes())
    }
}

/// Bytes the values of `nnz` stored elements of type `ty` take.
pub fn values_len(ty: &TensorType, nnz: usize) -> Option<usize> {
    super::stored_len(ty, nnz)
}

/// Bytes the sparse form of a weight of type `ty` with `nnz` non-zeros takes.
pub fn sparse_len(ty: &TensorType, nnz: usize) -> Option<usize> {
    SparseLayout::of(ty)?
        .bitmap_len()
        .checked_add(values_len(ty, nnz)?)
}

/// The non-zero count of dense stored bytes of type `ty`.
pub fn count_nonzero(ty: &TensorType, dense: &[u8]) -> Option<usize> {
    let layout = SparseLayout::of(ty)?;
    let (elems, size) = element_bytes(ty, dense, layout.elements());
    Some(
        elems
            .chunks_exact(size.max(1))
            .filter(|e| e.iter().any(|&b| b != 0))
            .count(),
    )
}

/// Encodes dense stored bytes of type `ty` (their length already checked).
pub fn encode(ty: &TensorType, dense: &[u8]) -> Result<Vec<u8>, IrError> {
    let layout = SparseLayout::of(ty).ok_or(IrError::TooLarge)?;
    let (elems, size) = element_bytes(ty, dense, layout.elements());
    let mut bitmap = vec![0u8; layout.bitmap_len()];
    let mut values = Vec::new();
    for (k, e) in elems.chunks_exact(size.max(1)).enumerate() {
        if e.iter().all(|&b| b == 0) {
            continue;
        }
        let (row, j) = (k / layout.row_len, k % layout.row_len);
        bitmap[row * layout.row_bytes + j / 8] |= 1 << (j % 8);
        values.extend_from_slice(e);
    }
    if crate::is_nibble_packed(ty) {
        values = super::pack_nibbles(&values);
    }
    bitmap.extend_from_slice(&values);
    Ok(bitmap)
}

/// Decodes a sparse weight of type `ty` into its dense stored bytes, checking every
/// size it declares: the bitmap's padding bits, that the values match its popcount,
/// and that no stored value is zero (which would make the encoding not unique).
pub fn decode(ty: &TensorType, stored: &[u8]) -> Result<Vec<u8>, IrError> {
    let bad = |reason: String| IrError::SparseWeight {
        ty: ty.to_string(),
        reason,
    };
    let layout = SparseLayout::of(ty).ok_or(IrError::TooLarge)?;
    let bitmap_len = layout.bitmap_len();
    if stored.len() < bitmap_len {
        return Err(bad(format!(
            "holds {} bytes, fewer than its {bitmap_len}-byte bitmap ({} rows of {} bytes)",
            stored.len(),
            layout.rows,
            layout.row_bytes
        )));
    }
    let (bitmap, values) = stored.split_at(bitmap_len);
    let pad_mask: u8 = match layout.row_len % 8 {
        0 => 0,
        r => !((1u8 << r) - 1),
    };
    if layout.row_bytes > 0 {
        for (row, bits) in bitmap.chunks_exact(layout.row_bytes).enumerate() {
            if bits[layout.row_bytes - 1] & pad_mask != 0 {
                return Err(bad(format!(
                    "row {row}'s bitmap sets bits past its {} elements",
                    layout.row_len
                )));
            }
        }
    }
    let nnz: usize = bitmap.iter().map(|b| b.count_ones() as usize).sum();
    let want = values_len(ty, nnz).ok_or(IrError::TooLarge)?;
    if values.len() != want {
        return Err(bad(format!(
            "its bitmap marks {nnz} non-zero elements, which take {want} bytes, but {} bytes of values follow",
            values.len()
        )));
    }
    let nibbles = crate::is_nibble_packed(ty);
    let (vals, size) = if nibbles {
        if nnz % 2 == 1 && values[want - 1] & 0xf0 != 0 {
            return Err(bad(
                "the padding nibble after its last value is not zero".into()
            ));
        }
        (super::unpack_nibbles(values, nnz, false), 1)
    } else {
        (values.to_vec(), ty.dtype.size_bytes())
    };
    let size = size.max(1);
    let mut dense = vec![0u8; layout.elements() * size];
    let mut next = vals.chunks_exact(size);
    for k in 0..layout.elements() {
        let (row, j) = (k / layout.row_len, k % layout.row_len);
        if bitmap[row * layout.row_bytes + j / 8] & (1 << (j % 8)) == 0 {
            continue;
        }
        let Some(v) = next.next() else {
            return Err(bad("fewer values than its bitmap marks".into()));
        };
        if v.iter().all(|&b| b == 0) {
            return Err(bad(format!(
                "element {k} is marked non-zero but its stored value is zero"
            )));
        }
        dense[k * size..(k + 1) * size].copy_from_slice(v);
    }
    Ok(if nibbles {
        super::pack_nibbles(&dense)
    } else {
        dense
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DType, QParams};

    fn int4(shape: &[u64]) -> TensorType {
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
    fn rows_start_on_byte_boundaries() {
        let ty = TensorType::fixed(DType::I8, &[2, 3]);
        let dense = [1u8, 0, 2, 0, 0, 3];
        let s = encode(&ty, &dense).unwrap();
        assert_eq!(s, vec![0b101, 0b100, 1, 2, 3]);
        assert_eq!(decode(&ty, &s).unwrap(), dense);
    }

    #[test]
    fn int4_values_stay_packed() {
        let ty = int4(&[1, 4]);
        // Elements -1, 0, 0, 7: packed 0x0f, 0x70.
        let dense = [0x0fu8, 0x70];
        let s = encode(&ty, &dense).unwrap();
        assert_eq!(s, vec![0b1001, 0x7f]);
        assert_eq!(decode(&ty, &s).unwrap(), dense);
    }

    #[test]
    fn inconsistent_sizes_are_errors() {
        let ty = TensorType::fixed(DType::I8, &[2, 3]);
        // Three bits set, two values.
        assert!(matches!(
            decode(&ty, &[0b101, 0b100, 1, 2]),
            Err(IrError::SparseWeight { .. })
        ));
        // A padding bit set.
        assert!(decode(&ty, &[0b1000_0001, 0, 1]).is_err());
        // A stored zero.
        assert!(decode(&ty, &[0b1, 0, 0]).is_err());
        // Shorter than the bitmap.
        assert!(decode(&ty, &[0b1]).is_err());
    }

    #[test]
    fn scalars_and_empty_weights_encode() {
        let ty = TensorType::fixed(DType::F32, &[]);
        let s = encode(&ty, &2.0f32.to_le_bytes()).unwrap();
        assert_eq!(decode(&ty, &s).unwrap(), 2.0f32.to_le_bytes());
        let ty = TensorType::fixed(DType::F32, &[0, 4]);
        assert_eq!(encode(&ty, &[]).unwrap(), Vec::<u8>::new());
        assert_eq!(decode(&ty, &[]).unwrap(), Vec::<u8>::new());
    }
}
