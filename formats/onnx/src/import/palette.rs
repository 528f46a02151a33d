//! Palette weights back from ONNX: the decode subgraph pare's exporter writes
//! (the index steps of `crate::palette_decode` from an index initializer, then
//! `GatherElements(codebook, ·, axis=1)` → `Reshape(·, shape)`, every value in
//! it read by nothing else) is recognised and becomes one weight stored as a
//! palette of `k` = the codebook's columns and `groups` = its rows (or, the
//! one-codebook form, `Gather(codebook [k], Cast(indices), axis=0)` with the
//! indices in the weight's shape), so pare →
//! ONNX → pare keeps the encoding (and, the encoding being canonical, the stored
//! bytes).
//!
//! Only float codebooks (f32, f16) are taken this way: an int8 codebook holds
//! quantization codes whose parameters arrive later (`raise-qdq`), and a plain
//! int8 weight cannot be a palette, so that subgraph is imported as ordinary
//! nodes, which constant folding turns into the dense codes.

use crate::error::ErrorKind;
use crate::external::ExternalFiles;
use crate::palette_decode::{index_steps, indices_of, AttrValue, Const, IndexForm, Step};
use crate::proto::{GraphProto, NodeProto, TensorProto};
use crate::tensor::decode_weight;
use pare_ir::palette::PaletteLayout;
use pare_ir::{DType, PaletteSpec, TensorType, Weight};
use std::collections::{HashMap, HashSet};

/// The recognised palette weights, and what they replace.
#[derive(Default)]
pub(super) struct Palettes {
    /// (ONNX name of the decoded value, the palette weight), in node order.
    pub weights: Vec<(String, Weight)>,
    /// Initializers and nodes (by index) only the decode subgraphs read.
    pub initializers: HashSet<String>,
    pub nodes: HashSet<usize>,
}

/// The graph's initializers and who reads each value, for matching.
struct View<'a> {
    graph: &'a GraphProto,
    inits: HashMap<&'a str, &'a TensorProto>,
    producer: HashMap<&'a str, usize>,
    /// Node indices reading each value (a graph output counts as `usize::MAX`).
    readers: HashMap<&'a str, Vec<usize>>,
}

