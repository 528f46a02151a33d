//! The grammar: nom parsers from `.pir` text to a syntax tree ([`GraphAst`]).
//! Names are resolved and the graph is built afterwards, in `build.rs`.
//!
//! The grammar is LL(1): each construct is chosen by its first token, and once chosen
//! a mismatch is a hard error (`expect`), so there is no backtracking and parsing is
//! linear. Nothing recurses (lists hold scalars only), so stack depth is bounded.

use super::lexer::{
    expect, fail, ident, keyword, literal, reference, string_lit, tok, ws, Lit, PResult,
};
use crate::{Attr, DType, Dim, ModelMeta, QParams, TensorType};
use nom::bytes::complete::{tag, take_while};
use nom::character::complete::{char, digit1};
use nom::combinator::{eof, opt};
use nom::Parser;

/// A parsed `.pir` file. `&'a str` fields point into the source (for positions).
#[derive(Debug)]
pub(super) struct GraphAst<'a> {
    pub name: String,
    pub inputs: Vec<ValDecl<'a>>,
    /// Types after `->`, if written.
    pub signature: Option<Vec<(&'a str, TensorType)>>,
    pub meta: ModelMeta,
    pub stmts: Vec<Stmt<'a>>,
    pub ret_at: &'a str,
    pub ret: Vec<Operand<'a>>,
}

/// `%3 "name": f32[...]` or `$w0 "name": f32[...]`.
#[derive(Debug)]
pub(super) struct ValDecl<'a> {
    pub at: &'a str,
    /// The reference text with its sigil (`%3`, `$w0`).
    pub key: &'a str,
    pub name: String,
    pub ty: TensorType,
}

/// A use of a value.
#[derive(Debug, Clone, Copy)]
pub(super) struct Operand<'a> {
    pub at: &'a str,
    pub key: &'a str,
}

#[derive(Debug)]
pub(super) enum Stmt<'a> {
    Weight(WeightDecl<'a>),
    Node(NodeDecl<'a>),
}

#[derive(Debug)]
pub(super) struct WeightDecl<'a> {
    pub decl: ValDecl<'a>,
    /// The stored weight's type when it differs from the value's.
    pub storage_ty: Option<TensorType>,
    pub data_at: &'a str,
    pub data: WeightSource<'a>,
}

#[derive(Debug)]
pub(super) enum WeightSource<'a> {
    /// Shares the stored weight of an earlier weight value.
    Alias(Operand<'a>),
    Data(WeightData<'a>),
}

#[derive(Debug)]
pub(super) enum WeightData<'a> {
    Hex(Vec<u8>),
    Hash(&'a str),
    Elems(Vec<(&'a str, Lit<'a>)>),
    /// `sparse(nnz=K, density=D) DATA`: DATA is the dense elements, a hash, or
    /// `hex "bitmap" hex "values"` (joined in `Hex`, the bitmap's length kept).
    Sparse(Box<SparseDecl<'a>>),
    /// `palette(k=K, bits=B, groups=G) DATA`: DATA is the dense elements, a hash, or
    /// `hex "codebooks" hex "indices"` (joined in `Hex`, the codebooks' length kept).
    Palette(Box<PaletteDecl<'a>>),
}

/// See [`WeightData::Palette`].
#[derive(Debug)]
pub(super) struct PaletteDecl<'a> {
    pub at: &'a str,
    pub k: u64,
    pub bits: u64,
    pub groups: u64,
    pub body: WeightData<'a>,
    pub codebook_len: Option<usize>,
}

/// See [`WeightData::Sparse`].
#[derive(Debug)]
pub(super) struct SparseDecl<'a> {
    pub at: &'a str,
    pub nnz: u64,
    pub density: f64,
    pub body: WeightData<'a>,
    pub bitmap_len: Option<usize>,
}

#[derive(Debug)]
pub(super) struct NodeDecl<'a> {
    pub outputs: Vec<ValDecl<'a>>,
    pub op_at: &'a str,
    pub op: &'a str,
    pub inputs: Vec<Option<Operand<'a>>>,
    pub name: String,
    pub attrs: Vec<AttrDecl<'a>>,
}

#[derive(Debug)]
pub(super) struct AttrDecl<'a> {
    pub at: &'a str,
    pub name: &'a str,
    pub value: Attr,
}

