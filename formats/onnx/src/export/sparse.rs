//! Sparse weights in ONNX, each written in whichever form is smallest on disk:
//!
//! * float (and other unquantized) weights as a `sparse_initializer`: the non-zero
//!   values and their linearized INT64 indices (the type `onnx.checker` insists
//!   on; onnxruntime 1.32 would also load INT8/16/32, but the file must pass the
//!   checker), so only where it is smaller: below 1/3 density for f32 (an
//!   8-byte index per 4-byte value);
//! * 8- and 4-bit integer weights (quantization codes, read by a
//!   `DequantizeLinear`) as the store's own form: a packed bitmap (UINT8, one row
//!   per output channel) and the non-zero codes, behind a small decode subgraph of
//!   standard ops: `BitShift`/`BitwiseAnd` unpack the bits, `CumSum` of the mask
//!   numbers the non-zeros, and a `Gather` from the codes with a zero code in
//!   front picks each element's code (index 0, the zero, where the bit is clear).
//!   The result is the same codes as the dense weight, so outputs are identical
//!   (4-bit codes come out as 8-bit ones when only zero-point-free
//!   `DequantizeLinear`s read them, which dequantize them to the same reals);
//! * dense otherwise (a weight whose sparse form is not smaller, counting the
//!   decode nodes and their constants).

use super::ops::{int_attr, string_attr as str_attr};
use super::Exporter;
use crate::error::ErrorKind;
use crate::proto::{AttributeProto, NodeProto, SparseTensorProto, TensorProto};
use crate::tensor::{encode_raw, onnx_elem_type};
use pare_ir::sparse::SparseLayout;
use pare_ir::{DType, TensorType, ValueId, Weight};
use prost::Message;

const UINT8: i32 = 2;
const INT8: i32 = 3;
const INT64: i32 = 7;

/// Names of the constants every decode subgraph shares, made on first use.
#[derive(Default)]
pub(super) struct DecodeConstants {
    names: Option<Shared>,
}

#[derive(Clone)]
struct Shared {
    /// UINT8 [8] = 0..7, the bit positions.
    shifts: String,
    /// UINT8 scalar 1.
    one: String,
    /// INT64 [1] = [-1]: unsqueeze's axis and the flat reshape.
    minus_one: String,
    /// INT64 [1] = [0]: slice start.
    zero: String,
    /// INT64 [1] = [1]: slice axis.
    axis1: String,
    /// INT64 scalar 0: the cumsum axis.
    axis0: String,
}

