//! Exported program → pare IR: graph signature (user inputs, parameters, buffers,
//! constants), symbolic sizes, node-by-node lowering via [`ops`], outputs, and the
//! final shape inference.

mod args;
mod aten;
mod core_aten;
mod emit;
mod error;
mod nn;
mod ops;
mod symint;
mod uniform;

pub use core_aten::CORE_ATEN_OPS;
pub use ops::{is_supported, SUPPORTED_OPS};

use crate::archive::Program;
use crate::error::ErrorKind;
use crate::schema::{dtype_code_name, dtype_of_code, sym_size, SymSize, TensorMeta};
pub use error::LowerError;
use pare_ir::{DType, Dim, Graph, ModelMeta, Op, Tensor, TensorType, ValueId, Weight};
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Translation state.
#[derive(Debug)]
pub(crate) struct Translator<'p> {
    pub g: Graph,
    names: HashMap<String, ValueId>,
    /// Placeholders bound to weights, added to the graph on first use.
    pending: HashMap<String, (String, &'p Weight)>,
    pub metas: &'p BTreeMap<String, TensorMeta>,
}

pub fn translate(p: &Program) -> Result<Graph, ErrorKind> {
    let gm = &p.model.graph_module;
    let mut t = Translator {
        g: Graph::new("pt2"),
        names: HashMap::new(),
        pending: HashMap::new(),
        metas: &gm.graph.tensor_values,
    };
    t.g.meta = ModelMeta {
        producer_name: "pytorch".into(),
        producer_version: p.model.torch_version.clone().unwrap_or_default(),
        opset: 0,
        ir_version: 0,
    };
    t.signature_inputs(p)?;
    let mut unsupported: BTreeSet<String> = BTreeSet::new();
    for (i, n) in gm.graph.nodes.iter().enumerate() {
        let name = n.name.clone().unwrap_or_else(|| format!("node{i}"));
        let op = n
            .target
            .strip_prefix("torch.ops.")
            .unwrap_or(&n.target)
            .to_string();
        if !is_supported(&op) {
            unsupported.insert(format!("{op} (node `{name}`)"));
            continue;
        }
        if !unsupported.is_empty() {
            // Keep scanning for more unknown ops; lowering the rest is pointless.
            continue;
        }
        let mut ctx = args::NodeCtx::new(n, &name, &op);
        ops::lower(&mut t, &mut ctx).map_err(|source| ErrorKind::Node {
            node: name.clone(),
            target: n.target.clone(),
            source: Box::new(source),
        })?;
    }
    if !unsupported.is_empty() {
        return Err(ErrorKind::Unsupported(
            unsupported.into_iter().collect::<Vec<_>>().join(", "),
        ));
    }
    t.signature_outputs(p)?;
    pare_ir::infer::infer_graph(&mut t.g).map_err(|e| ErrorKind::Infer(e.to_string()))?;
    Ok(t.g)
}