/// `item (',' item)* close`, or just `close`. `sep_what` names what may follow an item.
fn list<'a, O>(
    mut item: impl FnMut(&'a str) -> PResult<'a, O>,
    close: char,
    sep_what: &'static str,
) -> impl FnMut(&'a str) -> PResult<'a, Vec<O>> {
    move |i| {
        let mut out = Vec::new();
        let (i, _) = ws(i)?;
        if let Ok((r, _)) = char::<_, super::lexer::PErr>(close).parse(i) {
            return Ok((r, out));
        }
        let mut i = i;
        loop {
            let (r, x) = item(i)?;
            out.push(x);
            let (r, _) = ws(r)?;
            if let Ok((r, _)) = char::<_, super::lexer::PErr>(close).parse(r) {
                return Ok((r, out));
            }
            let (r, _) = expect(sep_what, char(',')).parse(r)?;
            i = r;
        }
    }
}

/// The whole file.
pub(super) fn graph(i: &str) -> PResult<'_, GraphAst<'_>> {
    let (i, _) = expect("`graph`", keyword("graph")).parse(i)?;
    let (i, _) = expect("`@` and the graph name", char('@')).parse(i)?;
    let (i, name) = expect("graph name (an identifier or a string)", name_token).parse(i)?;
    let (i, _) = expect("`(` opening the graph inputs", char('(')).parse(i)?;
    let (i, inputs) = list(
        |i| val_decl(i, '%', "graph input like `%0: f32[1,4]`"),
        ')',
        "`,` or `)` after graph input",
    )(i)?;
    let (i, arrow) = opt(tok(tag("->"))).parse(i)?;
    let (i, signature) = if arrow.is_some() {
        let (i, _) = expect("`(` opening the output types", char('(')).parse(i)?;
        let (i, tys) = list(
            |i| {
                let (i, _) = ws(i)?;
                let (r, t) = tensor_type(i)?;
                Ok((r, (i, t)))
            },
            ')',
            "`,` or `)` after output type",
        )(i)?;
        (i, Some(tys))
    } else {
        (i, None)
    };
    let (i, _) = expect("`{` opening the graph body", char('{')).parse(i)?;
    let (i, _) = ws(i)?;
    let (i, meta) = match keyword("meta").parse(i) {
        Ok((r, _)) => meta_block(r)?,
        Err(_) => (i, ModelMeta::default()),
    };
    let mut stmts = Vec::new();
    let mut i = i;
    loop {
        let (r, _) = ws(i)?;
        i = r;
        if let Ok((r, _)) = keyword("return").parse(i) {
            let ret_at = i;
            let (r, ret) = return_list(r)?;
            let (r, _) = expect("`}` closing the graph body after `return`", char('}')).parse(r)?;
            let (r, _) = expect("end of input after the graph", eof).parse(r)?;
            return Ok((
                r,
                GraphAst {
                    name,
                    inputs,
                    signature,
                    meta,
                    stmts,
                    ret_at,
                    ret,
                },
            ));
        }
        let (r, stmt) = statement(i)?;
        stmts.push(stmt);
        i = r;
    }
}

/// `@name` or `@"any text"`.
fn name_token(i: &str) -> PResult<'_, String> {
    if i.starts_with('"') {
        string_lit(i)
    } else {
        ident(i).map(|(r, s)| (r, s.to_string()))
    }
}

/// `{ producer = "a" "b", opset = 17, ir_version = 8 }` (any order, each optional).
fn meta_block(i: &str) -> PResult<'_, ModelMeta> {
    let (i, _) = expect("`{` after `meta`", char('{')).parse(i)?;
    let mut meta = ModelMeta::default();
    let mut seen: Vec<&str> = Vec::new();
    let (i, _) = list(
        |i| {
            let (i, _) = ws(i)?;
            let at = i;
            let (i, key) = expect("`producer`, `opset` or `ir_version`", ident).parse(i)?;
            if seen.contains(&key) {
                return fail(at, format!("`{key}` is given twice in `meta`"));
            }
            seen.push(key);
            let (i, _) = expect("`=`", char('=')).parse(i)?;
            match key {
                "producer" => {
                    let (i, name) = expect("producer name string", string_lit).parse(i)?;
                    let (i, version) = expect("producer version string", string_lit).parse(i)?;
                    meta.producer_name = name;
                    meta.producer_version = version;
                    Ok((i, ()))
                }
                "opset" | "ir_version" => {
                    let (i, _) = ws(i)?;
                    let (r, n) = int_literal(i)?;
                    if key == "opset" {
                        meta.opset = n;
                    } else {
                        meta.ir_version = n;
                    }
                    Ok((r, ()))
                }
                _ => fail(
                    at,
                    format!("unknown `meta` field `{key}` (expected `producer`, `opset` or `ir_version`)"),
                ),
            }
        },
        '}',
        "`,` or `}` after meta field",
    )(i)?;
    Ok((i, meta))
}

