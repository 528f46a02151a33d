//! Lowers a pare graph (after cleanup and quantization) to a TFLite [`Model`]: rank-4
//! activations held NHWC with weights re-laid at export, so no TRANSPOSE sits around
//! convolutions; ReLU/ReLU6 fused into the op before them; the IR's int8 types written
//! as TFLite quantization (pare's integer semantics are TFLite's). A node TFLite cannot
//! express is an error naming it.

use super::layout::{padding_of, permuted, pixel_dims, tfl_shape, Layout, TO_NCHW, TO_NHWC};
use super::model::{Model, Operator, Options, Tensor};
use crate::schema::{ActivationFunctionType as Act, BuiltinOperator as B, Padding, TensorType};
use crate::TfliteError;
use pare_ir::ops::AutoPad;
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

    fn node(&mut self, id: NodeId) -> Result<(), TfliteError> {
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

    fn conv(&mut self, n: &Node) -> Result<(), TfliteError> {
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

    fn gemm(&mut self, n: &Node) -> Result<(), TfliteError> {
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

    fn matmul(&mut self, n: &Node) -> Result<(), TfliteError> {
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
    fn fully_connected(&mut self, n: &Node, trans_b: bool) -> Result<(), TfliteError> {
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

    fn binary(&mut self, n: &Node, code: B) -> Result<(), TfliteError> {
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
    fn qdq_params(&self, n: &Node) -> Result<super::model::Quant, TfliteError> {
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

    fn clip(&mut self, n: &Node) -> Result<(), TfliteError> {
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

    fn pool(&mut self, n: &Node) -> Result<(), TfliteError> {
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

    fn fixed_spatial(&self, n: &Node, x: ValueId) -> Result<[u64; 2], TfliteError> {
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

    fn global_avg(&mut self, n: &Node) -> Result<(), TfliteError> {
        let x = self.input(n, 0)?;
        self.fixed_spatial(n, x)?;
        self.emit_mean(n, x, &[1, 2], true, Layout::Nhwc)
    }

    fn mean(&mut self, n: &Node, keepdims: bool) -> Result<(), TfliteError> {
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

    fn emit_mean(
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

    fn flatten(&mut self, n: &Node, axis: i64) -> Result<(), TfliteError> {
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

    fn reshape(&mut self, n: &Node) -> Result<(), TfliteError> {
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

    fn softmax(&mut self, n: &Node, axis: i64) -> Result<(), TfliteError> {
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

    fn concat(&mut self, n: &Node, axis: i64) -> Result<(), TfliteError> {
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

    /// A PAD of NHWC tensor `xt` by `[top, bottom, left, right]`: zeros, or the zero
    /// point of an int8 tensor (real 0, as the IR's conv pads).
    fn pad_nhwc(&mut self, n: &Node, xt: i32, hw: [i64; 4]) -> Result<i32, TfliteError> {
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

    /// `(C, H, W)` when fully connected output `out` (`features` wide) reaches, through
    /// single-reader element-wise ops, a reshape to an NCHW image of that size: its
    /// rows are then written in HWC order.
    fn hwc_rows(&self, out: ValueId, features: usize) -> Option<[usize; 3]> {
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
    fn zero_bias(
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
