//! From syntax tree to [`Graph`]: resolves value references, decodes weight data,
//! builds ops from their attributes, and reports semantic errors at their position.

use super::floats::FloatLit;
use super::lexer::Lit;
use super::parse::{
    GraphAst, NodeDecl, Operand, Stmt, ValDecl, WeightData, WeightDecl, WeightSource,
};
use super::print::fmt_type;
use super::ParseError;
use crate::{
    AttrError, DType, Graph, IrError, Op, TensorType, ValueDef, ValueId, Weight, WeightBytes,
};
use std::collections::{BTreeMap, BTreeSet};

/// Resolves an elided weight from its printed hash.
pub(super) type Resolver<'r> = &'r dyn Fn(&str) -> Option<Weight>;

struct Builder<'s, 'r> {
    src: &'s str,
    resolve: Resolver<'r>,
    g: Graph,
    /// Defined values by reference text (`%3`, `$w0`), with where each was defined.
    env: BTreeMap<&'s str, (ValueId, &'s str)>,
    /// Every reference text defined anywhere, to tell "used before definition" from
    /// "never defined".
    all_defined: BTreeSet<&'s str>,
}

pub(super) fn build(
    src: &str,
    ast: GraphAst<'_>,
    resolve: Resolver<'_>,
) -> Result<Graph, ParseError> {
    let mut all_defined: BTreeSet<&str> = ast.inputs.iter().map(|d| d.key).collect();
    for s in &ast.stmts {
        match s {
            Stmt::Weight(w) => {
                all_defined.insert(w.decl.key);
            }
            Stmt::Node(n) => all_defined.extend(n.outputs.iter().map(|d| d.key)),
        }
    }
    let mut b = Builder {
        src,
        resolve,
        g: Graph::new(ast.name),
        env: BTreeMap::new(),
        all_defined,
    };
    b.g.meta = ast.meta;
    for d in &ast.inputs {
        b.check_fresh(d)?;
        let v =
            b.g.add_input(d.name.clone(), d.ty.clone())
                .map_err(|e| b.err(d.at, e.to_string()))?;
        b.env.insert(d.key, (v, d.at));
    }
    // By value: weight bytes move into the graph without a copy.
    for s in ast.stmts {
        match s {
            Stmt::Weight(w) => b.weight(w)?,
            Stmt::Node(n) => b.node(&n)?,
        }
    }
    let mut outputs = Vec::with_capacity(ast.ret.len());
    for o in &ast.ret {
        outputs.push(b.lookup(o)?);
    }
    if let Some(sig) = &ast.signature {
        if sig.len() != outputs.len() {
            return Err(b.err(
                ast.ret_at,
                format!(
                    "`return` gives {} value(s) but the signature declares {}",
                    outputs.len(),
                    sig.len()
                ),
            ));
        }
        for (k, ((at, want), &v)) in sig.iter().zip(&outputs).enumerate() {
            let have = &b.g.value(v).ty;
            if have != want {
                return Err(b.err(
                    at,
                    format!(
                        "output {k} is declared {} but `return` gives {} of type {}",
                        fmt_type(want),
                        ast.ret[k].key,
                        fmt_type(have)
                    ),
                ));
            }
        }
    }
    b.g.outputs = outputs;
    Ok(b.g)
}

