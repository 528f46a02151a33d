//! Window geometry of Conv, ConvTranspose and the pools along one spatial axis:
//! output sizes and the pads `auto_pad` implies. Shape inference and the
//! interpreter both call these so that a static shape and a computed tensor can
//! never disagree.
//!
//! Callers validate the attributes first (kernel, stride and dilation at least 1,
//! pads not negative); the arithmetic is done in 128 bits on 64-bit operands,
//! where a few products and sums cannot overflow.

use crate::ops::AutoPad;

/// One spatial axis of a conv or pool window. `pad_begin`/`pad_end` are the
/// explicit pads and only count when `auto_pad` is `NOTSET`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Axis {
    pub kernel: u64,
    pub stride: u64,
    pub dilation: u64,
    pub pad_begin: u64,
    pub pad_end: u64,
}

impl Axis {
    /// Span of input one dilated kernel covers: `(kernel - 1) * dilation + 1`.
    pub fn extent(&self) -> u128 {
        (u128::from(self.kernel.max(1)) - 1) * u128::from(self.dilation) + 1
    }
}

/// Why a per-axis attribute list is unusable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ListError {
    /// It has this many entries, neither zero nor the number wanted.
    Len(usize),
    /// This entry is below the minimum.
    Entry(i64),
}

/// A per-axis attribute (`strides`, `dilations`, `pads`, `output_padding`): empty
/// means `default` everywhere, else exactly `n` entries, each at least `min`.
pub(crate) fn spatial_list(
    v: &[i64],
    n: usize,
    default: i64,
    min: i64,
) -> Result<Vec<i64>, ListError> {
    if v.is_empty() {
        return Ok(vec![default; n]);
    }
    if v.len() != n {
        return Err(ListError::Len(v.len()));
    }
    match v.iter().find(|&&x| x < min) {
        Some(&bad) => Err(ListError::Entry(bad)),
        None => Ok(v.to_vec()),
    }
}

/// Output size and the pads actually applied on one axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Resolved {
    pub out: u64,
    pub pad_begin: u64,
    pub pad_end: u64,
}

/// Why an axis has no valid output size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WindowError {
    /// The dilated kernel does not fit in the padded input.
    TooLarge { extent: u128, padded: u128 },
    /// The output size or a pad does not fit in 64 bits.
    Overflow,
}

/// Output size and pads of a conv or pool window over `input` elements, as ONNX
/// specifies them: `SAME_*` gives `ceil(input / stride)` outputs with the needed
/// padding split evenly (the odd one at the end for `SAME_UPPER`, at the start
/// for `SAME_LOWER`); otherwise `floor` (or `ceil` with `ceil_mode`) of
/// `(padded - extent) / stride + 1`, where a `ceil_mode` window may not start in
/// the end padding.
pub(crate) fn window(
    input: u64,
    a: &Axis,
    auto_pad: AutoPad,
    ceil_mode: bool,
) -> Result<Resolved, WindowError> {
    let (i, s, eff) = (u128::from(input), u128::from(a.stride.max(1)), a.extent());
    let (out, pb, pe) = match auto_pad {
        AutoPad::SameUpper | AutoPad::SameLower => {
            let out = i.div_ceil(s);
            let need = ((out.max(1) - 1) * s + eff).saturating_sub(i);
            let small = need / 2;
            if auto_pad == AutoPad::SameUpper {
                (out, small, need - small)
            } else {
                (out, need - small, small)
            }
        }
        AutoPad::Valid | AutoPad::NotSet => {
            let (pb, pe) = if auto_pad == AutoPad::NotSet {
                (u128::from(a.pad_begin), u128::from(a.pad_end))
            } else {
                (0, 0)
            };
            let padded = i + pb + pe;
            if padded < eff {
                return Err(WindowError::TooLarge {
                    extent: eff,
                    padded,
                });
            }
            let span = padded - eff;
            let out = if ceil_mode {
                let mut o = span.div_ceil(s) + 1;
                if (o - 1) * s >= i + pb {
                    o -= 1;
                }
                o
            } else {
                span / s + 1
            };
            (out, pb, pe)
        }
    };
    let fit = |v: u128| u64::try_from(v).map_err(|_| WindowError::Overflow);
    Ok(Resolved {
        out: fit(out)?,
        pad_begin: fit(pb)?,
        pad_end: fit(pe)?,
    })
}

/// Size a transposed convolution produces before any padding is cut:
/// `stride * (input - 1) + output_padding + extent`; `None` on overflow.
pub(crate) fn transpose_natural(input: u64, a: &Axis, output_padding: u64) -> Option<i128> {
    let eff = i128::try_from(a.extent()).ok()?;
    i128::from(a.stride)
        .checked_mul(i128::from(input) - 1)?
        .checked_add(i128::from(output_padding))?
        .checked_add(eff)
}

