//! `explicit-qdq`: int8 in TensorRT's explicit-quantization form. The graph stays
//! float; each weighted op (Conv, ConvTranspose, Gemm, MatMul with a constant
//! weight) reads its weight as symmetric int8 per output channel through a
//! `dequantize_linear` (Conv axis 0, ConvTranspose 1, Gemm 0 with trans_b else 1,
//! MatMul the last), and its activation input through a `quantize_linear` →
//! `dequantize_linear` pair with zero point 0 and a calibrated symmetric scale.
//! A residual `Add` (one input the output of a Conv that nothing else reads)
//! gets a pair on its other, residual input only: the engine fuses the add into
//! that conv, whose output stays in high precision (TensorRT's placement, as
//! ModelOpt writes it); other `Add`s of two activations and `MatMul`s of two
//! activations (attention) get a pair on both inputs, so they run in int8. Op outputs are not
//! quantized: the engine chooses where to requantize from the pairs it sees.
//! One pair per value, shared by all the consumers that need it.

use super::calibrate::{symmetric_entropy, symmetric_mse, CalibMethod, Calibration};
use super::report::LayerStatus;
use super::weight_only::quantize_weights_only;
use crate::ptq::calib::{calibrate_on, method_of, DataOptions};
use crate::registry::{OptionSpec, Options};
use crate::{Changed, Pass, PassCx, PassError};
use pare_ir::{DType, Graph, NodeId, Op, Tensor, TensorType, ValueId, Weight};
use std::collections::{BTreeMap, BTreeSet, HashMap};

const PASS: &str = "explicit-qdq";

pub const OPTIONS: &[OptionSpec] = &[
    OptionSpec {
        name: "keep",
        ty: crate::registry::OptionType::Names,
        default: None,
        help: "weighted ops (node names, `;`-separated) left float, input and weight",
    },
    crate::ptq::calib::CALIB,
    crate::ptq::calib::CALIB_FIXED,
    crate::ptq::calib::SAMPLES,
    crate::ptq::calib::METHOD,
    crate::ptq::calib::PERCENTILE,
    crate::ptq::calib::BATCH,
];

/// The pass. See the module docs.
#[derive(Debug)]
pub struct ExplicitQdq {
    pub data: DataOptions,
    pub method: CalibMethod,
    /// Weighted ops left float.
    pub keep: Vec<String>,
}

impl ExplicitQdq {
    pub fn from_options(o: &Options) -> Result<ExplicitQdq, PassError> {
        let data = DataOptions::from_options(o)?.ok_or_else(|| PassError::Config {
            pass: PASS,
            msg: "activation scales are calibrated: add calib=FILE.npz[:KEY] (or calib=random:N:SEED)".into(),
        })?;
        let method = method_of(o)?;
        Ok(ExplicitQdq {
            data,
            method,
            keep: o.names("keep"),
        })
    }
}

/// The (node, input slot) pairs that read an activation through a Q/DQ pair, by value.
fn wanted(g: &Graph) -> BTreeMap<ValueId, Vec<(NodeId, usize)>> {
    let is_const = |v: ValueId| g.weight_of(v).is_some();
    let uses = g.uses();
    let mut out: BTreeMap<ValueId, Vec<(NodeId, usize)>> = BTreeMap::new();
    for &id in g.order() {
        let n = g.node(id);
        let slots: Vec<usize> = match n.op {
            // The activation input; whether the weight became int8 is checked
            // by the caller (an op left float keeps both inputs float).
            Op::Conv { .. } | Op::ConvTranspose { .. } | Op::Gemm { .. } => vec![0],
            // Residual adds, and matmuls of two activations (attention's Q·Kᵀ
            // and weights·V, which the engine runs int8 as batched GEMMs).
            Op::Add {} | Op::MatMul {} => match (n.input(0), n.input(1)) {
                (Some(a), Some(b))
                    if !is_const(a) && !is_const(b) && !is_dequantized_weight(g, b) =>
                {
                    // A residual add fuses into the conv making one input (when
                    // nothing else reads that output), which stays unquantized;
                    // the residual input is read int8.
                    match (private_conv(g, &uses, a), private_conv(g, &uses, b)) {
                        (true, false) if matches!(n.op, Op::Add {}) => vec![1],
                        (false, true) if matches!(n.op, Op::Add {}) => vec![0],
                        _ => vec![0, 1],
                    }
                }
                _ if matches!(n.op, Op::MatMul {}) => vec![0],
                _ => vec![],
            },
            _ => vec![],
        };
        for s in slots {
            if let Some(v) = n
                .input(s)
                .filter(|&v| !is_const(v) && g.ty(v).dtype == DType::F32)
            {
                out.entry(v).or_default().push((id, s));
            }
        }
    }
    out
}

