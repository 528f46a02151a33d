//! `fold-batchnorm`: folds an inference-mode `BatchNormalization` into the `Conv`,
//! `ConvTranspose` or `Gemm` that produces its input.
//!
//! With `s = gamma / sqrt(var + eps)` per output channel:
//! `w' = w * s` (along the weight's output-channel axis) and
//! `b' = (b - mean) * s + beta` (a zero bias when the producer had none).
//! Arithmetic is done in f64 and rounded once to the weight's dtype.
//!
//! Conditions: the producer's output is used only by the BN (otherwise the other
//! user would see scaled values), all BN parameters and the producer's weight and
//! bias are float weights without quantization, and every parameter holds one
//! value per output channel.

use crate::util::{add_tensor_weight, is_graph_output, weight_tensor};
use crate::{Changed, Pass, PassCx, PassError};
use pare_ir::{Graph, NodeId, Op, Tensor, ValueId};

#[derive(Debug, Default)]
pub struct FoldBatchNorm;

impl Pass for FoldBatchNorm {
    fn name(&self) -> &'static str {
        "fold-batchnorm"
    }

    fn run(&mut self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        let bns: Vec<NodeId> = g
            .nodes()
            .filter(|(_, n)| matches!(n.op, Op::BatchNormalization { .. }))
            .map(|(id, _)| id)
            .collect();
        let mut folded = Vec::new();
        for bn in bns {
            if let Some(producer) = self.try_fold(g, bn)? {
                folded.push(crate::pass::node_label(g, producer));
            }
        }
        if folded.is_empty() {
            return Ok(Changed::No);
        }
        for p in folded {
            cx.note(self.name(), format!("folded batch norm into {p}"));
        }
        Ok(Changed::Yes)
    }
}

/// Where the output channels of a producer's weight lie.
#[derive(Clone, Copy, Debug)]
enum ChannelLayout {
    /// Channel = index along this axis (Conv: 0; Gemm: 1, or 0 with trans_b).
    Axis(usize),
    /// ConvTranspose weight `[C_in, M/group, k...]`: channel =
    /// `(c_in / (C_in/group)) * (M/group) + j`.
    Transposed { group: usize },
}

/// The BN parameters reduced to per-channel scale and shift.
struct Affine {
    scale: Vec<f64>,
    shift: Vec<f64>,
}

