//! ONNX → pare IR: decoding, version checks, weights, graph inputs and outputs, and a
//! stable topological sort of the nodes before each is lowered by [`ops`].

mod attrs;
mod ops;
mod output_symbols;
mod palette;
mod sparse;
mod support;

#[cfg(test)]
pub(crate) use support::since_version;

use crate::error::{ErrorKind, OnnxError, UnsupportedNode};
use crate::external::ExternalFiles;
use crate::proto::{GraphProto, ModelProto, NodeProto, TensorProto};
use crate::tensor::decode_weight;
use crate::types::{declared_type, dim_params, SymbolGen};
use pare_ir::{DType, Graph, ModelMeta, Op, Tensor, TensorType, ValueId, Weight};
use prost::Message;
use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::path::Path;

/// IR versions pare reads.
pub const IR_VERSIONS: std::ops::RangeInclusive<i64> = 3..=11;
/// Default-domain opsets pare reads. Below 11, a model imports when each of its
/// operators means there what it means at opset 11 (see [`support::since_version`]);
/// other nodes are named in the error.
pub const OPSETS: std::ops::RangeInclusive<i64> = 1..=21;

/// Reads an ONNX model file; external data is looked up beside it.
pub fn import_file(path: &Path) -> Result<Graph, OnnxError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| {
        ErrorKind::Io {
            action: "read",
            path: path.to_path_buf(),
            source,
        }
        .at(&name)
    })?;
    let base = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    import_bytes(&bytes, Some(base), &name)
}

/// Reads an ONNX model from memory. External data, if any, is resolved against
/// `base_dir`; `source_name` names the model in errors.
pub fn import_bytes(
    bytes: &[u8],
    base_dir: Option<&Path>,
    source_name: &str,
) -> Result<Graph, OnnxError> {
    import_model(bytes, base_dir).map_err(|k| k.at(source_name))
}

/// Reads a standalone TensorProto file (e.g. `input_0.pb` of ONNX's node tests).
pub fn read_tensor_pb(path: &Path) -> Result<Tensor, OnnxError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| {
        ErrorKind::Io {
            action: "read",
            path: path.to_path_buf(),
            source,
        }
        .at(&name)
    })?;
    decode_tensor(&bytes, path.parent()).map_err(|k| k.at(&name))
}

/// Decodes a serialized TensorProto held in memory (no external data).
pub fn tensor_from_bytes(bytes: &[u8]) -> Result<Tensor, OnnxError> {
    decode_tensor(bytes, None).map_err(|k| k.at("<tensor bytes>"))
}

fn decode_tensor(bytes: &[u8], base: Option<&Path>) -> Result<Tensor, ErrorKind> {
    let t = TensorProto::decode(bytes)?;
    let name = t.name.clone().unwrap_or_default();
    let mut ext = ExternalFiles::new(base);
    Ok(decode_weight(&t, &name, &mut ext)?.tensor()?)
}

fn import_model(bytes: &[u8], base_dir: Option<&Path>) -> Result<Graph, ErrorKind> {
    let model = ModelProto::decode(bytes)?;
    let ir_version = model.ir_version.unwrap_or(0);
    if !IR_VERSIONS.contains(&ir_version) {
        return Err(ErrorKind::Version {
            what: "IR version",
            got: ir_version,
            supported: "IR versions 3 to 11",
        });
    }
    let mut opsets: BTreeMap<String, i64> = BTreeMap::new();
    for o in &model.opset_import {
        let domain = normalize_domain(o.domain.as_deref().unwrap_or(""));
        opsets.insert(domain.to_string(), o.version.unwrap_or(0));
    }
    let opset = *opsets.get("").ok_or_else(|| {
        ErrorKind::Graph("the model imports no default-domain (ai.onnx) opset".into())
    })?;
    if !OPSETS.contains(&opset) {
        return Err(ErrorKind::Version {
            what: "default-domain opset",
            got: opset,
            supported: "opsets 1 to 21",
        });
    }
    let graph = model.graph.as_ref().ok_or(ErrorKind::NoGraph)?;
    let meta = ModelMeta {
        producer_name: model.producer_name.clone().unwrap_or_default(),
        producer_version: model.producer_version.clone().unwrap_or_default(),
        opset,
        ir_version,
    };
    let mut imp = Importer {
        g: Graph::new(graph.name.clone().unwrap_or_default()),
        names: HashMap::new(),
        declared: HashMap::new(),
        opset,
        ext: ExternalFiles::new(base_dir),
    };
    imp.g.meta = meta;
    check_supported(graph, &opsets)?;
    imp.graph(graph)?;
    let mut g = imp.g;
    infer(&mut g)?;
    output_symbols::adopt_declared_output_symbols(&mut g, graph);
    Ok(g)
}

