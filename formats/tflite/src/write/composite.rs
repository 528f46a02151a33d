//! IR ops TFLite has no single builtin for, written as a few builtins: SiLU as
//! LOGISTIC · x, HardSigmoid as RELU_0_TO_1(α·x + β). Float only: pare runs their
//! int8 forms as lookup tables, which no TFLite kernel reproduces.

use super::layout::Layout;
use super::lower::Lower;
use super::model::{Operator, Options, Tensor};
use crate::schema::{ActivationFunctionType as Act, BuiltinOperator as B, TensorType};
use crate::TfliteError;
use pare_ir::{Node, ValueId};

impl Lower<'_> {
    /// A scalar f32 constant.
    fn f32_scalar(&mut self, name: String, v: f32) -> i32 {
        self.m.add_tensor(
            Tensor {
                name,
                shape: vec![],
                signature: None,
                ty: TensorType::FLOAT32,
                buffer: 0,
                quant: None,
            },
            Some(v.to_le_bytes().to_vec()),
        )
    }

    /// An intermediate float tensor shaped like `like` (a TFLite tensor).
    fn temp_like(&mut self, like: i32, name: String) -> i32 {
        let t = self.m.tensors[like as usize].clone();
        self.m.add_tensor(
            Tensor {
                name,
                buffer: 0,
                quant: None,
                ..t
            },
            None,
        )
    }

    /// The float input of a composite op and its layout; int8 is refused.
    fn float_input(&mut self, n: &Node) -> Result<(ValueId, Layout, i32), TfliteError> {
        let x = self.input(n, 0)?;
        if self.g.ty(x).quant.is_some() {
            return Err(self.unsupported(
                n,
                "pare runs it as an int8 lookup table, which no TFLite kernel reproduces",
            ));
        }
        let layout = self.layout_of(x);
        let xt = self.tensor(x, layout)?;
        Ok((x, layout, xt))
    }

    /// The output tensor of a layout-keeping op (the HWC order of its input carried on).
    fn keep_layout_output(
        &mut self,
        x: ValueId,
        out: ValueId,
        layout: Layout,
    ) -> Result<i32, TfliteError> {
        if let Some(&c) = self.flat_src.get(&x) {
            self.flat_src.insert(out, c);
        }
        self.new_tensor(out, layout)
    }

    pub(super) fn silu(&mut self, n: &Node) -> Result<(), TfliteError> {
        let (x, layout, xt) = self.float_input(n)?;
        let sig = self.temp_like(xt, format!("{}_sigmoid", n.name));
        self.emit(Operator {
            code: B::LOGISTIC,
            version: 1,
            inputs: vec![xt],
            outputs: vec![sig],
            options: Options::None,
        });
        let out = n.outputs[0];
        let ot = self.keep_layout_output(x, out, layout)?;
        self.emit(Operator {
            code: B::MUL,
            version: 1,
            inputs: vec![xt, sig],
            outputs: vec![ot],
            options: Options::Binary { act: Act::NONE },
        });
        Ok(())
    }

    pub(super) fn hard_sigmoid(
        &mut self,
        n: &Node,
        alpha: f32,
        beta: f32,
    ) -> Result<(), TfliteError> {
        let (x, layout, xt) = self.float_input(n)?;
        let a = self.f32_scalar(format!("{}_alpha", n.name), alpha);
        let scaled = self.temp_like(xt, format!("{}_scaled", n.name));
        self.emit(Operator {
            code: B::MUL,
            version: 1,
            inputs: vec![xt, a],
            outputs: vec![scaled],
            options: Options::Binary { act: Act::NONE },
        });
        let b = self.f32_scalar(format!("{}_beta", n.name), beta);
        let shifted = self.temp_like(xt, format!("{}_shifted", n.name));
        self.emit(Operator {
            code: B::ADD,
            version: 1,
            inputs: vec![scaled, b],
            outputs: vec![shifted],
            options: Options::Binary { act: Act::NONE },
        });
        let out = n.outputs[0];
        let ot = self.keep_layout_output(x, out, layout)?;
        self.emit(Operator {
            code: B::RELU_0_TO_1,
            version: 1,
            inputs: vec![shifted],
            outputs: vec![ot],
            options: Options::None,
        });
        Ok(())
    }
}
