//! TensorRT's explicit-quantization rules, checked on an ONNX file as written
//! (`pare check MODEL --target tensorrt`): each rule is stated, and every node
//! that breaks it is named with why. TensorRT builds an int8 engine from Q/DQ
//! ONNX only when the Q/DQ pairs are symmetric int8 (zero point 0, range
//! [−128, 127]), per-channel weight scales lie on the output-channel axis of the
//! op they feed, the inputs of every weighted op and of residual `Add`s are
//! quantized (so the pairs fuse into the op), `Concat` inputs share one scale,
//! and the graph holds only standard ONNX ops (no `QLinear*` or contrib ops).

use crate::error::ErrorKind;
use crate::external::ExternalFiles;
use crate::proto::{ModelProto, NodeProto, TensorProto};
use crate::tensor::decode_weight;
use crate::OnnxError;
use prost::Message;
use std::collections::HashMap;
use std::path::Path;

/// One rule and the nodes that break it.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleReport {
    pub rule: &'static str,
    /// What the rule asks, in a sentence.
    pub statement: &'static str,
    pub violations: Vec<Violation>,
}

/// A node that breaks a rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Violation {
    pub node: String,
    pub op: String,
    pub why: String,
}

const INT8: i32 = 3;
const INT4: i32 = 22;
const INT32: i32 = 6;
const UINT8: i32 = 2;

/// The quantized type of value `v`: a constant's own, or what the
/// QuantizeLinear making it writes (its zero point's type, uint8 without one).
fn quantized_type(g: &Graph<'_>, v: &str) -> Option<i32> {
    if let Some(t) = g.constants.get(v) {
        return t.data_type;
    }
    let q = g
        .producer
        .get(v)
        .filter(|n| n.op_type.as_deref() == Some("QuantizeLinear"))?;
    match q.input.get(2).filter(|z| !z.is_empty()) {
        Some(z) => g.constants.get(z.as_str()).and_then(|t| t.data_type),
        None => Some(UINT8),
    }
}

/// The rules in the order they are reported.
const RULES: &[(&str, &str)] = &[
    ("opset", "default-domain opset >= 13 (21 where block-wise int4 weights are dequantized)"),
    ("standard-ops", "only standard ONNX ops: no QLinear*, ConvInteger, MatMulInteger or ops of other domains"),
    ("symmetric-int8", "every QuantizeLinear/DequantizeLinear is int8 with zero point 0 (a DequantizeLinear of a constant may be int4 weights or int32 biases, zero point 0 still)"),
    ("weight-axis", "per-channel weight scales on the output-channel axis: Conv 0, ConvTranspose 1, Gemm 0 with transB else 1, MatMul the last"),
    ("weighted-op-inputs", "Conv/ConvTranspose/Gemm/MatMul read their input and their weight both through DequantizeLinear (an int8 layer) or neither (a float one)"),
    ("residual-add", "a residual Add (one input the output of a Conv nothing else reads) leaves the conv side raw, so the add fuses into the conv, and reads the residual input through Q/DQ when the conv is int8"),
    ("concat-scales", "the dequantized inputs of a Concat share one scale and zero point"),
];

/// A DequantizeLinear's scale and zero point values (None: not constants).
type QuantParams = (Option<Vec<f64>>, Option<Vec<f64>>);

/// Values of the graph: who makes each, and the constant tensors.
struct Graph<'a> {
    producer: HashMap<&'a str, &'a NodeProto>,
    /// How many node inputs (and graph outputs) read each value.
    readers: HashMap<&'a str, usize>,
    constants: HashMap<&'a str, &'a TensorProto>,
}

impl<'a> Graph<'a> {
    fn producer_op(&self, v: &str) -> Option<&'a str> {
        self.producer.get(v).and_then(|n| n.op_type.as_deref())
    }

    /// The Conv/ConvTranspose making `v` (looking through a Q → DQ pair) when
    /// nothing but that path reads its output.
    fn private_conv(&self, v: &str) -> Option<&'a NodeProto> {
        let mut src = v;
        if let Some(dq) = self.dequantized(v) {
            let q = self.producer.get(dq.input.first()?.as_str())?;
            if q.op_type.as_deref() == Some("QuantizeLinear") {
                src = q.input.first()?.as_str();
            }
        }
        let conv = self.producer.get(src).copied()?;
        (matches!(conv.op_type.as_deref(), Some("Conv" | "ConvTranspose"))
            && self.readers.get(src).copied() == Some(1))
        .then_some(conv)
    }

    fn is_constant(&self, v: &str) -> bool {
        self.constants.contains_key(v)
    }

    fn dequantized(&self, v: &str) -> Option<&'a NodeProto> {
        self.producer
            .get(v)
            .copied()
            .filter(|n| n.op_type.as_deref() == Some("DequantizeLinear"))
    }
}

fn int_attr(n: &NodeProto, name: &str) -> Option<i64> {
    n.attribute
        .iter()
        .find(|a| a.name.as_deref() == Some(name))
        .and_then(|a| a.i)
}