/// An i64 literal at `i` (already past whitespace).
fn int_literal(i: &str) -> PResult<'_, i64> {
    let (r, lit) = expect("an integer", literal).parse(i)?;
    match lit {
        Lit::Int(n) => match i64::try_from(n) {
            Ok(n) => Ok((r, n)),
            Err(_) => fail(i, format!("integer {n} does not fit in i64")),
        },
        other => fail(i, format!("expected an integer, found {}", other.kind())),
    }
}

/// `%a, %b` after `return` (possibly none).
fn return_list(i: &str) -> PResult<'_, Vec<Operand<'_>>> {
    let (i, _) = ws(i)?;
    if i.starts_with('}') {
        return Ok((i, Vec::new()));
    }
    let mut out = Vec::new();
    let mut i = i;
    loop {
        let (r, op) = expect("value to return like `%3`", value_ref).parse(i)?;
        out.push(op);
        let (r2, _) = ws(r)?;
        match char::<_, super::lexer::PErr>(',').parse(r2) {
            Ok((r3, _)) => i = r3,
            Err(_) => return Ok((r2, out)),
        }
    }
}

/// `%x` or `$x` as an operand.
fn value_ref(i: &str) -> PResult<'_, Operand<'_>> {
    let (r, key) = if i.starts_with('$') {
        reference('$')(i)?
    } else {
        reference('%')(i)?
    };
    Ok((r, Operand { at: i, key }))
}

/// An operand: a value reference or `_` for an absent optional input.
fn operand(i: &str) -> PResult<'_, Option<Operand<'_>>> {
    let (i, _) = ws(i)?;
    if let Ok((r, _)) = keyword("_").parse(i) {
        return Ok((r, None));
    }
    expect("operand (`%v`, `$w` or `_`)", value_ref)
        .parse(i)
        .map(|(r, o)| (r, Some(o)))
}

/// One statement in the body: a weight or a node.
fn statement(i: &str) -> PResult<'_, Stmt<'_>> {
    if i.starts_with('$') {
        return weight_decl(i).map(|(r, w)| (r, Stmt::Weight(w)));
    }
    let (i, outputs) = if i.starts_with('%') {
        let mut outs = Vec::new();
        let mut i = i;
        loop {
            let (r, d) = val_decl(i, '%', "output value like `%3: f32[4]`")?;
            outs.push(d);
            let (r, _) = ws(r)?;
            if let Ok((r, _)) = char::<_, super::lexer::PErr>(',').parse(r) {
                i = r;
                continue;
            }
            let (r, _) = expect("`,` or `=` after output declaration", char('=')).parse(r)?;
            break (r, outs);
        }
    } else {
        (i, Vec::new())
    };
    let (i, _) = ws(i)?;
    let op_at = i;
    let (i, op) = if outputs.is_empty() {
        expect(
            "statement (`%v: type = op(...)`, `$w: type = ...` or `return`)",
            ident,
        )
        .parse(i)?
    } else {
        expect("op name", ident).parse(i)?
    };
    if outputs.is_empty() && op == "meta" {
        return fail(op_at, "`meta { ... }` must come first in the graph body");
    }
    let (i, _) = expect("`(` after op name", char('(')).parse(i)?;
    let (i, inputs) = list(operand, ')', "`,` or `)` after operand")(i)?;
    let (i, name) = opt(tok(string_lit)).parse(i)?;
    let (i, brace) = opt(tok(char('{'))).parse(i)?;
    let (i, attrs) = if brace.is_some() {
        list(attr_decl, '}', "`,` or `}` after attribute")(i)?
    } else {
        (i, Vec::new())
    };
    Ok((
        i,
        Stmt::Node(NodeDecl {
            outputs,
            op_at,
            op,
            inputs,
            name: name.unwrap_or_default(),
            attrs,
        }),
    ))
}

