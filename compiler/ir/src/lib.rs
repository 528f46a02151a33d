//! pare-ir: the graph IR every front end builds and every pass and target consumes.
//!
//! Modules are layered; each uses only the ones below it, never one above:
//!
//! ```text
//! verify, text, analysis   use infer (types, shape values), never the reverse
//! interp            reference interpreter (asks infer for signatures, quant for arithmetic)
//!   ↑       ↑
//! infer   quant     shape inference (with its own constant evaluator, infer::const_eval);
//!   ↑       ↑       quantization parameters and arithmetic
//! ops, types, graph, tensor, weights, attrs
//! ```
//!
//! `tests/layering.rs` fails when a module names one above it (e.g. `infer` calling
//! `interp`), since the compiler accepts cycles between modules of one crate.

pub mod analysis;
pub mod attrs;
mod dtype;
mod einsum_spec;
mod error;
pub mod fsutil;
mod geometry;
mod graph;
mod ids;
pub mod infer;
pub mod interp;
pub mod ops;
pub mod quant;
mod tensor;
pub mod text;
mod types;
pub mod verify;
mod weights;

pub use attrs::{Attr, AttrError};
pub use dtype::DType;
pub use error::IrError;
pub use graph::{Graph, ModelMeta, Node, Value, ValueDef};
pub use ids::{NodeId, ValueId, WeightId};
pub use ops::Op;
pub use tensor::{checked_count, checked_product, Element, Tensor, TensorData, MAX_ELEMENTS};
pub use types::{Dim, QParams, TensorType};
pub use weights::{
    is_nibble_packed, pack_nibbles, palette, sparse, unpack_nibbles, PaletteSpec, Weight,
    WeightBytes, WeightEncoding,
};
