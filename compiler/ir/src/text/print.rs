//! The printer: a graph as canonical `.pir` text (see the module docs of
//! [`crate::text`] for the format), plus `Display` for [`Attr`].

use super::floats::{fmt_attr_float, fmt_f16, fmt_f32, fmt_f64};
use super::lexer::is_ident;
use crate::{Attr, DType, Dim, Graph, ModelMeta, TensorType, ValueDef, ValueId, Weight};
use half::f16;
use std::fmt::{self, Write};

/// Weights with at most this many elements are written inline as typed literals.
pub const INLINE_MAX_ELEMENTS: usize = 16;

/// How the printer writes weights larger than [`INLINE_MAX_ELEMENTS`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum WeightMode {
    /// Raw bytes as `hex "..."`, so the text holds the whole model.
    Full,
    /// `hash <16 hex digits>` only, for snapshots and diffs.
    Elided,
}

/// The whole graph, every weight written in full: `parse(&print(g))` equals `g`.
pub fn print(g: &Graph) -> String {
    render(g, WeightMode::Full)
}

/// The graph with large weights written as their content hash (`hash 9f2c...`); read it
/// back with [`super::parse_with_weights`] and a source of the original weights.
pub fn print_elided(g: &Graph) -> String {
    render(g, WeightMode::Elided)
}

fn render(g: &Graph, mode: WeightMode) -> String {
    let mut g = g.clone();
    g.compact();
    let names = canonical_names(&g);
    let name_of = |v: ValueId| -> String {
        names
            .get(v.index())
            .and_then(|n| n.clone())
            // Only a malformed graph (a dangling operand) gets here; the text then
            // fails to parse, which is the honest outcome.
            .unwrap_or_else(|| format!("%?{}", v.0))
    };
    let ty_of = |v: ValueId| (v.index() < g.value_count()).then(|| &g.value(v).ty);

    let mut out = String::new();
    out.push_str("graph @");
    out.push_str(&fmt_name(&g.name));
    out.push('(');
    for (k, &v) in g.inputs.iter().enumerate() {
        if k > 0 {
            out.push_str(", ");
        }
        decl(&mut out, &g, v, &name_of(v));
    }
    out.push_str(") -> (");
    for (k, &v) in g.outputs.iter().enumerate() {
        if k > 0 {
            out.push_str(", ");
        }
        match ty_of(v) {
            Some(t) => out.push_str(&fmt_type(t)),
            None => out.push('?'),
        }
    }
    out.push_str(") {\n");

    if g.meta != ModelMeta::default() {
        let m = &g.meta;
        let _ = writeln!(
            out,
            "  meta {{ producer = {} {}, opset = {}, ir_version = {} }}",
            quote(&m.producer_name),
            quote(&m.producer_version),
            m.opset,
            m.ir_version
        );
    }

    // Weight values in canonical (first-use) order; a second value over the same
    // stored weight is written as an alias of the first.
    let mut first_value_of_weight: Vec<Option<ValueId>> = vec![None; g.weight_count()];
    for (v, val) in g.values() {
        let ValueDef::Weight(w) = val.def else {
            continue;
        };
        out.push_str("  ");
        decl(&mut out, &g, v, &name_of(v));
        out.push_str(" = ");
        match first_value_of_weight.get(w.index()).copied().flatten() {
            Some(first) => out.push_str(&name_of(first)),
            None => {
                if let Some(slot) = first_value_of_weight.get_mut(w.index()) {
                    *slot = Some(v);
                }
                if w.index() < g.weight_count() {
                    let weight = g.weight(w);
                    if weight.ty != val.ty {
                        out.push_str(&fmt_type(&weight.ty));
                        out.push(' ');
                    }
                    weight_data(&mut out, weight, mode);
                } else {
                    out.push('?');
                }
            }
        }
        out.push('\n');
    }

    for (_, node) in g.nodes() {
        out.push_str("  ");
        for (k, &o) in node.outputs.iter().enumerate() {
            if k > 0 {
                out.push_str(", ");
            }
            decl(&mut out, &g, o, &name_of(o));
        }
        if !node.outputs.is_empty() {
            out.push_str(" = ");
        }
        out.push_str(node.op.name());
        out.push('(');
        for (k, i) in node.inputs.iter().enumerate() {
            if k > 0 {
                out.push_str(", ");
            }
            match i {
                Some(v) => out.push_str(&name_of(*v)),
                None => out.push('_'),
            }
        }
        out.push(')');
        if !node.name.is_empty() {
            out.push(' ');
            out.push_str(&quote(&node.name));
        }
        let attrs = node.op.attrs();
        if !attrs.is_empty() {
            out.push_str(" {");
            for (k, (name, a)) in attrs.iter().enumerate() {
                if k > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "{name}={a}");
            }
            out.push('}');
        }
        out.push('\n');
    }

    out.push_str("  return");
    for (k, &v) in g.outputs.iter().enumerate() {
        out.push_str(if k == 0 { " " } else { ", " });
        out.push_str(&name_of(v));
    }
    out.push_str("\n}\n");
    out
}

