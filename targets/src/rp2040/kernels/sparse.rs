//! Sparse weights of the product kernels (`PARE_SPARSE` in pare_kernels.h): per
//! output channel, per chunk of eight taps, a mask byte then the chunk's non-zero
//! int8 weights — chosen for a layer when that stream is smaller than the blocked
//! dense layout, and described for the report (encoding, bytes, density).

/// Taps one mask byte covers.
const CHUNK: usize = 8;

/// How a layer's weights are stored in flash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightEncoding {
    /// Every code, in the kernel's blocked layout (8 bits, or 4 packed two a byte).
    Dense,
    /// A mask bit per tap and the non-zero 8-bit codes (`PARE_SPARSE`).
    SparseBitmap,
    /// Codebooks of int8 weights and packed indices (`PARE_PALETTE`).
    Palette,
}

impl WeightEncoding {
    /// The report's name: `dense`, `sparse-bitmap` or `palette`.
    pub fn name(self) -> &'static str {
        match self {
            WeightEncoding::Dense => "dense",
            WeightEncoding::SparseBitmap => "sparse-bitmap",
            WeightEncoding::Palette => "palette",
        }
    }
}

/// What a palette layer keeps: `books` codebooks of `k` int8 weights, then
/// `WeightStorage::bits`-wide indices, each output channel's on whole bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PaletteShape {
    pub k: usize,
    pub books: usize,
    pub codebook_bytes: u64,
    pub index_bytes: u64,
}

/// What a product layer keeps in flash for its weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WeightStorage {
    pub encoding: WeightEncoding,
    /// Bits of each code (8, or 4 for packed dense weights; a palette's index width).
    pub bits: u8,
    /// Bytes of the weight arrays as emitted (a palette's codebooks and indices).
    pub stored_bytes: u64,
    /// Bytes the dense layout takes (equal to `stored_bytes` when dense): the
    /// blocked int8 codes of a product layer, the int32 taps of a depthwise one.
    pub dense_bytes: u64,
    /// Weights of the layer (its real taps, no padding) and how many are non-zero.
    pub weights: u64,
    pub nonzeros: u64,
    /// The codebooks of a palette layer.
    pub palette: Option<PaletteShape>,
}

impl WeightStorage {
    /// Non-zero weights over all weights (1 for a layer without weights).
    pub fn density(&self) -> f64 {
        if self.weights == 0 {
            1.0
        } else {
            self.nonzeros as f64 / self.weights as f64
        }
    }
}

/// The `PARE_SPARSE` stream of `rows` channels of `depth` codes (`weights`
/// row-major), each channel `ceil(padded / 8)` chunks: the mask byte, then the
/// chunk's non-zero codes as bytes (two's complement).
pub(super) fn sparse_stream(weights: &[i64], rows: usize, depth: usize, padded: usize) -> Vec<i64> {
    let chunks = padded.div_ceil(CHUNK).max(1);
    let mut out = Vec::new();
    for r in 0..rows {
        let row = &weights[r * depth..(r + 1) * depth];
        for c in 0..chunks {
            let taps = c * CHUNK..((c + 1) * CHUNK).min(depth);
            let mut mask = 0i64;
            let mut values = Vec::with_capacity(CHUNK);
            for k in taps {
                if row[k] != 0 {
                    mask |= 1 << (k - c * CHUNK);
                    values.push(row[k] & 0xff);
                }
            }
            out.push(mask);
            out.extend(values);
        }
    }
    out
}

/// Whether `rows` channels of `depth` 8-bit codes (`padded` taps in the kernel),
/// `nonzeros` of them non-zero, are stored sparse: when the stream is smaller than
/// the codes themselves (not just than their padding, so a dense 3x3 layer over
/// one channel stays dense).
pub(crate) fn prefers_sparse(rows: usize, depth: usize, padded: usize, nonzeros: u64) -> bool {
    (rows * padded.div_ceil(CHUNK).max(1)) as u64 + nonzeros < (rows * depth) as u64
}

/// Output positions `pare_conv2d_sparse` computes at once (its scratch holds
/// that many columns).
pub(crate) const CONV_POSITIONS: usize = 3;

/// The non-zero count of `weights`.
pub(super) fn nonzeros(weights: &[i64]) -> u64 {
    weights.iter().filter(|&&w| w != 0).count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_holds_a_mask_then_the_non_zeros_per_chunk() {
        // Two channels of 10 taps (padded to 12: two chunks each).
        let w: Vec<i64> = vec![
            0, 3, 0, 0, 0, 0, 0, -1, 0, 5, //
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        let s = sparse_stream(&w, 2, 10, 12);
        assert_eq!(s, vec![0b1000_0010, 3, 0xff, 0b10, 5, 0, 0]);
        assert_eq!(nonzeros(&w), 3);
        assert!(prefers_sparse(2, 10, 12, 3));
    }

    #[test]
    fn sparse_only_where_smaller_than_the_codes() {
        // 16 taps: 2 mask bytes, so 13 non-zeros (15 bytes) still pay, 14 do not.
        assert!(prefers_sparse(1, 16, 16, 13));
        assert!(!prefers_sparse(1, 16, 16, 14));
        // 9 taps padded to 12: 2 mask bytes + 8 non-zeros = 10 > 9.
        assert!(!prefers_sparse(1, 9, 12, 8));
        assert!(prefers_sparse(1, 9, 12, 6));
    }
}