impl<'p> Translator<'p> {
    fn signature_inputs(&mut self, p: &'p Program) -> Result<(), ErrorKind> {
        let sig = &p.model.graph_module.signature;
        for spec in &sig.input_specs {
            let (kind, body) = single_key(spec)
                .ok_or_else(|| ErrorKind::Graph(format!("input spec {spec} is not a union")))?;
            let arg_name = |b: &Json| -> Option<String> {
                let a = b.get("arg")?;
                a.get("name")
                    .or_else(|| a.get("as_tensor").and_then(|t| t.get("name")))
                    .and_then(Json::as_str)
                    .map(str::to_string)
            };
            let placeholder = arg_name(body);
            let target = match kind {
                "parameter" => body.get("parameter_name"),
                "buffer" => body.get("buffer_name"),
                "tensor_constant" => body.get("tensor_constant_name"),
                "user_input" => {
                    if let Some(name) = placeholder {
                        self.user_input(&name)?;
                    } else if let Some(a) = body.get("arg") {
                        // Non-tensor user inputs (ints, None) were specialised at export.
                        if a.get("as_tensor").is_some() {
                            return Err(ErrorKind::Graph(format!("user input {a} has no name")));
                        }
                    }
                    continue;
                }
                "token" | "custom_obj" | "constant_input" => {
                    return Err(ErrorKind::Graph(format!(
                        "input kind `{kind}` is not supported ({spec})"
                    )))
                }
                other => return Err(ErrorKind::Graph(format!("unknown input kind `{other}`"))),
            }
            .and_then(Json::as_str)
            .ok_or_else(|| ErrorKind::Graph(format!("{kind} spec {body} names no tensor")))?;
            let placeholder = placeholder
                .ok_or_else(|| ErrorKind::Graph(format!("{kind} spec {body} has no argument")))?;
            let w = p
                .weights
                .get(target)
                .or_else(|| p.constants.get(target))
                .ok_or_else(|| ErrorKind::Weight {
                    name: target.to_string(),
                    msg: format!(
                        "the program's {kind} `{placeholder}` refers to it, but neither the weights nor the constants config lists it"
                    ),
                })?;
            self.pending.insert(placeholder, (target.to_string(), w));
        }
        Ok(())
    }

    fn user_input(&mut self, name: &str) -> Result<(), ErrorKind> {
        let meta = self
            .metas
            .get(name)
            .ok_or_else(|| ErrorKind::Graph(format!("user input `{name}` has no tensor meta")))?;
        let ty =
            meta_type(meta).map_err(|m| ErrorKind::Graph(format!("user input `{name}`: {m}")))?;
        let id = self.g.add_input(name, ty)?;
        self.names.insert(name.to_string(), id);
        Ok(())
    }

    fn signature_outputs(&mut self, p: &Program) -> Result<(), ErrorKind> {
        let sig = &p.model.graph_module.signature;
        let mut seen = BTreeSet::new();
        for spec in &sig.output_specs {
            let (kind, body) = single_key(spec)
                .ok_or_else(|| ErrorKind::Graph(format!("output spec {spec} is not a union")))?;
            if kind != "user_output" {
                return Err(ErrorKind::Graph(format!(
                    "output kind `{kind}` (a training-mode or mutating export) is not supported; export the model in eval mode"
                )));
            }
            let name = body
                .get("arg")
                .and_then(|a| a.get("as_tensor"))
                .and_then(|t| t.get("name"))
                .and_then(Json::as_str)
                .ok_or_else(|| ErrorKind::Graph(format!("user output {body} is not a tensor")))?;
            let mut v = self
                .value(name)
                .map_err(|m| ErrorKind::Graph(format!("output: {m}")))?;
            // Graph outputs must be node results, each listed once.
            let is_node = matches!(self.g.value(v).def, pare_ir::ValueDef::Node { .. });
            if !is_node || !seen.insert(v) {
                v = self
                    .emit(&format!("{name}_out"), Op::Identity {}, vec![Some(v)], name)
                    .map_err(|m| ErrorKind::Graph(m.to_string()))?;
                seen.insert(v);
            }
            self.g.outputs.push(v);
        }
        Ok(())
    }

    /// The value a torch tensor name refers to.
    pub fn value(&mut self, name: &str) -> Result<ValueId, LowerError> {
        if let Some(&v) = self.names.get(name) {
            return Ok(v);
        }
        if let Some((wname, w)) = self.pending.remove(name) {
            let v = self.g.add_weight(wname, w.clone())?;
            self.names.insert(name.to_string(), v);
            return Ok(v);
        }
        Err(LowerError::Undefined(name.to_string()))
    }

    /// Adds a node with one output named `out_name` and binds the torch name to it.
    pub fn emit(
        &mut self,
        node: &str,
        op: Op,
        inputs: Vec<Option<ValueId>>,
        out_name: &str,
    ) -> Result<ValueId, LowerError> {
        let (_, ids) = self.g.add_node(
            node,
            op,
            inputs,
            vec![(out_name.to_string(), placeholder())],
        )?;
        let v = *ids.first().ok_or(LowerError::OutputCount {
            got: 0,
            expected: 1,
        })?;
        self.names.insert(out_name.to_string(), v);
        Ok(v)
    }

