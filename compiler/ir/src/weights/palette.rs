//! The palette weight encoding (weight sharing): per group of rows a codebook of `k`
//! values, and for every element the index of its value, `bits = ceil(log2 k)` wide.
//!
//! Layout (little-endian, like the dense form):
//!
//! * rows = the size of axis 0 (1 for a scalar), row length = elements / rows, as in
//!   [`super::sparse`]; the rows split into `groups` equal runs of consecutive rows
//!   (1 group: one codebook for the tensor; `rows` groups: one per output channel of
//!   a Conv or `trans_b` Gemm weight), each with its own codebook;
//! * the codebooks: `groups * k` elements in the dense stored form of the weight's
//!   dtype (f32, f16, or the i8/u8 codes of a quantized weight: a palettized
//!   int8 layer keeps its scales in the type);
//! * the indices, row by row, each row starting on a byte boundary (so a kernel can
//!   start at any output channel): `bits` per element, least significant bit first
//!   (index `j` of a row starts at bit `j * bits` of the row), padding bits zero.
//!
//! The encoding is canonical, so equal dense values and equal `(k, groups)` give
//! equal bytes: each codebook holds its group's distinct values in ascending order
//! (floats by IEEE total order), padded to `k` entries by repeating the last, and
//! each element points at the first entry equal to it. Decoding checks that too.

use crate::{DType, IrError, TensorType};
use std::cmp::Ordering;

/// The shape of a palette encoding: codebook size and number of codebooks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PaletteSpec {
    /// Entries per codebook, 2..=256.
    pub k: usize,
    /// Codebooks: 1 (per tensor) up to the rows of axis 0 (per channel); divides them.
    pub groups: usize,
}

impl PaletteSpec {
    /// Bits per index: enough for `k` entries.
    pub fn bits(&self) -> usize {
        (usize::BITS - (self.k.max(2) - 1).leading_zeros()) as usize
    }
}

/// Where everything lies in a palette-encoded weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PaletteLayout {
    pub spec: PaletteSpec,
    pub rows: usize,
    pub row_len: usize,
    /// Bytes of indices per row: `ceil(row_len * bits / 8)`.
    pub row_bytes: usize,
    /// Bytes of one codebook entry.
    pub entry_bytes: usize,
}

impl PaletteLayout {
    /// The layout of `spec` over a weight of type `ty`, or why it cannot hold one.
    pub fn of(ty: &TensorType, spec: PaletteSpec) -> Result<PaletteLayout, IrError> {
        let bad = |reason: String| IrError::PaletteWeight {
            ty: ty.to_string(),
            reason,
        };
        if !supports(ty) {
            return Err(bad(
                "palettes hold f32 or f16 weights or 8-bit quantized codes (a 4-bit weight is already its own palette)".into(),
            ));
        }
        if !(2..=256).contains(&spec.k) {
            return Err(bad(format!(
                "a codebook holds 2 to 256 entries, not {}",
                spec.k
            )));
        }
        let shape = ty.fixed_shape().ok_or(IrError::TooLarge)?;
        let n = shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(usize::try_from(d).ok()?))
            .ok_or(IrError::TooLarge)?;
        let rows = match shape.first() {
            Some(&r) => usize::try_from(r).map_err(|_| IrError::TooLarge)?,
            None => 1,
        };
        if spec.groups == 0
            || (rows > 0 && !rows.is_multiple_of(spec.groups))
            || spec.groups > rows.max(1)
        {
            return Err(bad(format!(
                "{} codebooks do not split its {rows} rows evenly",
                spec.groups
            )));
        }
        let row_len = n.checked_div(rows).unwrap_or(0);
        let row_bits = row_len.checked_mul(spec.bits()).ok_or(IrError::TooLarge)?;
        Ok(PaletteLayout {
            spec,
            rows,
            row_len,
            row_bytes: row_bits.div_ceil(8),
            entry_bytes: ty.dtype.size_bytes(),
        })
    }

    pub fn elements(&self) -> usize {
        self.rows * self.row_len
    }

    /// Bytes of all codebooks.
    pub fn codebook_len(&self) -> usize {
        self.spec.groups * self.spec.k * self.entry_bytes
    }

    /// Bytes of all indices.
    pub fn indices_len(&self) -> usize {
        self.rows * self.row_bytes
    }

    pub fn total_len(&self) -> usize {
        self.codebook_len() + self.indices_len()
    }

    /// Rows per codebook.
    pub fn rows_per_group(&self) -> usize {
        (self.rows / self.spec.groups).max(1)
    }
}

/// True when weights of type `ty` can be stored as a palette.
pub fn supports(ty: &TensorType) -> bool {
    match ty.dtype {
        DType::F32 | DType::F16 => ty.quant.is_none(),
        DType::I8 | DType::U8 => ty.quant.is_some() && !crate::is_nibble_packed(ty),
        _ => false,
    }
}

