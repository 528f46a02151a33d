//! Arity checks: a node's input and output counts against its op's [`Signature`]
//! (input names, how many inputs and outputs; a column of the op table).

use super::{Cx, R};
use crate::Op;

pub use crate::ops::Signature;

/// The signature of `op`: its row of the op table.
pub fn signature(op: &Op) -> Signature {
    op.info().signature
}

/// Why a node's input or output count does not fit its op's [`Signature`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ArityError {
    #[error("has {got} inputs, at most {max} allowed")]
    TooManyInputs { got: usize, max: usize },
    #[error("input {index} ({name}) is required but absent (expected {wanted})")]
    MissingInput {
        index: usize,
        name: &'static str,
        wanted: String,
    },
    #[error("input {index} ({name}) is absent (variadic inputs cannot be skipped)")]
    VariadicHole { index: usize, name: &'static str },
    #[error("has {got} outputs, expected {wanted}")]
    Outputs { got: usize, wanted: String },
}

impl Signature {
    /// The name of input `i` for messages (a variadic op's last name covers the rest).
    pub fn input_name(&self, i: usize) -> &'static str {
        self.inputs
            .get(i)
            .or(self.inputs.last().filter(|_| self.variadic))
            .copied()
            .unwrap_or("?")
    }

    /// The accepted input counts in words: "1 input", "2 to 3 inputs", "at least 1 input".
    pub fn inputs_wanted(&self) -> String {
        let max = self.inputs.len();
        let plural = |n: usize| if n == 1 { "input" } else { "inputs" };
        if self.variadic {
            format!("at least {} {}", self.min_inputs, plural(self.min_inputs))
        } else if self.min_inputs == max {
            format!("{max} {}", plural(max))
        } else {
            format!("{} to {max} inputs", self.min_inputs)
        }
    }

    /// Checks `n_in` input slots, of which `present(i)` tells which are given:
    /// no more slots than the op has, required inputs present, no holes among
    /// variadic inputs.
    pub fn check_inputs(
        &self,
        n_in: usize,
        present: impl Fn(usize) -> bool,
    ) -> Result<(), ArityError> {
        if !self.variadic && n_in > self.inputs.len() {
            return Err(ArityError::TooManyInputs {
                got: n_in,
                max: self.inputs.len(),
            });
        }
        if let Some(index) = (0..self.min_inputs).find(|&i| i >= n_in || !present(i)) {
            return Err(ArityError::MissingInput {
                index,
                name: self.input_name(index),
                wanted: self.inputs_wanted(),
            });
        }
        if self.variadic {
            if let Some(index) = (self.min_inputs..n_in).find(|&i| !present(i)) {
                return Err(ArityError::VariadicHole {
                    index,
                    name: self.input_name(index),
                });
            }
        }
        Ok(())
    }

    /// Checks an output count.
    pub fn check_outputs(&self, n_out: usize) -> Result<(), ArityError> {
        let max_ok = self.max_outputs.is_none_or(|m| n_out <= m);
        if n_out >= self.min_outputs && max_ok {
            return Ok(());
        }
        let wanted = match self.max_outputs {
            Some(m) if m == self.min_outputs => format!("{m}"),
            Some(m) => format!("{} to {m}", self.min_outputs),
            None => format!("at least {}", self.min_outputs),
        };
        Err(ArityError::Outputs { got: n_out, wanted })
    }
}

/// Checks the node's input and output counts against its signature.
pub(super) fn check(cx: &Cx) -> R<()> {
    let s = signature(cx.op());
    let n_in = cx.n_inputs();
    s.check_inputs(n_in, |i| cx.node.input(i).is_some())
        .and_then(|()| s.check_outputs(cx.n_outputs()))
        .map_err(|e| cx.err(e.to_string()))?;
    for i in 0..n_in {
        cx.input_id(i)?;
    }
    Ok(())
}
