//! Post-training quantization: int8 (TFLite's full-integer scheme), int4
//! weights with int8 activations, and fp16 weights.
//!
//! The int8 path is plan → rewrite: [`plan::plan`] decides from calibrated
//! ranges which nodes run in the integer domain and every integer value's
//! parameters ([`support`] is the table of what has an integer kernel);
//! [`rewrite::apply`] retypes those nodes, quantizes their constants and puts
//! one quantize/dequantize at each border with the float rest of the graph.
//! Nodes that cannot be quantized stay float and their record says why.

pub mod bias_correction;
pub mod bias_plan;
pub mod bindings;
pub mod calibrate;
pub mod data;
pub mod equalize;
pub mod explicit_qdq;
mod feeds;
mod fixed_inputs;
pub mod fold_luts;
pub mod fp16;
pub mod mixed;
pub mod mixed_fit;
pub mod params;
pub mod plan;
pub mod raise_qdq;
pub mod recurrent;
pub mod report;
pub mod rewrite;
mod state;
pub mod support;
pub mod weight_only;
mod widen;

pub use plan::{Decision, Plan, RangeSource};
pub use report::{attention_note, LayerRecord, LayerStatus};
pub(crate) use rewrite::ISLAND_WEIGHTS;
pub use state::QuantState;

use crate::PassError;
use pare_ir::{Graph, NodeId};
use std::collections::BTreeMap;

/// Options of the integer schemes.
#[derive(Clone, Debug)]
pub struct IntOptions {
    /// Bits of compute-op weights: 8, or 4 (packed two per byte).
    pub weight_bits: u8,
    /// Per-node overrides of `weight_bits` (mixed precision).
    pub node_bits: BTreeMap<NodeId, u8>,
    /// How each weight channel's scale is chosen.
    pub weight_scale: WeightScale,
    /// Nodes kept float whatever their kernels, with the reason (float
    /// islands raised by the fidelity floor).
    pub keep_float: BTreeMap<NodeId, String>,
}

impl Default for IntOptions {
    fn default() -> Self {
        IntOptions {
            weight_bits: 8,
            node_bits: BTreeMap::new(),
            weight_scale: WeightScale::MinMax,
            keep_float: BTreeMap::new(),
        }
    }
}

/// Per-channel weight scale selection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightScale {
    /// The largest magnitude maps to the largest code.
    MinMax,
}

/// Quantizes `g` to int8 activations with `opts.weight_bits` weights, using the
/// calibrated `ranges` of the float graph's values; re-infers and verifies.
pub fn quantize_int(
    g: &mut Graph,
    ranges: &dyn RangeSource,
    opts: &IntOptions,
) -> Result<Vec<LayerRecord>, PassError> {
    let plan = plan::plan_with(g, ranges, 8, &opts.keep_float);
    let bits_of = |n: NodeId| opts.node_bits.get(&n).copied().unwrap_or(opts.weight_bits);
    let wopts = rewrite::WeightOptions {
        bits_of: &bits_of,
        scale_of: &params::minmax_scale,
    };
    let mut records = rewrite::apply(g, &plan, &wopts)?;
    for name in fold_luts::fold_identity_luts(g) {
        if let Some(r) = records.iter_mut().find(|r| r.node == name) {
            r.status = LayerStatus::Folded(
                "its producer already saturates at this range (identity on the codes)".into(),
            );
        }
    }
    // Drops the float weights and activations the rewrite replaced.
    g.compact();
    crate::util::reinfer(g, "quantize")?;
    crate::util::verify(g, "quantize")?;
    Ok(records)
}

/// Stores compute-op weights as `bits`-bit integers behind a dequantize_linear,
/// activations float; re-infers and verifies.
pub fn quantize_weights(g: &mut Graph, bits: u8) -> Result<Vec<LayerRecord>, PassError> {
    let records = weight_only::quantize_weights_only(g, bits)?;
    crate::util::reinfer(g, "quantize-weights")?;
    crate::util::verify(g, "quantize-weights")?;
    Ok(records)
}

/// Stores `g`'s float weights as f16; re-infers and verifies.
pub fn quantize_fp16(g: &mut Graph) -> Result<Vec<LayerRecord>, PassError> {
    let records = fp16::weights_to_fp16(g)?;
    crate::util::reinfer(g, "quantize-fp16")?;
    crate::util::verify(g, "quantize-fp16")?;
    Ok(records)
}
