//! Bias correction after sharing: clustering moves each output channel's mean by
//! Σ ΔW · E[x] (E[x] per input channel, measured on calibration data); a float
//! bias takes that shift back, so the layer's outputs keep their mean. Layers
//! without a float bias of their own (MatMul, int32 biases of fully quantized
//! layers, a bias another node reads too) are left as they are.

use pare_ir::{DType, Graph, NodeId, Op, Tensor, Weight};

/// The output channel element `e` of the weight of `op` (shape `shape`) feeds,
/// and the factor of its shift (1 / taps per output pixel for a strided
/// ConvTranspose, alpha / beta for a Gemm).
fn output_channel(op: &Op, shape: &[usize], e: usize) -> Option<(usize, f64)> {
    let coord = |axis: usize| {
        let inner: usize = shape[axis + 1..].iter().product();
        (e / inner.max(1)) % shape[axis]
    };
    match op {
        Op::Conv { .. } => Some((coord(0), 1.0)),
        Op::ConvTranspose { group, strides, .. } => {
            let in_per_group = shape[0] / (*group as usize).max(1);
            let g = coord(0) / in_per_group.max(1);
            let taps: i64 = strides.iter().product::<i64>().max(1);
            Some((g * shape[1] + coord(1), 1.0 / taps as f64))
        }
        Op::Gemm {
            trans_b,
            alpha,
            beta,
            ..
        } if *beta != 0.0 => {
            let o = if *trans_b { coord(0) } else { coord(1) };
            Some((o, f64::from(*alpha) / f64::from(*beta)))
        }
        _ => None,
    }
}

/// Subtracts from node `n`'s float bias the mean output shift of the weight
/// change `delta` (real units, the weight's element order); `mean` is its input
/// channels' calibration mean; `readers[v]` counts the nodes reading value `v`.
/// Returns the largest correction, or None when the node has no bias of its own
/// to correct.
pub fn correct(
    g: &mut Graph,
    n: NodeId,
    delta: &[f64],
    mean: &[f64],
    readers: &[usize],
) -> Option<f64> {
    let node = g.node(n);
    let op = node.op.clone();
    let wv = node.input(1)?;
    let bv = node.input(2)?;
    let shape: Vec<usize> = g
        .ty(wv)
        .fixed_shape()?
        .iter()
        .map(|&d| d as usize)
        .collect();
    let bias = g.weight_of(bv)?;
    if bias.ty.dtype != DType::F32 || bias.ty.quant.is_some() || readers.get(bv.index()) != Some(&1)
    {
        return None;
    }
    let b = bias.tensor().ok()?;
    let mut vals: Vec<f32> = b.as_slice::<f32>()?.to_vec();
    let mut shift = vec![0.0f64; vals.len()];
    for (e, d) in delta.iter().enumerate() {
        if *d == 0.0 {
            continue;
        }
        let (o, factor) = output_channel(&op, &shape, e)?;
        let ch = super::sensitivity::weight_input_channel(&op, &shape, e)?;
        *shift.get_mut(o)? += d * mean.get(ch)? * factor;
    }
    let worst = shift.iter().fold(0.0f64, |m, s| m.max(s.abs()));
    for (v, s) in vals.iter_mut().zip(&shift) {
        *v -= *s as f32;
    }
    let t = Tensor::from_vec(b.shape().to_vec(), vals).ok()?;
    let pare_ir::ValueDef::Weight(id) = g.value(bv).def else {
        return None;
    };
    *g.weight_mut(id) = Weight::from_tensor(&t);
    Some(worst)
}
