//! Layout facts of the NCHW → NHWC lowering: the permutations, shapes as TFLite writes
//! them (symbolic dims as 1 with -1 in the signature), constant re-layout and the
//! SAME/VALID reading of explicit pads.

use crate::schema::Padding;
use pare_ir::ops::AutoPad;
use pare_ir::Dim;

/// How a TFLite tensor holds an IR value.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Layout {
    /// As the IR does.
    Ir,
    /// A rank-4 NCHW value held as NHWC.
    Nhwc,
    /// A `[N, C·H·W]` flatten of an NCHW value held in `H·W·C` order (the flatten of
    /// the NHWC tensor): only fully connected readers, whose weight columns are re-laid.
    FlatHwc,
    /// A rank-2 `[N, C]` (or rank-3 `[B, T, C]`) value held as the rank-4 NHWC image
    /// `[N, 1, 1, C]` (`[B, T, 1, C]`): int8 fully connected layers run as 1×1
    /// CONV_2D (see `Lower::fully_connected`).
    Pixel,
    /// [`Layout::Pixel`] of a [`Layout::FlatHwc`] value.
    PixelHwc,
}

impl Layout {
    /// Whether the features are in HWC order (a flatten of an NHWC tensor).
    pub fn hwc(self) -> bool {
        matches!(self, Layout::FlatHwc | Layout::PixelHwc)
    }
}

/// The rank-4 image dims of a rank-2 or rank-3 value (`[N,C]` → `[N,1,1,C]`,
/// `[B,T,C]` → `[B,T,1,C]`).
pub fn pixel_dims(dims: &[Dim]) -> Option<Vec<Dim>> {
    match dims {
        [n, c] => Some(vec![n.clone(), Dim::Fixed(1), Dim::Fixed(1), c.clone()]),
        [b, t, c] => Some(vec![b.clone(), t.clone(), Dim::Fixed(1), c.clone()]),
        _ => None,
    }
}

/// NCHW → NHWC: TFLite dim `i` is IR dim `TO_NHWC[i]`.
pub const TO_NHWC: [usize; 4] = [0, 2, 3, 1];
/// NHWC → NCHW.
pub const TO_NCHW: [usize; 4] = [0, 3, 1, 2];

/// The IR dims as TFLite writes them: `(shape, signature)`, symbolic dims 1 in the
/// shape and -1 in the signature (`None` when all are fixed).
pub fn tfl_shape(dims: &[Dim]) -> (Vec<i32>, Option<Vec<i32>>) {
    let shape = dims
        .iter()
        .map(|d| d.fixed().map_or(1, |n| n as i32))
        .collect();
    let sig = dims.iter().any(Dim::is_sym).then(|| {
        dims.iter()
            .map(|d| d.fixed().map_or(-1, |n| n as i32))
            .collect()
    });
    (shape, sig)
}

/// `v` reordered so that element `i` is `v[perm[i]]`.
pub fn permuted<T: Clone>(v: &[T], perm: &[usize]) -> Vec<T> {
    perm.iter().map(|&p| v[p].clone()).collect()
}

/// Transposes row-major `bytes` of `shape` (elements of `elem` bytes) so that output
/// dim `i` is input dim `perm[i]`.
pub fn transpose_bytes(bytes: &[u8], elem: usize, shape: &[usize], perm: &[usize]) -> Vec<u8> {
    let rank = shape.len();
    let n: usize = shape.iter().product();
    if perm.iter().enumerate().all(|(i, &p)| i == p) || n == 0 {
        return bytes.to_vec();
    }
    let mut in_strides = vec![1usize; rank];
    for i in (0..rank.saturating_sub(1)).rev() {
        in_strides[i] = in_strides[i + 1] * shape[i + 1];
    }
    let out_shape = permuted(shape, perm);
    let strides: Vec<usize> = perm.iter().map(|&p| in_strides[p]).collect();
    let mut out = Vec::with_capacity(bytes.len());
    let mut idx = vec![0usize; rank];
    for _ in 0..n {
        let src: usize = idx.iter().zip(&strides).map(|(i, s)| i * s).sum::<usize>() * elem;
        out.extend_from_slice(&bytes[src..src + elem]);
        for d in (0..rank).rev() {
            idx[d] += 1;
            if idx[d] < out_shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    out
}

/// The TFLite padding that reproduces a 2-D window's explicit `pads`
/// (`[top, left, bottom, right]`), or `None` when neither SAME nor VALID does.
pub fn padding_of(
    auto_pad: AutoPad,
    input_hw: [u64; 2],
    kernel: [u64; 2],
    strides: [u64; 2],
    dilations: [u64; 2],
    pads: &[i64],
) -> Option<Padding> {
    match auto_pad {
        AutoPad::Valid => return Some(Padding::VALID),
        // TFLite's SAME puts the odd pixel at the end, as SAME_UPPER does.
        AutoPad::SameUpper => return Some(Padding::SAME),
        AutoPad::SameLower => {}
        AutoPad::NotSet => {}
    }
    if pads.iter().all(|&p| p == 0) {
        return Some(Padding::VALID);
    }
    let mut same = auto_pad == AutoPad::NotSet && pads.len() == 4;
    for i in 0..2 {
        let eff = (kernel[i] - 1) * dilations[i] + 1;
        let out = input_hw[i].div_ceil(strides[i]);
        let total = ((out - 1) * strides[i] + eff).saturating_sub(input_hw[i]) as i64;
        let before = total / 2;
        if pads.len() != 4 || pads[i] != before || pads[i + 2] != total - before {
            same = false;
        }
    }
    same.then_some(Padding::SAME)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transposes_nchw_to_nhwc() {
        // [1,2,2,3] CHW order 0..12 → HWC.
        let bytes: Vec<u8> = (0..12).collect();
        let out = transpose_bytes(&bytes, 1, &[1, 2, 2, 3], &TO_NHWC);
        // Shape [1,2,3,2]: element (0,h,w,c) = in[(0,c,h,w)] = c*6 + h*3 + w.
        assert_eq!(out, vec![0, 6, 1, 7, 2, 8, 3, 9, 4, 10, 5, 11]);
    }

    #[test]
    fn reads_same_and_valid_pads() {
        let k3 = [3, 3];
        let one = [1, 1];
        assert_eq!(
            padding_of(AutoPad::NotSet, [8, 8], k3, one, one, &[1, 1, 1, 1]),
            Some(Padding::SAME)
        );
        assert_eq!(
            padding_of(AutoPad::NotSet, [8, 8], k3, one, one, &[0, 0, 0, 0]),
            Some(Padding::VALID)
        );
        // Stride 2 on an even size: SAME pads 0 before, 1 after.
        assert_eq!(
            padding_of(AutoPad::NotSet, [8, 8], k3, [2, 2], one, &[0, 0, 1, 1]),
            Some(Padding::SAME)
        );
        assert_eq!(
            padding_of(AutoPad::NotSet, [8, 8], k3, [2, 2], one, &[1, 1, 1, 1]),
            None
        );
    }
}