impl<'s> Builder<'s, '_> {
    fn err(&self, at: &str, msg: impl Into<String>) -> ParseError {
        ParseError::at(self.src, at, msg)
    }

    fn check_fresh(&self, d: &ValDecl<'s>) -> Result<(), ParseError> {
        match self.env.get(d.key) {
            Some((_, first)) => {
                let (line, column) = super::line_col(self.src, first);
                Err(self.err(
                    d.at,
                    format!(
                        "value `{}` is defined twice (first at {line}:{column})",
                        d.key
                    ),
                ))
            }
            None => Ok(()),
        }
    }

    fn lookup(&self, o: &Operand<'s>) -> Result<ValueId, ParseError> {
        match self.env.get(o.key) {
            Some(&(v, _)) => Ok(v),
            None if self.all_defined.contains(o.key) => Err(self.err(
                o.at,
                format!("value `{}` is used before its definition", o.key),
            )),
            None => Err(self.err(o.at, format!("undefined value `{}`", o.key))),
        }
    }

    fn weight(&mut self, w: WeightDecl<'s>) -> Result<(), ParseError> {
        let WeightDecl {
            decl: d,
            storage_ty,
            data_at,
            data,
        } = w;
        self.check_fresh(&d)?;
        let key = d.key;
        let storage_ty = storage_ty.unwrap_or_else(|| d.ty.clone());
        let v = match data {
            WeightSource::Alias(target) => {
                let tv = self.lookup(&target)?;
                let ValueDef::Weight(wid) = self.g.value(tv).def else {
                    return Err(self.err(
                        target.at,
                        format!(
                            "`{}` is not a weight, so `{key}` cannot share its data",
                            target.key
                        ),
                    ));
                };
                // A second value over an existing stored weight. The graph API has no
                // direct call for this, so add a plain value and retarget it.
                let v = self
                    .g
                    .add_input(d.name.clone(), d.ty.clone())
                    .map_err(|e| self.err(d.at, e.to_string()))?;
                self.g.inputs.pop();
                self.g.value_mut(v).def = ValueDef::Weight(wid);
                v
            }
            WeightSource::Data(data) => {
                let weight = self.weight_value(key, data_at, &storage_ty, data)?;
                let v = self
                    .g
                    .add_weight(d.name.clone(), weight)
                    .map_err(|e| self.err(d.at, e.to_string()))?;
                self.g.value_mut(v).ty = d.ty.clone();
                v
            }
        };
        self.env.insert(key, (v, d.at));
        Ok(())
    }

    fn weight_value(
        &self,
        key: &str,
        data_at: &str,
        ty: &TensorType,
        data: WeightData<'s>,
    ) -> Result<Weight, ParseError> {
        let bytes = match data {
            WeightData::Sparse(d) => return self.sparse_weight(key, ty, *d),
            WeightData::Palette(d) => return self.palette_weight(key, ty, *d),
            WeightData::Hex(bytes) => bytes,
            WeightData::Elems(elems) => {
                if let Some(n) = ty.num_elements() {
                    if n != elems.len() as u64 {
                        return Err(self.err(
                            data_at,
                            format!(
                                "weight `{key}`: {} needs {n} elements, got {}",
                                fmt_type(ty),
                                elems.len()
                            ),
                        ));
                    }
                }
                let mut out = Vec::with_capacity(elems.len() * ty.dtype.size_bytes());
                for (k, (at, lit)) in elems.iter().enumerate() {
                    encode(ty.dtype, lit, &mut out)
                        .map_err(|m| self.err(at, format!("weight `{key}`, element {k}: {m}")))?;
                }
                if crate::is_nibble_packed(ty) {
                    // Elements are written one per value; the store keeps them packed.
                    crate::weights::pack_nibbles(&out)
                } else {
                    out
                }
            }
            WeightData::Hash(h) => {
                let Some(found) = (self.resolve)(h) else {
                    return Err(self.err(
                        data_at,
                        format!(
                            "weight `{key}` is elided (`hash {h}`) and no weight source provides it; \
                             print with `print` for a self-contained file or parse with `parse_with_weights`"
                        ),
                    ));
                };
                let full: String = found
                    .content_hash()
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                if !full.starts_with(&h.to_ascii_lowercase()) {
                    return Err(self.err(
                        data_at,
                        format!("weight `{key}`: the weight source returned data whose hash is {}, not {h}", found.short_hash()),
                    ));
                }
                if &found.ty != ty {
                    return Err(self.err(
                        data_at,
                        format!(
                            "weight `{key}`: the weight source gave {} for `hash {h}`, but {} is declared",
                            fmt_type(&found.ty),
                            fmt_type(ty)
                        ),
                    ));
                }
                return Ok(found);
            }
        };
        Weight::new(ty.clone(), WeightBytes::Owned(bytes.into())).map_err(|e| {
            let msg = match e {
                IrError::ByteCount {
                    expected, actual, ..
                } => format!(
                    "weight `{key}`: {} needs {expected} bytes, got {actual}",
                    fmt_type(ty)
                ),
                other => format!("weight `{key}`: {other}"),
            };
            self.err(data_at, msg)
        })
    }

    /// A `palette(k=K, bits=B, groups=G) ...` weight: its data read as codebooks and
    /// indices (hex), or as dense elements or a hash (then encoded here); B must be
    /// the width K needs and every size must match the data.
    fn palette_weight(
        &self,
        key: &str,
        ty: &TensorType,
        d: super::parse::PaletteDecl<'s>,
    ) -> Result<Weight, ParseError> {
        let super::parse::PaletteDecl {
            at,
            k,
            bits,
            groups,
            body,
            codebook_len,
        } = d;
        let spec = crate::PaletteSpec {
            k: usize::try_from(k).unwrap_or(usize::MAX),
            groups: usize::try_from(groups).unwrap_or(usize::MAX),
        };
        let layout = crate::palette::PaletteLayout::of(ty, spec)
            .map_err(|e| self.err(at, format!("weight `{key}`: {e}")))?;
        if bits != spec.bits() as u64 {
            return Err(self.err(
                at,
                format!(
                    "weight `{key}`: a {k}-entry codebook takes {}-bit indices, not bits={bits}",
                    spec.bits()
                ),
            ));
        }
        let palette_err = |e: IrError| self.err(at, format!("weight `{key}`: {e}"));
        match body {
            WeightData::Hex(bytes) => {
                if let Some(have) = codebook_len {
                    if have != layout.codebook_len() {
                        return Err(self.err(
                            at,
                            format!(
                                "weight `{key}`: {groups} codebooks of {k} {} entries take {} bytes, got {have}",
                                ty.dtype,
                                layout.codebook_len()
                            ),
                        ));
                    }
                }
                Weight::palette(ty.clone(), spec, WeightBytes::Owned(bytes.into()))
                    .map_err(palette_err)
            }
            WeightData::Hash(_) => {
                let w = self.weight_value(key, at, ty, body)?;
                if w.palette_spec() != Some(spec) {
                    return Err(self.err(
                        at,
                        format!("weight `{key}` is declared palette(k={k}, groups={groups}) but the weight source holds it otherwise"),
                    ));
                }
                Ok(w)
            }
            other => self
                .weight_value(key, at, ty, other)?
                .to_palette(spec)
                .map_err(palette_err),
        }
    }

    /// A `sparse(nnz=K, density=D) ...` weight: its data read as the bitmap and
    /// values (hex), or as dense elements or a hash; the count and density it
    /// declares must be those of its data.
    fn sparse_weight(
        &self,
        key: &str,
        ty: &TensorType,
        d: super::parse::SparseDecl<'s>,
    ) -> Result<Weight, ParseError> {
        let super::parse::SparseDecl {
            at,
            nnz,
            density,
            body,
            bitmap_len,
        } = d;
        let w = match body {
            WeightData::Hex(bytes) => {
                let want = crate::sparse::SparseLayout::of(ty).map(|l| l.bitmap_len());
                if let (Some(have), Some(want)) = (bitmap_len, want) {
                    if have != want {
                        return Err(self.err(
                            at,
                            format!(
                                "weight `{key}`: the bitmap of a sparse {} has {want} bytes (one row of {} bytes per index of axis 0), got {have}",
                                fmt_type(ty),
                                want / crate::sparse::SparseLayout::of(ty).map_or(1, |l| l.rows.max(1)),
                            ),
                        ));
                    }
                }
                Weight::sparse(ty.clone(), WeightBytes::Owned(bytes.into()))
                    .map_err(|e| self.err(at, format!("weight `{key}`: {e}")))?
            }
            WeightData::Hash(_) => {
                let w = self.weight_value(key, at, ty, body)?;
                if !w.is_sparse() {
                    return Err(self.err(
                        at,
                        format!("weight `{key}` is declared sparse but the weight source holds it dense"),
                    ));
                }
                w
            }
            other => self
                .weight_value(key, at, ty, other)?
                .to_sparse()
                .map_err(|e| self.err(at, format!("weight `{key}`: {e}")))?,
        };
        let crate::WeightEncoding::Sparse { nnz: have } = w.encoding() else {
            return Err(self.err(at, format!("weight `{key}` is not sparse")));
        };
        if have as u64 != nnz {
            return Err(self.err(
                at,
                format!(
                    "weight `{key}` declares nnz={nnz} but its data holds {have} non-zero elements"
                ),
            ));
        }
        let n = ty.num_elements().unwrap_or(0);
        let actual = if n == 0 { 0.0 } else { have as f64 / n as f64 };
        // Density is printed to two decimals.
        if (actual - density).abs() > 0.005 + 1e-9 {
            return Err(self.err(
                at,
                format!("weight `{key}` declares density={density} but holds {have} of {n} elements ({actual:.2})"),
            ));
        }
        Ok(w)
    }

    fn node(&mut self, n: &NodeDecl<'s>) -> Result<(), ParseError> {
        let mut inputs = Vec::with_capacity(n.inputs.len());
        for i in &n.inputs {
            inputs.push(match i {
                Some(o) => Some(self.lookup(o)?),
                None => None,
            });
        }
        let mut attrs = BTreeMap::new();
        for a in &n.attrs {
            if attrs.insert(a.name.to_string(), a.value.clone()).is_some() {
                return Err(self.err(a.at, format!("attribute `{}` is given twice", a.name)));
            }
        }
        let op = Op::from_attrs(n.op, attrs).map_err(|e| {
            let attr_at = |name: &str| {
                n.attrs
                    .iter()
                    .find(|a| a.name == name)
                    .map_or(n.op_at, |a| a.at)
            };
            match &e {
                AttrError::UnknownOp(name) => {
                    let close = close_names(name);
                    let hint = if close.is_empty() {
                        String::new()
                    } else {
                        format!(" (did you mean {}?)", close.join(", "))
                    };
                    self.err(n.op_at, format!("unknown op `{name}`{hint}"))
                }
                AttrError::Missing { .. } => self.err(n.op_at, e.to_string()),
                AttrError::WrongKind { attr, .. } => self.err(attr_at(attr), e.to_string()),
                AttrError::Unknown { attr, .. } => self.err(attr_at(attr), e.to_string()),
            }
        })?;
        let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
        for d in &n.outputs {
            self.check_fresh(d)?;
            if let Some(first) = seen.insert(d.key, d.at) {
                let (line, column) = super::line_col(self.src, first);
                return Err(self.err(
                    d.at,
                    format!(
                        "value `{}` is defined twice (first at {line}:{column})",
                        d.key
                    ),
                ));
            }
        }
        let outs = n
            .outputs
            .iter()
            .map(|d| (d.name.clone(), d.ty.clone()))
            .collect();
        let (id, values) = self
            .g
            .add_node(n.name.clone(), op, inputs.clone(), outs)
            .map_err(|e| self.err(n.op_at, e.to_string()))?;
        // Keep operands exactly as written (the builder trims trailing `_`).
        self.g.node_mut(id).inputs = inputs;
        for (d, v) in n.outputs.iter().zip(values) {
            self.env.insert(d.key, (v, d.at));
        }
        Ok(())
    }
}

