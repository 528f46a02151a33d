//! Inputs held at fixed values while data is read (recurrent state): each
//! is one sample's tensor (symbolic dims at 1), broadcast per batch along the
//! symbolic dims, whose sizes come from the inputs that read data in that
//! batch (the batch of a state `[1, N, H]` is the data's axis 0).

use super::bindings::{FixedInputs, FixedValue};
use super::data::DataError;
use super::feeds::{check_dtype, names, InputDecl};
use pare_ir::{Dim, Tensor};
use pare_npy::{DataSpec, Dataset};
use std::collections::BTreeMap;

/// A fixed input: one sample's value (symbolic dims of size 1), broadcast
/// along those dims to each batch's sizes.
#[derive(Clone, Debug)]
pub(crate) struct Fixed {
    pub decl: InputDecl,
    pub value: Tensor,
}

/// The fixed inputs of `fixed`, checked against `inputs` and loaded; the rest
/// of the inputs (those that need data) come back too.
pub(crate) fn split_fixed<'a>(
    inputs: &'a [InputDecl],
    fixed: &FixedInputs,
    spec: &str,
) -> Result<(BTreeMap<String, Fixed>, Vec<&'a InputDecl>), DataError> {
    let fit = |msg: String| DataError::Fit {
        spec: spec.to_string(),
        msg,
    };
    let mut out = BTreeMap::new();
    for (name, value) in &fixed.0 {
        let decl = inputs.iter().find(|i| &i.name == name).ok_or_else(|| {
            fit(format!(
                "fixed input `{name}` is not a model input (inputs: {})",
                names(&inputs.iter().collect::<Vec<_>>())
            ))
        })?;
        let value = fixed_value(decl, value).map_err(fit)?;
        out.insert(
            name.clone(),
            Fixed {
                decl: decl.clone(),
                value,
            },
        );
    }
    let rest: Vec<&InputDecl> = inputs
        .iter()
        .filter(|i| !out.contains_key(&i.name))
        .collect();
    if rest.is_empty() {
        return Err(fit(
            "every model input is fixed; at least one must read data (its batch sets the sample count)"
                .into(),
        ));
    }
    Ok((out, rest))
}

/// One sample's shape of `decl`: its declared shape with symbolic dims at 1.
fn one_sample_shape(decl: &InputDecl) -> Result<Vec<usize>, String> {
    decl.ty
        .shape
        .iter()
        .map(|d| match d {
            Dim::Fixed(n) => usize::try_from(*n).map_err(|_| format!("dim {n} too large")),
            Dim::Sym(_) => Ok(1),
        })
        .collect()
}

/// The one-sample tensor input `decl` is fixed at.
fn fixed_value(decl: &InputDecl, v: &FixedValue) -> Result<Tensor, String> {
    let shape = one_sample_shape(decl).map_err(|e| format!("fixed input `{}`: {e}", decl.name))?;
    pare_ir::checked_count(&shape).map_err(|e| format!("fixed input `{}`: {e}", decl.name))?;
    let n: usize = shape.iter().product();
    let fill = |x: f32| {
        Tensor::from_vec(shape.clone(), vec![x; n])
            .map(|t| t.cast(decl.ty.dtype))
            .map_err(|e| e.to_string())
    };
    match v {
        FixedValue::Zeros => fill(0.0),
        FixedValue::Ones => fill(1.0),
        FixedValue::Scalar(x) => fill(*x),
        FixedValue::File(spec) => {
            let t = read_one(spec).map_err(|e| format!("fixed input `{}`: {e}", decl.name))?;
            let squeezed_batch = t.shape().len() + 1 == shape.len()
                && shape.first() == Some(&1)
                && t.shape() == &shape[1..];
            if t.shape() != shape.as_slice() && !squeezed_batch {
                return Err(format!(
                    "fixed input `{}` takes {} (one sample: shape {shape:?}), but {spec} holds shape {:?}",
                    decl.name,
                    decl.ty,
                    t.shape()
                ));
            }
            check_dtype(decl, t.dtype(), spec)?;
            let bytes = t.cast(decl.ty.dtype).to_le_bytes();
            Tensor::from_le_bytes(decl.ty.dtype, shape, &bytes).map_err(|e| e.to_string())
        }
    }
}

/// A whole array from `FILE.npz[:KEY]` or `FILE.npy`.
fn read_one(spec: &str) -> Result<Tensor, String> {
    let ds = Dataset::open(&DataSpec::parse(spec).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    // A fixed value is one array, read whole: its rows are one tensor here.
    let rows = ds.len();
    let mut it = ds.batches(rows.max(1), None);
    let t = match it.next() {
        Some(t) => t.map_err(|e| e.to_string())?,
        None => return Err(format!("{spec} holds no data")),
    };
    Ok(t)
}

/// The sizes of the symbolic dims of the streamed/generated inputs of one
/// batch (`inputs[i]` is `None` for fixed inputs).
pub(crate) fn bind_symbols(
    decls: &[InputDecl],
    inputs: &[Option<&Tensor>],
) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for (d, t) in decls.iter().zip(inputs) {
        let Some(t) = t else { continue };
        for (dim, &n) in d.ty.shape.iter().zip(t.shape()) {
            if let Dim::Sym(s) = dim {
                out.entry(s.clone()).or_insert(n);
            }
        }
    }
    out
}

impl Fixed {
    /// The fixed value for one batch: symbolic dims take their sizes from
    /// `syms` (the streamed inputs' dims of that batch).
    pub fn batch(&self, syms: &BTreeMap<String, usize>) -> Result<Tensor, String> {
        let mut shape = Vec::with_capacity(self.decl.ty.shape.len());
        for (i, d) in self.decl.ty.shape.iter().enumerate() {
            shape.push(match d {
                Dim::Fixed(_) => self.value.shape()[i],
                Dim::Sym(s) => *syms.get(s).ok_or_else(|| {
                    format!(
                        "fixed input `{}` {}: dim `{s}` is not a dim of any input that reads data, \
                         so its size is unknown (give it with --input-shape {}=...)",
                        self.decl.name, self.decl.ty, self.decl.name
                    )
                })?,
            });
        }
        broadcast(&self.value, &shape).map_err(|e| format!("fixed input `{}`: {e}", self.decl.name))
    }
}

/// `t` repeated along its size-1 dims to `shape`.
fn broadcast(t: &Tensor, shape: &[usize]) -> Result<Tensor, String> {
    if t.shape() == shape {
        return Ok(t.clone());
    }
    let count = pare_ir::checked_count(shape).map_err(|e| e.to_string())?;
    let elem = t.dtype().size_bytes();
    let src = t.to_le_bytes();
    let rank = shape.len();
    // Source strides, zero along broadcast dims.
    let mut strides = vec![0usize; rank];
    let mut acc = 1;
    for i in (0..rank).rev() {
        strides[i] = if t.shape()[i] == 1 { 0 } else { acc };
        acc *= t.shape()[i];
    }
    let mut out = Vec::with_capacity(count * elem);
    let mut idx = vec![0usize; rank];
    for _ in 0..count {
        let s: usize = idx.iter().zip(&strides).map(|(i, st)| i * st).sum();
        out.extend_from_slice(&src[s * elem..(s + 1) * elem]);
        for k in (0..rank).rev() {
            idx[k] += 1;
            if idx[k] < shape[k] {
                break;
            }
            idx[k] = 0;
        }
    }
    Tensor::from_le_bytes(t.dtype(), shape.to_vec(), &out).map_err(|e| e.to_string())
}
