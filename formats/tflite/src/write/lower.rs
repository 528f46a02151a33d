//! Lowers a pare graph (after cleanup and quantization) to a TFLite [`Model`]: rank-4
//! activations held NHWC with weights re-laid at export, so no TRANSPOSE sits around
//! convolutions; ReLU/ReLU6 fused into the op before them; the IR's int8 types written
//! as TFLite quantization (pare's integer semantics are TFLite's). A node TFLite cannot
//! express is an error naming it.

//!
//! This file holds the state (where each IR value lives, in which layout), the
//! dispatch over ops and the element-wise ones; the op families are in `spatial`,
//! `dense`, `reshape`, `movement`, `deconv`, `composite` and `layer_norm`.
use super::layout::{permuted, pixel_dims, tfl_shape, Layout, TO_NCHW, TO_NHWC};
use super::model::{Model, Operator, Options, Tensor};
use crate::schema::{ActivationFunctionType as Act, BuiltinOperator as B, TensorType};
use crate::TfliteError;
use pare_ir::{DType, Dim, Graph, Node, NodeId, Op, ValueId};
use std::collections::{HashMap, HashSet};

/// A constant as written: the value, the view it was reshaped to, the permutation,
/// whether 4-bit values are packed.
pub(super) type ConstKey = (ValueId, Option<Vec<usize>>, Vec<usize>, bool);

/// Lowering state: the model being built and where each IR value lives in it.
pub struct Lower<'g> {
    pub(super) g: &'g Graph,
    pub(super) m: Model,
    pub(super) uses: Vec<Vec<(NodeId, usize)>>,
    /// TFLite tensors holding each value, per layout.
    avail: HashMap<(ValueId, Layout), i32>,
    /// `(C, H, W)` of values held in HWC order ([`Layout::FlatHwc`], [`Layout::PixelHwc`]).
    pub(super) flat_src: HashMap<ValueId, [usize; 3]>,
    /// Constants already written, by value, view and permutation.
    pub(super) consts: HashMap<ConstKey, i32>,
    /// Nodes folded into another (fused activations, constant expressions).
    skip: HashSet<NodeId>,
}

/// TFLite's element type for an IR dtype.
pub fn tfl_type(d: DType, what: &str) -> Result<TensorType, TfliteError> {
    Ok(match d {
        DType::F32 => TensorType::FLOAT32,
        DType::F16 => TensorType::FLOAT16,
        DType::F64 => TensorType::FLOAT64,
        DType::I8 => TensorType::INT8,
        DType::I16 => TensorType::INT16,
        DType::I32 => TensorType::INT32,
        DType::I64 => TensorType::INT64,
        DType::U8 => TensorType::UINT8,
        DType::U16 => TensorType::UINT16,
        DType::U32 => TensorType::UINT32,
        DType::U64 => TensorType::UINT64,
        DType::Bool => TensorType::BOOL,
    })
    .map_err(|e: TfliteError| TfliteError::Value {
        value: what.into(),
        why: e.to_string(),
    })
}

/// Lowers `g` into a TFLite model described by `description`.
pub fn lower(g: &Graph, description: String) -> Result<Model, TfliteError> {
    let mut l = Lower {
        g,
        m: Model::new(description),
        uses: g.uses(),
        avail: HashMap::new(),
        flat_src: HashMap::new(),
        consts: HashMap::new(),
        skip: HashSet::new(),
    };
    for (i, &v) in g.inputs.iter().enumerate() {
        let layout = if g.ty(v).rank() == 4 {
            Layout::Nhwc
        } else {
            Layout::Ir
        };
        let t = l.new_tensor(v, layout)?;
        l.m.inputs.push((io_name(g, v, "input", i), t));
    }
    for &id in g.order() {
        if l.skip.contains(&id) {
            continue;
        }
        l.node(id)?;
    }
    for (i, &v) in g.outputs.iter().enumerate() {
        let layout = if g.ty(v).rank() == 4 {
            Layout::Nhwc
        } else {
            Layout::Ir
        };
        let t = l.tensor(v, layout)?;
        l.m.outputs.push((io_name(g, v, "output", i), t));
    }
    Ok(l.m)
}