/// Whether `v` is the output of a Conv/ConvTranspose that nothing else reads:
/// a residual add's side the engine fuses the add into.
fn private_conv(g: &Graph, uses: &[Vec<(NodeId, usize)>], v: ValueId) -> bool {
    g.producer(v)
        .is_some_and(|p| matches!(g.node(p).op, Op::Conv { .. } | Op::ConvTranspose { .. }))
        && uses[v.index()].len() == 1
        && !g.outputs.contains(&v)
}

/// Whether `v` is an int8 weight widened by a dequantize_linear.
fn is_dequantized_weight(g: &Graph, v: ValueId) -> bool {
    g.producer(v).is_some_and(|p| {
        let n = g.node(p);
        matches!(n.op, Op::DequantizeLinear { .. })
            && n.input(0).is_some_and(|w| g.weight_of(w).is_some())
    })
}

/// The clipping magnitude of value `v` for symmetric int8: the calibrated
/// range's larger end (min-max, percentile), the magnitude minimising the
/// symmetric quantization MSE on its histogram (mse, auto), or TensorRT's
/// entropy threshold on |x| (entropy).
fn clip_magnitude(cal: &Calibration, v: ValueId, method: CalibMethod) -> Option<f32> {
    let (lo, hi) = cal.range(v)?;
    let by_range = lo.abs().max(hi.abs());
    Some(match method {
        CalibMethod::Mse | CalibMethod::Auto => {
            match cal.stats(v).and_then(|o| Some((o.histogram()?, o.zeros()))) {
                Some((h, zeros)) => symmetric_mse(h, zeros, 8),
                None => by_range,
            }
        }
        CalibMethod::Entropy => match cal.stats(v).and_then(|o| o.histogram()) {
            Some(h) => symmetric_entropy(h, 8),
            None => by_range,
        },
        _ => by_range,
    })
}

/// Symmetric int8 scale for a clipping magnitude: the magnitude maps to 127.
fn symmetric_scale(amax: f32) -> f32 {
    if amax > 0.0 && amax.is_finite() {
        amax / 127.0
    } else {
        1.0
    }
}

