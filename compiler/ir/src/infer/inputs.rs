//! Overriding the shapes of graph inputs (`--input-shape NAME=1,3,96,96`): the new
//! shapes replace the declared ones (fixed or symbolic) and inference re-runs over
//! the whole graph, so a node that cannot take the new shape is named.

use super::{infer_graph, InferError};
use crate::{Dim, Graph};
use std::collections::BTreeSet;

/// Why an input shape could not be overridden.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InputShapeError {
    #[error("`{name}` is not an input of the model (its inputs: {inputs})")]
    NotAnInput { name: String, inputs: String },
    #[error("input `{name}`: its shape is given twice")]
    Twice { name: String },
    #[error("input `{name}`: a shape needs at least one dimension")]
    Empty { name: String },
    #[error("the model cannot take {shapes}: {reason}")]
    Rejected {
        /// The overrides, as ``input `x` as [1, 3, 96, 96]``.
        shapes: String,
        /// The node that rejects them (not a `source`: the message already says it).
        reason: InferError,
    },
}

/// Sets the shape of each named graph input to the fixed `shape` given (keeping its
/// dtype) and re-infers every node output. The types inferred before are dropped
/// first (their fixed sizes would conflict with the new ones), except their dtype,
/// rank and quantization parameters. On error the graph may be half-updated: use a
/// copy when the original is still needed.
pub fn override_input_shapes(
    g: &mut Graph,
    shapes: &[(String, Vec<u64>)],
) -> Result<(), InputShapeError> {
    let mut seen = BTreeSet::new();
    for (name, shape) in shapes {
        if !seen.insert(name.as_str()) {
            return Err(InputShapeError::Twice { name: name.clone() });
        }
        if shape.is_empty() {
            return Err(InputShapeError::Empty { name: name.clone() });
        }
        let Some(&v) = g.inputs.iter().find(|&&v| g.value(v).name == *name) else {
            let inputs: Vec<String> = g
                .inputs
                .iter()
                .map(|&v| format!("`{}` {}", g.value(v).name, g.value(v).ty))
                .collect();
            return Err(InputShapeError::NotAnInput {
                name: name.clone(),
                inputs: inputs.join(", "),
            });
        };
        g.value_mut(v).ty.shape = shape.iter().map(|&d| Dim::Fixed(d)).collect();
    }
    if shapes.is_empty() {
        return Ok(());
    }
    forget_inferred_sizes(g);
    infer_graph(g).map_err(|reason| InputShapeError::Rejected {
        shapes: shapes
            .iter()
            .map(|(n, s)| format!("input `{n}` as {s:?}"))
            .collect::<Vec<_>>()
            .join(", "),
        reason,
    })
}

/// Every node output's sizes become unknowns (`_uN`, which inference replaces), so
/// that the re-run cannot conflict with sizes that followed from the old inputs.
fn forget_inferred_sizes(g: &mut Graph) {
    let outputs: Vec<_> = g
        .nodes()
        .flat_map(|(_, n)| n.outputs.iter().copied())
        .collect();
    let mut next = super::first_free_unknown(g);
    for v in outputs {
        for d in &mut g.value_mut(v).ty.shape {
            *d = Dim::Sym(format!("_u{next}"));
            next += 1;
        }
    }
}
