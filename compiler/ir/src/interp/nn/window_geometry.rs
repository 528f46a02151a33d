//! The resolved window geometry of Conv, ConvTranspose, MaxPool and AveragePool
//! for code generators: the same attribute reading (auto_pad, ceil_mode,
//! output_shape, …) the interpreter's kernels use, so generated code and the
//! reference can never disagree on pads or output sizes.

use super::conv_transpose::transposed_geometry;
use super::util::{kernel_from, window, Res, Window, WindowAttrs};
use crate::interp::InterpError;
use crate::Op;

/// One op's window, per spatial dim (as many entries as spatial dims).
///
/// Input position `i` and kernel tap `k` meet output position `o` when
/// `o·stride + k·dilation = i + pad_begin` (Conv and the pools) or
/// `i·stride + k·dilation = o + pad_begin` (ConvTranspose).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowGeometry {
    pub input: Vec<usize>,
    pub kernel: Vec<usize>,
    pub strides: Vec<usize>,
    pub dilations: Vec<usize>,
    /// Pads before each dim; negative only for a ConvTranspose whose
    /// `output_shape` asks for more than the natural size.
    pub pad_begin: Vec<i64>,
    /// Explicit (or `SAME_*`) pads after each dim; the positions a `ceil_mode`
    /// window reaches beyond them are not padding (an AveragePool never counts
    /// them). Zero for ConvTranspose, whose output size says it all.
    pub pad_end: Vec<i64>,
    pub out: Vec<usize>,
}

/// The geometry of `op` on an input of shape `x` (`[N, C, spatial...]`) and,
/// for Conv and ConvTranspose, a weight of shape `w`. Errors are the
/// interpreter's own (bad attributes, kernels larger than the padded input, …).
pub fn window_geometry(
    op: &Op,
    x: &[usize],
    w: Option<&[usize]>,
) -> Result<WindowGeometry, InterpError> {
    if x.len() < 3 {
        return Err(InterpError::op(
            op,
            format!("x must have rank >= 3 ([N, C, spatial...]), got shape {x:?}"),
        ));
    }
    let spatial = &x[2..];
    let need_w =
        || w.ok_or_else(|| InterpError::op(op, "the weight's shape is needed for its geometry"));
    match op {
        Op::Conv {
            auto_pad,
            kernel_shape,
            strides,
            pads,
            dilations,
            ..
        } => {
            let w = need_w()?;
            let kernel = kernel_from(op, kernel_shape, w.get(2..).unwrap_or_default())?;
            let win = window(
                op,
                spatial,
                &kernel,
                &WindowAttrs {
                    auto_pad: *auto_pad,
                    strides,
                    pads,
                    dilations,
                    ceil_mode: false,
                },
            )?;
            Ok(resolved(spatial, win))
        }
        Op::ConvTranspose { .. } => {
            let g = transposed_geometry(op, x, need_w()?)?;
            Ok(WindowGeometry {
                pad_end: vec![0; g.input.len()],
                input: g.input,
                kernel: g.kernel,
                strides: g.strides,
                dilations: g.dilations,
                pad_begin: g.pad_begin,
                out: g.out,
            })
        }
        Op::MaxPool {
            auto_pad,
            kernel_shape,
            strides,
            pads,
            dilations,
            ceil_mode,
            ..
        }
        | Op::AveragePool {
            auto_pad,
            kernel_shape,
            strides,
            pads,
            dilations,
            ceil_mode,
            ..
        } => {
            let kernel = pool_kernel(op, kernel_shape, spatial.len())?;
            let win = window(
                op,
                spatial,
                &kernel,
                &WindowAttrs {
                    auto_pad: *auto_pad,
                    strides,
                    pads,
                    dilations,
                    ceil_mode: *ceil_mode,
                },
            )?;
            Ok(resolved(spatial, win))
        }
        _ => Err(InterpError::op(op, "has no window geometry")),
    }
}

/// A pool's `kernel_shape`: one positive entry per spatial dim.
fn pool_kernel(op: &Op, kernel_shape: &[i64], rank: usize) -> Res<Vec<usize>> {
    let k = kernel_shape
        .iter()
        .map(|&k| usize::try_from(k).ok().filter(|&k| k > 0))
        .collect::<Option<Vec<usize>>>()
        .filter(|k| k.len() == rank);
    k.ok_or_else(|| {
        InterpError::op(
            op,
            format!("kernel_shape must have {rank} positive entries, got {kernel_shape:?}"),
        )
    })
}

/// A resolved Conv or pool window as a [`WindowGeometry`].
fn resolved(spatial: &[usize], win: Window) -> WindowGeometry {
    let signed = |v: &[usize]| v.iter().map(|&p| p as i64).collect::<Vec<i64>>();
    WindowGeometry {
        input: spatial.to_vec(),
        pad_begin: signed(&win.pad_begin),
        pad_end: signed(&win.pad_end),
        kernel: win.kernel,
        strides: win.strides,
        dilations: win.dilations,
        out: win.out,
    }
}