    /// Adds a node with several outputs and binds each named torch output to its
    /// slot; unnamed outputs (unused by the program) get a name derived from the node.
    pub fn emit_multi(
        &mut self,
        node: &str,
        op: Op,
        inputs: Vec<Option<ValueId>>,
        out_names: &[Option<&str>],
    ) -> Result<Vec<ValueId>, LowerError> {
        let names: Vec<String> = out_names
            .iter()
            .enumerate()
            .map(|(i, n)| n.map_or_else(|| format!("{node}/out{i}"), str::to_string))
            .collect();
        let (_, ids) = self.g.add_node(
            node,
            op,
            inputs,
            names.iter().map(|n| (n.clone(), placeholder())).collect(),
        )?;
        for (n, &v) in out_names.iter().zip(&ids) {
            if let Some(n) = n {
                self.names.insert(n.to_string(), v);
            }
        }
        Ok(ids)
    }

    /// Adds a constant weight.
    pub fn constant(&mut self, name: &str, t: &Tensor) -> Result<ValueId, LowerError> {
        Ok(self.g.add_weight(name, Weight::from_tensor(t))?)
    }

    /// The torch-declared meta of a tensor name.
    pub fn meta(&self, name: &str) -> Result<&'p TensorMeta, LowerError> {
        self.metas
            .get(name)
            .ok_or_else(|| LowerError::NoMeta(name.to_string()))
    }

    pub fn dtype(&self, name: &str) -> Result<DType, LowerError> {
        let m = self.meta(name)?;
        dtype_of_code(m.dtype).ok_or_else(|| LowerError::DType {
            name: name.to_string(),
            dtype: dtype_code_name(m.dtype),
        })
    }

    /// Declared sizes (`None` entries are symbolic).
    pub fn sizes(&self, name: &str) -> Result<Vec<Option<i64>>, LowerError> {
        self.meta(name)?
            .sizes
            .iter()
            .map(|j| match sym_size(j) {
                Some(SymSize::Int(n)) => Ok(Some(n)),
                Some(SymSize::Expr(_)) => Ok(None),
                None => Err(LowerError::BadSize {
                    name: name.to_string(),
                    size: j.to_string(),
                }),
            })
            .collect()
    }
}

/// The type a node output gets before shape inference.
fn placeholder() -> TensorType {
    TensorType::scalar(DType::F32)
}

/// The pare type of a torch tensor meta; symbolic sizes become `Dim::Sym`.
fn meta_type(m: &TensorMeta) -> Result<TensorType, String> {
    let dtype = dtype_of_code(m.dtype)
        .ok_or_else(|| format!("unsupported {}", dtype_code_name(m.dtype)))?;
    let shape = m
        .sizes
        .iter()
        .map(|j| match sym_size(j) {
            Some(SymSize::Int(n)) if n >= 0 => Ok(Dim::Fixed(n as u64)),
            Some(SymSize::Expr(s)) => Ok(Dim::Sym(sym_name(&s))),
            _ => Err(format!("unreadable size {j}")),
        })
        .collect::<Result<_, _>>()?;
    Ok(TensorType::new(dtype, shape))
}

/// A symbol name usable in pare's text IR (torch writes `s0`, `s77`, or expressions).
fn sym_name(expr: &str) -> String {
    let s: String = expr
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.starts_with(|c: char| c.is_ascii_digit()) || s.is_empty() {
        format!("s_{s}")
    } else {
        s
    }
}

/// The one key of a JSON union object.
pub(crate) fn single_key(j: &Json) -> Option<(&str, &Json)> {
    let o = j.as_object()?;
    if o.len() != 1 {
        return None;
    }
    o.iter().next().map(|(k, v)| (k.as_str(), v))
}
