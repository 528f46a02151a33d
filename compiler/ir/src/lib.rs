//! pare-ir: the graph IR every front end builds and every pass and target consumes.

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
pub use weights::{is_nibble_packed, pack_nibbles, unpack_nibbles, Weight, WeightBytes};
