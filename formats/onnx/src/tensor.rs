//! TensorProto ⇄ weights: decoding every storage form ONNX allows (raw_data, typed
//! fields, external data) with every declared size checked, and encoding as raw_data.

use crate::error::ErrorKind;
use crate::external::{parse_location, ExternalFiles};
use crate::proto::{tensor_proto, TensorProto};
use pare_ir::{DType, TensorType, Weight, WeightBytes};
use std::sync::Arc;

/// Name of an ONNX element type code pare does not model, for error messages.
pub(crate) fn onnx_type_name(code: i32) -> String {
    match tensor_proto::DataType::try_from(code) {
        Ok(t) => t.as_str_name().to_string(),
        Err(_) => format!("unknown type code {code}"),
    }
}

/// The pare dtype of an ONNX element type code, or an error naming `what`.
pub(crate) fn dtype_of(code: i32, what: &str) -> Result<DType, ErrorKind> {
    DType::from_onnx_code(code).ok_or_else(|| {
        ErrorKind::tensor(
            what,
            format!(
                "element type {} is not supported (pare supports float32/16/64, int8-64, uint8-64, bool)",
                onnx_type_name(code)
            ),
        )
    })
}

/// Checks dims (non-negative, product without overflow) before anything is
/// allocated; returns the element count. There is no size cap: a weight's bytes
/// already exist (inline or in a mapped file) and must match the count exactly,
/// which every caller checks before allocating.
pub(crate) fn checked_elements(name: &str, dims: &[i64]) -> Result<usize, ErrorKind> {
    let mut n: usize = 1;
    for &d in dims {
        let d = usize::try_from(d)
            .map_err(|_| ErrorKind::tensor(name, format!("negative dim in {dims:?}")))?;
        n = n.checked_mul(d).ok_or_else(|| {
            ErrorKind::tensor(name, format!("dims {dims:?}: element count overflows"))
        })?;
    }
    Ok(n)
}

/// Decodes one TensorProto into a weight. `name` is used in errors (the tensor's own
/// name may be empty, e.g. inside a `Constant` attribute).
pub(crate) fn decode_weight(
    t: &TensorProto,
    name: &str,
    ext: &mut ExternalFiles,
) -> Result<Weight, ErrorKind> {
    let code = t.data_type.unwrap_or(0);
    if code == INT4 || code == UINT4 {
        return decode_4bit(t, name, code == INT4, ext);
    }
    let dtype = dtype_of(code, name)?;
    if t.segment.is_some() {
        return Err(ErrorKind::tensor(
            name,
            "segmented tensors are not supported",
        ));
    }
    let n = checked_elements(name, &t.dims)?;
    let want = n
        .checked_mul(dtype.size_bytes())
        .ok_or_else(|| ErrorKind::tensor(name, "byte size overflows"))?;
    let ty = TensorType::fixed(dtype, &t.dims.iter().map(|&d| d as u64).collect::<Vec<_>>());

    let external = t.data_location == Some(tensor_proto::DataLocation::External as i32);
    let typed_present = !(t.float_data.is_empty()
        && t.int32_data.is_empty()
        && t.int64_data.is_empty()
        && t.double_data.is_empty()
        && t.uint64_data.is_empty()
        && t.string_data.is_empty());
    let bytes = if external {
        if t.raw_data.is_some() || typed_present {
            return Err(ErrorKind::external(
                name,
                "data_location is EXTERNAL but the tensor also holds data inline",
            ));
        }
        let loc = parse_location(name, &t.external_data)?;
        ext.bytes(name, &loc, want)?
    } else if let Some(raw) = &t.raw_data {
        if typed_present {
            return Err(ErrorKind::tensor(
                name,
                "has both raw_data and typed data fields",
            ));
        }
        if raw.len() != want {
            return Err(ErrorKind::tensor(
                name,
                format!(
                    "raw_data has {} bytes but dims {:?} of {dtype} need {want}",
                    raw.len(),
                    t.dims
                ),
            ));
        }
        WeightBytes::Owned(Arc::from(raw.as_slice()))
    } else {
        WeightBytes::Owned(Arc::from(typed_bytes(t, name, dtype, n)?))
    };
    Ok(Weight::new(ty, bytes)?)
}

const INT4: i32 = 22;
const UINT4: i32 = 21;

/// An INT4 / UINT4 tensor (two values per byte, low nibble first, as raw or
/// external data), widened to i8 / u8 values: the quantized graph it belongs to
/// gets its parameters from the dequantizer reading it (`raise-qdq`).
fn decode_4bit(
    t: &TensorProto,
    name: &str,
    signed: bool,
    ext: &mut ExternalFiles,
) -> Result<Weight, ErrorKind> {
    let n = checked_elements(name, &t.dims)?;
    let want = n / 2 + n % 2;
    let external = t.data_location == Some(tensor_proto::DataLocation::External as i32);
    let packed: Vec<u8> = if external {
        let loc = parse_location(name, &t.external_data)?;
        ext.bytes(name, &loc, want)?.as_bytes().to_vec()
    } else {
        match &t.raw_data {
            Some(raw) if raw.len() == want => raw.clone(),
            Some(raw) => {
                return Err(ErrorKind::tensor(
                    name,
                    format!(
                        "raw_data has {} bytes but dims {:?} of packed 4-bit values need {want}",
                        raw.len(),
                        t.dims
                    ),
                ))
            }
            None => {
                return Err(ErrorKind::tensor(
                    name,
                    "4-bit tensors are read from raw_data or external data only",
                ))
            }
        }
    };
    let dtype = if signed { DType::I8 } else { DType::U8 };
    let ty = TensorType::fixed(dtype, &t.dims.iter().map(|&d| d as u64).collect::<Vec<_>>());
    let bytes = pare_ir::unpack_nibbles(&packed, n, signed);
    Ok(Weight::new(ty, WeightBytes::Owned(Arc::from(bytes)))?)
}