/// `ai.onnx` is the default domain's long name.
fn normalize_domain(d: &str) -> &str {
    if d == "ai.onnx" {
        ""
    } else {
        d
    }
}

/// Lists every node pare cannot import, so the user sees them all at once.
fn check_supported(graph: &GraphProto, opsets: &BTreeMap<String, i64>) -> Result<(), ErrorKind> {
    let mut bad = Vec::new();
    for n in &graph.node {
        let op_type = n.op_type.clone().unwrap_or_default();
        let domain = normalize_domain(n.domain.as_deref().unwrap_or("")).to_string();
        let opset = opsets.get(&domain).copied().unwrap_or(0);
        let note = if !domain.is_empty() {
            if opsets.contains_key(&domain) {
                "pare imports only default-domain ops".to_string()
            } else {
                "its domain is not imported by the model".to_string()
            }
        } else {
            match support::since_version(&op_type) {
                None => String::new(),
                Some(v) if v > opset => format!(
                    "pare reads {op_type} as defined from opset {v} on, and the model's \
                     opset {opset} predates that definition"
                ),
                Some(_) => continue,
            }
        };
        bad.push(UnsupportedNode {
            op_type,
            domain,
            opset,
            node: n.name.clone().unwrap_or_default(),
            note,
        });
    }
    if bad.is_empty() {
        Ok(())
    } else {
        Err(ErrorKind::Unsupported(bad))
    }
}

/// Shape inference over the freshly built graph. Kept behind this one function so the
/// importer does not depend on how inference is wired.
fn infer(g: &mut Graph) -> Result<(), ErrorKind> {
    pare_ir::infer::infer_graph(g).map_err(|e| ErrorKind::Infer(e.to_string()))
}

/// The type a node output gets before inference when the model declares none.
pub(crate) fn placeholder_type() -> TensorType {
    TensorType::scalar(DType::F32)
}

/// Import state: the graph being built and the ONNX-name → value map.
#[derive(Debug)]
pub(crate) struct Importer {
    pub g: Graph,
    names: HashMap<String, ValueId>,
    declared: HashMap<String, TensorType>,
    pub opset: i64,
    ext: ExternalFiles,
}

