//! Matrix products: `MatMul` (1-D operands, batched broadcasting), `Gemm` with
//! transposes and `Einsum`.

use super::{broadcast, dims, dt, Cx, R};
use crate::{einsum_spec, Dim, Op, TensorType};
use std::collections::BTreeMap;

pub(super) fn infer(cx: &Cx) -> R<Vec<TensorType>> {
    match cx.op() {
        Op::MatMul {} => matmul(cx),
        Op::Gemm {
            trans_a, trans_b, ..
        } => gemm(cx, *trans_a, *trans_b),
        Op::Einsum { equation } => einsum(cx, equation),
        other => Err(cx.err(format!("no linalg rule for `{}`", other.name()))),
    }
}

fn matmul(cx: &Cx) -> R<Vec<TensorType>> {
    let (a, b) = (cx.input(0)?, cx.input(1)?);
    cx.want_dtype(0, a, dt::numeric, "a numeric type")?;
    cx.same_dtype(0, a, 1, b)?;
    for (i, t) in [(0, a), (1, b)] {
        if t.rank() == 0 {
            return Err(cx.in_err(i, "is a scalar; matmul needs rank >= 1"));
        }
    }
    // numpy semantics: a 1-D `a` is a row [1, K], a 1-D `b` a column [K, 1]; the
    // added dim is dropped from the result.
    let mut sa = a.shape.clone();
    let mut sb = b.shape.clone();
    if a.rank() == 1 {
        sa.insert(0, Dim::Fixed(1));
    }
    if b.rank() == 1 {
        sb.push(Dim::Fixed(1));
    }
    let (ka, kb) = (&sa[sa.len() - 1], &sb[sb.len() - 2]);
    if dims::unify(ka, kb).is_none() {
        return Err(cx.err(format!(
            "inner dims differ: input 0 (a) has {ka}, input 1 (b) has {kb}"
        )));
    }
    let batch = broadcast::shapes(cx, &[(0, &sa[..sa.len() - 2]), (1, &sb[..sb.len() - 2])])?;
    let mut out = batch;
    if a.rank() > 1 {
        out.push(sa[sa.len() - 2].clone());
    }
    if b.rank() > 1 {
        out.push(sb[sb.len() - 1].clone());
    }
    Ok(vec![TensorType::new(a.dtype, out)])
}

fn gemm(cx: &Cx, trans_a: bool, trans_b: bool) -> R<Vec<TensorType>> {
    let (a, b) = (cx.input(0)?, cx.input(1)?);
    cx.want_dtype(0, a, dt::numeric, "a numeric type")?;
    cx.same_dtype(0, a, 1, b)?;
    cx.want_rank(0, a, 2)?;
    cx.want_rank(1, b, 2)?;
    let (m, ka) = if trans_a {
        (&a.shape[1], &a.shape[0])
    } else {
        (&a.shape[0], &a.shape[1])
    };
    let (kb, n) = if trans_b {
        (&b.shape[1], &b.shape[0])
    } else {
        (&b.shape[0], &b.shape[1])
    };
    if dims::unify(ka, kb).is_none() {
        return Err(cx.err(format!(
            "inner dims differ: input 0 (a) has {ka}, input 1 (b) has {kb}"
        )));
    }
    let out = vec![m.clone(), n.clone()];
    if let Some(c) = cx.opt_input(2)? {
        cx.same_dtype(0, a, 2, c)?;
        broadcast::unidirectional(cx, 2, &c.shape, &out)?;
    }
    Ok(vec![TensorType::new(a.dtype, out)])
}

fn einsum(cx: &Cx, equation: &str) -> R<Vec<TensorType>> {
    let spec = einsum_spec::parse(equation).map_err(|e| cx.err(e.to_string()))?;
    let terms = &spec.inputs;
    if terms.len() != cx.n_inputs() {
        return Err(cx.err(format!(
            "equation `{equation}` has {} operands but the node has {} inputs",
            terms.len(),
            cx.n_inputs()
        )));
    }
    let first = cx.input(0)?;
    let mut sizes: BTreeMap<char, Dim> = BTreeMap::new();
    let mut ell: Vec<Dim> = Vec::new();
    for (i, term) in terms.iter().enumerate() {
        let t = cx.input(i)?;
        cx.same_dtype(0, first, i, t)?;
        let named = term.letters();
        if t.rank() < named || (!term.ellipsis && t.rank() != named) {
            return Err(cx.in_err(
                i,
                format!(
                    "has rank {}, but its einsum term names {named} dims",
                    t.rank()
                ),
            ));
        }
        let n_ell = t.rank() - named;
        let labelled = term
            .before
            .iter()
            .zip(&t.shape)
            .chain(term.after.iter().zip(&t.shape[term.before.len() + n_ell..]));
        // A letter names one size everywhere (numpy and the interpreter do not
        // broadcast a letter's size-1 dim); only ellipsis dims broadcast.
        for (&c, d) in labelled {
            let merged = match sizes.get(&c) {
                None => d.clone(),
                Some(prev) => dims::unify(prev, d).ok_or_else(|| {
                    cx.in_err(i, format!("label `{c}` has size {d}, elsewhere {prev}"))
                })?,
            };
            sizes.insert(c, merged);
        }
        let e = &t.shape[term.before.len()..term.before.len() + n_ell];
        ell = broadcast::shapes(cx, &[(0, &ell), (i, e)])?;
    }
    let out_term = &spec.output;
    let mut out = Vec::new();
    // `parse` checked that every output letter labels some input dim.
    let label = |c: &char| {
        sizes
            .get(c)
            .cloned()
            .ok_or_else(|| cx.err(format!("output label `{c}` appears in no input")))
    };
    for c in &out_term.before {
        out.push(label(c)?);
    }
    if out_term.ellipsis {
        out.extend(ell.iter().cloned());
    }
    for c in &out_term.after {
        out.push(label(c)?);
    }
    Ok(vec![TensorType::new(first.dtype, out)])
}