impl Pass for ExplicitQdq {
    fn name(&self) -> &'static str {
        PASS
    }

    fn run(&mut self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        // Weights first (the rewrite renumbers nodes), then the activations'
        // ranges on the graph as it will run: with its int8 weights.
        crate::prune::structured::analyze::check_keep(g, &self.keep, PASS)?;
        let label = crate::prune::structured::analyze::label;
        // By name: the weight rewrite renumbers nodes and values.
        let kept_weights: Vec<(String, String)> = g
            .order()
            .iter()
            .filter(|&&n| self.keep.contains(&label(g, n)))
            .filter_map(|&n| Some((label(g, n), g.value(g.node(n).input(1)?).name.clone())))
            .collect();
        let records = quantize_weights_only(g, 8)?;
        // Kept layers read their float weight again; the dequantize made for
        // them goes out of the schedule (and its int8 weight out of the file).
        let mut dropped = BTreeSet::new();
        for (name, weight) in &kept_weights {
            let Some(id) = g.order().iter().copied().find(|&n| label(g, n) == *name) else {
                continue;
            };
            let w = (0..g.value_count())
                .map(ValueId::from_index)
                .find(|&v| g.value(v).name == *weight && g.weight_of(v).is_some());
            let Some(w) = w else { continue };
            if let Some(dq) = g.node(id).input(1).and_then(|v| g.producer(v)) {
                if matches!(g.node(dq).op, Op::DequantizeLinear { .. }) {
                    dropped.insert(dq);
                    g.node_mut(id).inputs[1] = Some(w);
                    cx.note(PASS, format!("{name}: kept float (keep)"));
                }
            }
        }
        if !dropped.is_empty() {
            let order = g
                .order()
                .iter()
                .copied()
                .filter(|n| !dropped.contains(n))
                .collect();
            g.set_order(order);
        }
        let cal = calibrate_on(g, &self.data, self.method, PASS, cx)?;
        let want = wanted(g);
        // Which weighted ops now read a dequantized int8 weight: only those get
        // their input quantized (an op left float keeps both inputs float).
        let int8_weight: BTreeSet<NodeId> = g
            .order()
            .iter()
            .copied()
            .filter(|&id| {
                let n = g.node(id);
                matches!(
                    n.op,
                    Op::Conv { .. } | Op::ConvTranspose { .. } | Op::Gemm { .. } | Op::MatMul {}
                ) && n.input(1).is_some_and(|w| is_dequantized_weight(g, w))
            })
            .collect();
        for r in &records {
            if let (LayerStatus::Float(why), true) = (&r.status, r.weight_bits.is_none()) {
                if matches!(r.op, "conv" | "conv_transpose" | "gemm" | "matmul") {
                    cx.note(PASS, format!("{}: float, {why}", r.node));
                }
            }
        }
        let mut pairs: HashMap<ValueId, ValueId> = HashMap::new();
        let mut after: HashMap<Option<NodeId>, Vec<NodeId>> = HashMap::new();
        for (v, readers) in &want {
            let readers: Vec<(NodeId, usize)> = readers
                .iter()
                .copied()
                .filter(|(id, _)| {
                    let n = g.node(*id);
                    let activations = matches!(n.op, Op::Add {} | Op::MatMul {})
                        && n.input(1).is_some_and(|b| {
                            g.weight_of(b).is_none() && !is_dequantized_weight(g, b)
                        });
                    activations || int8_weight.contains(id)
                })
                .collect();
            if readers.is_empty() {
                continue;
            }
            let Some(amax) = clip_magnitude(&cal, *v, self.method) else {
                cx.note(
                    PASS,
                    format!("`{}`: no calibration range, left float", g.value(*v).name),
                );
                continue;
            };
            let scale = symmetric_scale(amax);
            let name = g.value(*v).name.clone();
            let err = |e: pare_ir::IrError| PassError::NodeMsg {
                pass: PASS,
                node: name.clone(),
                msg: e.to_string(),
            };
            let s = Tensor::from_vec(vec![], vec![scale]).map_err(err)?;
            let sv = g
                .add_weight(format!("{name}_scale"), Weight::from_tensor(&s))
                .map_err(err)?;
            let z = Tensor::from_vec(vec![], vec![0i8]).map_err(err)?;
            let zv = g
                .add_weight(format!("{name}_zero_point"), Weight::from_tensor(&z))
                .map_err(err)?;
            let shape = g.ty(*v).shape.clone();
            let (q, qo) = g
                .add_node(
                    format!("{name}_quantize"),
                    Op::QuantizeLinear {
                        axis: 1,
                        saturate: true,
                        block_size: 0,
                    },
                    vec![Some(*v), Some(sv), Some(zv)],
                    vec![(
                        format!("{name}_q"),
                        TensorType::new(DType::I8, shape.clone()),
                    )],
                )
                .map_err(err)?;
            let (dq, dqo) = g
                .add_node(
                    format!("{name}_dequantize"),
                    Op::DequantizeLinear {
                        axis: 1,
                        block_size: 0,
                    },
                    vec![Some(qo[0]), Some(sv), Some(zv)],
                    vec![(format!("{name}_dq"), TensorType::new(DType::F32, shape))],
                )
                .map_err(err)?;
            for (id, slot) in readers {
                g.node_mut(id).inputs[slot] = Some(dqo[0]);
            }
            pairs.insert(*v, dqo[0]);
            after.entry(g.producer(*v)).or_default().extend([q, dq]);
            cx.note(
                PASS,
                format!(
                    "`{name}`: int8 scale {scale:.6e} (clipped at ±{amax} by {}), zero point 0",
                    self.method
                ),
            );
        }
        // Each pair right after the value's producer (graph inputs: first).
        let added: BTreeSet<NodeId> = after.values().flatten().copied().collect();
        let mut order = after.remove(&None).unwrap_or_default();
        for &id in g.order().to_vec().iter() {
            if added.contains(&id) {
                continue;
            }
            order.push(id);
            if let Some(l) = after.get(&Some(id)) {
                order.extend(l.iter().copied());
            }
        }
        g.set_order(order);
        cx.note(
            PASS,
            format!(
                "{} activations quantized (Q/DQ pairs), {} weighted ops int8",
                pairs.len(),
                int8_weight.len()
            ),
        );
        Ok(Changed::Yes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two convs: both weights int8 per output channel, both activation inputs
    /// (the graph input and the relu between) behind one zero-point-0 pair each,
    /// scheduled right after their producers; the conv outputs stay float.
    #[test]
    fn weighted_ops_read_int8_weights_and_symmetric_pairs() {
        let src = "graph @t(%x \"x\": f32[N,2,4,4]) -> (f32[N,3,4,4]) {\n  $w \"w\": f32[3,2,1,1] = [0.1, 0.2, 0.3, -0.1, -0.2, 0.5]\n  $w2 \"w2\": f32[3,3,1,1] = [0.1, 0.2, 0.3, -0.1, -0.2, 0.5, 0.4, 0.1, 0.0]\n  %y \"y\": f32[N,3,4,4] = conv(%x, $w) {auto_pad=\"NOTSET\", kernel_shape=[1,1], strides=[1,1], pads=[0,0,0,0], dilations=[1,1], group=1}\n  %r \"r\": f32[N,3,4,4] = relu(%y)\n  %z \"z\": f32[N,3,4,4] = conv(%r, $w2) {auto_pad=\"NOTSET\", kernel_shape=[1,1], strides=[1,1], pads=[0,0,0,0], dilations=[1,1], group=1}\n  return %z\n}\n";
        let mut g = pare_ir::text::parse(src).unwrap();
        let o = Options::parse(PASS, OPTIONS, &[("calib".into(), "random:8:1".into())]).unwrap();
        let mut cx = PassCx::default();
        ExplicitQdq::from_options(&o)
            .unwrap()
            .run(&mut g, &mut cx)
            .unwrap();
        pare_ir::infer::infer_graph(&mut g).unwrap();
        let ops: Vec<&str> = g.order().iter().map(|&n| g.node(n).op.name()).collect();
        assert_eq!(
            ops,
            [
                "quantize_linear",
                "dequantize_linear",
                "dequantize_linear",
                "conv",
                "relu",
                "quantize_linear",
                "dequantize_linear",
                "dequantize_linear",
                "conv"
            ]
        );
        for &n in g.order() {
            let node = g.node(n);
            if let Op::QuantizeLinear { .. } = node.op {
                let zp = g
                    .weight_of(node.input(2).unwrap())
                    .unwrap()
                    .tensor()
                    .unwrap();
                assert_eq!(zp.to_f64_vec(), vec![0.0]);
                assert_eq!(zp.dtype(), DType::I8);
            }
            if let Op::Conv { .. } = node.op {
                for s in 0..2 {
                    let p = g.producer(node.input(s).unwrap()).unwrap();
                    assert!(matches!(g.node(p).op, Op::DequantizeLinear { .. }));
                }
                assert_eq!(g.ty(node.outputs[0]).dtype, DType::F32);
            }
        }
    }
}
