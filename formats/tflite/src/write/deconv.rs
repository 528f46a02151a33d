//! ConvTranspose as TRANSPOSE_CONV: weights `[C_in, C_out, kh, kw]` re-laid as
//! `[C_out, kh, kw, C_in]`, the output shape a constant (so the batch must be fixed),
//! ONNX pads read as TFLite's SAME or VALID.

use super::layout::Layout;
use super::lower::Lower;
use super::model::{Operator, Options};
use crate::schema::{BuiltinOperator as B, Padding};
use crate::TfliteError;
use pare_ir::ops::AutoPad;
use pare_ir::{Node, Op};

impl Lower<'_> {
    pub(super) fn conv_transpose(&mut self, n: &Node) -> Result<(), TfliteError> {
        let Op::ConvTranspose {
            auto_pad,
            kernel_shape,
            strides,
            pads,
            dilations,
            group,
            ..
        } = &n.op
        else {
            unreachable!()
        };
        let (x, w) = (self.input(n, 0)?, self.input(n, 1)?);
        let out = n.outputs[0];
        if kernel_shape.len() != 2 || *group != 1 || dilations.iter().any(|&d| d != 1) {
            return Err(self.unsupported(
                n,
                "only 2-D, ungrouped, undilated transposed convolutions have a TFLite form",
            ));
        }
        if !self.is_const(w) {
            return Err(self.unsupported(n, "the weight must be a constant"));
        }
        let xs = self.fixed(n, x).map_err(|_| {
            self.unsupported(n, "TRANSPOSE_CONV takes its output shape as a constant: give the input a fixed shape (--input-shape)")
        })?;
        let os = self.fixed(n, out)?;
        let (k, s) = ([kernel_shape[0], kernel_shape[1]], [strides[0], strides[1]]);
        let mut padding = None;
        if *auto_pad == AutoPad::NotSet && pads.len() == 4 {
            let valid = pads.iter().all(|&p| p == 0)
                && (0..2).all(|i| os[2 + i] as i64 == (xs[2 + i] as i64 - 1) * s[i] + k[i]);
            // TFLite's SAME: the input is the forward conv's SAME output of the
            // output, and the leading pad is half the total (rounded down).
            let same = (0..2).all(|i| {
                let (hin, hout) = (xs[2 + i] as i64, os[2 + i] as i64);
                let total = (hin - 1) * s[i] + k[i] - hout;
                (hout + s[i] - 1) / s[i] == hin && total >= 0 && pads[i] == total / 2
            });
            padding = if valid {
                Some(Padding::VALID)
            } else if same {
                Some(Padding::SAME)
            } else {
                None
            };
        }
        let Some(padding) = padding else {
            return Err(self.unsupported(
                n,
                format!("pads {pads:?} ({auto_pad:?}) are neither TFLite's SAME nor VALID"),
            ));
        };
        let shape: Vec<i32> = [os[0], os[2], os[3], os[1]]
            .iter()
            .map(|&d| d as i32)
            .collect();
        let st = self.i32_const(&format!("{}_output_shape", n.name), &shape);
        let wt = self.const_tensor(w, None, &[1, 2, 3, 0])?;
        let xt = self.tensor(x, Layout::Nhwc)?;
        let bt = match n.input(2) {
            Some(b) => self.tensor(b, Layout::Ir)?,
            None => -1,
        };
        let (act, out) = self.fused_act(out);
        let ot = self.new_tensor(out, Layout::Nhwc)?;
        self.emit(Operator {
            code: B::TRANSPOSE_CONV,
            version: 1,
            inputs: vec![st, wt, xt, bt],
            outputs: vec![ot],
            options: Options::TransposeConv {
                padding,
                stride: [s[0] as i32, s[1] as i32],
                act,
            },
        });
        Ok(())
    }
}