/// `%k "name": type` (or with `$`).
fn val_decl<'a>(i: &'a str, sigil: char, what: &'static str) -> PResult<'a, ValDecl<'a>> {
    let (i, _) = ws(i)?;
    let at = i;
    let (i, key) = expect(what, reference(sigil)).parse(i)?;
    let (i, name) = opt(tok(string_lit)).parse(i)?;
    let (i, _) = expect("`:` and a type after the value", char(':')).parse(i)?;
    let (i, _) = ws(i)?;
    let (i, ty) = tensor_type(i)?;
    Ok((
        i,
        ValDecl {
            at,
            key,
            name: name.unwrap_or_default(),
            ty,
        },
    ))
}

/// `$w0 "name": type = [storage type] (hex "..." | hash ... | [elems] | $w)`.
fn weight_decl(i: &str) -> PResult<'_, WeightDecl<'_>> {
    let (i, decl) = val_decl(i, '$', "weight like `$w0: f32[4]`")?;
    let (i, _) = expect("`=` and the weight's data", char('=')).parse(i)?;
    let (i, _) = ws(i)?;
    let data_at = i;
    if i.starts_with('$') {
        let (r, alias) = value_ref(i)?;
        return Ok((
            r,
            WeightDecl {
                decl,
                storage_ty: None,
                data_at,
                data: WeightSource::Alias(alias),
            },
        ));
    }
    let (i, storage_ty) = match ident(i) {
        Ok((_, w)) if DType::from_name(w).is_some() => {
            let (r, t) = tensor_type(i)?;
            let (r, _) = ws(r)?;
            (r, Some(t))
        }
        _ => (i, None),
    };
    if storage_ty.is_some() && i.starts_with('$') {
        return fail(
            i,
            "an alias shares its target's stored type; write `= $w` without a type",
        );
    }
    let data_at = if storage_ty.is_some() { i } else { data_at };
    let (i, data) = weight_data(i)?;
    Ok((
        i,
        WeightDecl {
            decl,
            storage_ty,
            data_at,
            data: WeightSource::Data(data),
        },
    ))
}

fn weight_data(i: &str) -> PResult<'_, WeightData<'_>> {
    const WHAT: &str = "weight data (`hex \"...\"`, `hash ...`, `[...]` or `$w`)";
    if let Some(rest) = i.strip_prefix('[') {
        let (r, elems) = list(
            |i| {
                let (i, _) = ws(i)?;
                let (r, l) = expect("element literal", literal).parse(i)?;
                Ok((r, (i, l)))
            },
            ']',
            "`,` or `]` after element",
        )(rest)?;
        return Ok((r, WeightData::Elems(elems)));
    }
    let (r, word) = expect(WHAT, ident).parse(i)?;
    match word {
        "hex" => {
            let (r, _) = expect("`\"` opening the hex bytes", char('"')).parse(r)?;
            let (r2, digits) = take_while(|c: char| c.is_ascii_hexdigit()).parse(r)?;
            let (r2, _) = match char::<_, super::lexer::PErr>('"').parse(r2) {
                Ok(x) => x,
                Err(_) => {
                    return fail(
                        r2,
                        format!(
                            "expected hex digits or closing `\"` in `hex` data, found {}",
                            super::lexer::found(r2)
                        ),
                    )
                }
            };
            if digits.len() % 2 != 0 {
                return fail(r, "`hex` data has an odd number of digits");
            }
            let bytes = digits
                .as_bytes()
                .chunks_exact(2)
                .map(|p| (hex_val(p[0]) << 4) | hex_val(p[1]))
                .collect();
            Ok((r2, WeightData::Hex(bytes)))
        }
        "sparse" => sparse_data(i, r),
        "palette" => palette_data(i, r),
        "hash" => {
            let (r, _) = ws(r)?;
            let (r2, h) = expect("hex digits of the weight hash", ident_or_digits).parse(r)?;
            if !h.chars().all(|c| c.is_ascii_hexdigit()) {
                return fail(r, format!("weight hash `{h}` is not hex digits"));
            }
            Ok((r2, WeightData::Hash(h)))
        }
        _ => fail(i, format!("expected {WHAT}, found `{word}`")),
    }
}