/// Appends one element of `dtype`, little-endian.
fn encode(dtype: DType, lit: &Lit<'_>, out: &mut Vec<u8>) -> Result<(), String> {
    let int = |lo: i128, hi: i128| -> Result<i128, String> {
        match lit {
            Lit::Int(n) if (lo..=hi).contains(n) => Ok(*n),
            Lit::Int(n) => Err(format!("integer {n} does not fit in {dtype}")),
            other => Err(format!(
                "expected an integer ({dtype}), found {}",
                other.kind()
            )),
        }
    };
    match dtype {
        DType::F32 => out.extend(float_elem(lit, dtype, |f| f.to_f32())?.to_le_bytes()),
        DType::F64 => out.extend(float_elem(lit, dtype, |f| f.to_f64())?.to_le_bytes()),
        DType::F16 => out.extend(float_elem(lit, dtype, |f| f.to_f16())?.to_le_bytes()),
        DType::I8 => out.push(int(i8::MIN.into(), i8::MAX.into())? as i8 as u8),
        DType::I16 => out.extend((int(i16::MIN.into(), i16::MAX.into())? as i16).to_le_bytes()),
        DType::I32 => out.extend((int(i32::MIN.into(), i32::MAX.into())? as i32).to_le_bytes()),
        DType::I64 => out.extend((int(i64::MIN.into(), i64::MAX.into())? as i64).to_le_bytes()),
        DType::U8 => out.push(int(0, u8::MAX.into())? as u8),
        DType::U16 => out.extend((int(0, u16::MAX.into())? as u16).to_le_bytes()),
        DType::U32 => out.extend((int(0, u32::MAX.into())? as u32).to_le_bytes()),
        DType::U64 => out.extend((int(0, u64::MAX.into())? as u64).to_le_bytes()),
        DType::Bool => match lit {
            Lit::Bool(b) => out.push(*b as u8),
            other => {
                return Err(format!(
                    "expected `true` or `false`, found {}",
                    other.kind()
                ))
            }
        },
    }
    Ok(())
}

