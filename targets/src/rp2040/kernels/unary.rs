//! Element-wise unary ops → `pare_lookup` with the interpreter's own table
//! (`pare_ir::quant::unary_lut`), and Softmax → `pare_softmax` with its
//! exponential table (`softmax_exp_table`), both emitted as const data.

use crate::rp2040::data::{CType, DataKind};
use crate::rp2040::layer::{c_int, Layer, NodeCx, Params};
use crate::rp2040::Rp2040Error;
use pare_ir::quant::{dequantize_tensor, softmax_exp_table, unary_lut};
use pare_ir::{Op, Tensor};

/// Input and output per-tensor parameters as the table builders take them.
fn qparams(cx: &NodeCx) -> Result<(pare_ir::QParams, pare_ir::QParams), Rp2040Error> {
    cx.act_in(0)?;
    cx.act_out(0)?;
    let q = |v| cx.g.ty(v).quant.clone();
    match (q(cx.input(0)?), q(cx.output(0)?)) {
        (Some(i), Some(o)) => Ok((i, o)),
        _ => Err(cx.err("input 0 and output 0 must be quantized")),
    }
}

/// A unary op as `out = table[in + 128]`; the op's other inputs (Clip's bounds)
/// must be constants, dequantized when quantized, exactly as the interpreter
/// reads them.
pub(super) fn lookup(cx: &mut NodeCx) -> Result<Layer, Rp2040Error> {
    let (in_q, out_q) = qparams(cx)?;
    let mut aux: Vec<Option<Tensor>> = Vec::new();
    for i in 1..cx.node.inputs.len() {
        aux.push(match cx.opt_constant(i)? {
            None => None,
            Some(t) => Some(match cx.g.ty(cx.input(i)?).quant.as_ref() {
                Some(q) => dequantize_tensor(&t, q)?,
                None => t,
            }),
        });
    }
    let aux_refs: Vec<Option<&Tensor>> = aux.iter().map(Option::as_ref).collect();
    let table = unary_lut(&cx.node.op, &in_q, &out_q, &aux_refs)?;
    if table.len() != 256 {
        return Err(cx.err(format!("expected a 256-entry table, got {}", table.len())));
    }
    let count: usize = cx.in_shape(0)?.iter().product();
    let what = cx.what();
    let tn = cx.array(
        "table",
        CType::I8,
        table.into_iter().map(i64::from).collect(),
        DataKind::Tables,
        format!("{what}: output code of each input code (entry i: code i - 128)"),
    );
    let params = Params::new("pare_lookup_params")
        .row(&[("count", c_int(cx, count, "elements")?.to_string())])
        .row(&[("table", tn)]);
    let operands = vec![cx.operand(0)?];
    cx.single_call("pare_lookup", params, operands, None)
}

/// Longest softmax row the C kernel takes: its 32-bit sum (len · 2^16) stays below 2^31.
const MAX_SOFTMAX_LEN: usize = 32_767;

/// Softmax over one axis (or the flattened tail, for `coerce_2d`).
pub(super) fn softmax(cx: &mut NodeCx) -> Result<Layer, Rp2040Error> {
    let Op::Softmax { axis, coerce_2d } = cx.node.op else {
        return Err(cx.err("not a softmax"));
    };
    let mut shape = cx.in_shape(0)?;
    if shape.is_empty() {
        shape.push(1);
    }
    let r = shape.len() as i64;
    let a = if axis < 0 { axis + r } else { axis };
    let a = usize::try_from(a)
        .ok()
        .filter(|&a| a < shape.len())
        .ok_or_else(|| cx.err(format!("axis {axis} is out of range for rank {r}")))?;
    let (outer, len, inner): (usize, usize, usize) = if coerce_2d {
        (shape[..a].iter().product(), shape[a..].iter().product(), 1)
    } else {
        (
            shape[..a].iter().product(),
            shape[a],
            shape[a + 1..].iter().product(),
        )
    };
    if len > MAX_SOFTMAX_LEN {
        return Err(cx.err(format!(
            "softmax rows of {len} elements are longer than the C kernel takes ({MAX_SOFTMAX_LEN})"
        )));
    }
    let (si, _) = cx.act_in(0)?;
    let table = softmax_exp_table(si, 256);
    let what = cx.what();
    let tn = cx.array(
        "exp",
        CType::U32,
        table.into_iter().map(i64::from).collect(),
        DataKind::Tables,
        format!("{what}: exp(-{si:e} * d) in Q16 for d = 0..255"),
    );
    let params = Params::new("pare_softmax_params")
        .row(&[
            ("outer", c_int(cx, outer, "outer")?.to_string()),
            ("len", c_int(cx, len, "len")?.to_string()),
            ("inner", c_int(cx, inner, "inner")?.to_string()),
        ])
        .row(&[("exp_table", tn)]);
    let operands = vec![cx.operand(0)?];
    cx.single_call("pare_softmax", params, operands, None)
}