impl<'a> View<'a> {
    fn new(graph: &'a GraphProto) -> View<'a> {
        let mut v = View {
            graph,
            inits: HashMap::new(),
            producer: HashMap::new(),
            readers: HashMap::new(),
        };
        for t in &graph.initializer {
            if let Some(n) = t.name.as_deref() {
                v.inits.insert(n, t);
            }
        }
        for (i, n) in graph.node.iter().enumerate() {
            for o in &n.output {
                v.producer.insert(o, i);
            }
            for input in &n.input {
                v.readers.entry(input).or_default().push(i);
            }
        }
        for o in &graph.output {
            let name = o.name.as_deref().unwrap_or("");
            v.readers.entry(name).or_default().push(usize::MAX);
        }
        v
    }

    fn read_once(&self, name: &str) -> bool {
        self.readers.get(name).is_some_and(|r| r.len() == 1)
    }

    /// The node producing `name`, when it is the only reader's input.
    fn private_producer(&self, name: &str) -> Option<(usize, &'a NodeProto)> {
        let &i = self.producer.get(name)?;
        self.read_once(name).then(|| (i, &self.graph.node[i]))
    }
}

/// Finds every decode subgraph of a palette weight in `graph`.
pub(super) fn recognise(
    graph: &GraphProto,
    ext: &mut ExternalFiles,
) -> Result<Palettes, ErrorKind> {
    let view = View::new(graph);
    let mut found = Palettes::default();
    let mut consts: HashMap<String, Option<Const>> = HashMap::new();
    for (ri, reshape) in graph.node.iter().enumerate() {
        if !plain(reshape, "Reshape", 2) || reshape.output.len() != 1 {
            continue;
        }
        let Some((gi, gather)) = view.private_producer(&reshape.input[0]) else {
            continue;
        };
        let axis_1 = [("axis", AttrValue::Int(1))];
        if !plain(gather, "GatherElements", 2) || !attrs_are(gather, &axis_1) {
            continue;
        }
        let (book_name, shape_name) = (&gather.input[0], &reshape.input[1]);
        let (Some(book), Some(shape)) = (
            view.inits.get(book_name.as_str()),
            view.inits.get(shape_name.as_str()),
        ) else {
            continue;
        };
        if !view.read_once(book_name) {
            continue;
        }
        let book = decode_weight(book, book_name, ext)?;
        let shape = decode_weight(shape, shape_name, ext)?;
        let Some((ty, spec)) = palette_type(&book, &shape) else {
            continue;
        };
        let Ok(layout) = PaletteLayout::of(&ty, spec) else {
            continue;
        };
        for form in [IndexForm::Typed, IndexForm::Packed] {
            let steps = index_steps(&layout, form);
            let Some((idx_name, mut nodes)) =
                match_steps(&view, &gather.input[1], &steps, &mut consts, ext)?
            else {
                continue;
            };
            let Some(idx) = view.inits.get(idx_name) else {
                continue;
            };
            let (code, dims) = form.initializer(&layout);
            if idx.data_type != Some(code) || idx.dims != dims || !view.read_once(idx_name) {
                continue;
            }
            let idx = decode_weight(idx, idx_name, ext)?;
            let Some(w) = indices_of(&layout, form, idx.bytes())
                .and_then(|flat| decoded(&ty, spec, &book, &flat))
            else {
                continue;
            };
            nodes.extend([gi, ri]);
            found.nodes.extend(nodes);
            found.initializers.insert(book_name.clone());
            found.initializers.insert(idx_name.to_string());
            found.weights.push((reshape.output[0].clone(), w));
            break;
        }
    }
    recognise_direct(graph, &view, ext, &mut consts, &mut found)?;
    found
        .weights
        .sort_by_key(|(name, _)| view.producer.get(name.as_str()).copied());
    // Constants shared by decode subgraphs go once nothing else reads them.
    for (name, readers) in &view.readers {
        let only_decodes = readers.iter().all(|r| found.nodes.contains(r));
        if only_decodes && view.inits.contains_key(name) && !readers.is_empty() {
            found.initializers.insert(name.to_string());
        }
    }
    Ok(found)
}

/// The one-codebook form: `Gather(codebook [k], Cast(indices), axis=0)`, the
/// indices (UINT4 or UINT8) in the weight's own shape.
fn recognise_direct(
    graph: &GraphProto,
    view: &View<'_>,
    ext: &mut ExternalFiles,
    consts: &mut HashMap<String, Option<Const>>,
    found: &mut Palettes,
) -> Result<(), ErrorKind> {
    for (gi, gather) in graph.node.iter().enumerate() {
        if !plain(gather, "Gather", 2) || !attrs_are(gather, &[("axis", AttrValue::Int(0))]) {
            continue;
        }
        let book_name = &gather.input[0];
        let Some(book) = view.inits.get(book_name.as_str()) else {
            continue;
        };
        if !view.read_once(book_name) || book.dims.len() != 1 {
            continue;
        }
        let book = decode_weight(book, book_name, ext)?;
        if !matches!(book.ty.dtype, DType::F32 | DType::F16) || book.ty.quant.is_some() {
            continue;
        }
        let Some(&[k]) = book.ty.fixed_shape().as_deref() else {
            continue;
        };
        let spec = PaletteSpec {
            k: k as usize,
            groups: 1,
        };
        // The steps do not depend on the shape for typed indices: one `Cast`. A
        // lookup table no palette can be (any other size) is an ordinary Gather.
        let Ok(probe) = PaletteLayout::of(&TensorType::fixed(book.ty.dtype, &[1]), spec) else {
            continue;
        };
        let cast_only = index_steps(&probe, IndexForm::Typed);
        let Some((idx_name, nodes)) = match_steps(view, &gather.input[1], &cast_only, consts, ext)?
        else {
            continue;
        };
        let Some(idx) = view.inits.get(idx_name) else {
            continue;
        };
        let dims: Option<Vec<u64>> = idx.dims.iter().map(|&d| u64::try_from(d).ok()).collect();
        let Some(dims) = dims else { continue };
        let ty = TensorType::fixed(book.ty.dtype, &dims);
        let Ok(layout) = PaletteLayout::of(&ty, spec) else {
            continue;
        };
        let (code, _) = IndexForm::Typed.initializer(&layout);
        if idx.data_type != Some(code) || !view.read_once(idx_name) {
            continue;
        }
        let idx = decode_weight(idx, idx_name, ext)?;
        let Some(w) = indices_of(&layout, IndexForm::Typed, idx.bytes())
            .and_then(|flat| decoded(&ty, spec, &book, &flat))
        else {
            continue;
        };
        found.nodes.extend(nodes);
        found.nodes.insert(gi);
        found.initializers.insert(book_name.clone());
        found.initializers.insert(idx_name.to_string());
        found.weights.push((gather.output[0].clone(), w));
    }
    Ok(())
}

/// Walks back from `from` through `steps` (last first); returns the index
/// initializer's name and the nodes passed, or `None` where any node differs
/// from its step (op, attributes, constant inputs) or is read elsewhere.
fn match_steps<'a>(
    view: &View<'a>,
    from: &'a str,
    steps: &[Step],
    consts: &mut HashMap<String, Option<Const>>,
    ext: &mut ExternalFiles,
) -> Result<Option<(&'a str, Vec<usize>)>, ErrorKind> {
    let mut cur = from;
    let mut nodes = Vec::with_capacity(steps.len());
    for s in steps.iter().rev() {
        let Some((i, n)) = view.private_producer(cur) else {
            return Ok(None);
        };
        if !plain(n, s.op, 1 + s.consts.len()) || !attrs_are(n, &s.attrs) {
            return Ok(None);
        }
        for (name, want) in n.input[1..].iter().zip(&s.consts) {
            if constant(view, name, consts, ext)?.as_ref() != Some(want) {
                return Ok(None);
            }
        }
        nodes.push(i);
        cur = &n.input[0];
    }
    Ok(Some((cur, nodes)))
}