/// Total order of stored elements: floats by IEEE total order, codes as integers.
fn compare(dtype: DType, a: &[u8], b: &[u8]) -> Ordering {
    match dtype {
        DType::F32 => {
            let f = |x: &[u8]| f32::from_le_bytes([x[0], x[1], x[2], x[3]]);
            f(a).total_cmp(&f(b))
        }
        DType::F16 => {
            let f = |x: &[u8]| half::f16::from_le_bytes([x[0], x[1]]);
            f(a).total_cmp(&f(b))
        }
        DType::I8 => (a[0] as i8).cmp(&(b[0] as i8)),
        _ => a.cmp(b),
    }
}

/// The number of distinct values in the largest group of dense bytes: the least
/// `k` a palette of `groups` codebooks needs.
pub fn distinct_values(ty: &TensorType, dense: &[u8], groups: usize) -> Result<usize, IrError> {
    let layout = PaletteLayout::of(ty, PaletteSpec { k: 256, groups })?;
    Ok(codebooks(ty.dtype, &layout, dense)
        .iter()
        .map(Vec::len)
        .max()
        .unwrap_or(0))
}

/// Each group's distinct elements, ascending.
fn codebooks<'a>(dtype: DType, layout: &PaletteLayout, dense: &'a [u8]) -> Vec<Vec<&'a [u8]>> {
    let size = layout.entry_bytes;
    let group_elems = layout.rows_per_group() * layout.row_len;
    (0..layout.spec.groups)
        .map(|g| {
            let start = (g * group_elems * size).min(dense.len());
            let end = ((g + 1) * group_elems * size).min(dense.len());
            let mut vals: Vec<&[u8]> = dense[start..end].chunks_exact(size).collect();
            vals.sort_by(|a, b| compare(dtype, a, b).then_with(|| a.cmp(b)));
            vals.dedup();
            vals
        })
        .collect()
}

/// Encodes dense stored bytes of type `ty` (their length already checked) as a
/// palette of `spec`: fails when a group holds more than `k` distinct values.
pub fn encode(ty: &TensorType, spec: PaletteSpec, dense: &[u8]) -> Result<Vec<u8>, IrError> {
    let layout = PaletteLayout::of(ty, spec)?;
    let size = layout.entry_bytes;
    let bits = spec.bits();
    let books = codebooks(ty.dtype, &layout, dense);
    let mut out = Vec::with_capacity(layout.total_len());
    for (g, book) in books.iter().enumerate() {
        if book.len() > spec.k {
            return Err(IrError::PaletteWeight {
                ty: ty.to_string(),
                reason: format!(
                    "codebook {g} needs {} distinct values, more than its {} entries",
                    book.len(),
                    spec.k
                ),
            });
        }
        for e in 0..spec.k {
            match book.get(e).or(book.last()) {
                Some(v) => out.extend_from_slice(v),
                None => out.extend(std::iter::repeat_n(0u8, size)),
            }
        }
    }
    let rpg = layout.rows_per_group();
    for row in 0..layout.rows {
        let book = &books[row / rpg];
        let mut packed = vec![0u8; layout.row_bytes];
        for j in 0..layout.row_len {
            let at = (row * layout.row_len + j) * size;
            let v = &dense[at..at + size];
            // The codebook is sorted and deduplicated, so the match is unique.
            let idx = book
                .binary_search_by(|e| compare(ty.dtype, e, v).then_with(|| (*e).cmp(v)))
                .unwrap_or(0);
            let bit = j * bits;
            let word = (idx as u32) << (bit % 8);
            packed[bit / 8] |= word as u8;
            if bit % 8 + bits > 8 {
                packed[bit / 8 + 1] |= (word >> 8) as u8;
            }
        }
        out.extend_from_slice(&packed);
    }
    Ok(out)
}

/// Index `j` of a row of packed indices (`bits` wide, least significant bit first).
pub fn index_at(row: &[u8], j: usize, bits: usize) -> usize {
    let bit = j * bits;
    let lo = row[bit / 8] as u32;
    let hi = row.get(bit / 8 + 1).copied().unwrap_or(0) as u32;
    (((lo | hi << 8) >> (bit % 8)) & ((1u32 << bits) - 1)) as usize
}

