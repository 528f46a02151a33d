//! Palette weights of the product and depthwise kernels (`PARE_PALETTE` in
//! pare_kernels.h, weight sharing): per run of output channels a codebook of int8
//! weights, per output channel its taps' indices into it, `bits` wide, least
//! significant bit first, each channel starting on a byte — taken by a layer whose
//! IR weight is a palette where that is smaller than the dense (or sparse) layout.

use super::sparse::{PaletteShape, WeightEncoding};
use pare_ir::{DType, Graph, ValueId};

/// A layer's weights as codebooks and packed indices, in the kernel's tap order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct KernelPalette {
    /// Entries per codebook.
    pub k: usize,
    /// Bits per index: enough for `k` entries.
    pub bits: u8,
    /// Output channels sharing one codebook.
    pub rows_per_book: usize,
    /// `books * k` int8 weights, each codebook ascending, padded by its last entry.
    pub codebooks: Vec<i64>,
    /// `rows * ceil(taps * bits / 8)` bytes.
    pub indices: Vec<i64>,
}

impl KernelPalette {
    /// Bytes in flash: codebooks and indices.
    pub fn stored_bytes(&self) -> usize {
        self.codebooks.len() + self.indices.len()
    }

    /// What the report says the layer stores.
    pub fn shape(&self) -> PaletteShape {
        PaletteShape {
            k: self.k,
            books: self.codebooks.len() / self.k.max(1),
            codebook_bytes: self.codebooks.len() as u64,
            index_bytes: self.indices.len() as u64,
        }
    }
}

/// Bits an index of a `k`-entry codebook takes.
fn index_bits(k: usize) -> u8 {
    (usize::BITS - (k.max(2) - 1).leading_zeros()) as u8
}

/// The codebook request a product or depthwise layer's weight (input `v`, whose
/// axis 0 is the output channels when `rows_first`) carries: `(k, codebooks over
/// the kernel's rows)`, from the IR's palette of 8-bit codes. A weight whose
/// codebooks run along the reduction (a `[k, n]` MatMul operand with several) gets
/// one codebook per output channel.
pub(super) fn palette_request(
    g: &Graph,
    v: ValueId,
    rows: usize,
    rows_first: bool,
) -> Option<(usize, usize)> {
    let w = g.weight_of(v)?;
    let spec = w.palette_spec()?;
    let q = w.ty.quant.as_ref()?;
    if w.ty.dtype != DType::I8 || q.bits != 8 {
        return None;
    }
    let books = if rows_first || spec.groups == 1 {
        spec.groups
    } else {
        rows
    };
    Some((spec.k, books))
}

/// `rows` rows of `depth` int8 codes (row-major, `weights`) as a palette of `books`
/// codebooks over runs of rows, each row `taps >= depth` indices (the padding points
/// at entry 0). The codebooks hold `k` entries where every run has at most `k`
/// distinct codes (the IR's palette), else as many as the largest run needs. `None`
/// when `books` does not split the rows.
pub(super) fn palette_of(
    weights: &[i64],
    rows: usize,
    depth: usize,
    taps: usize,
    (k, books): (usize, usize),
) -> Option<KernelPalette> {
    if books == 0 || !rows.is_multiple_of(books) || weights.len() != rows * depth {
        return None;
    }
    let rows_per_book = (rows / books).max(1);
    let distinct: Vec<Vec<i64>> = (0..books)
        .map(|b| {
            let run = &weights[b * rows_per_book * depth..(b + 1) * rows_per_book * depth];
            let mut v = run.to_vec();
            v.sort_unstable();
            v.dedup();
            v
        })
        .collect();
    let most = distinct.iter().map(Vec::len).max().unwrap_or(0);
    let k = if most <= k { k } else { most }.max(2);
    if k > 256 {
        return None;
    }
    let bits = index_bits(k);
    let mut codebooks = Vec::with_capacity(books * k);
    for book in &distinct {
        let last = book.last().copied().unwrap_or(0);
        codebooks.extend((0..k).map(|e| book.get(e).copied().unwrap_or(last)));
    }
    let row_bytes = (taps * bits as usize).div_ceil(8);
    let mut indices = Vec::with_capacity(rows * row_bytes);
    for r in 0..rows {
        let book = &distinct[r / rows_per_book];
        let mut packed = vec![0i64; row_bytes];
        for (j, w) in weights[r * depth..(r + 1) * depth].iter().enumerate() {
            // Sorted and deduplicated: the code is there, once.
            let idx = book.binary_search(w).unwrap_or(0) as i64;
            let bit = j * bits as usize;
            let word = idx << (bit % 8);
            packed[bit / 8] |= word & 0xff;
            if bit % 8 + bits as usize > 8 {
                packed[bit / 8 + 1] |= word >> 8;
            }
        }
        indices.extend(packed);
    }
    Some(KernelPalette {
        k,
        bits,
        rows_per_book,
        codebooks,
        indices,
    })
}

