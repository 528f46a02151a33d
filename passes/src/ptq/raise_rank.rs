//! A cheap first ranking of where quantization noise enters a graph, so the
//! fidelity floor measures only the most likely float islands of a large
//! model: one integer run of the quantized graph and one float run of the
//! graph it was quantized from, on the same samples, give each value's
//! noise-to-signal ratio (values matched by name, integer ones dequantized);
//! a node's jump is the ratio at its output less the largest at its inputs.
//! A value scores the largest jump of its producer and its readers: noise
//! rounded into a value shows at the value itself or, when a large channel
//! hides it there, where a reader mixes the channels.

use crate::quantize::calibrate::BoxError;
use pare_ir::interp::{run_with, QuantExec, RunOptions};
use pare_ir::quant::{dequantize_tensor, Rounding};
use pare_ir::{Graph, NodeId, Tensor, ValueId};
use std::collections::BTreeMap;

/// Σ ref² and Σ (ref − out)² of one value over the samples.
#[derive(Clone, Copy, Debug, Default)]
struct Energy {
    signal: f64,
    noise: f64,
}

impl Energy {
    /// Noise over signal; a value with no signal and some noise counts as
    /// all noise, one with neither as none.
    fn nsr(self) -> f64 {
        if self.noise == 0.0 {
            0.0
        } else if self.signal == 0.0 {
            1.0
        } else {
            self.noise / self.signal
        }
    }
}

/// The score of each value of `float` (the graph `q` was quantized from):
/// the largest noise-to-signal jump at its producer or readers, measured on
/// `samples`. Values `q` does not compute under the same name score 0.
pub fn jump_scores(
    float: &Graph,
    q: &Graph,
    samples: &[Vec<Tensor>],
    rounding: Rounding,
) -> Result<BTreeMap<ValueId, f64>, BoxError> {
    let by_name: BTreeMap<&str, ValueId> = (0..float.value_count())
        .map(ValueId::from_index)
        .map(|v| (float.value(v).name.as_str(), v))
        .collect();
    let mut energy: BTreeMap<ValueId, Energy> = BTreeMap::new();
    for x in samples {
        let mut reference: BTreeMap<ValueId, Tensor> = BTreeMap::new();
        let plain = RunOptions::default();
        run_with(float, x, &plain, &mut |v, t| {
            reference.insert(v, t.clone());
        })?;
        let int = RunOptions {
            quant: QuantExec::Integer(rounding),
        };
        let mut failed: Option<BoxError> = None;
        run_with(q, x, &int, &mut |v, t| {
            let Some(&fv) = by_name.get(q.value(v).name.as_str()) else {
                return;
            };
            let Some(want) = reference.get(&fv) else {
                return;
            };
            let got = match &q.ty(v).quant {
                Some(p) if t.dtype().is_int() => match dequantize_tensor(t, p) {
                    Ok(d) => d,
                    Err(e) => {
                        failed.get_or_insert(Box::new(e));
                        return;
                    }
                },
                _ => t.clone(),
            };
            if got.shape() != want.shape() {
                return;
            }
            let e = energy.entry(fv).or_default();
            for (o, r) in got.to_f64_vec().iter().zip(want.to_f64_vec()) {
                e.signal += r * r;
                e.noise += (r - o) * (r - o);
            }
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
    }
    let nsr = |v: ValueId| energy.get(&v).map_or(0.0, |e| e.nsr());
    let mut jump: BTreeMap<NodeId, f64> = BTreeMap::new();
    for &id in float.order() {
        let n = float.node(id);
        let inputs = n
            .present_inputs()
            .filter(|&v| float.weight_of(v).is_none())
            .map(nsr)
            .fold(0.0, f64::max);
        let out = n.outputs.iter().map(|&v| nsr(v)).fold(0.0, f64::max);
        jump.insert(id, out - inputs);
    }
    let uses = float.uses();
    let mut producer: BTreeMap<ValueId, NodeId> = BTreeMap::new();
    for &id in float.order() {
        for &o in &float.node(id).outputs {
            producer.insert(o, id);
        }
    }
    Ok((0..float.value_count())
        .map(ValueId::from_index)
        .map(|v| {
            let at = |n: &NodeId| jump.get(n).copied().unwrap_or(0.0);
            let score = producer
                .get(&v)
                .into_iter()
                .chain(uses[v.index()].iter().map(|(n, _)| n))
                .map(at)
                .fold(0.0, f64::max);
            (v, score)
        })
        .collect())
}