/// `%0, %1, ...` for inputs then node outputs, `$w0, $w1, ...` for weight values, all
/// in the compacted graph's order; indexed by value id.
fn canonical_names(g: &Graph) -> Vec<Option<String>> {
    let mut names: Vec<Option<String>> = vec![None; g.value_count()];
    let mut next = 0usize;
    let mut assign = |names: &mut Vec<Option<String>>, v: ValueId| {
        if let Some(slot @ None) = names.get_mut(v.index()) {
            *slot = Some(format!("%{next}"));
            next += 1;
        }
    };
    for &v in &g.inputs {
        assign(&mut names, v);
    }
    for (_, n) in g.nodes() {
        for &o in &n.outputs {
            assign(&mut names, o);
        }
    }
    let mut w = 0usize;
    for (v, val) in g.values() {
        if matches!(val.def, ValueDef::Weight(_)) {
            if let Some(slot @ None) = names.get_mut(v.index()) {
                *slot = Some(format!("$w{w}"));
                w += 1;
            }
        }
    }
    names
}

/// `%3 "name": f32[N,4]` (the name only when non-empty).
fn decl(out: &mut String, g: &Graph, v: ValueId, key: &str) {
    out.push_str(key);
    if v.index() >= g.value_count() {
        out.push_str(": ?");
        return;
    }
    let val = g.value(v);
    if !val.name.is_empty() {
        out.push(' ');
        out.push_str(&quote(&val.name));
    }
    out.push_str(": ");
    out.push_str(&fmt_type(&val.ty));
}

fn weight_data(out: &mut String, w: &Weight, mode: WeightMode) {
    // A sparse weight says so and how full it is, a palette weight its codebook size,
    // index width and codebook count; the data follows as for a dense weight
    // (elements inline when few, else its hash), except that the full form is two
    // hex strings: the bitmap and the values, or the codebooks and the indices.
    if let crate::WeightEncoding::Sparse { nnz } = w.encoding() {
        let n = w.ty.num_elements().unwrap_or(0);
        let density = if n == 0 { 0.0 } else { nnz as f64 / n as f64 };
        let _ = write!(out, "sparse(nnz={nnz}, density={density:.2}) ");
    }
    if let Some(spec) = w.palette_spec() {
        let _ = write!(
            out,
            "palette(k={}, bits={}, groups={}) ",
            spec.k,
            spec.bits(),
            spec.groups
        );
    }
    // Packed 4-bit weights print one element per value, like every other weight.
    let unpacked;
    let bytes = if crate::is_nibble_packed(&w.ty) {
        let n = w.ty.num_elements().unwrap_or(0) as usize;
        let signed = w.ty.dtype == DType::I8;
        unpacked = crate::weights::unpack_nibbles(w.bytes(), n, signed);
        &unpacked[..]
    } else {
        w.bytes()
    };
    let size = w.ty.dtype.size_bytes();
    let count = bytes.len() / size;
    let inline_ok = count <= INLINE_MAX_ELEMENTS
        && (w.ty.dtype != DType::Bool || bytes.iter().all(|&b| b <= 1));
    if inline_ok {
        out.push('[');
        for (k, chunk) in bytes.chunks_exact(size).enumerate() {
            if k > 0 {
                out.push_str(", ");
            }
            out.push_str(&fmt_element(w.ty.dtype, chunk));
        }
        out.push(']');
    } else if mode == WeightMode::Elided {
        out.push_str("hash ");
        out.push_str(&w.short_hash());
    } else if w.is_sparse() {
        let bitmap_len = crate::sparse::SparseLayout::of(&w.ty).map_or(0, |l| l.bitmap_len());
        let (bitmap, values) = w.stored_bytes().split_at(bitmap_len);
        hex(out, bitmap);
        out.push(' ');
        hex(out, values);
    } else if let Some(spec) = w.palette_spec() {
        let books_len =
            crate::palette::PaletteLayout::of(&w.ty, spec).map_or(0, |l| l.codebook_len());
        let (books, indices) = w.stored_bytes().split_at(books_len);
        hex(out, books);
        out.push(' ');
        hex(out, indices);
    } else {
        // Hex is the stored form (packed for 4-bit weights).
        hex(out, w.bytes());
    }
}

