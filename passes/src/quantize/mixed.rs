//! Automatic mixed precision: measure how much each layer's output error grows
//! when only its weight is quantized to each candidate width, then pick a width
//! per layer so the weights fit a byte budget with the least total error.

use super::params::{minmax_scale, quantize_weight_symmetric};
use super::support::{classify, OpClass};
use crate::PassError;
use pare_ir::{Graph, Node, NodeId, Tensor, Weight};
use std::collections::BTreeMap;

/// One quantizable layer's measured sensitivity.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerSensitivity {
    pub node: NodeId,
    pub name: String,
    /// Elements of the layer's weight (its bytes at b bits are ⌈elems·b/8⌉).
    pub weight_elems: u64,
    /// Bits → mean squared error of the graph's outputs against the float
    /// model on the sample batches, with only this layer's weight quantized.
    pub mse: BTreeMap<u8, f64>,
}

impl LayerSensitivity {
    pub fn bytes_at(&self, bits: u8) -> u64 {
        (self.weight_elems * bits as u64).div_ceil(8)
    }
}

/// Measures every compute layer (constant-weight Conv/Gemm/MatMul) of float
/// graph `g` at each width in `bits`, on `samples` (each one set of graph inputs).
pub fn sensitivities(
    g: &Graph,
    samples: &[Vec<Tensor>],
    bits: &[u8],
) -> Result<Vec<LayerSensitivity>, PassError> {
    sensitivities_for(g, samples, &|_, _| bits.to_vec())
}

/// [`sensitivities`] with the candidate widths chosen per layer by `widths`
/// (a target whose kernels take 4-bit weights for some layers only offers 4 bits
/// to those); [`choose_bits`] picks among the widths measured.
pub fn sensitivities_for(
    g: &Graph,
    samples: &[Vec<Tensor>],
    widths: &dyn Fn(&Graph, &Node) -> Vec<u8>,
) -> Result<Vec<LayerSensitivity>, PassError> {
    let run = |g: &Graph| -> Result<Vec<Vec<Tensor>>, PassError> {
        samples
            .iter()
            .map(|x| pare_ir::interp::run(g, x).map_err(analysis_err))
            .collect()
    };
    let reference = run(g)?;
    let mut out = Vec::new();
    for &id in g.order() {
        let n = g.node(id);
        let Ok(OpClass::Compute { weight, axis, .. }) = classify(g, n) else {
            continue;
        };
        let Some(wv) = n.inputs[weight] else { continue };
        let Some(w) = g.weight_of(wv) else { continue };
        let t = w.tensor().map_err(analysis_err)?;
        let mut mse = BTreeMap::new();
        let mut candidates = widths(g, n);
        if candidates.is_empty() {
            candidates.push(8);
        }
        for b in candidates {
            let (q, p) = quantize_weight_symmetric(&t, Some(axis), b, &minmax_scale);
            let fake = dequantize(&q, &p.scale, axis, t.shape());
            let mut trial = g.clone();
            let nv = trial
                .add_weight(String::new(), Weight::from_tensor(&fake))
                .map_err(analysis_err)?;
            trial.node_mut(id).inputs[weight] = Some(nv);
            let got = run(&trial)?;
            mse.insert(b, mean_squared_error(&reference, &got));
        }
        out.push(LayerSensitivity {
            node: id,
            name: n.name.clone(),
            weight_elems: t.len() as u64,
            mse,
        });
    }
    Ok(out)
}

/// Chooses a width per layer so that Σ bytes ≤ `budget` with the least total
/// error: start every layer at its widest width, then repeatedly narrow the
/// layer whose next step costs the least error per byte saved (ties by order).
/// Errors when even the narrowest widths do not fit.
pub fn choose_bits(
    layers: &[LayerSensitivity],
    budget: u64,
) -> Result<BTreeMap<NodeId, u8>, String> {
    let widths = |l: &LayerSensitivity| -> Vec<u8> {
        let mut w: Vec<u8> = l.mse.keys().copied().collect();
        w.sort_unstable_by(|a, b| b.cmp(a));
        w
    };
    let mut choice: BTreeMap<NodeId, usize> = layers.iter().map(|l| (l.node, 0)).collect();
    let total = |choice: &BTreeMap<NodeId, usize>| -> u64 {
        layers
            .iter()
            .map(|l| l.bytes_at(widths(l)[choice[&l.node]]))
            .sum()
    };
    while total(&choice) > budget {
        let mut best: Option<(f64, NodeId)> = None;
        for l in layers {
            let w = widths(l);
            let k = choice[&l.node];
            if k + 1 >= w.len() {
                continue;
            }
            let saved = l.bytes_at(w[k]) - l.bytes_at(w[k + 1]);
            if saved == 0 {
                continue;
            }
            let cost = (l.mse[&w[k + 1]] - l.mse[&w[k]]).max(0.0) / saved as f64;
            if best.is_none_or(|(c, _)| cost < c) {
                best = Some((cost, l.node));
            }
        }
        let Some((_, node)) = best else {
            return Err(format!(
                "the weights need {} bytes even at the narrowest widths, over the budget of {budget}",
                total(&choice)
            ));
        };
        *choice.get_mut(&node).expect("a planned layer") += 1;
    }
    Ok(layers
        .iter()
        .map(|l| (l.node, widths(l)[choice[&l.node]]))
        .collect())
}

fn dequantize(q: &Tensor, scales: &[f32], axis: usize, shape: &[usize]) -> Tensor {
    let inner: usize = shape[axis + 1..].iter().product();
    let channels = shape[axis];
    let vals: Vec<f32> = q
        .to_f32_vec()
        .iter()
        .enumerate()
        .map(|(k, &v)| v * scales[(k / inner) % channels])
        .collect();
    Tensor::from_vec(shape.to_vec(), vals).expect("same shape")
}

fn mean_squared_error(a: &[Vec<Tensor>], b: &[Vec<Tensor>]) -> f64 {
    let mut sum = 0.0;
    let mut n = 0usize;
    for (xa, xb) in a.iter().zip(b) {
        for (ta, tb) in xa.iter().zip(xb) {
            for (p, q) in ta.to_f64_vec().iter().zip(tb.to_f64_vec()) {
                sum += (p - q) * (p - q);
                n += 1;
            }
        }
    }
    if n == 0 {
        0.0
    } else {
        sum / n as f64
    }
}

fn analysis_err(e: impl std::error::Error + Send + Sync + 'static) -> PassError {
    PassError::Analysis {
        pass: "mixed-precision",
        source: Box::new(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(node: u32, elems: u64, e8: f64, e4: f64) -> LayerSensitivity {
        LayerSensitivity {
            node: NodeId(node),
            name: format!("l{node}"),
            weight_elems: elems,
            mse: BTreeMap::from([(8, e8), (4, e4)]),
        }
    }

    #[test]
    fn narrows_the_cheapest_error_per_byte_first() {
        // Layer 0 is big and insensitive, layer 1 small and sensitive.
        let layers = [layer(0, 1000, 0.0, 0.01), layer(1, 100, 0.0, 1.0)];
        let bits = choose_bits(&layers, 700).unwrap();
        assert_eq!(bits[&NodeId(0)], 4);
        assert_eq!(bits[&NodeId(1)], 8);
        let all8 = choose_bits(&layers, 1100).unwrap();
        assert!(all8.values().all(|&b| b == 8));
    }

    #[test]
    fn an_impossible_budget_is_an_error() {
        let layers = [layer(0, 1000, 0.0, 0.01)];
        let e = choose_bits(&layers, 100).unwrap_err();
        assert!(e.contains("500 bytes"), "{e}");
    }
}