impl Exporter<'_> {
    /// Writes sparse weight `w` as `name` in a sparse form when that is smaller
    /// than its dense initializer; returns false (nothing written) otherwise.
    pub(super) fn sparse_weight(
        &mut self,
        v: ValueId,
        name: &str,
        w: &Weight,
    ) -> Result<bool, ErrorKind> {
        let Some(layout) = SparseLayout::of(&w.ty) else {
            return Ok(false);
        };
        if layout.elements() == 0 {
            return Ok(false);
        }
        let dense_len = encode_raw(name, &w.ty, w.bytes()).encoded_len();
        let integer_codes = matches!(w.ty.dtype, DType::I8 | DType::U8);
        if integer_codes {
            // 4-bit codes decode to 8-bit ones, which a `DequantizeLinear` without
            // a (4-bit) zero point maps to the same reals; any other reader gets
            // them cast back to 4 bits (which pare's importer cannot read).
            let wide_codes_ok = self.g.nodes().all(|(_, n)| {
                !n.present_inputs().any(|i| i == v)
                    || (matches!(n.op, pare_ir::Op::DequantizeLinear { .. })
                        && n.input(2).is_none())
            });
            return self.bitmap_decode(name, w, layout, dense_len, wide_codes_ok);
        }
        let Some(sp) = coo(name, w, layout) else {
            return Ok(false);
        };
        if sp.encoded_len() >= dense_len {
            return Ok(false);
        }
        self.sparse_initializers.push(sp);
        Ok(true)
    }

    fn shared_constants(&mut self) -> (Shared, Vec<TensorProto>) {
        if let Some(s) = &self.decode.names {
            return (s.clone(), Vec::new());
        }
        let mut fresh = |base: &str| self.long_name(&format!("pare_sparse.{base}"));
        let s = Shared {
            shifts: fresh("shifts"),
            one: fresh("one"),
            minus_one: fresh("minus_one"),
            zero: fresh("zero"),
            axis1: fresh("axis1"),
            axis0: fresh("axis0"),
        };
        let u8s =
            |n: &str, dims: &[u64], v: &[u8]| encode_raw(n, &TensorType::fixed(DType::U8, dims), v);
        let i64s = |n: &str, dims: &[u64], v: &[i64]| {
            let raw: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
            encode_raw(n, &TensorType::fixed(DType::I64, dims), &raw)
        };
        let inits = vec![
            u8s(&s.shifts, &[8], &[0, 1, 2, 3, 4, 5, 6, 7]),
            u8s(&s.one, &[], &[1]),
            i64s(&s.minus_one, &[1], &[-1]),
            i64s(&s.zero, &[1], &[0]),
            i64s(&s.axis1, &[1], &[1]),
            i64s(&s.axis0, &[], &[0]),
        ];
        (s, inits)
    }

    /// A fresh short value name (`_s_N`).
    pub(super) fn short_name(&mut self) -> String {
        let n = self.fresh_name("_s");
        self.used.insert(n.clone());
        n
    }

    /// `want` when free, else a fresh variant of it.
    pub(super) fn long_name(&mut self, want: &str) -> String {
        let n = if self.used.contains(want) {
            self.fresh_name(want)
        } else {
            want.to_string()
        };
        self.used.insert(n.clone());
        n
    }

    /// The bitmap + codes + decode subgraph form (see the module docs).
    fn bitmap_decode(
        &mut self,
        name: &str,
        w: &Weight,
        layout: SparseLayout,
        dense_len: usize,
        wide_codes_ok: bool,
    ) -> Result<bool, ErrorKind> {
        let (shared, mut inits) = self.shared_constants();
        let first_use = !inits.is_empty();
        let stored = w.stored_bytes();
        let (bitmap, values) = stored.split_at(layout.bitmap_len());
        let nibbles = pare_ir::is_nibble_packed(&w.ty);
        let nnz = match w.encoding() {
            pare_ir::WeightEncoding::Sparse { nnz } => nnz,
            _ => return Ok(false),
        };
        // The codes with a zero code in front: index 0 is every cleared bit.
        let codes = if nibbles {
            let mut v = vec![0u8];
            v.extend(pare_ir::unpack_nibbles(values, nnz, false));
            pare_ir::pack_nibbles(&v)
        } else {
            let mut v = vec![0u8];
            v.extend_from_slice(values);
            v
        };
        let mut codes_ty = w.ty.clone();
        codes_ty.shape = vec![pare_ir::Dim::Fixed(nnz as u64 + 1)];
        // Short names for the decode's own values: each is written twice.
        let (bitmap_name, codes_name) = (
            self.long_name(&format!("{name}.bitmap")),
            self.long_name(&format!("{name}.codes")),
        );
        inits.push(encode_raw(
            &bitmap_name,
            &TensorType::fixed(DType::U8, &[layout.rows as u64, layout.row_bytes as u64]),
            bitmap,
        ));
        inits.push(encode_raw(&codes_name, &codes_ty, &codes));
        let i64s = |n: &str, v: &[i64]| {
            let raw: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
            encode_raw(n, &TensorType::fixed(DType::I64, &[v.len() as u64]), &raw)
        };
        let bits_shape = self.short_name();
        inits.push(i64s(
            &bits_shape,
            &[layout.rows as i64, layout.row_bytes as i64 * 8],
        ));
        let out_shape = self.short_name();
        inits.push(i64s(&out_shape, &crate::tensor::dims_of(&w.ty)));
        let padded = layout.row_bytes * 8 != layout.row_len;
        let row_end = self.short_name();
        if padded {
            inits.push(i64s(&row_end, &[layout.row_len as i64]));
        }

        let mut nodes = Vec::new();
        let mut step = |ex: &mut Self, op: &str, inputs: &[&str], attrs: Vec<AttributeProto>| {
            let out = ex.short_name();
            nodes.push(node(op, inputs, &out, attrs));
            out
        };
        let u = step(
            self,
            "Unsqueeze",
            &[&bitmap_name, &shared.minus_one],
            vec![],
        );
        let shifted = step(
            self,
            "BitShift",
            &[&u, &shared.shifts],
            vec![str_attr("direction", "RIGHT")],
        );
        let bits = step(self, "BitwiseAnd", &[&shifted, &shared.one], vec![]);
        let mut rows = step(self, "Reshape", &[&bits, &bits_shape], vec![]);
        if padded {
            rows = step(
                self,
                "Slice",
                &[&rows, &shared.zero, &row_end, &shared.axis1],
                vec![],
            );
        }
        let mask = step(self, "Reshape", &[&rows, &shared.minus_one], vec![]);
        let mask64 = step(self, "Cast", &[&mask], vec![int_attr("to", INT64 as i64)]);
        let count = step(self, "CumSum", &[&mask64, &shared.axis0], vec![]);
        let index = step(self, "Mul", &[&count, &mask64], vec![]);
        let table = if nibbles {
            let wide = if w.ty.dtype == DType::I8 { INT8 } else { UINT8 };
            step(
                self,
                "Cast",
                &[&codes_name],
                vec![int_attr("to", wide as i64)],
            )
        } else {
            codes_name.clone()
        };
        let flat = step(self, "Gather", &[&table, &index], vec![int_attr("axis", 0)]);
        if nibbles && !wide_codes_ok {
            let shaped = step(self, "Reshape", &[&flat, &out_shape], vec![]);
            nodes.push(node(
                "Cast",
                &[&shaped],
                name,
                vec![int_attr("to", onnx_elem_type(&w.ty) as i64)],
            ));
        } else {
            nodes.push(node("Reshape", &[&flat, &out_shape], name, vec![]));
        }

        let sparse_len: usize = inits.iter().map(Message::encoded_len).sum::<usize>()
            + nodes.iter().map(Message::encoded_len).sum::<usize>();
        if sparse_len >= dense_len {
            return Ok(false);
        }
        if first_use {
            self.decode.names = Some(shared);
        }
        self.initializers.extend(inits);
        self.decode_nodes.extend(nodes);
        Ok(true)
    }
}