/// `NAME=` then an unsigned integer.
fn count_field<'a>(name: &'static str, what: &'static str, i: &'a str) -> PResult<'a, u64> {
    let (i, _) = ws(i)?;
    let (i, _) = expect(name, keyword(name)).parse(i)?;
    let (i, _) = expect("`=`", char('=')).parse(i)?;
    let (r, digits) = expect(what, digit1).parse(i)?;
    match digits.parse::<u64>() {
        Ok(n) => Ok((r, n)),
        Err(_) => fail(i, format!("{what} `{digits}` is too large")),
    }
}

/// After `palette`: `(k=K, bits=B, groups=G)` then the data (see [`WeightData::Palette`]).
fn palette_data<'a>(at: &'a str, i: &'a str) -> PResult<'a, WeightData<'a>> {
    let (i, _) = expect("`(` after `palette`", char('(')).parse(i)?;
    let (i, k) = count_field("k", "the codebook size", i)?;
    let (i, _) = expect("`,` after the codebook size", char(',')).parse(i)?;
    let (i, bits) = count_field("bits", "the index width", i)?;
    let (i, _) = expect("`,` after the index width", char(',')).parse(i)?;
    let (i, groups) = count_field("groups", "the number of codebooks", i)?;
    let (i, _) = expect("`)` closing `palette(...)`", char(')')).parse(i)?;
    let (i, _) = ws(i)?;
    let body_at = i;
    let (i, body) = weight_data(i)?;
    let (i, body, codebook_len) = match body {
        WeightData::Hex(mut books) => {
            let (i, _) = ws(i)?;
            let indices_at = i;
            let (i, indices) = weight_data(i)?;
            let WeightData::Hex(indices) = indices else {
                return fail(
                    indices_at,
                    "expected `hex \"...\"` holding the palette weight's indices after its codebooks",
                );
            };
            let len = books.len();
            books.extend_from_slice(&indices);
            (i, WeightData::Hex(books), Some(len))
        }
        WeightData::Sparse(_) | WeightData::Palette(_) => {
            return fail(body_at, "`palette` cannot hold another encoding")
        }
        other => (i, other, None),
    };
    Ok((
        i,
        WeightData::Palette(Box::new(PaletteDecl {
            at,
            k,
            bits,
            groups,
            body,
            codebook_len,
        })),
    ))
}

/// After `sparse`: `(nnz=K, density=D)` then the data (see [`WeightData::Sparse`]).
fn sparse_data<'a>(at: &'a str, i: &'a str) -> PResult<'a, WeightData<'a>> {
    let (i, _) = expect("`(` after `sparse`", char('(')).parse(i)?;
    let (i, _) = expect("`nnz`", keyword("nnz")).parse(i)?;
    let (i, _) = expect("`=` after `nnz`", char('=')).parse(i)?;
    let (r, digits) = expect("the non-zero count", digit1).parse(i)?;
    let Ok(nnz) = digits.parse::<u64>() else {
        return fail(i, format!("non-zero count `{digits}` is too large"));
    };
    let (i, _) = expect("`,` after the non-zero count", char(',')).parse(r)?;
    let (i, _) = expect("`density`", keyword("density")).parse(i)?;
    let (i, _) = expect("`=` after `density`", char('=')).parse(i)?;
    let (r, lit) = expect("the density", literal).parse(i)?;
    let density = match lit {
        Lit::Int(d) => d as f64,
        Lit::Float(f) => match f.to_f64() {
            Ok(d) => d,
            Err(m) => return fail(i, m),
        },
        other => return fail(i, format!("expected the density, found a {}", other.kind())),
    };
    let (i, _) = expect("`)` closing `sparse(...)`", char(')')).parse(r)?;
    let (i, _) = ws(i)?;
    let body_at = i;
    let (i, body) = weight_data(i)?;
    let (i, body, bitmap_len) = match body {
        WeightData::Hex(mut bitmap) => {
            let (i, _) = ws(i)?;
            let values_at = i;
            let (i, values) = weight_data(i)?;
            let WeightData::Hex(values) = values else {
                return fail(
                    values_at,
                    "expected `hex \"...\"` holding the sparse weight's values after its bitmap",
                );
            };
            let bitmap_len = bitmap.len();
            bitmap.extend_from_slice(&values);
            (i, WeightData::Hex(bitmap), Some(bitmap_len))
        }
        WeightData::Sparse(_) | WeightData::Palette(_) => {
            return fail(body_at, "`sparse` cannot be nested")
        }
        other => (i, other, None),
    };
    Ok((
        i,
        WeightData::Sparse(Box::new(SparseDecl {
            at,
            nnz,
            density,
            body,
            bitmap_len,
        })),
    ))
}

