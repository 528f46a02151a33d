//! The TFLite writer: [`write`] lowers a pare graph to a `.tflite` flatbuffer.

mod composite;
mod consts;
mod deconv;
mod dense;
mod int8_rules;
mod layer_norm;
mod layout;
mod lower;
mod model;
mod movement;
mod peephole;
mod reshape;
mod serialize;
mod spatial;
mod versions;

pub use serialize::{BUFFER_ALIGN, SCHEMA_VERSION};

use crate::TfliteError;
use pare_ir::Graph;

/// The metadata entry naming the producer (`pare <version>`).
pub const PRODUCER_METADATA: &str = "pare_producer";

/// `g` (float, fp16 weights, or int8/int4 as pare's quantizer writes it) as `.tflite`
/// bytes: lowered, cleaned up, versioned, serialized. Same graph → same bytes.
pub fn write(g: &Graph) -> Result<Vec<u8>, TfliteError> {
    let producer = format!("pare {}", env!("CARGO_PKG_VERSION"));
    let mut m = lower::lower(g, producer.clone())?;
    peephole::run(&mut m);
    for i in 0..m.operators.len() {
        let v = versions::version(&m, &m.operators[i]);
        m.operators[i].version = v;
    }
    m.metadata
        .push((PRODUCER_METADATA.to_string(), producer.into_bytes()));
    serialize::serialize(&m)
}