/// The smallest of a layer's weight forms: the dense layout's bytes, the sparse
/// stream's (where offered) and the palette's (where offered); ties keep the
/// simpler form. `force_palette` takes the palette wherever there is one.
pub(crate) fn smallest(
    dense: usize,
    sparse: Option<usize>,
    palette: Option<usize>,
    force_palette: bool,
) -> WeightEncoding {
    if force_palette && palette.is_some() {
        return WeightEncoding::Palette;
    }
    let mut best = (dense, WeightEncoding::Dense);
    for (bytes, enc) in [
        (sparse, WeightEncoding::SparseBitmap),
        (palette, WeightEncoding::Palette),
    ] {
        if let Some(b) = bytes.filter(|&b| b < best.0) {
            best = (b, enc);
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Index `j` of a packed row.
    fn index_at(row: &[i64], j: usize, bits: usize) -> i64 {
        let bit = j * bits;
        let lo = row[bit / 8];
        let hi = row.get(bit / 8 + 1).copied().unwrap_or(0);
        ((lo | hi << 8) >> (bit % 8)) & ((1 << bits) - 1)
    }

    #[test]
    fn codebooks_per_run_and_odd_width_indices_decode() {
        // Four rows of 5 codes, two codebooks of (at most) 5 entries: 3-bit indices.
        let w: Vec<i64> = vec![
            -3, 7, 7, 1, -3, //
            1, 1, 0, 7, -3, //
            100, -100, 0, 5, 5, //
            5, 5, 5, 5, 5,
        ];
        let p = palette_of(&w, 4, 5, 8, (5, 2)).expect("fits");
        assert_eq!((p.k, p.bits, p.rows_per_book), (5, 3, 2));
        assert_eq!(p.codebooks, vec![-3, 0, 1, 7, 7, -100, 0, 5, 100, 100]);
        // 8 taps of 3 bits: 3 bytes a row.
        assert_eq!(p.indices.len(), 12);
        assert_eq!(p.stored_bytes(), 22);
        for r in 0..4 {
            let row = &p.indices[r * 3..(r + 1) * 3];
            let book = &p.codebooks[(r / 2) * 5..(r / 2 + 1) * 5];
            for j in 0..8 {
                let idx = index_at(row, j, 3) as usize;
                let want = if j < 5 { w[r * 5 + j] } else { book[0] };
                assert_eq!(book[idx], want, "row {r} tap {j}");
            }
        }
    }

    #[test]
    fn a_run_with_more_codes_than_k_widens_the_codebooks() {
        let w: Vec<i64> = (0..6).collect();
        let p = palette_of(&w, 2, 3, 4, (2, 2)).expect("fits");
        assert_eq!((p.k, p.bits), (3, 2));
        assert!(palette_of(&w, 2, 3, 4, (2, 4)).is_none());
    }

    #[test]
    fn the_smallest_form_wins_and_ties_stay_simple() {
        use WeightEncoding::*;
        assert_eq!(smallest(100, None, Some(60), false), Palette);
        assert_eq!(smallest(100, Some(50), Some(60), false), SparseBitmap);
        assert_eq!(smallest(100, None, Some(100), false), Dense);
        assert_eq!(smallest(100, Some(50), Some(300), true), Palette);
        assert_eq!(smallest(100, Some(50), None, true), SparseBitmap);
    }
}
