//! Temporary stand-ins for IR APIs being written on other branches (infer,
//! verify); replaced by the real ones when they land on main.
use pare_ir::{Dim, Graph, ValueId};
use std::collections::BTreeMap;

#[derive(Debug, Default)]
pub struct ShapeValues(BTreeMap<ValueId, Vec<Dim>>);
impl ShapeValues {
    pub fn get(&self, v: ValueId) -> Option<&Vec<Dim>> {
        self.0.get(&v)
    }
}
pub fn shape_values(_g: &Graph) -> ShapeValues {
    ShapeValues::default()
}
#[derive(Debug, thiserror::Error)]
#[error("pending")]
pub struct Pending;
pub fn infer_graph(_g: &mut Graph) -> Result<(), Pending> {
    Ok(())
}
pub fn verify(_g: &Graph) -> Result<(), Pending> {
    Ok(())
}