fn label(n: &NodeProto) -> String {
    match n.name.as_deref() {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => format!(
            "(unnamed, output {})",
            n.output.first().map_or("?", String::as_str)
        ),
    }
}

/// Checks the ONNX model in `bytes` (external data resolved from `base`).
pub fn check_tensorrt(bytes: &[u8], base: Option<&Path>) -> Result<Vec<RuleReport>, OnnxError> {
    let at = |k: ErrorKind| k.at("the model");
    let m = ModelProto::decode(bytes).map_err(|e| at(e.into()))?;
    let graph = m.graph.clone().unwrap_or_default();
    let mut ext = ExternalFiles::new(base);
    let mut g = Graph {
        producer: HashMap::new(),
        readers: HashMap::new(),
        constants: HashMap::new(),
    };
    for t in &graph.initializer {
        g.constants.insert(t.name.as_deref().unwrap_or(""), t);
    }
    for o in &graph.output {
        *g.readers
            .entry(o.name.as_deref().unwrap_or(""))
            .or_default() += 1;
    }
    for n in &graph.node {
        for o in &n.output {
            g.producer.insert(o, n);
        }
        for i in n.input.iter().filter(|i| !i.is_empty()) {
            *g.readers.entry(i).or_default() += 1;
        }
        if n.op_type.as_deref() == Some("Constant") {
            if let (Some(o), Some(t)) = (
                n.output.first(),
                n.attribute.iter().find_map(|a| a.t.as_ref()),
            ) {
                g.constants.insert(o, t);
            }
        }
    }
    let mut values = |name: &str| -> Result<Option<(i32, Vec<f64>)>, OnnxError> {
        let Some(t) = g.constants.get(name) else {
            return Ok(None);
        };
        let w = decode_weight(t, name, &mut ext).map_err(at)?;
        let v = w
            .tensor()
            .map_err(|e| at(ErrorKind::Export(e.to_string())))?
            .to_f64_vec();
        Ok(Some((t.data_type.unwrap_or(0), v)))
    };
    let mut found: HashMap<&str, Vec<Violation>> = HashMap::new();
    let mut flag = |rule: &'static str, n: &NodeProto, why: String| {
        found.entry(rule).or_default().push(Violation {
            node: label(n),
            op: n.op_type.clone().unwrap_or_default(),
            why,
        });
    };
    let opset = m
        .opset_import
        .iter()
        .find(|o| matches!(o.domain.as_deref(), None | Some("") | Some("ai.onnx")))
        .and_then(|o| o.version)
        .unwrap_or(0);
    for n in &graph.node {
        let op = n.op_type.as_deref().unwrap_or("");
        let domain = n.domain.as_deref().unwrap_or("");
        if !matches!(domain, "" | "ai.onnx") {
            flag("standard-ops", n, format!("op {op} of domain `{domain}`"));
        } else if op.starts_with("QLinear")
            || matches!(
                op,
                "ConvInteger" | "MatMulInteger" | "DynamicQuantizeLinear"
            )
        {
            flag("standard-ops", n, format!("{op} is an integer-arithmetic op TensorRT does not take; use Q/DQ pairs around the float op"));
        }
        let input = |i: usize| n.input.get(i).map(String::as_str).filter(|s| !s.is_empty());
        match op {
            "QuantizeLinear" | "DequantizeLinear" => {
                let block = int_attr(n, "block_size").unwrap_or(0);
                if block != 0 && opset < 21 {
                    flag("opset", n, format!("block-wise (block_size {block}) dequantization needs opset 21, the model has {opset}"));
                }
                let weight_only =
                    op == "DequantizeLinear" && input(0).is_some_and(|x| g.is_constant(x));
                // (ONNX type, zero point values); an absent zero point is 0 of the
                // quantized type: uint8 out of a QuantizeLinear, the input's type
                // into a DequantizeLinear.
                let zp = match input(2) {
                    Some(z) => match values(z)? {
                        Some(v) => Some(v),
                        None => {
                            flag(
                                "symmetric-int8",
                                n,
                                format!("zero point `{z}` is not a constant"),
                            );
                            continue;
                        }
                    },
                    None if op == "QuantizeLinear" => Some((UINT8, vec![0.0])),
                    None => quantized_type(&g, input(0).unwrap_or("")).map(|t| (t, vec![0.0])),
                };
                let Some((ty, zp)) = zp else {
                    flag(
                        "symmetric-int8",
                        n,
                        "no zero point, and the type of its input cannot be told".into(),
                    );
                    continue;
                };
                // A constant's int4 weights or int32 bias codes fold to float
                // constants when the engine is built.
                if ty != INT8 && !(weight_only && (ty == INT4 || ty == INT32)) {
                    flag(
                        "symmetric-int8",
                        n,
                        format!(
                            "quantized type ONNX {ty}{}, expected INT8 (3){}",
                            if ty == UINT8 { " (uint8)" } else { "" },
                            if weight_only {
                                ", INT4 (22) or INT32 (6)"
                            } else {
                                ""
                            }
                        ),
                    );
                }
                if let Some(z) = zp.iter().find(|&&z| z != 0.0) {
                    flag(
                        "symmetric-int8",
                        n,
                        format!("zero point {z}, expected 0 (symmetric)"),
                    );
                }
            }
            "Conv" | "ConvTranspose" | "Gemm" | "MatMul" => {
                // Both read through DequantizeLinear (an int8 layer) or neither (a
                // float one): with one alone nothing fuses.
                let through = |i: usize| input(i).map(|v| (v, g.dequantized(v).is_some()));
                if let (Some((x, qx)), Some((w, qw))) = (through(0), through(1)) {
                    if qx != qw {
                        let (plain, what) = if qx { (w, "weight") } else { (x, "input") };
                        flag("weighted-op-inputs", n, format!("its {what} `{plain}` comes from {}, not a DequantizeLinear, while its {} is dequantized", g.producer_op(plain).map_or("an initializer or graph input".to_string(), |p| format!("a {p}")), if qx { "input" } else { "weight" }));
                    }
                }
                if let Some(dq) = input(1).and_then(|w| g.dequantized(w)) {
                    let scale_len = dq
                        .input
                        .get(1)
                        .and_then(|s| g.constants.get(s.as_str()))
                        .map_or(1, |t| t.dims.iter().product::<i64>());
                    let wrank = dq
                        .input
                        .first()
                        .and_then(|s| g.constants.get(s.as_str()))
                        .map_or(2, |t| t.dims.len() as i64);
                    if scale_len > 1 && int_attr(dq, "block_size").unwrap_or(0) == 0 {
                        let axis = int_attr(dq, "axis").unwrap_or(1);
                        let axis = if axis < 0 { axis + wrank } else { axis };
                        let want = match op {
                            "Conv" => 0,
                            "ConvTranspose" => 1,
                            "Gemm" if int_attr(n, "transB").unwrap_or(0) != 0 => 0,
                            "Gemm" => 1,
                            _ => wrank - 1,
                        };
                        if axis != want {
                            flag("weight-axis", dq, format!("per-channel scale on axis {axis} of the weight of {op} `{}`, expected {want}", label(n)));
                        }
                    }
                }
            }
            "Add" => {
                if let (Some(a), Some(b)) = (input(0), input(1)) {
                    // A residual add: one input a Conv's output that only this add
                    // reads. The engine fuses the add into that conv as its
                    // epilogue, reading the other input, the residual, as int8.
                    let side = match (g.private_conv(a), g.private_conv(b)) {
                        (Some(c), None) if !g.is_constant(b) => Some((a, b, c)),
                        (None, Some(c)) if !g.is_constant(a) => Some((b, a, c)),
                        _ => None,
                    };
                    if let Some((conv_side, residual, conv)) = side {
                        if g.dequantized(conv_side).is_some() {
                            flag("residual-add", n, format!("the output of Conv `{}` is dequantized before the add: that Q/DQ keeps the add from fusing into the conv; quantize the residual input `{residual}` only", label(conv)));
                        }
                        let int8_conv = conv
                            .input
                            .get(1)
                            .is_some_and(|w| g.dequantized(w).is_some());
                        if int8_conv && g.dequantized(residual).is_none() {
                            flag("residual-add", n, format!("residual input `{residual}` is not dequantized, so the add cannot fuse into the int8 Conv `{}`", label(conv)));
                        }
                    }
                }
            }
            "Concat" => {
                let mut params: Vec<(String, QuantParams)> = Vec::new();
                for v in n.input.iter().filter(|v| !v.is_empty()) {
                    if let Some(dq) = g.dequantized(v) {
                        let s = dq
                            .input
                            .get(1)
                            .map(String::as_str)
                            .map(&mut values)
                            .transpose()?
                            .flatten()
                            .map(|x| x.1);
                        let z = dq
                            .input
                            .get(2)
                            .map(String::as_str)
                            .map(&mut values)
                            .transpose()?
                            .flatten()
                            .map(|x| x.1);
                        params.push((v.clone(), (s, z)));
                    }
                }
                if let Some((first, rest)) = params.split_first() {
                    for p in rest {
                        if p.1 != first.1 {
                            flag("concat-scales", n, format!("input `{}` is dequantized with (scale, zero point) {:?}, input `{}` with {:?}", first.0, first.1, p.0, p.1));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    if opset < 13 {
        let model = NodeProto {
            name: Some("(the model)".into()),
            op_type: Some("opset_import".into()),
            ..NodeProto::default()
        };
        flag(
            "opset",
            &model,
            format!("default-domain opset {opset}, expected >= 13"),
        );
    }
    Ok(RULES
        .iter()
        .map(|&(rule, statement)| RuleReport {
            rule,
            statement,
            violations: found.remove(rule).unwrap_or_default(),
        })
        .collect())
}