/// A graph input's or output's signature name: its value name, else `input_0`, ….
fn io_name(g: &Graph, v: ValueId, kind: &str, i: usize) -> String {
    let n = &g.value(v).name;
    if n.is_empty() {
        format!("{kind}_{i}")
    } else {
        n.clone()
    }
}

impl<'g> Lower<'g> {
    pub(super) fn value_name(&self, v: ValueId) -> String {
        let n = &self.g.value(v).name;
        if n.is_empty() {
            format!("%{}", v.0)
        } else {
            n.clone()
        }
    }

    pub(super) fn unsupported(&self, n: &Node, why: impl Into<String>) -> TfliteError {
        TfliteError::Unsupported {
            node: n.name.clone(),
            op: n.op.name(),
            why: why.into(),
        }
    }

    pub(super) fn emit(&mut self, op: Operator) {
        self.m.operators.push(op);
    }

    /// A new activation tensor for `v` held in `layout`.
    pub(super) fn new_tensor(&mut self, v: ValueId, layout: Layout) -> Result<i32, TfliteError> {
        let ty = self.g.ty(v);
        let name = self.value_name(v);
        let dims: Vec<Dim> = match layout {
            Layout::Ir => ty.shape.clone(),
            Layout::Nhwc => permuted(&ty.shape, &TO_NHWC),
            // Same dims as the IR; only the order of the features differs.
            Layout::FlatHwc => ty.shape.clone(),
            Layout::Pixel | Layout::PixelHwc => {
                pixel_dims(&ty.shape).ok_or_else(|| TfliteError::Value {
                    value: name.clone(),
                    why: "only rank-2 and rank-3 values can be held as 1x1 images".into(),
                })?
            }
        };
        // TFLite shapes are int32.
        if dims
            .iter()
            .any(|d| d.fixed().is_some_and(|n| n > i32::MAX as u64))
        {
            return Err(TfliteError::Value {
                value: name,
                why: format!("a dim of {dims:?} does not fit TFLite's int32 shapes"),
            });
        }
        let (shape, signature) = tfl_shape(&dims);
        let quant = match &ty.quant {
            Some(q) => {
                if q.axis.is_some() {
                    return Err(TfliteError::Value {
                        value: name,
                        why: "per-channel quantized activations have no TFLite form".into(),
                    });
                }
                Some(self.quant_of(q, |a| a)?)
            }
            None => None,
        };
        let t = self.m.add_tensor(
            Tensor {
                ty: tfl_type(ty.dtype, &name)?,
                name,
                shape,
                signature,
                buffer: 0,
                quant,
            },
            None,
        );
        self.avail.insert((v, layout), t);
        Ok(t)
    }

    /// The tensor holding `v` in `layout`: a constant is re-laid, an activation held in
    /// the other layout goes through a TRANSPOSE (once).
    pub(super) fn tensor(&mut self, v: ValueId, layout: Layout) -> Result<i32, TfliteError> {
        if let Some(&t) = self.avail.get(&(v, layout)) {
            return Ok(t);
        }
        let rank = self.g.ty(v).rank();
        if self.is_const(v) {
            let perm: Vec<usize> = match layout {
                Layout::Nhwc if rank == 4 => TO_NHWC.to_vec(),
                _ => (0..rank).collect(),
            };
            return self.const_tensor(v, None, &perm);
        }
        // Same data, other dims: a RESHAPE.
        let same_order = match layout {
            Layout::Ir => Some(Layout::Pixel),
            Layout::Pixel => Some(Layout::Ir),
            Layout::FlatHwc => Some(Layout::PixelHwc),
            Layout::PixelHwc => Some(Layout::FlatHwc),
            Layout::Nhwc => None,
        };
        if let Some(&src) = same_order.and_then(|f| self.avail.get(&(v, f))) {
            let out = self.new_tensor(v, layout)?;
            let dims = self.m.tensors[out as usize].signature.clone();
            let new_shape = dims.unwrap_or_else(|| self.m.tensors[out as usize].shape.clone());
            let st = self.i32_const(&format!("{}_shape", self.value_name(v)), &new_shape);
            self.emit(Operator {
                code: B::RESHAPE,
                version: 1,
                inputs: vec![src, st],
                outputs: vec![out],
                options: Options::Reshape { new_shape },
            });
            return Ok(out);
        }
        let (from, perm) = match layout {
            Layout::Ir => (Layout::Nhwc, TO_NCHW),
            Layout::Nhwc => (Layout::Ir, TO_NHWC),
            _ => {
                return Err(TfliteError::Value {
                    value: self.value_name(v),
                    why: format!("internal: no way to {layout:?} from what is available"),
                })
            }
        };
        let Some(&src) = self.avail.get(&(v, from)) else {
            return Err(TfliteError::Value {
                value: self.value_name(v),
                why: "used before it is defined (or in a layout it cannot take)".into(),
            });
        };
        let perm_t = self.i32_const(
            &format!("{}_perm", self.value_name(v)),
            &perm.map(|p| p as i32),
        );
        let out = self.new_tensor(v, layout)?;
        self.emit(Operator {
            code: B::TRANSPOSE,
            version: 1,
            inputs: vec![src, perm_t],
            outputs: vec![out],
            options: Options::Empty,
        });
        Ok(out)
    }