/// `hex "0a1b..."`.
fn hex(out: &mut String, bytes: &[u8]) {
    out.push_str("hex \"");
    out.reserve(bytes.len() * 2 + 1);
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for &b in bytes {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 15) as usize] as char);
    }
    out.push('"');
}

/// One little-endian element of `dtype` as a literal.
fn fmt_element(dtype: DType, b: &[u8]) -> String {
    fn arr<const N: usize>(b: &[u8]) -> [u8; N] {
        let mut a = [0u8; N];
        a.copy_from_slice(&b[..N]);
        a
    }
    match dtype {
        DType::F32 => fmt_f32(f32::from_le_bytes(arr(b))),
        DType::F16 => fmt_f16(f16::from_le_bytes(arr(b))),
        DType::F64 => fmt_f64(f64::from_le_bytes(arr(b))),
        DType::I8 => (b[0] as i8).to_string(),
        DType::I16 => i16::from_le_bytes(arr(b)).to_string(),
        DType::I32 => i32::from_le_bytes(arr(b)).to_string(),
        DType::I64 => i64::from_le_bytes(arr(b)).to_string(),
        DType::U8 => b[0].to_string(),
        DType::U16 => u16::from_le_bytes(arr(b)).to_string(),
        DType::U32 => u32::from_le_bytes(arr(b)).to_string(),
        DType::U64 => u64::from_le_bytes(arr(b)).to_string(),
        DType::Bool => (b[0] != 0).to_string(),
    }
}

/// `f32[N,16,8,8]`, with ` !q(...)` when the type carries quantization.
pub(crate) fn fmt_type(t: &TensorType) -> String {
    let mut s = String::new();
    s.push_str(t.dtype.name());
    s.push('[');
    for (k, d) in t.shape.iter().enumerate() {
        if k > 0 {
            s.push(',');
        }
        match d {
            Dim::Fixed(n) => {
                let _ = write!(s, "{n}");
            }
            Dim::Sym(name) => s.push_str(&fmt_name(name)),
        }
    }
    s.push(']');
    if let Some(q) = &t.quant {
        let _ = write!(s, " !q(bits={}, signed={}", q.bits, q.signed);
        if let Some(axis) = q.axis {
            let _ = write!(s, ", axis={axis}");
        }
        let zp: Vec<i64> = q.zero_point.iter().map(|&z| z as i64).collect();
        let _ = write!(
            s,
            ", scale={}, zp={})",
            Attr::Floats(q.scale.clone()),
            Attr::Ints(zp)
        );
    }
    s
}

/// An identifier when it is one, else a quoted string.
fn fmt_name(s: &str) -> String {
    if is_ident(s) {
        s.to_string()
    } else {
        quote(s)
    }
}

/// `s` in double quotes with `\\ \" \n \r \t` and `\u{..}` for other control characters.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Attribute values as the textual IR writes them: `3`, `1e-5`, `0x1.8p-3`, `true`,
/// `[1,1]`, `[0.5,1.0]`, `"NOTSET"`, `["a","b"]`, `f32`. Floats round-trip exactly.
impl fmt::Display for Attr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn list<T>(
            f: &mut fmt::Formatter<'_>,
            xs: &[T],
            item: impl Fn(&T) -> String,
        ) -> fmt::Result {
            f.write_str("[")?;
            for (k, x) in xs.iter().enumerate() {
                if k > 0 {
                    f.write_str(",")?;
                }
                f.write_str(&item(x))?;
            }
            f.write_str("]")
        }
        match self {
            Attr::Int(v) => write!(f, "{v}"),
            Attr::Float(v) => f.write_str(&fmt_attr_float(*v)),
            Attr::Bool(v) => write!(f, "{v}"),
            Attr::Ints(v) => list(f, v, |x| x.to_string()),
            Attr::Floats(v) => list(f, v, |x| fmt_f32(*x)),
            Attr::Str(s) => f.write_str(&quote(s)),
            Attr::Strs(v) => list(f, v, |s| quote(s)),
            Attr::DType(d) => f.write_str(d.name()),
        }
    }
}