/// Output size of a transposed convolution when `output_shape` is not given:
/// `input * stride` for `SAME_*`, else the natural size less the explicit pads
/// (none for `VALID`). May be zero or negative, which callers reject; `None` on
/// overflow.
pub(crate) fn transpose_out(
    input: u64,
    a: &Axis,
    output_padding: u64,
    auto_pad: AutoPad,
) -> Option<i128> {
    match auto_pad {
        AutoPad::SameUpper | AutoPad::SameLower => {
            i128::from(input).checked_mul(i128::from(a.stride))
        }
        AutoPad::Valid => transpose_natural(input, a, output_padding),
        AutoPad::NotSet => transpose_natural(input, a, output_padding)?
            .checked_sub(i128::from(a.pad_begin))?
            .checked_sub(i128::from(a.pad_end)),
    }
}

/// The spatial part of a ConvTranspose `output_shape` attribute for `spatial`
/// spatial dims: it lists either those sizes or the whole shape. `Ok(None)`
/// when it is empty; `Err(len)` when it has neither length.
pub(crate) fn output_shape_spatial(
    output_shape: &[i64],
    spatial: usize,
) -> Result<Option<&[i64]>, usize> {
    match output_shape.len() {
        0 => Ok(None),
        n if n == spatial => Ok(Some(output_shape)),
        n if n == spatial + 2 => Ok(Some(&output_shape[2..])),
        n => Err(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axis(kernel: u64, stride: u64, dilation: u64, pads: (u64, u64)) -> Axis {
        Axis {
            kernel,
            stride,
            dilation,
            pad_begin: pads.0,
            pad_end: pads.1,
        }
    }

    fn out(input: u64, a: Axis, auto_pad: AutoPad, ceil: bool) -> (u64, u64, u64) {
        let r = window(input, &a, auto_pad, ceil).unwrap();
        (r.out, r.pad_begin, r.pad_end)
    }

    #[test]
    fn conv_and_pool_sizes() {
        assert_eq!(
            out(8, axis(3, 1, 1, (1, 1)), AutoPad::NotSet, false),
            (8, 1, 1)
        );
        assert_eq!(
            out(6, axis(3, 2, 1, (0, 0)), AutoPad::NotSet, false),
            (2, 0, 0)
        );
        assert_eq!(
            out(6, axis(3, 2, 1, (0, 0)), AutoPad::NotSet, true),
            (3, 0, 0)
        );
        // ceil_mode: the last window would start in the end padding, so it is dropped.
        assert_eq!(
            out(3, axis(2, 2, 1, (1, 1)), AutoPad::NotSet, true),
            (2, 1, 1)
        );
        // Pads are ignored unless NOTSET.
        assert_eq!(
            out(5, axis(3, 1, 2, (9, 9)), AutoPad::Valid, false),
            (1, 0, 0)
        );
        assert_eq!(
            out(5, axis(3, 2, 1, (0, 0)), AutoPad::SameUpper, false),
            (3, 1, 1)
        );
        assert_eq!(
            out(4, axis(2, 1, 1, (0, 0)), AutoPad::SameUpper, false),
            (4, 0, 1)
        );
        assert_eq!(
            out(4, axis(2, 1, 1, (0, 0)), AutoPad::SameLower, false),
            (4, 1, 0)
        );
        assert_eq!(
            window(2, &axis(3, 1, 1, (0, 0)), AutoPad::NotSet, false),
            Err(WindowError::TooLarge {
                extent: 3,
                padded: 2
            })
        );
        assert_eq!(
            window(
                u64::MAX,
                &axis(1, 1, 1, (u64::MAX, 0)),
                AutoPad::NotSet,
                false
            ),
            Err(WindowError::Overflow)
        );
    }

    #[test]
    fn attribute_lists() {
        assert_eq!(spatial_list(&[], 2, 1, 1), Ok(vec![1, 1]));
        assert_eq!(spatial_list(&[2, 3], 2, 1, 1), Ok(vec![2, 3]));
        assert_eq!(spatial_list(&[2], 2, 1, 1), Err(ListError::Len(1)));
        assert_eq!(spatial_list(&[1, 0], 2, 1, 1), Err(ListError::Entry(0)));
        assert_eq!(spatial_list(&[0, 0, 1, 0], 4, 0, 0), Ok(vec![0, 0, 1, 0]));
    }

    #[test]
    fn transposed_sizes() {
        let a = axis(3, 2, 1, (1, 1));
        assert_eq!(transpose_natural(4, &a, 1), Some(10));
        assert_eq!(transpose_out(4, &a, 1, AutoPad::NotSet), Some(8));
        assert_eq!(transpose_out(4, &a, 0, AutoPad::Valid), Some(9));
        assert_eq!(transpose_out(4, &a, 0, AutoPad::SameUpper), Some(8));
        let huge = axis(u64::MAX, u64::MAX, u64::MAX, (0, 0));
        assert_eq!(transpose_natural(u64::MAX, &huge, 0), None);
        assert_eq!(output_shape_spatial(&[], 2), Ok(None));
        assert_eq!(output_shape_spatial(&[9, 9], 2), Ok(Some(&[9i64, 9][..])));
        assert_eq!(
            output_shape_spatial(&[1, 2, 9, 9], 2),
            Ok(Some(&[9i64, 9][..]))
        );
        assert_eq!(output_shape_spatial(&[5], 2), Err(1));
    }
}
