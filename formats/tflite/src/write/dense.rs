//! Fully connected layers (Gemm, MatMul with a constant weight) and activation ×
//! activation MatMul (BATCH_MATMUL); weights re-laid for HWC-ordered inputs or outputs.

use super::layout::{Layout, TO_NHWC};
use super::lower::Lower;
use super::model::{Operator, Options, Tensor};
use crate::schema::{BuiltinOperator as B, TensorType};
use crate::TfliteError;
use pare_ir::{Node, Op, ValueId};

impl Lower<'_> {
    pub(super) fn gemm(&mut self, n: &Node) -> Result<(), TfliteError> {
        let Op::Gemm {
            alpha,
            beta,
            trans_a,
            trans_b,
        } = &n.op
        else {
            unreachable!()
        };
        if *alpha != 1.0 || (*beta != 1.0 && n.input(2).is_some()) || *trans_a {
            return Err(self.unsupported(
                n,
                "only alpha = beta = 1 without trans_a maps to FULLY_CONNECTED",
            ));
        }
        self.fully_connected(n, *trans_b)
    }

    pub(super) fn matmul(&mut self, n: &Node) -> Result<(), TfliteError> {
        let b = self.input(n, 1)?;
        if self.is_const(b) && self.g.ty(b).rank() == 2 {
            return self.fully_connected(n, false);
        }
        let (a, b) = (self.input(n, 0)?, b);
        let at = self.tensor(a, Layout::Ir)?;
        let bt = self.tensor(b, Layout::Ir)?;
        let ot = self.new_tensor(n.outputs[0], Layout::Ir)?;
        self.emit(Operator {
            code: B::BATCH_MATMUL,
            version: 1,
            inputs: vec![at, bt],
            outputs: vec![ot],
            options: Options::BatchMatMul {
                adj_x: false,
                adj_y: false,
            },
        });
        Ok(())
    }

    /// FULLY_CONNECTED from a Gemm or a MatMul with a constant 2-D weight; the
    /// weight is written `[out, in]`, its columns in HWC order after a flatten of an
    /// NHWC tensor.
    ///
    /// int8 layers are written as a 1×1 CONV_2D over the input held as a 1×1 image
    /// instead: LiteRT's reference FULLY_CONNECTED rounds its per-channel
    /// requantization once, in double, where its CONV_2D (and TFLite Micro's both)
    /// use gemmlowp's fixed-point multiply: only the conv is bit-exact with pare's
    /// integer Gemm. Chained layers stay in image form; one RESHAPE leaves it.
    pub(super) fn fully_connected(&mut self, n: &Node, trans_b: bool) -> Result<(), TfliteError> {
        let (x, w) = (self.input(n, 0)?, self.input(n, 1)?);
        if !self.is_const(w) {
            return Err(self.unsupported(n, "the weight must be a constant"));
        }
        let ws = self.fixed(n, w)?;
        let int8 = self.g.ty(x).quant.is_some() && self.g.ty(w).quant.is_some();
        let x_rank = self.g.ty(x).rank();
        if int8 && !(2..=3).contains(&x_rank) {
            return Err(self.unsupported(
                n,
                "an int8 fully connected layer needs a rank-2 or rank-3 input",
            ));
        }
        let avail = self.layout_of(x);
        let layout = match (int8, avail.hwc()) {
            (true, true) => Layout::PixelHwc,
            (true, false) => Layout::Pixel,
            (false, true) => Layout::FlatHwc,
            (false, false) => Layout::Ir,
        };
        let xt = self.tensor(x, layout)?;
        let (out_features, in_features) = if trans_b {
            (ws[0], ws[1])
        } else {
            (ws[1], ws[0])
        };
        let fin: Vec<usize> = if int8 {
            vec![out_features, 1, 1, in_features]
        } else {
            vec![out_features, in_features]
        };
        let (act, out) = self.fused_act(n.outputs[0]);
        // Rows in HWC order when the output becomes an NCHW image (a decoder's
        // Linear → Reshape): the reshape then gives NHWC with no TRANSPOSE.
        let rows = if layout.hwc() {
            None
        } else {
            self.hwc_rows(out, out_features)
        };
        let (wt, bt) = match rows {
            Some([c, h, wd]) => {
                let (view, perm): (Vec<usize>, [usize; 4]) = if trans_b {
                    (vec![c, h, wd, in_features], [1, 2, 0, 3])
                } else {
                    (vec![in_features, c, h, wd], [2, 3, 1, 0])
                };
                let wt = self.const_tensor_as(w, Some(&view), &perm, Some(&fin))?;
                let bt = match n.input(2) {
                    Some(b) => self.const_tensor_as(
                        b,
                        Some(&[c, h, wd]),
                        &[1, 2, 0],
                        Some(&[out_features]),
                    )?,
                    None => -1,
                };
                self.flat_src.insert(out, [c, h, wd]);
                (wt, bt)
            }
            None => {
                let wt = match (layout.hwc(), self.flat_src.get(&x).copied()) {
                    (true, Some([c, h, wd])) if trans_b => {
                        self.const_tensor_as(w, Some(&[ws[0], c, h, wd]), &TO_NHWC, Some(&fin))?
                    }
                    (true, Some([c, h, wd])) => self.const_tensor_as(
                        w,
                        Some(&[c, h, wd, ws[1]]),
                        &[3, 1, 2, 0],
                        Some(&fin),
                    )?,
                    _ if trans_b => self.const_tensor_as(w, None, &[0, 1], Some(&fin))?,
                    _ => self.const_tensor_as(w, None, &[1, 0], Some(&fin))?,
                };
                let bt = match n.input(2) {
                    Some(b) => {
                        if !self.is_const(b) {
                            return Err(self.unsupported(n, "the bias must be a constant"));
                        }
                        let bs = self.fixed(n, b)?;
                        if bs.iter().product::<usize>() != out_features {
                            return Err(self.unsupported(
                                n,
                                format!("bias of shape {bs:?} is not one per output"),
                            ));
                        }
                        self.const_tensor(b, Some(&[out_features]), &[0])?
                    }
                    None => -1,
                };
                (wt, bt)
            }
        };
        if int8 {
            // LiteRT's CONV_2D wants a bias.
            let bt = if bt < 0 {
                self.zero_bias(n, x, w, out_features)?
            } else {
                bt
            };
            let layout = if rows.is_some() {
                Layout::PixelHwc
            } else {
                Layout::Pixel
            };
            let ot = self.new_tensor(out, layout)?;
            self.emit(Operator {
                code: B::CONV_2D,
                version: 1,
                inputs: vec![xt, wt, bt],
                outputs: vec![ot],
                options: Options::Conv2D {
                    padding: crate::schema::Padding::VALID,
                    stride: [1, 1],
                    dilation: [1, 1],
                    act,
                },
            });
            return Ok(());
        }
        let keep_num_dims = x_rank > 2;
        let ot = self.new_tensor(
            out,
            if rows.is_some() {
                Layout::FlatHwc
            } else {
                Layout::Ir
            },
        )?;
        let inputs = if bt < 0 {
            vec![xt, wt]
        } else {
            vec![xt, wt, bt]
        };
        self.emit(Operator {
            code: B::FULLY_CONNECTED,
            version: 1,
            inputs,
            outputs: vec![ot],
            options: Options::FullyConnected { act, keep_num_dims },
        });
        Ok(())
    }

    /// `(C, H, W)` when fully connected output `out` (`features` wide) reaches, through
    /// single-reader element-wise ops, a reshape to an NCHW image of that size: its
    /// rows are then written in HWC order.
    pub(super) fn hwc_rows(&self, out: ValueId, features: usize) -> Option<[usize; 3]> {
        let mut v = out;
        loop {
            if self.g.outputs.contains(&v) {
                return None;
            }
            let [(reader, 0)] = self.uses[v.0 as usize][..] else {
                return None;
            };
            let r = self.g.node(reader);
            match &r.op {
                Op::Reshape { .. } => {
                    let dims = self.g.ty(r.outputs[0]).fixed_shape();
                    let dims: Vec<usize> = match dims {
                        Some(d) => d.into_iter().map(|d| d as usize).collect(),
                        // A symbolic batch is fine: only C, H, W matter.
                        None => {
                            let s = &self.g.ty(r.outputs[0]).shape;
                            let tail: Option<Vec<usize>> = s
                                .iter()
                                .skip(1)
                                .map(|d| d.fixed().map(|d| d as usize))
                                .collect();
                            let mut d = vec![0];
                            d.extend(tail?);
                            d
                        }
                    };
                    return match dims[..] {
                        [_, c, h, w] if c * h * w == features => Some([c, h, w]),
                        _ => None,
                    };
                }
                Op::Relu {}
                | Op::Sigmoid {}
                | Op::Tanh {}
                | Op::Silu {}
                | Op::LeakyRelu { .. }
                | Op::HardSwish {}
                | Op::HardSigmoid { .. } => v = r.outputs[0],
                _ => return None,
            }
        }
    }

    /// A zero bias for a conv that has none (LiteRT's CONV_2D and DEPTHWISE_CONV_2D
    /// require one): f32, or int32 at scale s_x·s_w per channel for int8.
    pub(super) fn zero_bias(
        &mut self,
        n: &Node,
        x: ValueId,
        w: ValueId,
        channels: usize,
    ) -> Result<i32, TfliteError> {
        let (xq, wq) = (self.g.ty(x).quant.clone(), self.g.ty(w).quant.clone());
        let (ty, quant) = match (xq, wq) {
            (Some(xq), Some(wq)) => {
                let sx = xq.scale[0];
                let scale: Vec<f32> = if wq.scale.len() == 1 {
                    vec![sx * wq.scale[0]; channels]
                } else {
                    wq.scale.iter().map(|&s| sx * s).collect()
                };
                let quant = super::model::Quant {
                    zero_point: vec![0; scale.len()],
                    scale,
                    dim: 0,
                };
                (TensorType::INT32, Some(quant))
            }
            (None, None) => (TensorType::FLOAT32, None),
            _ => {
                return Err(
                    self.unsupported(n, "input and weight must both be quantized or both float")
                )
            }
        };
        Ok(self.m.add_tensor(
            Tensor {
                name: format!("{}_zero_bias", n.name),
                shape: vec![channels as i32],
                signature: None,
                ty,
                buffer: 0,
                quant,
            },
            Some(vec![0u8; channels * 4]),
        ))
    }
}