/// Little-endian bytes from the typed repeated fields, with each field's count and
/// each value's range checked against the dtype.
fn typed_bytes(t: &TensorProto, name: &str, dtype: DType, n: usize) -> Result<Vec<u8>, ErrorKind> {
    let field = match dtype {
        DType::F32 => "float_data",
        DType::F64 => "double_data",
        DType::I64 => "int64_data",
        DType::U32 | DType::U64 => "uint64_data",
        _ => "int32_data",
    };
    let others_used = [
        ("float_data", t.float_data.len()),
        ("double_data", t.double_data.len()),
        ("int64_data", t.int64_data.len()),
        ("uint64_data", t.uint64_data.len()),
        ("int32_data", t.int32_data.len()),
        ("string_data", t.string_data.len()),
    ]
    .into_iter()
    .find(|&(f, len)| f != field && len > 0);
    if let Some((other, _)) = others_used {
        return Err(ErrorKind::tensor(
            name,
            format!("{dtype} data stored in `{other}` (the spec puts it in `{field}`)"),
        ));
    }
    let have = match dtype {
        DType::F32 => t.float_data.len(),
        DType::F64 => t.double_data.len(),
        DType::I64 => t.int64_data.len(),
        DType::U32 | DType::U64 => t.uint64_data.len(),
        _ => t.int32_data.len(),
    };
    if have != n {
        return Err(ErrorKind::tensor(
            name,
            format!("`{field}` has {have} values but dims {:?} need {n}", t.dims),
        ));
    }
    let range = |v: i64, lo: i64, hi: i64| {
        if v < lo || v > hi {
            Err(ErrorKind::tensor(
                name,
                format!("value {v} in `{field}` is out of range for {dtype}"),
            ))
        } else {
            Ok(v)
        }
    };
    let mut out = Vec::with_capacity(n * dtype.size_bytes());
    match dtype {
        DType::F32 => t
            .float_data
            .iter()
            .for_each(|v| out.extend(v.to_le_bytes())),
        DType::F64 => t
            .double_data
            .iter()
            .for_each(|v| out.extend(v.to_le_bytes())),
        DType::I64 => t
            .int64_data
            .iter()
            .for_each(|v| out.extend(v.to_le_bytes())),
        DType::U64 => t
            .uint64_data
            .iter()
            .for_each(|v| out.extend(v.to_le_bytes())),
        DType::U32 => {
            for &v in &t.uint64_data {
                let v = u32::try_from(v).map_err(|_| {
                    ErrorKind::tensor(
                        name,
                        format!("value {v} in `{field}` is out of range for u32"),
                    )
                })?;
                out.extend(v.to_le_bytes());
            }
        }
        DType::I32 => t
            .int32_data
            .iter()
            .for_each(|v| out.extend(v.to_le_bytes())),
        DType::I16 => {
            for &v in &t.int32_data {
                out.extend(
                    (range(v.into(), i16::MIN.into(), i16::MAX.into())? as i16).to_le_bytes(),
                );
            }
        }
        // float16 values travel as their 16 bits in int32_data.
        DType::U16 | DType::F16 => {
            for &v in &t.int32_data {
                out.extend((range(v.into(), 0, u16::MAX.into())? as u16).to_le_bytes());
            }
        }
        DType::I8 => {
            for &v in &t.int32_data {
                out.push(range(v.into(), i8::MIN.into(), i8::MAX.into())? as i8 as u8);
            }
        }
        DType::U8 => {
            for &v in &t.int32_data {
                out.push(range(v.into(), 0, u8::MAX.into())? as u8);
            }
        }
        DType::Bool => {
            for &v in &t.int32_data {
                out.push(range(v.into(), 0, 1)? as u8);
            }
        }
    }
    Ok(out)
}

/// A TensorProto holding `bytes` of type `ty` inline as raw_data.
pub(crate) fn encode_raw(name: &str, ty: &TensorType, bytes: &[u8]) -> TensorProto {
    TensorProto {
        name: Some(name.to_string()),
        dims: dims_of(ty),
        data_type: Some(onnx_elem_type(ty)),
        raw_data: Some(bytes.to_vec()),
        ..TensorProto::default()
    }
}

/// The ONNX element type of `ty`: its dtype's, except that packed 4-bit
/// quantized weights are INT4 / UINT4 (same nibble order as pare's store).
pub(crate) fn onnx_elem_type(ty: &TensorType) -> i32 {
    match ty.dtype {
        DType::I8 if pare_ir::is_nibble_packed(ty) => INT4,
        DType::U8 if pare_ir::is_nibble_packed(ty) => UINT4,
        d => d.onnx_code(),
    }
}

/// The dims of a fully known type (weights always are; symbols become 0 never).
pub(crate) fn dims_of(ty: &TensorType) -> Vec<i64> {
    ty.shape
        .iter()
        .map(|d| d.fixed().map_or(0, |n| n as i64))
        .collect()
}
