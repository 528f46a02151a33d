//! pare ops → ONNX opset-21 node types and attributes.

use crate::error::ErrorKind;
use crate::proto::attribute_proto::AttributeType;
use crate::proto::AttributeProto;
use crate::tensor::encode_raw;
use pare_ir::ops::AutoPad;
use pare_ir::{Attr, Op, Tensor, TensorType};

/// The ONNX op type of `op`: its ONNX form in the op table. Ops without one (those
/// only a torch.export front end produces) cannot be written as ONNX.
pub(crate) fn onnx_op_type(op: &Op) -> Result<String, ErrorKind> {
    match op.info().onnx {
        Some(form) => Ok(form.name.to_string()),
        None => Err(ErrorKind::Export(format!(
            "op `{}` has no ONNX operator (ONNX opsets up to 21 do not define it)",
            op.name()
        ))),
    }
}

/// Attributes left out because they hold the ONNX schema's default: the
/// quantize/dequantize pairs a quantized model has at every op would otherwise
/// repeat them tens of times, and a conv's unit dilations, strides, zero pads and
/// single group take ~90 bytes per node (a measurable share of a small model).
fn is_schema_default(op: &Op, name: &str, value: &Attr) -> bool {
    let all = |want: i64| matches!(value, Attr::Ints(v) if v.iter().all(|&x| x == want));
    let windowed = matches!(
        op,
        Op::Conv { .. } | Op::ConvTranspose { .. } | Op::MaxPool { .. } | Op::AveragePool { .. }
    );
    match (op, name) {
        (_, "auto_pad") if windowed => *value == Attr::Str(AutoPad::NotSet.as_str().into()),
        (_, "dilations" | "strides") if windowed => all(1),
        (_, "pads" | "output_padding") if windowed => all(0),
        (Op::Conv { .. } | Op::ConvTranspose { .. }, "group") => *value == Attr::Int(1),
        (Op::Gemm { .. }, "alpha" | "beta") => *value == Attr::Float(1.0),
        (Op::Gemm { .. }, "trans_a" | "trans_b") => *value == Attr::Bool(false),
        (Op::QuantizeLinear { .. } | Op::DequantizeLinear { .. }, "axis") => *value == Attr::Int(1),
        (Op::QuantizeLinear { .. } | Op::DequantizeLinear { .. }, "block_size") => {
            *value == Attr::Int(0)
        }
        (Op::QuantizeLinear { .. }, "saturate") => *value == Attr::Bool(true),
        _ => false,
    }
}

/// The ONNX attributes of `op` (sorted by name so the bytes are canonical).
pub(crate) fn onnx_attributes(op: &Op, node: &str) -> Result<Vec<AttributeProto>, ErrorKind> {
    let mut out = Vec::new();
    match op {
        Op::ConstantOfShape { dtype, value } => {
            let t = Tensor::from_vec(vec![1], vec![*value])?.cast(*dtype);
            let ty = TensorType::fixed(*dtype, &[1]);
            out.push(tensor_attr("value", encode_raw("", &ty, &t.to_le_bytes())));
            return Ok(out);
        }
        Op::BitShift { left } => {
            let dir = if *left { "LEFT" } else { "RIGHT" };
            out.push(string_attr("direction", dir));
            return Ok(out);
        }
        _ => {}
    }
    let auto_pad_set = op
        .attrs()
        .iter()
        .any(|(k, v)| *k == "auto_pad" && *v != Attr::Str(AutoPad::NotSet.as_str().into()));
    for (name, value) in op.attrs() {
        if is_schema_default(op, name, &value) {
            continue;
        }
        let name = match name {
            // Not an ONNX attribute: the exporter rewrites such nodes before this.
            "coerce_2d" => continue,
            // ONNX forbids `pads` together with an automatic padding mode.
            "pads" if auto_pad_set => continue,
            "trans_a" => "transA",
            "trans_b" => "transB",
            other => other,
        };
        let mut a = AttributeProto {
            name: Some(name.to_string()),
            ..AttributeProto::default()
        };
        let ty = match value {
            Attr::Int(i) => {
                a.i = Some(i);
                AttributeType::Int
            }
            Attr::Bool(b) => {
                a.i = Some(i64::from(b));
                AttributeType::Int
            }
            Attr::DType(d) => {
                a.i = Some(i64::from(d.onnx_code()));
                AttributeType::Int
            }
            Attr::Float(f) => {
                a.f = Some(f as f32);
                AttributeType::Float
            }
            Attr::Str(s) => {
                a.s = Some(s.into_bytes());
                AttributeType::String
            }
            // ONNX has no empty-list attribute distinct from an absent one.
            Attr::Ints(v) if v.is_empty() => continue,
            Attr::Floats(v) if v.is_empty() => continue,
            Attr::Strs(v) if v.is_empty() => continue,
            Attr::Ints(v) => {
                a.ints = v;
                AttributeType::Ints
            }
            Attr::Floats(v) => {
                a.floats = v;
                AttributeType::Floats
            }
            Attr::Strs(v) => {
                a.strings = v.into_iter().map(String::into_bytes).collect();
                AttributeType::Strings
            }
        };
        a.r#type = Some(ty as i32);
        out.push(a);
    }
    if out.iter().any(|a| a.name.as_deref() == Some("")) {
        return Err(ErrorKind::Export(format!(
            "node `{node}`: unnamed attribute"
        )));
    }
    out.sort_by(|x, y| x.name.cmp(&y.name));
    Ok(out)
}

pub(crate) fn int_attr(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Int as i32),
        i: Some(v),
        ..AttributeProto::default()
    }
}

pub(crate) fn string_attr(name: &str, v: &str) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::String as i32),
        s: Some(v.as_bytes().to_vec()),
        ..AttributeProto::default()
    }
}

fn tensor_attr(name: &str, t: crate::proto::TensorProto) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Tensor as i32),
        t: Some(t),
        ..AttributeProto::default()
    }
}

#[cfg(test)]
mod tests {

    /// Every op with an ONNX form exports to an operator the importer maps back to
    /// the same op.
    #[test]
    fn every_onnx_form_imports_as_its_op() {
        for (name, info) in pare_ir::ops::table() {
            let Some(form) = info.onnx else { continue };
            assert!(
                crate::import::since_version(form.name).is_some(),
                "{name} exports as {}, which the importer does not know",
                form.name
            );
            let back = pare_ir::ops::by_onnx_name(form.name).map(|(n, _)| n);
            assert_eq!(back, Some(name), "ONNX {} is claimed by two ops", form.name);
        }
    }
}