    /// The layout `v` is available in, preferring NHWC for rank-4 values.
    pub(super) fn layout_of(&self, v: ValueId) -> Layout {
        [
            Layout::Nhwc,
            Layout::PixelHwc,
            Layout::FlatHwc,
            Layout::Pixel,
        ]
        .into_iter()
        .find(|&l| self.avail.contains_key(&(v, l)))
        .unwrap_or(Layout::Ir)
    }

    /// A 1-D int32 constant (shapes, axes, permutations).
    pub(super) fn i32_const(&mut self, name: &str, vals: &[i32]) -> i32 {
        let bytes = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.m.add_tensor(
            Tensor {
                name: name.to_string(),
                shape: vec![vals.len() as i32],
                signature: None,
                ty: TensorType::INT32,
                buffer: 0,
                quant: None,
            },
            Some(bytes),
        )
    }

    /// The activation a node's output `out` can take fused, and the value the fused
    /// op then defines: a lone ReLU (or ReLU6 `clip(0, 6)`) reader whose output has
    /// the same quantization, so clamping in the op is the same arithmetic.
    pub(super) fn fused_act(&mut self, out: ValueId) -> (Act, ValueId) {
        if self.g.outputs.contains(&out) {
            return (Act::NONE, out);
        }
        let [(reader, 0)] = self.uses[out.0 as usize][..] else {
            return (Act::NONE, out);
        };
        let r = self.g.node(reader);
        let act = match &r.op {
            Op::Relu {} => Act::RELU,
            Op::Clip {} => match (self.scalar(r.input(1)), self.scalar(r.input(2))) {
                (Some(lo), Some(hi)) if lo == 0.0 && hi == 6.0 => Act::RELU6,
                (Some(lo), None) if lo == 0.0 && r.input(2).is_none() => Act::RELU,
                (Some(lo), Some(hi)) if lo == -1.0 && hi == 1.0 => Act::RELU_N1_TO_1,
                _ => return (Act::NONE, out),
            },
            _ => return (Act::NONE, out),
        };
        let r_out = r.outputs[0];
        if self.g.ty(r_out).quant != self.g.ty(out).quant {
            return (Act::NONE, out);
        }
        self.skip.insert(reader);
        (act, r_out)
    }

    /// A scalar float constant's value.
    pub(super) fn scalar(&self, v: Option<ValueId>) -> Option<f32> {
        let w = self.g.weight_of(v?)?;
        let t = w.tensor().ok()?;
        (t.len() == 1).then(|| t.to_f32_vec()[0])
    }

