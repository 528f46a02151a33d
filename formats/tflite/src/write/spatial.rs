//! Convolutions, pools and means over NHWC tensors: CONV_2D / DEPTHWISE_CONV_2D
//! (explicit pads SAME cannot express become a PAD), MAX/AVERAGE_POOL_2D, MEAN.

use super::layout::{padding_of, Layout, TO_NHWC};
use super::lower::Lower;
use super::model::{Operator, Options, Tensor};
use crate::schema::{BuiltinOperator as B, Padding};
use crate::TfliteError;
use pare_ir::ops::AutoPad;
use pare_ir::{Dim, Node, Op, ValueId};

impl Lower<'_> {
    pub(super) fn conv(&mut self, n: &Node) -> Result<(), TfliteError> {
        let Op::Conv {
            auto_pad,
            kernel_shape,
            strides,
            pads,
            dilations,
            group,
        } = &n.op
        else {
            unreachable!()
        };
        let (x, w) = (self.input(n, 0)?, self.input(n, 1)?);
        let xs = &self.g.ty(x).shape;
        if xs.len() != 4 || kernel_shape.len() != 2 {
            return Err(
                self.unsupported(n, "only 2-D convolutions (NCHW input) have a TFLite form")
            );
        }
        if !self.is_const(w) {
            return Err(self.unsupported(n, "the weight must be a constant"));
        }
        let ws = self.fixed(n, w)?;
        let (Some(h), Some(wd), Some(c_in)) = (xs[2].fixed(), xs[3].fixed(), xs[1].fixed()) else {
            return Err(self.unsupported(n, "spatial dims and channels must be fixed"));
        };
        let k = [kernel_shape[0] as u64, kernel_shape[1] as u64];
        let s = [strides[0] as u64, strides[1] as u64];
        let d = [dilations[0] as u64, dilations[1] as u64];
        // Pads TFLite's SAME cannot express (PyTorch pads a stride-2 conv on both
        // sides) become an explicit PAD before a VALID conv, as converters write them.
        let explicit = match padding_of(*auto_pad, [h, wd], k, s, d, pads) {
            Some(p) => (p, None),
            None if *auto_pad == AutoPad::NotSet
                && pads.len() == 4
                && pads.iter().all(|&p| p >= 0) =>
            {
                (Padding::VALID, Some([pads[0], pads[2], pads[1], pads[3]]))
            }
            None => {
                return Err(self.unsupported(
                    n,
                    format!("pads {pads:?} ({auto_pad:?}) have no TFLite form"),
                ))
            }
        };
        let padding = explicit.0;
        let depthwise = *group > 1 && *group as u64 == c_in && ws[1] == 1;
        if *group != 1 && !depthwise {
            return Err(self.unsupported(
                n,
                "grouped convolutions other than depthwise have no TFLite kernel",
            ));
        }
        let mut xt = self.tensor(x, Layout::Nhwc)?;
        if let Some(hw) = explicit.1 {
            xt = self.pad_nhwc(n, xt, hw)?;
        }
        let wt = if depthwise {
            // LiteRT has no INT4 depthwise kernel (version 7 is not registered):
            // 4-bit weights go as int8 holding the same values.
            self.const_tensor_packed(w, None, &[1, 2, 3, 0], None, false)?
        } else {
            self.const_tensor(w, None, &TO_NHWC)?
        };
        let bt = match n.input(2) {
            Some(b) => self.tensor(b, Layout::Ir)?,
            None => self.zero_bias(n, x, w, ws[0])?,
        };
        let (act, out) = self.fused_act(n.outputs[0]);
        let ot = self.new_tensor(out, Layout::Nhwc)?;
        let stride = [strides[0] as i32, strides[1] as i32];
        let dilation = [dilations[0] as i32, dilations[1] as i32];
        let (code, options) = if depthwise {
            (
                B::DEPTHWISE_CONV_2D,
                Options::DepthwiseConv2D {
                    padding,
                    stride,
                    dilation,
                    depth_multiplier: (ws[0] as u64 / c_in) as i32,
                    act,
                },
            )
        } else {
            (
                B::CONV_2D,
                Options::Conv2D {
                    padding,
                    stride,
                    dilation,
                    act,
                },
            )
        };
        self.emit(Operator {
            code,
            version: 1,
            inputs: vec![xt, wt, bt],
            outputs: vec![ot],
            options,
        });
        Ok(())
    }

    pub(super) fn pool(&mut self, n: &Node) -> Result<(), TfliteError> {
        let (code, auto_pad, kernel, strides, pads, dilations, ceil) = match &n.op {
            Op::MaxPool {
                auto_pad,
                kernel_shape,
                strides,
                pads,
                dilations,
                ceil_mode,
                ..
            } => (
                B::MAX_POOL_2D,
                auto_pad,
                kernel_shape,
                strides,
                pads,
                dilations,
                *ceil_mode,
            ),
            Op::AveragePool {
                auto_pad,
                kernel_shape,
                strides,
                pads,
                dilations,
                ceil_mode,
                count_include_pad,
            } => {
                if *count_include_pad && pads.iter().any(|&p| p != 0) {
                    return Err(self
                        .unsupported(n, "TFLite's average pool leaves padding out of the count"));
                }
                (
                    B::AVERAGE_POOL_2D,
                    auto_pad,
                    kernel_shape,
                    strides,
                    pads,
                    dilations,
                    *ceil_mode,
                )
            }
            _ => unreachable!(),
        };
        if n.outputs.len() > 1 {
            return Err(self.unsupported(n, "max-pool indices have no TFLite form"));
        }
        let x = self.input(n, 0)?;
        let xs = self.fixed_spatial(n, x)?;
        if kernel.len() != 2 || dilations.iter().any(|&d| d != 1) || ceil {
            return Err(self.unsupported(
                n,
                "only 2-D pools without dilation or ceil_mode have a TFLite form",
            ));
        }
        let k = [kernel[0] as u64, kernel[1] as u64];
        let s = [strides[0] as u64, strides[1] as u64];
        let Some(padding) = padding_of(*auto_pad, xs, k, s, [1, 1], pads) else {
            return Err(self.unsupported(n, format!("pads {pads:?} are neither SAME nor VALID")));
        };
        let xt = self.tensor(x, Layout::Nhwc)?;
        let (act, out) = self.fused_act(n.outputs[0]);
        let ot = self.new_tensor(out, Layout::Nhwc)?;
        self.emit(Operator {
            code,
            version: 1,
            inputs: vec![xt],
            outputs: vec![ot],
            options: Options::Pool2D {
                padding,
                stride: [strides[0] as i32, strides[1] as i32],
                filter: [kernel[0] as i32, kernel[1] as i32],
                act,
            },
        });
        Ok(())
    }

    pub(super) fn fixed_spatial(&self, n: &Node, x: ValueId) -> Result<[u64; 2], TfliteError> {
        let s = &self.g.ty(x).shape;
        match (
            s.len(),
            s.get(2).and_then(Dim::fixed),
            s.get(3).and_then(Dim::fixed),
        ) {
            (4, Some(h), Some(w)) => Ok([h, w]),
            _ => Err(self.unsupported(n, "needs an NCHW input with fixed height and width")),
        }
    }

    pub(super) fn global_avg(&mut self, n: &Node) -> Result<(), TfliteError> {
        let x = self.input(n, 0)?;
        self.fixed_spatial(n, x)?;
        self.emit_mean(n, x, &[1, 2], true, Layout::Nhwc)
    }

    pub(super) fn mean(&mut self, n: &Node, keepdims: bool) -> Result<(), TfliteError> {
        let x = self.input(n, 0)?;
        let rank = self.g.ty(x).rank() as i64;
        let Some(axes_v) = n.input(1) else {
            return Err(self.unsupported(n, "reducing over all axes: give the axes"));
        };
        let Some(axes) = self.g.weight_of(axes_v).and_then(|w| w.tensor().ok()) else {
            return Err(self.unsupported(n, "the axes must be a constant"));
        };
        let mut axes: Vec<usize> = axes
            .to_i64_vec()
            .iter()
            .map(|&a| if a < 0 { a + rank } else { a } as usize)
            .collect();
        // On an NHWC input the axes move; without keepdims the kept dims must come
        // out in the IR's order (true when H and W go together, or C alone).
        let nhwc_pos = |a: usize| TO_NHWC.iter().position(|&p| p == a).unwrap_or(a);
        let kept: Vec<usize> = (0..4).filter(|a| !axes.contains(a)).collect();
        let order_kept = kept.windows(2).all(|w| nhwc_pos(w[0]) < nhwc_pos(w[1]));
        let layout = if rank == 4 && self.layout_of(x) == Layout::Nhwc && (keepdims || order_kept) {
            axes = axes.iter().map(|&a| nhwc_pos(a)).collect();
            Layout::Nhwc
        } else {
            Layout::Ir
        };
        axes.sort_unstable();
        let axes: Vec<i32> = axes.iter().map(|&a| a as i32).collect();
        self.emit_mean(n, x, &axes, keepdims, layout)
    }

    pub(super) fn emit_mean(
        &mut self,
        n: &Node,
        x: ValueId,
        axes: &[i32],
        keep_dims: bool,
        layout: Layout,
    ) -> Result<(), TfliteError> {
        let xt = self.tensor(x, layout)?;
        let at = self.i32_const(&format!("{}_axes", n.name), axes);
        let out = n.outputs[0];
        let out_layout = if layout == Layout::Nhwc && !keep_dims {
            Layout::Ir
        } else {
            layout
        };
        let ot = self.new_tensor(out, out_layout)?;
        self.emit(Operator {
            code: B::MEAN,
            version: 1,
            inputs: vec![xt, at],
            outputs: vec![ot],
            options: Options::Reducer { keep_dims },
        });
        Ok(())
    }

    /// A PAD of NHWC tensor `xt` by `[top, bottom, left, right]`: zeros, or the zero
    /// point of an int8 tensor (real 0, as the IR's conv pads).
    pub(super) fn pad_nhwc(&mut self, n: &Node, xt: i32, hw: [i64; 4]) -> Result<i32, TfliteError> {
        let src = self.m.tensors[xt as usize].clone();
        let grow = |d: i32, a: i64, b: i64| if d < 0 { d } else { d + (a + b) as i32 };
        let mut shape = src.shape.clone();
        shape[1] += (hw[0] + hw[1]) as i32;
        shape[2] += (hw[2] + hw[3]) as i32;
        let signature = src.signature.as_ref().map(|s| {
            vec![
                s[0],
                grow(s[1], hw[0], hw[1]),
                grow(s[2], hw[2], hw[3]),
                s[3],
            ]
        });
        let paddings: Vec<i32> = [0, 0, hw[0], hw[1], hw[2], hw[3], 0, 0]
            .iter()
            .map(|&p| p as i32)
            .collect();
        let pt = self.i32_const(&format!("{}_paddings", n.name), &paddings);
        self.m.tensors[pt as usize].shape = vec![4, 2];
        let out = self.m.add_tensor(
            Tensor {
                name: format!("{}_padded", n.name),
                shape,
                signature,
                ..src
            },
            None,
        );
        self.emit(Operator {
            code: B::PAD,
            version: 1,
            inputs: vec![xt, pt],
            outputs: vec![out],
            options: Options::None,
        });
        Ok(out)
    }
}
