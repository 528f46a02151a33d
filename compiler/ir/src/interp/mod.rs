//! Reference interpreter: evaluates ops on concrete [`crate::Tensor`]s.
//!
//! Contract (to be implemented):
//! * `pub fn eval_op(op: &Op, inputs: &[Option<&Tensor>], num_outputs: usize) -> Result<Vec<Tensor>, InterpError>`
//! * `pub fn run(g: &Graph, inputs: &[Tensor]) -> Result<Vec<Tensor>, InterpError>`
