//! Recurrent ops (LSTM, GRU, RNN) under the integer schemes. They have no
//! integer kernel (gates mix sigmoid/tanh of sums over time, whose ranges
//! calibration of one step cannot bound), so they run float; but their input
//! and recurrence weights W `[dirs, gates·H, in]` and R `[dirs, gates·H, H]`
//! are most of such a model's bytes, so they are stored int8, symmetric per
//! output row (axis 1, shared by the directions), behind a
//! `dequantize_linear` — weight-only, as onnxruntime's and TFLite's
//! dynamic-range modes do. The bias and the states stay float.

use super::report::{LayerRecord, LayerStatus};
use super::widen::dequantized_weight;
use crate::PassError;
use pare_ir::{DType, Graph, NodeId, Op};

/// What the report says of a recurrent op left float with int8 weights.
pub const RECURRENT_REASON: &str =
    "float recurrent kernel, int8 per-channel weights (weight-only): no integer LSTM/GRU/RNN kernel";

/// Input slots of the weights that get int8 storage (W, R).
const WEIGHT_SLOTS: [usize; 2] = [1, 2];
/// The per-channel axis of W and R: their gate rows.
const ROW_AXIS: usize = 1;

pub fn is_recurrent(op: &Op) -> bool {
    matches!(op, Op::Lstm { .. } | Op::Gru { .. } | Op::Rnn { .. })
}

/// Bytes of one recurrent node's weights before and after, and its scale range.
#[derive(Debug, Default)]
pub struct Widened {
    pub before: u64,
    pub after: u64,
    pub scale_range: Option<(f32, f32)>,
}

impl Widened {
    /// Marks `r` (the record of the node widened) as holding int8 W and R.
    pub fn record(&self, r: &mut LayerRecord, status: LayerStatus) {
        if self.after == 0 {
            return;
        }
        r.status = status;
        r.weight_bits = Some(8);
        // The bias (and any other float constant) keeps its bytes.
        let before = r.weight_bytes_before.max(self.before);
        r.weight_bytes_before = before;
        r.weight_bytes_after = before - self.before + self.after;
        r.weight_scale_range = self.scale_range;
    }
}

/// Quantizes the f32 constant W and R of recurrent node `id`, pushing the
/// dequantize nodes onto `order` (the caller pushes `id` after them).
pub fn widen_node(
    g: &mut Graph,
    id: NodeId,
    order: &mut Vec<NodeId>,
) -> Result<Widened, PassError> {
    let mut out = Widened::default();
    for slot in WEIGHT_SLOTS {
        let Some(wv) = g.node(id).input(slot) else {
            continue;
        };
        let Some(w) = g.weight_of(wv) else {
            continue;
        };
        if w.ty.dtype != DType::F32 || w.ty.rank() != 3 {
            continue;
        }
        out.before += w.stored_len() as u64;
        let t = w.tensor().map_err(|e| err(g, id, &e.to_string()))?;
        let dq = dequantized_weight(g, id, wv, &t, ROW_AXIS, 8, "quantize")?;
        out.after += dq.bytes;
        let (lo, hi) = dq.scale_range();
        out.scale_range = Some(match out.scale_range {
            Some((a, b)) => (a.min(lo), b.max(hi)),
            None => (lo, hi),
        });
        order.push(dq.node);
        g.node_mut(id).inputs[slot] = Some(dq.output);
    }
    Ok(out)
}

fn err(g: &Graph, id: NodeId, msg: &str) -> PassError {
    PassError::NodeMsg {
        pass: "quantize",
        node: g.node(id).name.clone(),
        msg: msg.to_string(),
    }
}