impl FoldBatchNorm {
    /// Folds `bn` if the pattern matches; returns the producer it was folded into.
    fn try_fold(&self, g: &mut Graph, bn: NodeId) -> Result<Option<NodeId>, PassError> {
        let name = self.name();
        let node = g.node(bn);
        let Op::BatchNormalization { epsilon } = node.op else {
            return Ok(None);
        };
        // Training-mode outputs (running mean/var) would need the batch statistics.
        if node.outputs.len() != 1 {
            return Ok(None);
        }
        let (Some(x), Some(y)) = (node.input(0), node.outputs.first().copied()) else {
            return Ok(None);
        };
        let Some(producer) = g.producer(x) else {
            return Ok(None);
        };
        let used_once = g.uses()[x.index()].len() == 1 && !is_graph_output(g, x);
        if !used_once {
            return Ok(None);
        }
        let params: Vec<Option<ValueId>> = (1..5).map(|i| node.input(i)).collect();
        let pnode = g.node(producer);
        let layout = match &pnode.op {
            Op::Conv { .. } => ChannelLayout::Axis(0),
            Op::ConvTranspose { group, .. } => match usize::try_from(*group) {
                Ok(group) if group > 0 => ChannelLayout::Transposed { group },
                _ => return Ok(None),
            },
            Op::Gemm { trans_b, .. } => ChannelLayout::Axis(if *trans_b { 0 } else { 1 }),
            _ => return Ok(None),
        };
        let (Some(w), bias) = (pnode.input(1), pnode.input(2)) else {
            return Ok(None);
        };
        let mut weights = vec![Some(w), bias];
        weights.extend(params.iter().copied());
        let all_float_weights = weights.iter().flatten().all(|&v| {
            g.weight_of(v)
                .is_some_and(|wt| wt.ty.dtype.is_float() && wt.ty.quant.is_none())
        });
        if !all_float_weights || params.iter().any(Option::is_none) || g.ty(x).quant.is_some() {
            return Ok(None);
        }
        let load = |v: ValueId| -> Result<Tensor, PassError> {
            weight_tensor(g, v)
                .ok_or_else(|| PassError::node_msg(name, g, bn, "expected a weight"))?
                .map_err(|e| PassError::node(name, g, bn, e))
        };
        let p: Vec<Vec<f64>> = params
            .iter()
            .flatten()
            .map(|&v| load(v).map(|t| t.to_f64_vec()))
            .collect::<Result<_, _>>()?;
        let wt = load(w)?;
        let channels = match output_channels(&wt, layout) {
            Some(c) => c,
            None => return Ok(None),
        };
        if p.iter().any(|v| v.len() != channels) {
            return Ok(None);
        }
        let affine = Affine::from_bn(&p[0], &p[1], &p[2], &p[3], epsilon as f64);

        // The producer's bias as a per-channel vector; Gemm also scales it by beta.
        let (bias_vec, gemm_beta) = match bias {
            Some(b) => {
                let bt = load(b)?;
                let v = bt.to_f64_vec();
                let per_channel = match v.len() {
                    1 => vec![v[0]; channels],
                    n if n == channels && bt.shape().iter().rev().skip(1).all(|&d| d == 1) => v,
                    // A Gemm C of shape [N, M] is not per-channel.
                    _ => return Ok(None),
                };
                let beta = match g.node(producer).op {
                    Op::Gemm { beta, .. } => beta as f64,
                    _ => 1.0,
                };
                (per_channel, beta)
            }
            None => (vec![0.0; channels], 1.0),
        };

        let new_w = scale_weight(&wt, layout, &affine.scale)
            .map_err(|e| PassError::node(name, g, producer, e))?;
        let new_b: Vec<f64> = (0..channels)
            .map(|c| bias_vec[c] * gemm_beta * affine.scale[c] + affine.shift[c])
            .collect();
        let new_b = Tensor::from_vec(vec![channels], new_b)
            .map(|t| t.cast(wt.dtype()))
            .map_err(|e| PassError::node(name, g, producer, e))?;

        let w_name = format!("{}_bnfold", g.value(w).name);
        let b_name = match bias {
            Some(b) => format!("{}_bnfold", g.value(b).name),
            None => format!("{}_bias", g.value(w).name),
        };
        let new_w = add_tensor_weight(g, w_name, &new_w)
            .map_err(|e| PassError::node(name, g, producer, e))?;
        let new_b = add_tensor_weight(g, b_name, &new_b)
            .map_err(|e| PassError::node(name, g, producer, e))?;
        let pn = g.node_mut(producer);
        pn.inputs.resize(3, None);
        pn.inputs[1] = Some(new_w);
        pn.inputs[2] = Some(new_b);
        if let Op::Gemm { beta, .. } = &mut pn.op {
            *beta = 1.0;
        }
        // The producer's output now carries the BN's result and its name (which
        // matters when it is a graph output).
        let bn_name = std::mem::take(&mut g.value_mut(y).name);
        g.value_mut(x).name = bn_name;
        g.replace_all_uses(y, x);
        g.remove_node(bn);
        Ok(Some(producer))
    }
}

impl Affine {
    fn from_bn(gamma: &[f64], beta: &[f64], mean: &[f64], var: &[f64], eps: f64) -> Affine {
        let scale: Vec<f64> = gamma
            .iter()
            .zip(var)
            .map(|(g, v)| g / (v + eps).sqrt())
            .collect();
        let shift = beta
            .iter()
            .zip(mean)
            .zip(&scale)
            .map(|((b, m), s)| b - m * s)
            .collect();
        Affine { scale, shift }
    }
}

/// Number of output channels a weight of this layout has, if its shape fits.
fn output_channels(w: &Tensor, layout: ChannelLayout) -> Option<usize> {
    let shape = w.shape();
    match layout {
        ChannelLayout::Axis(a) => shape.get(a).copied(),
        ChannelLayout::Transposed { group } => {
            if shape.len() < 2 || !shape[0].is_multiple_of(group) {
                return None;
            }
            Some(shape[1] * group)
        }
    }
}

/// `w` with every element multiplied by the scale of its output channel.
fn scale_weight(
    w: &Tensor,
    layout: ChannelLayout,
    scale: &[f64],
) -> Result<Tensor, pare_ir::IrError> {
    let shape = w.shape();
    let vals = w.to_f64_vec();
    // Elements after the channel axis form contiguous runs of `inner`.
    let channel_of = |i: usize| -> usize {
        match layout {
            ChannelLayout::Axis(a) => {
                let inner: usize = shape[a + 1..].iter().product();
                (i / inner.max(1)) % shape[a]
            }
            ChannelLayout::Transposed { group } => {
                let inner: usize = shape[2..].iter().product();
                let per_group_out = shape[1];
                let in_per_group = shape[0] / group;
                let j = (i / inner.max(1)) % per_group_out;
                let ci = i / (inner.max(1) * per_group_out);
                (ci / in_per_group) * per_group_out + j
            }
        }
    };
    let out: Vec<f64> = vals
        .iter()
        .enumerate()
        .map(|(i, v)| v * scale[channel_of(i)])
        .collect();
    Ok(Tensor::from_vec(shape.to_vec(), out)?.cast(w.dtype()))
}
