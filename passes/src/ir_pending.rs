//! Temporary stand-ins for IR APIs being written on other branches (infer,
//! verify); replaced by the real ones when they land on main.
use pare_ir::{Graph, ValueId};
use std::collections::BTreeMap;

#[derive(Clone, PartialEq, Debug)]
pub enum SymInt {
    Int(i64),
    Sym(String),
}
#[derive(Debug, Default)]
pub struct ShapeValues(BTreeMap<ValueId, Vec<SymInt>>);
impl ShapeValues {
    pub fn get(&self, v: ValueId) -> Option<&[SymInt]> {
        self.0.get(&v).map(Vec::as_slice)
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
