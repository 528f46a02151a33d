//! Flatten, Reshape and Concat: RESHAPE (into the layouts fully connected readers
//! want) and CONCATENATION along the axis as the layout places it.

use super::layout::{Layout, TO_NHWC};
use super::lower::Lower;
use super::model::{Operator, Options};
use crate::schema::BuiltinOperator as B;
use crate::TfliteError;
use pare_ir::{Node, Op, ValueId};

impl Lower<'_> {
    pub(super) fn flatten(&mut self, n: &Node, axis: i64) -> Result<(), TfliteError> {
        let x = self.input(n, 0)?;
        let out = n.outputs[0];
        let xs = self.g.ty(x).shape.clone();
        // A flatten of an NHWC tensor read only by fully connected layers stays in
        // HWC order: their weight columns are re-laid instead of moving the data.
        let to_fc = self.uses[out.0 as usize].iter().all(|&(r, slot)| {
            let op = &self.g.node(r).op;
            slot == 0
                && matches!(op, Op::Gemm { trans_a: false, .. } | Op::MatMul {})
                && self.g.node(r).input(1).is_some_and(|w| self.is_const(w))
        }) && !self.g.outputs.contains(&out);
        if axis == 1 && xs.len() == 4 && self.layout_of(x) == Layout::Nhwc && to_fc {
            if let (Some(c), Some(h), Some(w)) = (xs[1].fixed(), xs[2].fixed(), xs[3].fixed()) {
                let xt = self.tensor(x, Layout::Nhwc)?;
                self.flat_src
                    .insert(out, [c as usize, h as usize, w as usize]);
                // int8 readers run as 1x1 convs: flatten straight into that form.
                let layout = if self.g.ty(out).quant.is_some() {
                    Layout::PixelHwc
                } else {
                    Layout::FlatHwc
                };
                return self.emit_reshape(n, xt, out, layout);
            }
        }
        let xt = self.tensor(x, Layout::Ir)?;
        self.emit_reshape(n, xt, out, Layout::Ir)
    }

    pub(super) fn reshape(&mut self, n: &Node) -> Result<(), TfliteError> {
        let x = self.input(n, 0)?;
        let out = n.outputs[0];
        let layout = self.layout_of(x);
        if layout.hwc() {
            // Features already in HWC order (see `Lower::hwc_rows`): the reshape to
            // NCHW is a reshape to NHWC.
            let want = self.flat_src.get(&x).map(|c| c.map(|d| Some(d as u64)));
            let dims = &self.g.ty(out).shape;
            let chw =
                (dims.len() == 4).then(|| [dims[1].fixed(), dims[2].fixed(), dims[3].fixed()]);
            match (want, chw) {
                (Some(a), Some(b)) if a == b => {}
                _ => {
                    return Err(self.unsupported(
                        n,
                        "internal: an HWC-ordered value reshaped to another image",
                    ))
                }
            }
            let xt = self.tensor(x, layout)?;
            return self.emit_reshape(n, xt, out, Layout::Nhwc);
        }
        let xt = self.tensor(x, Layout::Ir)?;
        self.emit_reshape(n, xt, n.outputs[0], Layout::Ir)
    }

    /// RESHAPE of tensor `xt` to the IR shape of `out` (symbolic dim as -1).
    pub(super) fn emit_reshape(
        &mut self,
        n: &Node,
        xt: i32,
        out: ValueId,
        layout: Layout,
    ) -> Result<(), TfliteError> {
        let dims = &self.g.ty(out).shape;
        if dims.iter().filter(|d| d.is_sym()).count() > 1 {
            return Err(self.unsupported(n, "a reshape to more than one symbolic dim"));
        }
        let ot = self.new_tensor(out, layout)?;
        let t = &self.m.tensors[ot as usize];
        let new_shape = t.signature.clone().unwrap_or_else(|| t.shape.clone());
        let st = self.i32_const(&format!("{}_shape", self.value_name(out)), &new_shape);
        self.emit(Operator {
            code: B::RESHAPE,
            version: 1,
            inputs: vec![xt, st],
            outputs: vec![ot],
            options: Options::Reshape { new_shape },
        });
        Ok(())
    }

    pub(super) fn concat(&mut self, n: &Node, axis: i64) -> Result<(), TfliteError> {
        let out = n.outputs[0];
        let rank = self.g.ty(out).rank() as i64;
        let axis = if axis < 0 { axis + rank } else { axis } as usize;
        let inputs: Vec<ValueId> = n.present_inputs().collect();
        let nhwc = rank == 4
            && inputs
                .iter()
                .any(|&v| !self.is_const(v) && self.layout_of(v) == Layout::Nhwc);
        let (layout, axis) = if nhwc {
            let a = TO_NHWC.iter().position(|&p| p == axis).unwrap_or(axis);
            (Layout::Nhwc, a)
        } else {
            (Layout::Ir, axis)
        };
        let mut ins = Vec::with_capacity(inputs.len());
        for v in inputs {
            ins.push(self.tensor(v, layout)?);
        }
        let ot = self.new_tensor(out, layout)?;
        self.emit(Operator {
            code: B::CONCATENATION,
            version: 1,
            inputs: ins,
            outputs: vec![ot],
            options: Options::Concatenation { axis: axis as i32 },
        });
        Ok(())
    }
}
