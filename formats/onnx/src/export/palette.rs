//! Palette (weight-sharing) weights in ONNX, kept small: the indices as an
//! initializer at their bit width where ONNX has one (`UINT4`, two per byte over
//! the flat tensor, for 1- to 4-bit indices; `UINT8` for 5 to 8 bits), shaped
//! `[groups, elements per group]`, and the codebooks as a `[groups, k]`
//! initializer in the weight's own type (f32, f16, or the int8/uint8 codes of a
//! quantized weight, which then feed the `DequantizeLinear` QDQ lowering gave
//! that weight). A small decode subgraph of standard ops gives the weight back:
//! `Cast` (to INT64; onnxruntime 1.32 casts UINT4 directly) →
//! `GatherElements(codebook, indices, axis=1)` → `Reshape` to the weight's
//! shape: an exact copy of codebook entries, so outputs match the dense weight
//! bit for bit. onnxruntime folds the subgraph into a constant when the session
//! starts (at its default optimization level), so the decode costs nothing per
//! inference.
//!
//! A uniform codebook is not written as one `DequantizeLinear(indices, step,
//! zero)` although that would be exact: it saves only the codebook (k entries per
//! group), while onnxruntime never constant-folds `DequantizeLinear`, so the
//! weight would be decoded on every run and the Conv it feeds would miss the
//! kernels reserved for constant weights (measured: outputs 7.6e-6 off the dense
//! file's on the digits CNN, where the gather form matches it exactly).
//!
//! A weight is written this way only where the initializers and decode nodes
//! together take fewer bytes than its dense initializer; otherwise it is dense.

use super::ops::int_attr;
use super::Exporter;
use crate::error::ErrorKind;
use crate::proto::{AttributeProto, NodeProto, TensorProto};
use crate::tensor::{dims_of, encode_raw};
use pare_ir::palette::{index_at, PaletteLayout};
use pare_ir::{DType, Dim, TensorType, Weight};
use prost::Message;

const UINT8: i32 = 2;
const INT64: i32 = 7;
const UINT4: i32 = 21;

/// The decode subgraph's names, suffixes of the weight's own name so that a reader
/// of the file (and pare's importer) sees what each initializer is.
pub(crate) const INDICES_SUFFIX: &str = ".palette_indices";
pub(crate) const CODEBOOK_SUFFIX: &str = ".palette_codebook";

impl Exporter<'_> {
    /// Writes palette weight `w` as `name` in its palette form when that is
    /// smaller than its dense initializer; returns false (nothing written)
    /// otherwise.
    pub(super) fn palette_weight(&mut self, name: &str, w: &Weight) -> Result<bool, ErrorKind> {
        let Some(spec) = w.palette_spec() else {
            return Ok(false);
        };
        let layout = PaletteLayout::of(&w.ty, spec)?;
        if layout.elements() == 0 {
            return Ok(false);
        }
        let dense_len = encode_raw(name, &w.ty, w.bytes()).encoded_len();
        // Indices first: the only large part, and a cheap test of whether to go on.
        let indices = flat_indices(w, &layout);
        let groups = spec.groups as i64;
        let per_group = (layout.elements() / spec.groups) as i64;
        let nibbles = spec.bits() <= 4;
        let (idx_code, idx_raw) = if nibbles {
            (UINT4, pare_ir::pack_nibbles(&indices))
        } else {
            (UINT8, indices.clone())
        };
        if idx_raw.len() >= dense_len {
            return Ok(false);
        }
        let idx_name = self.long_name(&format!("{name}{INDICES_SUFFIX}"));
        let mut inits = vec![TensorProto {
            name: Some(idx_name.clone()),
            dims: vec![groups, per_group],
            data_type: Some(idx_code),
            raw_data: Some(idx_raw),
            ..TensorProto::default()
        }];
        let shape_name = self.short_name();
        let raw: Vec<u8> = dims_of(&w.ty)
            .iter()
            .flat_map(|d| d.to_le_bytes())
            .collect();
        inits.push(encode_raw(
            &shape_name,
            &TensorType::fixed(DType::I64, &[w.ty.rank() as u64]),
            &raw,
        ));
        let stored = w.stored_bytes();
        let books = &stored[..layout.codebook_len()];
        let book_name = self.long_name(&format!("{name}{CODEBOOK_SUFFIX}"));
        let mut book_ty = w.ty.clone();
        book_ty.shape = vec![Dim::Fixed(spec.groups as u64), Dim::Fixed(spec.k as u64)];
        inits.push(encode_raw(&book_name, &book_ty, books));
        let (wide, gathered) = (self.short_name(), self.short_name());
        let mut nodes = vec![
            node(
                "Cast",
                &[&idx_name],
                &wide,
                vec![int_attr("to", INT64 as i64)],
            ),
            node(
                "GatherElements",
                &[&book_name, &wide],
                &gathered,
                vec![int_attr("axis", 1)],
            ),
        ];
        nodes.push(node("Reshape", &[&gathered, &shape_name], name, vec![]));
        let palette_len: usize = inits.iter().map(Message::encoded_len).sum::<usize>()
            + nodes.iter().map(Message::encoded_len).sum::<usize>();
        if palette_len >= dense_len {
            return Ok(false);
        }
        self.initializers.extend(inits);
        self.decode_nodes.extend(nodes);
        Ok(true)
    }
}

/// Every element's codebook index, row-major (the order of the dense weight, and
/// of `[groups, elements per group]`, since groups are runs of whole rows).
fn flat_indices(w: &Weight, layout: &PaletteLayout) -> Vec<u8> {
    let packed = &w.stored_bytes()[layout.codebook_len()..];
    let bits = layout.spec.bits();
    let mut out = Vec::with_capacity(layout.elements());
    for row in packed
        .chunks_exact(layout.row_bytes.max(1))
        .take(layout.rows)
    {
        out.extend((0..layout.row_len).map(|j| index_at(row, j, bits) as u8));
    }
    out
}

fn node(op: &str, inputs: &[&str], output: &str, attribute: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.to_string()],
        op_type: Some(op.into()),
        attribute,
        ..NodeProto::default()
    }
}