impl Importer {
    fn graph(&mut self, graph: &GraphProto) -> Result<(), ErrorKind> {
        let mut syms = SymbolGen::avoiding(dim_params(
            graph
                .input
                .iter()
                .chain(&graph.value_info)
                .chain(&graph.output),
        ));
        let mut initializer_names = HashSet::new();
        // Palette weights' decode subgraphs become the weights they decode.
        let palettes = palette::recognise(graph, &mut self.ext)?;
        for t in &graph.initializer {
            let name = t.name.clone().unwrap_or_default();
            if name.is_empty() {
                return Err(ErrorKind::tensor("", "initializer without a name"));
            }
            if palettes.initializers.contains(&name) {
                initializer_names.insert(name);
                continue;
            }
            let w = decode_weight(t, &name, &mut self.ext)?;
            self.define_weight(&name, w)?;
            initializer_names.insert(name);
        }
        for sp in &graph.sparse_initializer {
            let (name, w) = sparse::decode_sparse(sp, &mut self.ext)?;
            self.define_weight(&name, w)?;
            initializer_names.insert(name);
        }
        for (name, w) in palettes.weights {
            self.define_weight(&name, w)?;
        }
        for vi in &graph.input {
            let name = vi.name.clone().unwrap_or_default();
            // IR < 4 lists initializers among the inputs: those are weights.
            if initializer_names.contains(&name) {
                continue;
            }
            if name.is_empty() {
                return Err(ErrorKind::Graph("graph input without a name".into()));
            }
            let ty = declared_type(vi, &mut syms)?.ok_or_else(|| {
                ErrorKind::value(
                    &name,
                    "graph input has no tensor type with a known element type and rank",
                )
            })?;
            if self.names.contains_key(&name) {
                return Err(ErrorKind::value(&name, "defined twice"));
            }
            let id = self.g.add_input(name.clone(), ty)?;
            self.names.insert(name, id);
        }
        for vi in graph.value_info.iter().chain(&graph.output) {
            let name = vi.name.clone().unwrap_or_default();
            if let Some(ty) = declared_type(vi, &mut syms)? {
                self.declared.entry(name).or_insert(ty);
            }
        }
        let defined: HashSet<&str> = self.names.keys().map(String::as_str).collect();
        let nodes: Cow<[NodeProto]> = if palettes.nodes.is_empty() {
            Cow::Borrowed(&graph.node)
        } else {
            (graph.node.iter().enumerate())
                .filter(|(i, _)| !palettes.nodes.contains(i))
                .map(|(_, n)| n.clone())
                .collect()
        };
        let order = topo_order(&nodes, &defined)?;
        for i in order {
            ops::lower(self, &nodes[i])?;
        }
        for vi in &graph.output {
            let name = vi.name.clone().unwrap_or_default();
            let id = *self
                .names
                .get(&name)
                .ok_or_else(|| ErrorKind::value(&name, "graph output is never defined"))?;
            self.g.outputs.push(id);
        }
        Ok(())
    }

    fn define(&mut self, name: &str, id: ValueId) -> Result<(), ErrorKind> {
        if self.names.insert(name.to_string(), id).is_some() {
            return Err(ErrorKind::value(name, "defined twice"));
        }
        Ok(())
    }

    /// Adds a weight under an ONNX name (initializer or `Constant` output).
    pub(crate) fn define_weight(&mut self, name: &str, w: Weight) -> Result<ValueId, ErrorKind> {
        let id = self.g.add_weight(name, w)?;
        self.define(name, id)?;
        Ok(id)
    }

    /// Adds a weight pare made (e.g. axes taken from an attribute); not addressable by
    /// ONNX name.
    pub(crate) fn add_const(&mut self, name: String, t: &Tensor) -> Result<ValueId, ErrorKind> {
        Ok(self.g.add_weight(name, Weight::from_tensor(t))?)
    }

    pub(crate) fn add_i64s(&mut self, name: String, v: &[i64]) -> Result<ValueId, ErrorKind> {
        let t = Tensor::from_vec(vec![v.len()], v.to_vec())?;
        self.add_const(name, &t)
    }

    pub(crate) fn decode_weight(
        &mut self,
        t: &TensorProto,
        name: &str,
    ) -> Result<Weight, ErrorKind> {
        decode_weight(t, name, &mut self.ext)
    }

    /// The node's inputs by position (`None` for the empty name).
    pub(crate) fn inputs(&self, n: &NodeProto) -> Result<Vec<Option<ValueId>>, ErrorKind> {
        let mut out: Vec<Option<ValueId>> = n
            .input
            .iter()
            .map(|name| {
                if name.is_empty() {
                    Ok(None)
                } else {
                    self.names
                        .get(name)
                        .copied()
                        .map(Some)
                        .ok_or_else(|| ErrorKind::Node {
                            node: n.name.clone().unwrap_or_default(),
                            op: n.op_type.clone().unwrap_or_default(),
                            msg: format!("input `{name}` is never defined"),
                        })
                }
            })
            .collect::<Result<_, _>>()?;
        while out.last() == Some(&None) {
            out.pop();
        }
        Ok(out)
    }

    /// The constant behind `v` when it is a weight.
    pub(crate) fn constant(&self, v: ValueId) -> Option<Tensor> {
        self.g.weight_of(v).and_then(|w| w.tensor().ok())
    }

