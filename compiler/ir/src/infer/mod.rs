//! Shape and type inference.
//!
//! Contract (to be implemented):
//! * `pub fn infer_graph(g: &mut Graph) -> Result<(), InferError>`: recomputes every
//!   node's output types in topological order.