    pub(super) fn node(&mut self, id: NodeId) -> Result<(), TfliteError> {
        let n = self.g.node(id).clone();
        // Constant expressions are written where they are read.
        if let Some(&out) = n.outputs.first() {
            if self.const_expr(out).is_some() {
                return Ok(());
            }
        }
        self.check_int8(&n)?;
        match &n.op {
            Op::Conv { .. } => self.conv(&n),
            Op::Gemm { .. } => self.gemm(&n),
            Op::MatMul {} => self.matmul(&n),
            Op::Add {} => self.binary(&n, B::ADD),
            Op::Sub {} => self.binary(&n, B::SUB),
            Op::Mul {} => self.binary(&n, B::MUL),
            Op::Relu {} => self.unary(&n, B::RELU, Options::None),
            Op::Clip {} => self.clip(&n),
            Op::Sigmoid {} => self.unary(&n, B::LOGISTIC, Options::None),
            Op::Tanh {} => self.unary(&n, B::TANH, Options::None),
            Op::HardSwish {} => self.unary(&n, B::HARD_SWISH, Options::Empty),
            Op::LeakyRelu { alpha } => {
                self.unary(&n, B::LEAKY_RELU, Options::LeakyRelu { alpha: *alpha })
            }
            Op::QuantizeLinear { .. } => self.unary(&n, B::QUANTIZE, Options::Empty),
            Op::DequantizeLinear { .. } => self.unary(&n, B::DEQUANTIZE, Options::Empty),
            Op::MaxPool { .. } | Op::AveragePool { .. } => self.pool(&n),
            Op::GlobalAveragePool {} => self.global_avg(&n),
            Op::ReduceMean { keepdims, .. } => self.mean(&n, *keepdims),
            Op::Flatten { axis } => self.flatten(&n, *axis),
            Op::Reshape { .. } => self.reshape(&n),
            Op::Softmax { axis, .. } => self.softmax(&n, *axis),
            Op::Concat { axis } => self.concat(&n, *axis),
            Op::Silu {} => self.silu(&n),
            Op::Transpose { .. } => self.transpose(&n),
            Op::Squeeze {} | Op::Unsqueeze {} => self.reshape_to_output(&n),
            Op::Gather { axis } => self.gather(&n, *axis),
            Op::LayerNormalization { .. } => self.layer_norm(&n),
            Op::HardSigmoid { alpha, beta } => self.hard_sigmoid(&n, *alpha, *beta),
            Op::ConvTranspose { .. } => self.conv_transpose(&n),
            Op::Identity {} => {
                let (x, out) = (self.input(&n, 0)?, n.outputs[0]);
                let layout = self.layout_of(x);
                let t = self.tensor(x, layout)?;
                self.avail.insert((out, layout), t);
                if let Some(&c) = self.flat_src.get(&x) {
                    self.flat_src.insert(out, c);
                }
                Ok(())
            }
            _ => Err(self.unsupported(&n, "no TFLite lowering for this op (yet)")),
        }
    }

    pub(super) fn input(&self, n: &Node, i: usize) -> Result<ValueId, TfliteError> {
        n.input(i)
            .ok_or_else(|| self.unsupported(n, format!("input {i} is missing")))
    }

    pub(super) fn fixed(&self, n: &Node, v: ValueId) -> Result<Vec<usize>, TfliteError> {
        let s = self.g.ty(v).fixed_shape();
        s.map(|s| s.into_iter().map(|d| d as usize).collect())
            .ok_or_else(|| {
                self.unsupported(n, format!("`{}` needs a fixed shape", self.value_name(v)))
            })
    }

    pub(super) fn binary(&mut self, n: &Node, code: B) -> Result<(), TfliteError> {
        let (a, b) = (self.input(n, 0)?, self.input(n, 1)?);
        let out_rank = self.g.ty(n.outputs[0]).rank();
        // NHWC when an activation operand is held so; constants follow.
        let nhwc = out_rank == 4
            && [a, b]
                .iter()
                .any(|&v| !self.is_const(v) && self.layout_of(v) == Layout::Nhwc);
        let mut ins = Vec::new();
        for v in [a, b] {
            let t = if nhwc {
                if self.g.ty(v).rank() == 4 {
                    self.tensor(v, Layout::Nhwc)?
                } else if self.is_const(v) {
                    // Broadcast against NCHW: pad to rank 4 on the left, then re-lay.
                    let mut shape = self.fixed(n, v)?;
                    while shape.len() < 4 {
                        shape.insert(0, 1);
                    }
                    self.const_tensor(v, Some(&shape), &TO_NHWC)?
                } else {
                    return Err(self.unsupported(
                        n,
                        "broadcasting a lower-rank activation against an NHWC tensor",
                    ));
                }
            } else {
                self.tensor(v, Layout::Ir)?
            };
            ins.push(t);
        }
        let (act, out) = self.fused_act(n.outputs[0]);
        let layout = if nhwc { Layout::Nhwc } else { Layout::Ir };
        let ot = self.new_tensor(out, layout)?;
        self.emit(Operator {
            code,
            version: 1,
            inputs: ins,
            outputs: vec![ot],
            options: Options::Binary { act },
        });
        Ok(())
    }

