//! Palette (weight-sharing) weights in ONNX, kept small: the indices at their
//! bit width and the codebooks as a `[groups, k]` initializer in the weight's own
//! type (f32, f16, or the int8/uint8 codes of a quantized weight, which then feed
//! the `DequantizeLinear` QDQ lowering gave that weight). The indices are
//! whichever of two forms is smaller (see `crate::palette_decode`): a `UINT4`
//! (1–4 bits) or `UINT8` initializer `[groups, n]` widened by a `Cast` (onnxruntime
//! 1.32 casts UINT4 directly), or, for 1–3 and 5–7 bits, pare's packed rows as
//! UINT8 unpacked by a few integer ops, so 2-, 3-, 5- and 6-bit indices take
//! exactly their bits. Then `GatherElements(codebook, indices, axis=1)` →
//! `Reshape` to the weight's shape; with one codebook and typed indices, the
//! indices keep the weight's shape and `Gather(codebook [k], indices, axis=0)`
//! gives it directly. Either is an exact copy of codebook entries, so outputs
//! match the dense weight bit for bit. onnxruntime folds the subgraph into a
//! constant when the session starts (at its default optimization level), so the
//! decode costs nothing per inference.
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
//! With external data on, its large initializers go to the data file like any
//! other.

use super::ops::{int_attr, string_attr};
use super::Exporter;
use crate::error::ErrorKind;
use crate::palette_decode::{index_steps, indices_of, AttrValue, Const, IndexForm};
use crate::proto::{AttributeProto, NodeProto, TensorProto};
use crate::tensor::{dims_of, encode_raw};
use pare_ir::palette::PaletteLayout;
use pare_ir::{DType, Dim, TensorType, Weight};
use prost::Message;

/// The decode subgraph's names: suffixes of the weight's own name, so a reader of
/// the file sees whose indices (`.idx`) and codebook (`.cb`) each initializer
/// holds; short, because a small model's file is mostly names and nodes.
pub(super) const INDICES_SUFFIX: &str = ".idx";
pub(super) const CODEBOOK_SUFFIX: &str = ".cb";

/// One way of writing a palette weight: its initializers and nodes, and the
/// shared constants it names first (kept only if it is chosen).
struct Candidate {
    inits: Vec<TensorProto>,
    nodes: Vec<NodeProto>,
    new_consts: Vec<(Const, String)>,
}

impl Candidate {
    fn len(&self) -> usize {
        self.inits.iter().map(Message::encoded_len).sum::<usize>()
            + self.nodes.iter().map(Message::encoded_len).sum::<usize>()
    }
}

