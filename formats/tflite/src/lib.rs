//! pare-tflite: TFLite flatbuffers (schema revision 3, identifier `TFL3`) for pare.
//!
//! * [`schema`]: the flatc-generated bindings of `schema/schema.fbs`
//!   (`scripts/regenerate.sh` regenerates them).
//! * [`write`]: lowers a pare graph (float, fp16 weights, int8 or int4 weights with int8
//!   activations) to a `.tflite` model: NHWC with weights re-laid (no layout transposes
//!   around convolutions), fused activations, per-axis int8 weights, a
//!   `serving_default` signature with the model's input and output names, metadata
//!   naming pare and its version, operator versions as LiteRT's `op_version.cc` sets
//!   them, constant buffers 16-byte aligned.

mod error;
pub mod schema;
mod write;

/// The flatbuffers runtime the generated schema code is built on (to name its types).
pub use flatbuffers;

pub use error::TfliteError;
pub use write::{write, BUFFER_ALIGN, PRODUCER_METADATA, SCHEMA_VERSION};