/// Decodes a palette weight of type `ty` into its dense stored bytes, checking
/// every size it declares, that every index lies inside its codebook, that padding
/// bits are zero and that the encoding is the canonical one.
pub fn decode(ty: &TensorType, spec: PaletteSpec, stored: &[u8]) -> Result<Vec<u8>, IrError> {
    let bad = |reason: String| IrError::PaletteWeight {
        ty: ty.to_string(),
        reason,
    };
    let layout = PaletteLayout::of(ty, spec)?;
    if stored.len() != layout.total_len() {
        return Err(bad(format!(
            "holds {} bytes, but {} codebooks of {} entries and {} rows of {} index bytes take {}",
            stored.len(),
            spec.groups,
            spec.k,
            layout.rows,
            layout.row_bytes,
            layout.total_len()
        )));
    }
    let (books, indices) = stored.split_at(layout.codebook_len());
    let size = layout.entry_bytes;
    let bits = spec.bits();
    let rpg = layout.rows_per_group();
    let mut dense = Vec::with_capacity(layout.elements() * size);
    for row in 0..layout.rows {
        let packed = &indices[row * layout.row_bytes..(row + 1) * layout.row_bytes];
        let book = &books[(row / rpg) * spec.k * size..][..spec.k * size];
        for j in 0..layout.row_len {
            let idx = index_at(packed, j, bits);
            if idx >= spec.k {
                return Err(bad(format!(
                    "element {j} of row {row} points at entry {idx} of a {}-entry codebook",
                    spec.k
                )));
            }
            dense.extend_from_slice(&book[idx * size..(idx + 1) * size]);
        }
        let used = layout.row_len * bits;
        if !used.is_multiple_of(8) && packed[layout.row_bytes - 1] >> (used % 8) != 0 {
            return Err(bad(format!(
                "row {row} sets index bits past its {} elements",
                layout.row_len
            )));
        }
    }
    if encode(ty, spec, &dense)? != stored {
        return Err(bad(
            "is not in canonical form (each codebook sorted ascending without repeats, padded by its last entry, each element pointing at its first equal entry)".into(),
        ));
    }
    Ok(dense)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::QParams;

    fn f32_ty(shape: &[u64]) -> TensorType {
        TensorType::fixed(DType::F32, shape)
    }

    fn f32_bytes(v: &[f32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    #[test]
    fn bits_follow_k() {
        let b = |k| PaletteSpec { k, groups: 1 }.bits();
        assert_eq!(
            (b(2), b(4), b(5), b(16), b(17), b(32), b(256)),
            (1, 2, 3, 4, 5, 5, 8)
        );
    }

    #[test]
    fn per_tensor_round_trip_and_layout() {
        let ty = f32_ty(&[2, 3]);
        let dense = f32_bytes(&[0.5, -1.0, 0.5, 2.0, -1.0, -1.0]);
        let spec = PaletteSpec { k: 4, groups: 1 };
        let enc = encode(&ty, spec, &dense).unwrap();
        // Codebook [-1, 0.5, 2, 2] then rows of 3 two-bit indices: [1,0,1] [2,0,0].
        assert_eq!(&enc[..16], &f32_bytes(&[-1.0, 0.5, 2.0, 2.0])[..]);
        assert_eq!(&enc[16..], &[0b01_00_01, 0b00_00_10]);
        assert_eq!(decode(&ty, spec, &enc).unwrap(), dense);
    }

    #[test]
    fn per_channel_codebooks_and_odd_bit_widths() {
        let mut ty = TensorType::fixed(DType::I8, &[2, 5]);
        ty.quant = Some(QParams {
            bits: 8,
            signed: true,
            scale: vec![0.1, 0.2],
            zero_point: vec![0, 0],
            axis: Some(0),
        });
        let dense: Vec<u8> = [-3i8, 7, 7, 1, -3, 100, 100, -100, 0, 5]
            .iter()
            .map(|&x| x as u8)
            .collect();
        let spec = PaletteSpec { k: 5, groups: 2 };
        let enc = encode(&ty, spec, &dense).unwrap();
        assert_eq!(enc.len(), 10 + 2 * 2); // 3-bit indices: 15 bits per row
        assert_eq!(decode(&ty, spec, &enc).unwrap(), dense);
        assert_eq!(distinct_values(&ty, &dense, 2).unwrap(), 4);
        assert_eq!(distinct_values(&ty, &dense, 1).unwrap(), 7);
    }

    #[test]
    fn too_many_values_and_bad_bytes_are_errors() {
        let ty = f32_ty(&[4]);
        let dense = f32_bytes(&[1.0, 2.0, 3.0, 4.0]);
        let spec = PaletteSpec { k: 2, groups: 1 };
        assert!(encode(&ty, spec, &dense).is_err());
        let spec = PaletteSpec { k: 4, groups: 1 };
        let mut enc = encode(&ty, spec, &dense).unwrap();
        assert!(decode(&ty, spec, &enc[..enc.len() - 1]).is_err());
        // Swap two codebook entries: the values still decode, but not canonically.
        enc.swap(0, 4);
        enc.swap(1, 5);
        enc.swap(2, 6);
        enc.swap(3, 7);
        let err = decode(&ty, spec, &enc).unwrap_err().to_string();
        assert!(err.contains("canonical"), "{err}");
        assert!(PaletteLayout::of(&TensorType::fixed(DType::I64, &[4]), spec).is_err());
        assert!(PaletteLayout::of(&ty, PaletteSpec { k: 4, groups: 3 }).is_err());
    }
}