    /// Adds `op` as the node `n` itself: its ONNX outputs (trailing absent ones dropped)
    /// become the node's outputs, typed as declared or with the placeholder.
    pub(crate) fn emit(
        &mut self,
        n: &NodeProto,
        op: Op,
        inputs: Vec<Option<ValueId>>,
    ) -> Result<Vec<ValueId>, ErrorKind> {
        let mut names: Vec<&str> = n.output.iter().map(String::as_str).collect();
        while names.last() == Some(&"") {
            names.pop();
        }
        let outs = names
            .iter()
            .map(|&name| {
                let ty = self
                    .declared
                    .get(name)
                    .cloned()
                    .unwrap_or_else(placeholder_type);
                (name.to_string(), ty)
            })
            .collect();
        let (_, ids) = self
            .g
            .add_node(n.name.clone().unwrap_or_default(), op, inputs, outs)?;
        for (&name, &id) in names.iter().zip(&ids) {
            if !name.is_empty() {
                self.define(name, id)?;
            }
        }
        Ok(ids)
    }

    /// Adds a helper node pare needs to express `n` (one output, placeholder type).
    pub(crate) fn emit_tmp(
        &mut self,
        node_name: String,
        op: Op,
        inputs: Vec<Option<ValueId>>,
        value_name: String,
    ) -> Result<ValueId, ErrorKind> {
        let (_, ids) = self.g.add_node(
            node_name,
            op,
            inputs,
            vec![(value_name, placeholder_type())],
        )?;
        ids.first()
            .copied()
            .ok_or_else(|| ErrorKind::Graph("helper node without output".into()))
    }
}

/// A stable topological order of `nodes` (original order among independent nodes).
/// Errors name the node and value for undefined inputs, duplicate definitions and
/// cycles.
fn topo_order(nodes: &[NodeProto], defined: &HashSet<&str>) -> Result<Vec<usize>, ErrorKind> {
    let node_name = |i: usize| nodes[i].name.clone().unwrap_or_default();
    let mut producer: HashMap<&str, usize> = HashMap::new();
    for (i, n) in nodes.iter().enumerate() {
        for o in n.output.iter().filter(|o| !o.is_empty()) {
            if defined.contains(o.as_str()) || producer.insert(o, i).is_some() {
                return Err(ErrorKind::value(
                    o,
                    format!("defined twice (again by node `{}`)", node_name(i)),
                ));
            }
        }
    }
    let mut indegree = vec![0usize; nodes.len()];
    let mut users: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for (i, n) in nodes.iter().enumerate() {
        for input in n.input.iter().filter(|s| !s.is_empty()) {
            if defined.contains(input.as_str()) {
                continue;
            }
            match producer.get(input.as_str()) {
                Some(&p) => {
                    users[p].push(i);
                    indegree[i] += 1;
                }
                None => {
                    return Err(ErrorKind::Node {
                        node: node_name(i),
                        op: n.op_type.clone().unwrap_or_default(),
                        msg: format!(
                            "input `{input}` is never defined (not a graph input, initializer or node output)"
                        ),
                    })
                }
            }
        }
    }
    let mut ready: BinaryHeap<Reverse<usize>> = (0..nodes.len())
        .filter(|&i| indegree[i] == 0)
        .map(Reverse)
        .collect();
    let mut order = Vec::with_capacity(nodes.len());
    while let Some(Reverse(i)) = ready.pop() {
        order.push(i);
        for &u in &users[i] {
            indegree[u] -= 1;
            if indegree[u] == 0 {
                ready.push(Reverse(u));
            }
        }
    }
    if order.len() < nodes.len() {
        // Some node is still waiting: name it and an input produced inside the cycle.
        let stuck = (0..nodes.len()).find(|&i| indegree[i] > 0).unwrap_or(0);
        let value = nodes[stuck]
            .input
            .iter()
            .find(|s| {
                producer
                    .get(s.as_str())
                    .is_some_and(|&p| indegree[p] > 0 || p == stuck)
            })
            .cloned()
            .unwrap_or_default();
        return Err(ErrorKind::Node {
            node: node_name(stuck),
            op: nodes[stuck].op_type.clone().unwrap_or_default(),
            msg: format!("is part of a cycle: its input `{value}` depends on its own output"),
        });
    }
    Ok(order)
}