    /// An element-wise op of one activation: it keeps its input's layout.
    pub(super) fn unary(&mut self, n: &Node, code: B, options: Options) -> Result<(), TfliteError> {
        let x = self.input(n, 0)?;
        if let Op::QuantizeLinear { .. } | Op::DequantizeLinear { .. } = n.op {
            let q = self
                .g
                .ty(if code == B::QUANTIZE { n.outputs[0] } else { x });
            if q.quant.as_ref().is_some_and(|q| q.axis.is_some()) {
                return Err(self.unsupported(
                    n,
                    "per-channel activation (de)quantization has no TFLite form",
                ));
            }
        }
        let layout = self.layout_of(x);
        let xt = self.tensor(x, layout)?;
        let out = n.outputs[0];
        let ot = self.new_tensor(out, layout)?;
        if let Some(&c) = self.flat_src.get(&x) {
            self.flat_src.insert(out, c);
        }
        // A QDQ graph not raised into quantized types keeps its parameters in the
        // (de)quantize's scale and zero-point inputs: the int8 side takes them.
        if code == B::QUANTIZE || code == B::DEQUANTIZE {
            let side = if code == B::QUANTIZE { ot } else { xt };
            if self.m.tensors[side as usize].quant.is_none() {
                let q = self.qdq_params(n)?;
                self.m.tensors[side as usize].quant = Some(q);
            }
        }
        self.emit(Operator {
            code,
            version: 1,
            inputs: vec![xt],
            outputs: vec![ot],
            options,
        });
        Ok(())
    }

    /// The per-tensor parameters in a QuantizeLinear/DequantizeLinear's constant
    /// scale and zero-point inputs.
    pub(super) fn qdq_params(&self, n: &Node) -> Result<super::model::Quant, TfliteError> {
        let scale = self.scalar(n.input(1));
        let zp = match n.input(2) {
            Some(z) => self
                .g
                .weight_of(z)
                .and_then(|w| w.tensor().ok())
                .and_then(|t| (t.len() == 1).then(|| t.to_i64_vec()[0])),
            None => Some(0),
        };
        match (scale, zp) {
            (Some(s), Some(z)) => Ok(super::model::Quant {
                scale: vec![s],
                zero_point: vec![z],
                dim: 0,
            }),
            _ => Err(self.unsupported(n, "the scale and zero point must be scalar constants")),
        }
    }

    pub(super) fn clip(&mut self, n: &Node) -> Result<(), TfliteError> {
        let lo = self.scalar(n.input(1));
        let hi = self.scalar(n.input(2));
        let code = match (lo, hi, n.input(2)) {
            (Some(l), Some(h), _) if l == 0.0 && h == 6.0 => B::RELU6,
            (Some(0.0), None, None) => B::RELU,
            (Some(l), Some(h), _) if l == -1.0 && h == 1.0 => B::RELU_N1_TO_1,
            _ => {
                return Err(self.unsupported(
                    n,
                    "only clip(0, 6), clip(0) and clip(-1, 1) have TFLite forms",
                ))
            }
        };
        self.unary(n, code, Options::None)
    }

    pub(super) fn softmax(&mut self, n: &Node, axis: i64) -> Result<(), TfliteError> {
        let x = self.input(n, 0)?;
        let rank = self.g.ty(x).rank() as i64;
        let axis = if axis < 0 { axis + rank } else { axis } as usize;
        let layout = self.layout_of(x);
        let last = match layout {
            Layout::Nhwc => axis == 1,
            // Softmax over all the features does not depend on their order.
            _ => axis as i64 == rank - 1,
        };
        if !last {
            return Err(self.unsupported(n, "TFLite's SOFTMAX runs over the last axis only"));
        }
        self.unary(n, B::SOFTMAX, Options::Softmax { beta: 1.0 })
    }
}
