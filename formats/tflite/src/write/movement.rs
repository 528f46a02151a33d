//! Data movement: Transpose (folded with the NHWC layout of its input into one
//! TRANSPOSE), Squeeze/Unsqueeze (a RESHAPE), Gather (GATHER, constant indices as
//! int32).

use super::layout::{Layout, TO_NHWC};
use super::lower::Lower;
use super::model::{Operator, Options};
use crate::schema::BuiltinOperator as B;
use crate::TfliteError;
use pare_ir::{Node, Op};

impl Lower<'_> {
    pub(super) fn transpose(&mut self, n: &Node) -> Result<(), TfliteError> {
        let Op::Transpose { perm } = &n.op else {
            unreachable!()
        };
        let x = self.input(n, 0)?;
        let rank = self.g.ty(x).rank();
        let perm: Vec<usize> = match perm {
            Some(p) => p.iter().map(|&a| a as usize).collect(),
            None => (0..rank).rev().collect(),
        };
        if perm.len() != rank || rank > 6 {
            return Err(self.unsupported(n, "TRANSPOSE takes a permutation of up to 6 dims"));
        }
        // Reading an NHWC tensor: compose, so one TRANSPOSE gives the IR order.
        let (xt, perm) = if self.layout_of(x) == Layout::Nhwc {
            let p: Vec<usize> = perm
                .iter()
                .map(|&a| TO_NHWC.iter().position(|&t| t == a).unwrap_or(a))
                .collect();
            (self.tensor(x, Layout::Nhwc)?, p)
        } else {
            (self.tensor(x, Layout::Ir)?, perm)
        };
        let pt = self.i32_const(
            &format!("{}_perm", n.name),
            &perm.iter().map(|&p| p as i32).collect::<Vec<_>>(),
        );
        let ot = self.new_tensor(n.outputs[0], Layout::Ir)?;
        self.emit(Operator {
            code: B::TRANSPOSE,
            version: 1,
            inputs: vec![xt, pt],
            outputs: vec![ot],
            options: Options::Empty,
        });
        Ok(())
    }

    /// Squeeze and Unsqueeze only move dims of size 1: a RESHAPE to the output's shape.
    pub(super) fn reshape_to_output(&mut self, n: &Node) -> Result<(), TfliteError> {
        let x = self.input(n, 0)?;
        let xt = self.tensor(x, Layout::Ir)?;
        self.emit_reshape(n, xt, n.outputs[0], Layout::Ir)
    }

    pub(super) fn gather(&mut self, n: &Node, axis: i64) -> Result<(), TfliteError> {
        let (x, idx) = (self.input(n, 0)?, self.input(n, 1)?);
        let rank = self.g.ty(x).rank() as i64;
        let axis = if axis < 0 { axis + rank } else { axis };
        let xt = self.tensor(x, Layout::Ir)?;
        let it = match self.g.weight_of(idx).and_then(|w| w.tensor().ok()) {
            Some(t) => {
                let len = self.g.ty(x).shape[axis as usize].fixed();
                let mut vals = Vec::with_capacity(t.len());
                for v in t.to_i64_vec() {
                    let v = if v < 0 {
                        v + len.unwrap_or(0) as i64
                    } else {
                        v
                    };
                    if v < 0 || len.is_some_and(|l| v as u64 >= l) {
                        return Err(self.unsupported(n, format!("index {v} is out of range")));
                    }
                    vals.push(v as i32);
                }
                let t_idx = self.i32_const(&self.value_name(idx), &vals);
                // Keep the indices' own shape (a scalar index drops the axis).
                let shape: Vec<i32> = t.shape().iter().map(|&d| d as i32).collect();
                self.m.tensors[t_idx as usize].shape = shape;
                t_idx
            }
            None => self.tensor(idx, Layout::Ir)?,
        };
        let ot = self.new_tensor(n.outputs[0], Layout::Ir)?;
        self.emit(Operator {
            code: B::GATHER,
            version: 1,
            inputs: vec![xt, it],
            outputs: vec![ot],
            options: Options::Gather { axis: axis as i32 },
        });
        Ok(())
    }
}