impl Exporter<'_> {
    /// Writes palette weight `w` as `name` in its smallest palette form when that
    /// is smaller than its dense initializer; returns false (nothing written)
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
        // The indices alone decide most cases cheaply: the smaller of their two
        // forms is a lower bound on the palette's bytes.
        let typed_len = if spec.bits() <= 4 {
            layout.elements().div_ceil(2)
        } else {
            layout.elements()
        };
        if layout.indices_len().min(typed_len) >= dense_len {
            return Ok(false);
        }
        let forms: &[IndexForm] = match spec.bits() {
            4 | 8 => &[IndexForm::Typed],
            _ => &[IndexForm::Typed, IndexForm::Packed],
        };
        let (idx_name, book_name) = (
            self.long_name(&format!("{name}{INDICES_SUFFIX}")),
            self.long_name(&format!("{name}{CODEBOOK_SUFFIX}")),
        );
        let mut best: Option<Candidate> = None;
        for &form in forms {
            let c = self.candidate(name, w, &layout, form, &idx_name, &book_name);
            if best.as_ref().is_none_or(|b| c.len() < b.len()) {
                best = Some(c);
            }
        }
        let Some(best) = best.filter(|b| b.len() < dense_len) else {
            return Ok(false);
        };
        self.palette_consts.extend(best.new_consts);
        for t in best.inits {
            let t = self.placed(t);
            self.initializers.push(t);
        }
        self.decode_nodes.extend(best.nodes);
        Ok(true)
    }

    /// The initializers and decode nodes of `w` with its indices in `form`.
    fn candidate(
        &mut self,
        name: &str,
        w: &Weight,
        layout: &PaletteLayout,
        form: IndexForm,
        idx_name: &str,
        book_name: &str,
    ) -> Candidate {
        let stored = w.stored_bytes();
        let (books, packed) = stored.split_at(layout.codebook_len());
        // One codebook and typed indices: the indices keep the weight's shape and a
        // `Gather` on the 1-D codebook gives the weight, with no `Reshape` (and no
        // shape constant) to write.
        let direct = form == IndexForm::Typed && layout.spec.groups == 1;
        let (code, dims) = form.initializer(layout);
        let dims = if direct { dims_of(&w.ty) } else { dims };
        let raw = match form {
            IndexForm::Packed => packed.to_vec(),
            IndexForm::Typed => {
                let flat = indices_of(layout, IndexForm::Packed, packed).unwrap_or_default();
                if layout.spec.bits() <= 4 {
                    pare_ir::pack_nibbles(&flat)
                } else {
                    flat
                }
            }
        };
        let mut c = Candidate {
            inits: vec![TensorProto {
                name: Some(idx_name.to_string()),
                dims,
                data_type: Some(code),
                raw_data: Some(raw),
                ..TensorProto::default()
            }],
            nodes: Vec::new(),
            new_consts: Vec::new(),
        };
        let mut book_ty = w.ty.clone();
        book_ty.shape = if direct {
            vec![Dim::Fixed(layout.spec.k as u64)]
        } else {
            vec![
                Dim::Fixed(layout.spec.groups as u64),
                Dim::Fixed(layout.spec.k as u64),
            ]
        };
        c.inits.push(encode_raw(book_name, &book_ty, books));
        let mut prev = idx_name.to_string();
        for s in index_steps(layout, form) {
            let mut inputs = vec![prev];
            for k in &s.consts {
                inputs.push(self.palette_const(k, &mut c));
            }
            let attrs = s
                .attrs
                .iter()
                .map(|&(n, v)| match v {
                    AttrValue::Int(i) => int_attr(n, i),
                    AttrValue::Str(t) => string_attr(n, t),
                })
                .collect();
            prev = self.short_name();
            c.nodes.push(node(s.op, inputs, &prev, attrs));
        }
        if direct {
            c.nodes.push(node(
                "Gather",
                vec![book_name.to_string(), prev],
                name,
                vec![int_attr("axis", 0)],
            ));
            return c;
        }
        let gathered = self.short_name();
        c.nodes.push(node(
            "GatherElements",
            vec![book_name.to_string(), prev],
            &gathered,
            vec![int_attr("axis", 1)],
        ));
        let shape = self.palette_const(
            &Const::I64 {
                dims: vec![w.ty.rank() as i64],
                values: dims_of(&w.ty),
            },
            &mut c,
        );
        c.nodes
            .push(node("Reshape", vec![gathered, shape], name, vec![]));
        c
    }

    /// The name of constant `k`: shared by every decode subgraph of the file;
    /// one `c` names first is added to its initializers.
    fn palette_const(&mut self, k: &Const, c: &mut Candidate) -> String {
        if let Some(n) = self.palette_consts.get(k) {
            return n.clone();
        }
        if let Some((_, n)) = c.new_consts.iter().find(|(have, _)| have == k) {
            return n.clone();
        }
        let name = self.long_name("pare_palette.const");
        let (dtype, dims, raw) = match k {
            Const::U8 { dims, values } => (DType::U8, dims, values.clone()),
            Const::I64 { dims, values } => (
                DType::I64,
                dims,
                values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            ),
        };
        let dims: Vec<u64> = dims.iter().map(|&d| d as u64).collect();
        let ty = TensorType::fixed(dtype, &dims);
        c.inits.push(encode_raw(&name, &ty, &raw));
        c.new_consts.push((k.clone(), name.clone()));
        name
    }
}

fn node(op: &str, input: Vec<String>, output: &str, attribute: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        input,
        output: vec![output.to_string()],
        op_type: Some(op.into()),
        attribute,
        ..NodeProto::default()
    }
}
