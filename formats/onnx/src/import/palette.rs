//! Palette weights back from ONNX: the decode subgraph pare's exporter writes
//! (`Cast(indices → INT64)` → `GatherElements(codebook, ·, axis=1)` →
//! `Reshape(·, shape)`, every input an initializer nothing else reads) is
//! recognised and becomes one weight stored as a palette of `k` = the codebook's
//! columns and `groups` = its rows, so pare → ONNX → pare keeps the encoding (and,
//! the encoding being canonical, the stored bytes).
//!
//! Only float codebooks (f32, f16) are taken this way: an int8 codebook holds
//! quantization codes whose parameters arrive later (`raise-qdq`), so that
//! subgraph is imported as ordinary nodes, which constant folding turns into a
//! dense weight, as it does the `DequantizeLinear` form of a uniform codebook.

use crate::error::ErrorKind;
use crate::external::ExternalFiles;
use crate::proto::{GraphProto, NodeProto};
use crate::tensor::decode_weight;
use pare_ir::{DType, PaletteSpec, TensorType, Weight};
use std::collections::{HashMap, HashSet};

const UINT8: i32 = 2;
const INT64: i64 = 7;
const UINT4: i32 = 21;

/// The recognised palette weights, and what they replace.
#[derive(Default)]
pub(super) struct Palettes {
    /// (ONNX name of the decoded value, the palette weight), in node order.
    pub weights: Vec<(String, Weight)>,
    /// Initializers and nodes (by index) only the decode subgraphs read.
    pub initializers: HashSet<String>,
    pub nodes: HashSet<usize>,
}

/// Finds every decode subgraph of a palette weight in `graph`.
pub(super) fn recognise(
    graph: &GraphProto,
    ext: &mut ExternalFiles,
) -> Result<Palettes, ErrorKind> {
    let inits: HashMap<&str, usize> = graph
        .initializer
        .iter()
        .enumerate()
        .filter_map(|(i, t)| t.name.as_deref().map(|n| (n, i)))
        .collect();
    let mut producer: HashMap<&str, usize> = HashMap::new();
    let mut uses: HashMap<&str, usize> = HashMap::new();
    for (i, n) in graph.node.iter().enumerate() {
        for o in &n.output {
            producer.insert(o, i);
        }
        for input in &n.input {
            *uses.entry(input).or_default() += 1;
        }
    }
    for o in &graph.output {
        *uses.entry(o.name.as_deref().unwrap_or("")).or_default() += 1;
    }
    let read_once = |name: &str| uses.get(name) == Some(&1);
    let mut found = Palettes::default();
    for (ri, reshape) in graph.node.iter().enumerate() {
        if !is(reshape, "Reshape", 2) {
            continue;
        }
        let (gathered, shape) = (&reshape.input[0], &reshape.input[1]);
        let Some(&gi) = producer.get(gathered.as_str()) else {
            continue;
        };
        let gather = &graph.node[gi];
        if !is(gather, "GatherElements", 2) || int_attr(gather, "axis") != Some(1) {
            continue;
        }
        let (book, wide) = (&gather.input[0], &gather.input[1]);
        let Some(&ci) = producer.get(wide.as_str()) else {
            continue;
        };
        let cast = &graph.node[ci];
        if !is(cast, "Cast", 1) || int_attr(cast, "to") != Some(INT64) {
            continue;
        }
        let indices = &cast.input[0];
        let (Some(&bi), Some(&ii), Some(&si)) = (
            inits.get(book.as_str()),
            inits.get(indices.as_str()),
            inits.get(shape.as_str()),
        ) else {
            continue;
        };
        let private = [gathered, wide, book, indices].iter().all(|n| read_once(n));
        let idx_proto = &graph.initializer[ii];
        let unsigned = matches!(idx_proto.data_type, Some(UINT4) | Some(UINT8));
        if !private || !unsigned || reshape.output.len() != 1 {
            continue;
        }
        let name = &reshape.output[0];
        let book_w = decode_weight(&graph.initializer[bi], book, ext)?;
        let idx_w = decode_weight(idx_proto, indices, ext)?;
        let shape_w = decode_weight(&graph.initializer[si], shape, ext)?;
        let Some(w) = palette_of(&book_w, &idx_w, &shape_w) else {
            continue;
        };
        found.weights.push((name.clone(), w));
        found.initializers.insert(book.clone());
        found.initializers.insert(indices.clone());
        if read_once(shape) {
            found.initializers.insert(shape.clone());
        }
        found.nodes.extend([ci, gi, ri]);
    }
    Ok(found)
}

fn is(n: &NodeProto, op: &str, inputs: usize) -> bool {
    n.op_type.as_deref() == Some(op)
        && n.input.len() == inputs
        && n.domain.as_deref().unwrap_or("").is_empty()
}

fn int_attr(n: &NodeProto, name: &str) -> Option<i64> {
    n.attribute
        .iter()
        .find(|a| a.name.as_deref() == Some(name))
        .and_then(|a| a.i)
}

/// The palette weight the decode computes, or `None` where the pieces do not
/// fit the pattern (any other shapes or types, an index past its codebook, a
/// shape of another size, groups that are not runs of whole rows): those
/// subgraphs stay ordinary nodes.
fn palette_of(book: &Weight, idx: &Weight, shape: &Weight) -> Option<Weight> {
    if !matches!(book.ty.dtype, DType::F32 | DType::F16) || book.ty.quant.is_some() {
        return None;
    }
    let (book_shape, idx_shape) = (book.ty.fixed_shape()?, idx.ty.fixed_shape()?);
    let (&[groups, k], &[idx_groups, per_group]) = (&book_shape[..], &idx_shape[..]) else {
        return None;
    };
    if groups != idx_groups || idx.ty.dtype != DType::U8 || shape.ty.dtype != DType::I64 {
        return None;
    }
    let dims: Vec<u64> = shape
        .tensor()
        .ok()?
        .as_slice::<i64>()?
        .iter()
        .map(|&d| u64::try_from(d).ok())
        .collect::<Option<_>>()?;
    let n = dims.iter().try_fold(1u64, |a, &d| a.checked_mul(d))?;
    if n != groups.checked_mul(per_group)? {
        return None;
    }
    let (k, size) = (usize::try_from(k).ok()?, book.ty.dtype.size_bytes());
    let per_group = usize::try_from(per_group).ok()?;
    let entries = book.bytes();
    let mut dense = Vec::with_capacity(usize::try_from(n).ok()? * size);
    for (at, &i) in idx.bytes().iter().enumerate() {
        let i = i as usize;
        if i >= k {
            return None;
        }
        let e = ((at / per_group.max(1)) * k + i) * size;
        dense.extend_from_slice(&entries[e..e + size]);
    }
    let ty = TensorType::fixed(book.ty.dtype, &dims);
    let w = Weight::new(ty, pare_ir::WeightBytes::Owned(dense.into())).ok()?;
    let spec = PaletteSpec {
        k,
        groups: usize::try_from(groups).ok()?,
    };
    w.to_palette(spec).ok()
}
