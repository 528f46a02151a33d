//! `fold-affine`: a `Mul`, `Div`, `Add` or `Sub` by a constant that holds one
//! value per output channel (or one value) folds into the `Conv`,
//! `ConvTranspose` or `Gemm` that produces its other input.
//!
//! Exporters leave these after convolutions: PaddlePaddle's learnable affine
//! blocks (`conv → ·a → +b`), a bias added as its own node, a BN already
//! split into `Mul`/`Add`. The float result is the same up to rounding; what
//! changes is quantization, where each of them would otherwise be one more
//! int8 op rounding the tensor again (onnxruntime's graph optimizer folds
//! them the same way before its quantizer runs).
//!
//! `x·c`, `x/c` (c ≠ 0), `x + c`, `x − c` and `c − x` fold; `c/x` is not
//! affine. The constant must broadcast along the channel axis only (axis 1
//! of the producer's output) without changing the output's shape.

use super::fold_into_producer::{
    fold_into_producer, foldable_producer, is_float_weight, output_channels, ChannelAffine,
};
use crate::util::weight_tensor;
use crate::{Changed, Pass, PassCx, PassError};
use pare_ir::{Graph, NodeId, Op, ValueId};

#[derive(Debug, Default)]
pub struct FoldAffine;

impl Pass for FoldAffine {
    fn name(&self) -> &'static str {
        "fold-affine"
    }

    fn run(&mut self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        let candidates: Vec<NodeId> = g
            .order()
            .iter()
            .copied()
            .filter(|&n| {
                matches!(
                    g.node(n).op,
                    Op::Mul {} | Op::Div {} | Op::Add {} | Op::Sub {}
                )
            })
            .collect();
        let mut folded = Vec::new();
        for n in candidates {
            let label = crate::pass::node_label(g, n);
            if let Some(producer) = try_fold(g, n)? {
                folded.push((label, crate::pass::node_label(g, producer)));
            }
        }
        for (node, producer) in &folded {
            cx.note(self.name(), format!("folded {node} into {producer}"));
        }
        Ok(Changed::from_bool(!folded.is_empty()))
    }
}

/// How the constant enters: `x·c`, `x/c`, `x + c`, `x − c` or `c − x`.
#[derive(Clone, Copy, PartialEq)]
enum Form {
    Times,
    Over,
    Plus,
    Minus,
    FromConst,
}

fn try_fold(g: &mut Graph, n: NodeId) -> Result<Option<NodeId>, PassError> {
    let node = g.node(n);
    let [Some(a), Some(b)] = node.inputs[..] else {
        return Ok(None);
    };
    let (Some(&y), true) = (node.outputs.first(), node.outputs.len() == 1) else {
        return Ok(None);
    };
    let (x, c, form) = match (&node.op, is_float_weight(g, a), is_float_weight(g, b)) {
        (_, true, true) | (_, false, false) => return Ok(None),
        (Op::Mul {}, false, true) => (a, b, Form::Times),
        (Op::Mul {}, true, false) => (b, a, Form::Times),
        (Op::Add {}, false, true) => (a, b, Form::Plus),
        (Op::Add {}, true, false) => (b, a, Form::Plus),
        (Op::Div {}, false, true) => (a, b, Form::Over),
        (Op::Sub {}, false, true) => (a, b, Form::Minus),
        (Op::Sub {}, true, false) => (b, a, Form::FromConst),
        _ => return Ok(None),
    };
    if g.ty(y) != g.ty(x) {
        return Ok(None);
    }
    let Some((producer, layout)) = foldable_producer(g, x) else {
        return Ok(None);
    };
    let Some(channels) = g
        .node(producer)
        .input(1)
        .and_then(|w| weight_tensor(g, w))
        .and_then(Result::ok)
        .and_then(|wt| output_channels(&wt, layout))
    else {
        return Ok(None);
    };
    let Some(per_channel) = per_channel_values(g, c, x, channels) else {
        return Ok(None);
    };
    let ones = vec![1.0; channels];
    let zeros = vec![0.0; channels];
    let affine = match form {
        Form::Times => ChannelAffine {
            scale: per_channel,
            shift: zeros,
        },
        Form::Over => {
            if per_channel.contains(&0.0) {
                return Ok(None);
            }
            ChannelAffine {
                scale: per_channel.iter().map(|v| 1.0 / v).collect(),
                shift: zeros,
            }
        }
        Form::Plus => ChannelAffine {
            scale: ones,
            shift: per_channel,
        },
        Form::Minus => ChannelAffine {
            scale: ones,
            shift: per_channel.iter().map(|v| -v).collect(),
        },
        Form::FromConst => ChannelAffine {
            scale: vec![-1.0; channels],
            shift: per_channel,
        },
    };
    fold_into_producer(g, "fold-affine", "affine", producer, layout, &affine, n)
}

/// The constant `c` as one value per channel of `x` (channel axis 1 of
/// `x`, `channels` long), or `None` when it varies along another axis, would
/// broadcast `x` to more axes, or is not finite.
fn per_channel_values(g: &Graph, c: ValueId, x: ValueId, channels: usize) -> Option<Vec<f64>> {
    let t = weight_tensor(g, c)?.ok()?;
    let vals = t.to_f64_vec();
    if vals.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let rank = g.ty(x).rank();
    let shape = t.shape();
    if shape.len() > rank || rank < 2 || g.ty(x).shape[1].fixed()? != channels as u64 {
        return None;
    }
    let lead = rank - shape.len();
    let mut along_channels = false;
    for (i, &d) in shape.iter().enumerate() {
        match (lead + i == 1, d) {
            (_, 1) => {}
            (true, d) if d == channels => along_channels = true,
            _ => return None,
        }
    }
    Some(if along_channels {
        vals
    } else {
        vec![*vals.first()?; channels]
    })
}
