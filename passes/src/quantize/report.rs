//! What quantization did to each node: the rows of the compile report.

/// Whether a node runs in the integer domain, or why it stays float.
#[derive(Clone, Debug, PartialEq)]
pub enum LayerStatus {
    Int8,
    /// Weights stored as f16, arithmetic in f32.
    Fp16,
    /// Integer weights widened before a float op (weight-only quantization).
    WeightOnly,
    /// Removed: quantization made it a no-op (the reason says why).
    Folded(String),
    Float(String),
}

/// One node's quantization record. Byte counts are the weight store's bytes
/// before and after (measured from the weights, packed where 4-bit).
#[derive(Clone, Debug, PartialEq)]
pub struct LayerRecord {
    pub node: String,
    pub op: &'static str,
    pub status: LayerStatus,
    pub weight_bits: Option<u8>,
    pub weight_bytes_before: u64,
    pub weight_bytes_after: u64,
    /// Smallest and largest per-channel weight scale.
    pub weight_scale_range: Option<(f32, f32)>,
    pub output_scale: Option<f32>,
    pub output_zero_point: Option<i32>,
}

/// For the parts of attention — a MatMul of two activations (no constant
/// operand: Q·Kᵀ, weights·V) and a Softmax — whether it runs integer or
/// float, stated per layer as the report shows it; `None` for other ops.
pub fn attention_note(r: &LayerRecord) -> Option<String> {
    let how = |status: &LayerStatus, int: &str| match status {
        LayerStatus::Int8 => format!("integer ({int})"),
        LayerStatus::Float(why) => format!("float ({why})"),
        LayerStatus::Folded(why) => format!("removed ({why})"),
        LayerStatus::Fp16 | LayerStatus::WeightOnly => "float".to_string(),
    };
    match r.op {
        "matmul" if r.weight_bytes_before == 0 && r.weight_bits.is_none() => Some(format!(
            "attention matmul of two activations: {}",
            how(
                &r.status,
                "int8 x int8 with int32 accumulation, requantized to the calibrated output scale"
            )
        )),
        "softmax" => Some(format!(
            "softmax: {}",
            how(
                &r.status,
                "int8 in, fixed output scale 1/256 and zero point -128"
            )
        )),
        _ => None,
    }
}