/// The COO `sparse_initializer` of a sparse weight: its non-zero values (the
/// store's values, already in row-major order) and their linear indices.
fn coo(name: &str, w: &Weight, layout: SparseLayout) -> Option<SparseTensorProto> {
    let stored = w.stored_bytes();
    let (bitmap, values) = stored.split_at(layout.bitmap_len());
    let mut idx: Vec<i64> = Vec::new();
    for r in 0..layout.rows {
        for j in 0..layout.row_len {
            if bitmap[r * layout.row_bytes + j / 8] & (1 << (j % 8)) != 0 {
                idx.push((r * layout.row_len + j) as i64);
            }
        }
    }
    // INT64 indices, the only type `onnx.checker` accepts (onnxruntime also
    // loads narrower ones, but a file the checker rejects is no artifact).
    let (code, width) = (INT64, 8);
    let raw: Vec<u8> = idx
        .iter()
        .flat_map(|&i| i.to_le_bytes()[..width].to_vec())
        .collect();
    let mut vty = w.ty.clone();
    vty.shape = vec![pare_ir::Dim::Fixed(idx.len() as u64)];
    Some(SparseTensorProto {
        values: Some(encode_raw(name, &vty, values)),
        indices: Some(TensorProto {
            name: Some(format!("{name}_indices")),
            dims: vec![idx.len() as i64],
            data_type: Some(code),
            raw_data: Some(raw),
            ..TensorProto::default()
        }),
        dims: crate::tensor::dims_of(&w.ty),
    })
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