/// The initializer `name` as a [`Const`] (memoized), `None` when it is none.
fn constant(
    view: &View<'_>,
    name: &str,
    memo: &mut HashMap<String, Option<Const>>,
    ext: &mut ExternalFiles,
) -> Result<Option<Const>, ErrorKind> {
    if let Some(c) = memo.get(name) {
        return Ok(c.clone());
    }
    let c = match view.inits.get(name) {
        None => None,
        Some(t) => {
            let w = decode_weight(t, name, ext)?;
            let dims = crate::tensor::dims_of(&w.ty);
            match (t.data_type, w.tensor()) {
                (Some(2), Ok(v)) => v.as_slice::<u8>().map(|v| Const::U8 {
                    dims,
                    values: v.to_vec(),
                }),
                (Some(7), Ok(v)) => v.as_slice::<i64>().map(|v| Const::I64 {
                    dims,
                    values: v.to_vec(),
                }),
                _ => None,
            }
        }
    };
    memo.insert(name.to_string(), c.clone());
    Ok(c)
}

/// A default-domain node of `op` with `inputs` inputs and one output.
fn plain(n: &NodeProto, op: &str, inputs: usize) -> bool {
    n.op_type.as_deref() == Some(op)
        && n.input.len() == inputs
        && n.output.len() == 1
        && n.domain.as_deref().unwrap_or("").is_empty()
}

/// The node's attributes are exactly `want`.
fn attrs_are(n: &NodeProto, want: &[(&str, AttrValue)]) -> bool {
    n.attribute.len() == want.len()
        && want.iter().all(|&(name, v)| {
            n.attribute.iter().any(|a| {
                a.name.as_deref() == Some(name)
                    && match v {
                        AttrValue::Int(i) => a.i == Some(i),
                        AttrValue::Str(s) => a.s.as_deref() == Some(s.as_bytes()),
                    }
            })
        })
}

/// The weight type (the codebook's float type, the shape's dims) and palette
/// spec (`[groups, k]` from the codebook) a decode subgraph would give.
fn palette_type(book: &Weight, shape: &Weight) -> Option<(TensorType, PaletteSpec)> {
    if !matches!(book.ty.dtype, DType::F32 | DType::F16) || book.ty.quant.is_some() {
        return None;
    }
    let &[groups, k] = &book.ty.fixed_shape()?[..] else {
        return None;
    };
    if shape.ty.dtype != DType::I64 || shape.ty.rank() != 1 {
        return None;
    }
    let dims: Vec<u64> = (shape.tensor().ok()?.as_slice::<i64>()?.iter())
        .map(|&d| u64::try_from(d).ok())
        .collect::<Option<_>>()?;
    let spec = PaletteSpec {
        k: usize::try_from(k).ok()?,
        groups: usize::try_from(groups).ok()?,
    };
    Some((TensorType::fixed(book.ty.dtype, &dims), spec))
}

/// The weight the decode computes from codebook `book` and the flat indices:
/// `None` when an index lies past its codebook.
fn decoded(ty: &TensorType, spec: PaletteSpec, book: &Weight, flat: &[u8]) -> Option<Weight> {
    let size = ty.dtype.size_bytes();
    let per_group = flat.len() / spec.groups.max(1);
    let entries = book.bytes();
    let mut dense = Vec::with_capacity(flat.len() * size);
    for (at, &i) in flat.iter().enumerate() {
        let i = i as usize;
        if i >= spec.k {
            return None;
        }
        let e = ((at / per_group.max(1)) * spec.k + i) * size;
        dense.extend_from_slice(&entries[e..e + size]);
    }
    let w = Weight::new(ty.clone(), pare_ir::WeightBytes::Owned(dense.into())).ok()?;
    w.to_palette(spec).ok()
}
