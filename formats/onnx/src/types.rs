//! ValueInfoProto/TypeProto ⇄ `TensorType`, with symbolic dims.

use crate::error::ErrorKind;
use crate::proto::{tensor_shape_proto, type_proto, TensorShapeProto, TypeProto, ValueInfoProto};
use crate::tensor::onnx_type_name;
use pare_ir::{DType, Dim, TensorType};
use std::collections::HashSet;

/// Hands out fresh, deterministic names (`unk__0`, `unk__1`, ...) for dims a model
/// leaves unnamed, in the order they are met. Names the model itself uses are skipped:
/// onnx's shape inference (and so onnxsim) writes `unk__N` dim_params too, and a clash
/// would make two unrelated dims one.
#[derive(Debug, Default)]
pub(crate) struct SymbolGen {
    next: u32,
    taken: HashSet<String>,
}

impl SymbolGen {
    /// A generator that never hands out a name in `taken`.
    pub(crate) fn avoiding(taken: HashSet<String>) -> Self {
        SymbolGen { next: 0, taken }
    }

    fn fresh(&mut self) -> Dim {
        loop {
            let name = format!("unk__{}", self.next);
            self.next += 1;
            if !self.taken.contains(&name) {
                return Dim::Sym(name);
            }
        }
    }
}

/// The dim_param paddle2onnx writes for each unknown dim; each one imports as its own
/// fresh symbol, as onnxruntime lets each take any size.
const UNKNOWN_DIM_PARAM: &str = "?";

/// Every non-empty dim_param the value infos declare.
pub(crate) fn dim_params<'a>(
    infos: impl IntoIterator<Item = &'a ValueInfoProto>,
) -> HashSet<String> {
    let mut out = HashSet::new();
    for vi in infos {
        let Some(type_proto::Value::TensorType(t)) =
            vi.r#type.as_ref().and_then(|t| t.value.as_ref())
        else {
            continue;
        };
        for d in t.shape.iter().flat_map(|s| &s.dim) {
            if let Some(tensor_shape_proto::dimension::Value::DimParam(p)) = &d.value {
                if !p.is_empty() {
                    out.insert(p.clone());
                }
            }
        }
    }
    out
}

/// The tensor type a ValueInfoProto declares: `Ok(None)` when it declares no usable
/// tensor type (absent type, unknown element type or unknown rank), an error for
/// non-tensor types (sequences, maps, optionals, sparse tensors) and for element types
/// pare does not model.
pub(crate) fn declared_type(
    vi: &ValueInfoProto,
    syms: &mut SymbolGen,
) -> Result<Option<TensorType>, ErrorKind> {
    let name = vi.name.as_deref().unwrap_or("");
    let Some(TypeProto { value, .. }) = &vi.r#type else {
        return Ok(None);
    };
    let t = match value {
        None => return Ok(None),
        Some(type_proto::Value::TensorType(t)) => t,
        Some(other) => {
            let kind = match other {
                type_proto::Value::SequenceType(_) => "a sequence",
                type_proto::Value::MapType(_) => "a map",
                type_proto::Value::OptionalType(_) => "an optional",
                type_proto::Value::SparseTensorType(_) => "a sparse tensor",
                type_proto::Value::TensorType(_) => "a tensor",
            };
            return Err(ErrorKind::value(
                name,
                format!("has {kind} type; pare supports dense tensors only"),
            ));
        }
    };
    let code = t.elem_type.unwrap_or(0);
    if code == 0 {
        return Ok(None);
    }
    let dtype = DType::from_onnx_code(code).ok_or_else(|| {
        ErrorKind::value(
            name,
            format!("element type {} is not supported", onnx_type_name(code)),
        )
    })?;
    let Some(shape) = &t.shape else {
        return Ok(None);
    };
    let mut dims = Vec::with_capacity(shape.dim.len());
    for d in &shape.dim {
        dims.push(match &d.value {
            // PaddlePaddle's exporter writes -1 for an unknown dim; onnxruntime reads
            // it as dynamic, and so does pare.
            Some(tensor_shape_proto::dimension::Value::DimValue(-1)) => syms.fresh(),
            Some(tensor_shape_proto::dimension::Value::DimValue(v)) => {
                let v = u64::try_from(*v).map_err(|_| {
                    ErrorKind::value(
                        name,
                        format!("negative dim {v} (only -1, an unknown dim, is accepted)"),
                    )
                })?;
                Dim::Fixed(v)
            }
            // paddle2onnx names every unknown dim `?` (PP-OCR's `[N, 3, ?, ?]`): a
            // placeholder, not one shared symbol, or height and width would have to match.
            Some(tensor_shape_proto::dimension::Value::DimParam(p))
                if !p.is_empty() && p != UNKNOWN_DIM_PARAM =>
            {
                Dim::Sym(p.clone())
            }
            _ => syms.fresh(),
        });
    }
    Ok(Some(TensorType::new(dtype, dims)))
}

/// A ValueInfoProto declaring `ty` for `name`.
pub(crate) fn value_info(name: &str, ty: &TensorType) -> ValueInfoProto {
    let dim = ty
        .shape
        .iter()
        .map(|d| tensor_shape_proto::Dimension {
            value: Some(match d {
                Dim::Fixed(n) => tensor_shape_proto::dimension::Value::DimValue(
                    i64::try_from(*n).unwrap_or(i64::MAX),
                ),
                Dim::Sym(s) => tensor_shape_proto::dimension::Value::DimParam(s.clone()),
            }),
            denotation: None,
        })
        .collect();
    ValueInfoProto {
        name: Some(name.to_string()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(crate::tensor::onnx_elem_type(ty)),
                shape: Some(TensorShapeProto { dim }),
            })),
            denotation: None,
        }),
        doc_string: None,
        metadata_props: Vec::new(),
    }
}
