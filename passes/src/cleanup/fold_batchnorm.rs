//! `fold-batchnorm`: folds an inference-mode `BatchNormalization` into the `Conv`,
//! `ConvTranspose` or `Gemm` that produces its input.
//!
//! With `s = gamma / sqrt(var + eps)` per output channel:
//! `w' = w * s` (along the weight's output-channel axis) and
//! `b' = (b - mean) * s + beta` (a zero bias when the producer had none).
//! Arithmetic is done in f64 and rounded once to the weight's dtype.
//!
//! Conditions: those of [`super::fold_into_producer`], all BN parameters float
//! weights, and every parameter holding one value per output channel.

use super::fold_into_producer::{
    fold_into_producer, foldable_producer, is_float_weight, output_channels, ChannelAffine,
};
use crate::util::weight_tensor;
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
        let Some(x) = node.input(0) else {
            return Ok(None);
        };
        let Some((producer, layout)) = foldable_producer(g, x) else {
            return Ok(None);
        };
        let params: Vec<Option<ValueId>> = (1..5).map(|i| node.input(i)).collect();
        let Some(w) = g.node(producer).input(1) else {
            return Ok(None);
        };
        if !params
            .iter()
            .all(|p| p.is_some_and(|v| is_float_weight(g, v)))
        {
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
        let Some(channels) = weight_tensor(g, w)
            .and_then(Result::ok)
            .and_then(|wt| output_channels(&wt, layout))
        else {
            return Ok(None);
        };
        if p.iter().any(|v| v.len() != channels) {
            return Ok(None);
        }
        let affine = from_bn(&p[0], &p[1], &p[2], &p[3], epsilon as f64);
        fold_into_producer(g, name, "bnfold", producer, layout, &affine, bn)
    }
}

/// BN's `gamma·(x − mean)/√(var + eps) + beta` as a per-channel scale and shift.
fn from_bn(gamma: &[f64], beta: &[f64], mean: &[f64], var: &[f64], eps: f64) -> ChannelAffine {
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
    ChannelAffine { scale, shift }
}
