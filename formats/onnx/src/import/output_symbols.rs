//! After inference: the symbols a graph output declares replace the ones inference
//! carried to it from intermediate `value_info` (onnxsim writes `unk__N` there).

use crate::proto::{tensor_shape_proto, type_proto, GraphProto};
use pare_ir::{Dim, Graph};
use std::collections::{BTreeMap, BTreeSet};

/// A model declaring output `logits: [batch, 10]`, computed from a value it declares as
/// `[unk__19, 32]`, says `unk__19` and `batch` are one dim; inference keeps the symbol it
/// met first (`unk__19`). Renaming it to the declared `batch` everywhere keeps the graph's
/// interface as the file states it. Symbols of graph inputs are never renamed (their
/// types are the file's own), and a symbol that two declarations claim differently is
/// left alone.
pub(crate) fn adopt_declared_output_symbols(g: &mut Graph, graph: &GraphProto) {
    let input_symbols: BTreeSet<String> = g
        .inputs
        .iter()
        .flat_map(|&v| g.ty(v).shape.clone())
        .filter_map(|d| match d {
            Dim::Sym(s) => Some(s),
            Dim::Fixed(_) => None,
        })
        .collect();
    let mut renames: BTreeMap<String, Option<String>> = BTreeMap::new();
    for (vi, &out) in graph.output.iter().zip(&g.outputs) {
        let Some(type_proto::Value::TensorType(t)) =
            vi.r#type.as_ref().and_then(|t| t.value.as_ref())
        else {
            continue;
        };
        let Some(shape) = &t.shape else { continue };
        let inferred = &g.ty(out).shape;
        if inferred.len() != shape.dim.len() {
            continue;
        }
        for (d, got) in shape.dim.iter().zip(inferred) {
            let (Some(tensor_shape_proto::dimension::Value::DimParam(want)), Dim::Sym(got)) =
                (&d.value, got)
            else {
                continue;
            };
            if want.is_empty() || want == got || input_symbols.contains(got) {
                continue;
            }
            renames
                .entry(got.clone())
                .and_modify(|r| {
                    if r.as_deref() != Some(want.as_str()) {
                        *r = None;
                    }
                })
                .or_insert_with(|| Some(want.clone()));
        }
    }
    let renames: BTreeMap<String, String> = renames
        .into_iter()
        .filter_map(|(from, to)| to.map(|to| (from, to)))
        .collect();
    if renames.is_empty() {
        return;
    }
    let ids: Vec<_> = g.values().map(|(id, _)| id).collect();
    for id in ids {
        for d in &mut g.value_mut(id).ty.shape {
            if let Dim::Sym(s) = d {
                if let Some(to) = renames.get(s.as_str()) {
                    *s = to.clone();
                }
            }
        }
    }
}
