//! LayerNormalization, which TFLite has no builtin for, as the converter writes it:
//! MEAN, SUB, MUL (square), MEAN, ADD ε, RSQRT, MUL, then MUL γ and ADD β. Float only
//! (pare's int8 graphs keep it as a float island between DEQUANTIZE and QUANTIZE).

use super::layout::Layout;
use super::lower::Lower;
use super::model::{Operator, Options, Tensor};
use crate::schema::{ActivationFunctionType as Act, BuiltinOperator as B, TensorType};
use crate::TfliteError;
use pare_ir::{Node, Op};

impl Lower<'_> {
    pub(super) fn layer_norm(&mut self, n: &Node) -> Result<(), TfliteError> {
        let Op::LayerNormalization { axis, epsilon, .. } = &n.op else {
            unreachable!()
        };
        if n.outputs.len() > 1 {
            return Err(self.unsupported(
                n,
                "the mean and inverse-deviation outputs have no TFLite form",
            ));
        }
        let x = self.input(n, 0)?;
        if self.g.ty(x).quant.is_some() {
            return Err(self.unsupported(n, "an int8 layer normalization has no TFLite kernel"));
        }
        let rank = self.g.ty(x).rank() as i64;
        let axis = if *axis < 0 { axis + rank } else { *axis };
        let axes: Vec<i32> = (axis..rank).map(|a| a as i32).collect();
        let xt = self.tensor(x, Layout::Ir)?;
        let at = self.i32_const(&format!("{}_axes", n.name), &axes);
        let name = n.name.clone();
        let reduced = {
            let mut t = self.m.tensors[xt as usize].clone();
            for &a in &axes {
                t.shape[a as usize] = 1;
                if let Some(s) = t.signature.as_mut() {
                    s[a as usize] = 1;
                }
            }
            t
        };
        let temp = |l: &mut Self, like: &Tensor, what: &str| -> i32 {
            l.m.add_tensor(
                Tensor {
                    name: format!("{name}_{what}"),
                    buffer: 0,
                    quant: None,
                    ..like.clone()
                },
                None,
            )
        };
        let full = self.m.tensors[xt as usize].clone();
        let mean = temp(self, &reduced, "mean");
        self.op(
            B::MEAN,
            vec![xt, at],
            mean,
            Options::Reducer { keep_dims: true },
        );
        let centered = temp(self, &full, "centered");
        self.op(
            B::SUB,
            vec![xt, mean],
            centered,
            Options::Binary { act: Act::NONE },
        );
        let squared = temp(self, &full, "squared");
        self.op(
            B::MUL,
            vec![centered, centered],
            squared,
            Options::Binary { act: Act::NONE },
        );
        let var = temp(self, &reduced, "variance");
        self.op(
            B::MEAN,
            vec![squared, at],
            var,
            Options::Reducer { keep_dims: true },
        );
        let eps = self.m.add_tensor(
            Tensor {
                name: format!("{name}_epsilon"),
                shape: vec![],
                signature: None,
                ty: TensorType::FLOAT32,
                buffer: 0,
                quant: None,
            },
            Some(epsilon.to_le_bytes().to_vec()),
        );
        let var_eps = temp(self, &reduced, "variance_eps");
        self.op(
            B::ADD,
            vec![var, eps],
            var_eps,
            Options::Binary { act: Act::NONE },
        );
        let rstd = temp(self, &reduced, "rstd");
        self.op(B::RSQRT, vec![var_eps], rstd, Options::None);
        let normed = temp(self, &full, "normalized");
        self.op(
            B::MUL,
            vec![centered, rstd],
            normed,
            Options::Binary { act: Act::NONE },
        );
        let gamma = self.input(n, 1)?;
        let gt = self.tensor(gamma, Layout::Ir)?;
        let out = n.outputs[0];
        match n.input(2) {
            Some(beta) => {
                let scaled = temp(self, &full, "scaled");
                self.op(
                    B::MUL,
                    vec![normed, gt],
                    scaled,
                    Options::Binary { act: Act::NONE },
                );
                let bt = self.tensor(beta, Layout::Ir)?;
                let ot = self.new_tensor(out, Layout::Ir)?;
                self.op(
                    B::ADD,
                    vec![scaled, bt],
                    ot,
                    Options::Binary { act: Act::NONE },
                );
            }
            None => {
                let ot = self.new_tensor(out, Layout::Ir)?;
                self.op(
                    B::MUL,
                    vec![normed, gt],
                    ot,
                    Options::Binary { act: Act::NONE },
                );
            }
        }
        Ok(())
    }

    fn op(&mut self, code: B, inputs: Vec<i32>, out: i32, options: Options) {
        self.emit(Operator {
            code,
            version: 1,
            inputs,
            outputs: vec![out],
            options,
        });
    }
}
