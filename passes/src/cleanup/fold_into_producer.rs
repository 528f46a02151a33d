//! Folding a per-output-channel scale and shift (`y·s + t`) into the `Conv`,
//! `ConvTranspose` or `Gemm` that produces `y`: what `fold-batchnorm` and
//! `fold-affine` share.
//!
//! `w' = w·s` along the weight's output-channel axis and `b' = b·β·s + t`
//! (`β` Gemm's beta, a zero bias when the producer had none). Arithmetic is
//! done in f64 and rounded once to the weight's dtype.
//!
//! Conditions: the producer's output is read only by the folded node and is
//! no graph output (another reader would see scaled values), and its weight
//! and bias are float weights without quantization; a bias that is not one
//! value per channel (a Gemm `C` of shape `[N, M]`) is left alone.

use crate::util::{add_tensor_weight, is_graph_output, weight_tensor};
use crate::PassError;
use pare_ir::{Graph, NodeId, Op, Tensor, ValueId};

/// Where the output channels of a producer's weight lie.
#[derive(Clone, Copy, Debug)]
pub(super) enum ChannelLayout {
    /// Channel = index along this axis (Conv: 0; Gemm: 1, or 0 with trans_b).
    Axis(usize),
    /// ConvTranspose weight `[C_in, M/group, k...]`: channel =
    /// `(c_in / (C_in/group)) * (M/group) + j`.
    Transposed { group: usize },
}

/// A per-channel scale and shift.
pub(super) struct ChannelAffine {
    pub scale: Vec<f64>,
    pub shift: Vec<f64>,
}

/// Whether `v` is a float weight without quantization.
pub(super) fn is_float_weight(g: &Graph, v: ValueId) -> bool {
    g.weight_of(v)
        .is_some_and(|wt| wt.ty.dtype.is_float() && wt.ty.quant.is_none())
}

/// The producer of `x` and its weight layout, when a scale and shift applied
/// to `x` may be folded into it.
pub(super) fn foldable_producer(g: &Graph, x: ValueId) -> Option<(NodeId, ChannelLayout)> {
    let producer = g.producer(x)?;
    if g.uses()[x.index()].len() != 1 || is_graph_output(g, x) || g.ty(x).quant.is_some() {
        return None;
    }
    let pnode = g.node(producer);
    let layout = match &pnode.op {
        Op::Conv { .. } => ChannelLayout::Axis(0),
        Op::ConvTranspose { group, .. } => match usize::try_from(*group) {
            Ok(group) if group > 0 => ChannelLayout::Transposed { group },
            _ => return None,
        },
        Op::Gemm { trans_b, .. } => ChannelLayout::Axis(if *trans_b { 0 } else { 1 }),
        _ => return None,
    };
    let w = pnode.input(1)?;
    let weights_float =
        is_float_weight(g, w) && pnode.input(2).is_none_or(|b| is_float_weight(g, b));
    weights_float.then_some((producer, layout))
}

/// Folds `affine` into `producer` (found by [`foldable_producer`]) and
/// removes `node`, the single reader whose output it replaces; new weights
/// are named with `tag`. `Ok(None)` when the producer's bias is not per
/// channel.
pub(super) fn fold_into_producer(
    g: &mut Graph,
    pass: &'static str,
    tag: &str,
    producer: NodeId,
    layout: ChannelLayout,
    affine: &ChannelAffine,
    node: NodeId,
) -> Result<Option<NodeId>, PassError> {
    let load = |g: &Graph, v: ValueId| -> Result<Tensor, PassError> {
        weight_tensor(g, v)
            .ok_or_else(|| PassError::node_msg(pass, g, producer, "expected a weight"))?
            .map_err(|e| PassError::node(pass, g, producer, e))
    };
    let pnode = g.node(producer);
    let (Some(w), bias) = (pnode.input(1), pnode.input(2)) else {
        return Ok(None);
    };
    let (Some(&x), Some(&y)) = (pnode.outputs.first(), g.node(node).outputs.first()) else {
        return Ok(None);
    };
    let wt = load(g, w)?;
    let Some(channels) = output_channels(&wt, layout) else {
        return Ok(None);
    };
    if affine.scale.len() != channels || affine.shift.len() != channels {
        return Ok(None);
    }
    // The producer's bias as a per-channel vector; Gemm also scales it by beta.
    let (bias_vec, gemm_beta) = match bias {
        Some(b) => {
            let bt = load(g, b)?;
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
        .map_err(|e| PassError::node(pass, g, producer, e))?;
    let new_b: Vec<f64> = (0..channels)
        .map(|c| bias_vec[c] * gemm_beta * affine.scale[c] + affine.shift[c])
        .collect();
    let new_b = Tensor::from_vec(vec![channels], new_b)
        .map(|t| t.cast(wt.dtype()))
        .map_err(|e| PassError::node(pass, g, producer, e))?;
    // Folding twice into one producer does not grow the names again.
    let tagged = |name: &str| match name.ends_with(&format!("_{tag}")) {
        true => name.to_string(),
        false => format!("{name}_{tag}"),
    };
    let w_name = tagged(&g.value(w).name);
    let b_name = match bias {
        Some(b) => tagged(&g.value(b).name),
        None => format!("{}_bias", g.value(w).name),
    };
    let new_w =
        add_tensor_weight(g, w_name, &new_w).map_err(|e| PassError::node(pass, g, producer, e))?;
    let new_b =
        add_tensor_weight(g, b_name, &new_b).map_err(|e| PassError::node(pass, g, producer, e))?;
    let pn = g.node_mut(producer);
    pn.inputs.resize(3, None);
    pn.inputs[1] = Some(new_w);
    pn.inputs[2] = Some(new_b);
    if let Op::Gemm { beta, .. } = &mut pn.op {
        *beta = 1.0;
    }
    // The producer's output now carries the folded node's result and its
    // name (which matters when it is a graph output).
    let name = std::mem::take(&mut g.value_mut(y).name);
    g.value_mut(x).name = name;
    g.replace_all_uses(y, x);
    g.remove_node(node);
    Ok(Some(producer))
}

/// Number of output channels a weight of this layout has, if its shape fits.
pub(super) fn output_channels(w: &Tensor, layout: ChannelLayout) -> Option<usize> {
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