/// A run of letters and digits (hashes may start with a digit).
fn ident_or_digits(i: &str) -> PResult<'_, &str> {
    nom::bytes::complete::take_while1(|c: char| c.is_ascii_alphanumeric()).parse(i)
}

fn hex_val(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    }
}

/// `f32[N,3,224,224]` with an optional `!q(...)` suffix; `i` is past whitespace.
fn tensor_type(i: &str) -> PResult<'_, TensorType> {
    let at = i;
    let (i, name) = expect("element type like `f32`", ident).parse(i)?;
    let Some(dtype) = DType::from_name(name) else {
        let all: Vec<&str> = DType::ALL.iter().map(|d| d.name()).collect();
        return fail(
            at,
            format!(
                "unknown element type `{name}` (expected one of {})",
                all.join(", ")
            ),
        );
    };
    let (i, _) = expect("`[` opening the shape", char('[')).parse(i)?;
    let (i, shape) = list(dim, ']', "`,` or `]` after dimension")(i)?;
    let (i, q) = opt(tok(tag("!q"))).parse(i)?;
    let (i, quant) = if q.is_some() {
        let (i, qp) = qparams(i)?;
        (i, Some(qp))
    } else {
        (i, None)
    };
    Ok((
        i,
        TensorType {
            dtype,
            shape,
            quant,
        },
    ))
}

/// A dimension: a size, a symbol, or a quoted symbol.
fn dim(i: &str) -> PResult<'_, Dim> {
    let (i, _) = ws(i)?;
    if i.starts_with('"') {
        return string_lit(i).map(|(r, s)| (r, Dim::Sym(s)));
    }
    if let Ok((r, d)) = digit1::<_, super::lexer::PErr>(i) {
        return match d.parse::<u64>() {
            Ok(n) => Ok((r, Dim::Fixed(n))),
            Err(_) => fail(i, format!("dimension `{d}` is too large")),
        };
    }
    expect("dimension (a size, a symbol or a quoted symbol)", ident)
        .parse(i)
        .map(|(r, s)| (r, Dim::Sym(s.to_string())))
}

/// `(bits=8, signed=true, axis=0, scale=[...], zp=[...])`, fields in any order;
/// `axis` absent means per-tensor.
fn qparams(i: &str) -> PResult<'_, QParams> {
    let (i, _) = expect("`(` after `!q`", char('(')).parse(i)?;
    let start = i;
    let (i, fields) = list(attr_decl, ')', "`,` or `)` after quantization field")(i)?;
    let (mut bits, mut signed, mut axis, mut scale, mut zp) = (None, None, None, None, None);
    for f in &fields {
        let bad = |want: &str| fail(f.at, format!("`!q` field `{}` must be {want}", f.name));
        match (f.name, &f.value) {
            (n, _) if fields.iter().filter(|g| g.name == n).count() > 1 => {
                return fail(f.at, format!("`!q` field `{n}` is given twice"))
            }
            ("bits", Attr::Int(b)) => match u8::try_from(*b) {
                Ok(b) if b >= 1 => bits = Some(b),
                _ => return bad("an integer from 1 to 255"),
            },
            ("bits", _) => return bad("an integer from 1 to 255"),
            ("signed", Attr::Bool(b)) => signed = Some(*b),
            ("signed", _) => return bad("`true` or `false`"),
            ("axis", Attr::Int(a)) => match usize::try_from(*a) {
                Ok(a) => axis = Some(a),
                Err(_) => return bad("a non-negative integer"),
            },
            ("axis", _) => return bad("a non-negative integer"),
            ("scale", Attr::Floats(v)) => scale = Some(v.clone()),
            ("scale", Attr::Ints(v)) => scale = Some(v.iter().map(|&x| x as f32).collect()),
            ("scale", Attr::Float(v)) => scale = Some(vec![*v as f32]),
            ("scale", _) => return bad("a list of floats"),
            ("zp", Attr::Ints(v)) => {
                let z: Result<Vec<i32>, _> = v.iter().map(|&x| i32::try_from(x)).collect();
                match z {
                    Ok(z) => zp = Some(z),
                    Err(_) => return bad("a list of i32 integers"),
                }
            }
            ("zp", _) => return bad("a list of i32 integers"),
            (n, _) => {
                return fail(
                    f.at,
                    format!("unknown `!q` field `{n}` (expected bits, signed, axis, scale, zp)"),
                )
            }
        }
    }
    match (bits, signed, scale, zp) {
        (Some(bits), Some(signed), Some(scale), Some(zero_point)) => Ok((
            i,
            QParams {
                bits,
                signed,
                scale,
                zero_point,
                axis,
            },
        )),
        _ => fail(
            start,
            "`!q(...)` needs `bits`, `signed`, `scale` and `zp` (and `axis` when per-channel)",
        ),
    }
}