/// A float element from a float literal, or from an integer (read as that decimal,
/// so range checks are the same as for floats).
fn float_elem<T>(
    lit: &Lit<'_>,
    dtype: DType,
    from_float: impl Fn(FloatLit<'_>) -> Result<T, String>,
) -> Result<T, String> {
    match lit {
        Lit::Float(f) => from_float(*f),
        Lit::Int(n) => from_float(FloatLit::Dec(&n.to_string())),
        other => Err(format!(
            "expected a number ({dtype}), found {}",
            other.kind()
        )),
    }
}

/// Op names within a small edit distance of `name`, closest first (at most three).
fn close_names(name: &str) -> Vec<String> {
    // One edit for very short names (`add` vs `and`), else about a third of the name.
    let limit = if name.len() <= 3 {
        1
    } else {
        (name.len() / 3).clamp(2, 3)
    };
    let mut scored: Vec<(usize, &str)> = Op::ALL_NAMES
        .iter()
        .map(|&n| (edit_distance(name, n), n))
        .filter(|&(d, _)| d <= limit)
        .collect();
    // Only the closest names: `rleu` suggests `relu`, not also `elu` and `celu`.
    let best = scored.iter().map(|&(d, _)| d).min().unwrap_or(0);
    scored.retain(|&(d, _)| d == best);
    scored.sort();
    scored
        .into_iter()
        .take(3)
        .map(|(_, n)| format!("`{n}`"))
        .collect()
}

/// Edit distance counting insertions, deletions, substitutions and swaps of adjacent
/// chars (optimal string alignment); names are short, so the full table is fine.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        for j in 0..=b.len() {
            d[i * w + j] = if i == 0 || j == 0 {
                i + j
            } else {
                let mut best = (d[(i - 1) * w + j] + 1)
                    .min(d[i * w + j - 1] + 1)
                    .min(d[(i - 1) * w + j - 1] + usize::from(a[i - 1] != b[j - 1]));
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    best = best.min(d[(i - 2) * w + j - 2] + 1);
                }
                best
            };
        }
    }
    d[a.len() * w + b.len()]
}