/// `name=value`.
fn attr_decl(i: &str) -> PResult<'_, AttrDecl<'_>> {
    let (i, _) = ws(i)?;
    let at = i;
    let (i, name) = expect("attribute name", ident).parse(i)?;
    let (i, _) = expect("`=` after attribute name", char('=')).parse(i)?;
    let (i, value) = attr_value(i)?;
    Ok((i, AttrDecl { at, name, value }))
}

/// A scalar or a `[...]` list of scalars.
fn attr_value(i: &str) -> PResult<'_, Attr> {
    let (i, _) = ws(i)?;
    let at = i;
    if let Some(rest) = i.strip_prefix('[') {
        let (r, items) = list(
            |i| {
                let (i, _) = ws(i)?;
                let (r, l) = expect("list element", literal).parse(i)?;
                Ok((r, (i, l)))
            },
            ']',
            "`,` or `]` after list element",
        )(rest)?;
        return list_attr(at, items).map(|a| (r, a)).or_else(|e| e);
    }
    let (r, lit) = expect("attribute value", literal).parse(i)?;
    let a = match lit {
        Lit::Int(n) => match i64::try_from(n) {
            Ok(n) => Attr::Int(n),
            Err(_) => return fail(at, format!("integer {n} does not fit in i64")),
        },
        Lit::Float(f) => match f.to_attr() {
            Ok(v) => Attr::Float(v),
            Err(m) => return fail(at, m),
        },
        Lit::Bool(b) => Attr::Bool(b),
        Lit::Str(s) => Attr::Str(s),
        Lit::DType(d) => Attr::DType(d),
    };
    Ok((r, a))
}

/// Classifies a list: all integers → `Ints`, numbers with a float → `Floats`, all
/// strings → `Strs`; `[]` is an empty `Ints` (which float and string lists accept).
fn list_attr<'a>(at: &'a str, items: Vec<(&'a str, Lit<'a>)>) -> Result<Attr, PResult<'a, Attr>> {
    if items.iter().all(|(_, l)| matches!(l, Lit::Int(_))) {
        let mut v = Vec::with_capacity(items.len());
        for (p, l) in &items {
            if let Lit::Int(n) = l {
                match i64::try_from(*n) {
                    Ok(n) => v.push(n),
                    Err(_) => return Err(fail(p, format!("integer {n} does not fit in i64"))),
                }
            }
        }
        return Ok(Attr::Ints(v));
    }
    if items
        .iter()
        .all(|(_, l)| matches!(l, Lit::Int(_) | Lit::Float(_)))
    {
        let mut v = Vec::with_capacity(items.len());
        for (p, l) in &items {
            match l {
                Lit::Int(n) => v.push(*n as f32),
                Lit::Float(f) => match f.to_f32() {
                    Ok(x) => v.push(x),
                    Err(m) => return Err(fail(p, m)),
                },
                _ => {}
            }
        }
        return Ok(Attr::Floats(v));
    }
    if items.iter().all(|(_, l)| matches!(l, Lit::Str(_))) {
        let v = items
            .into_iter()
            .filter_map(|(_, l)| match l {
                Lit::Str(s) => Some(s),
                _ => None,
            })
            .collect();
        return Ok(Attr::Strs(v));
    }
    Err(fail(
        at,
        "a list attribute holds only numbers or only strings",
    ))
}
