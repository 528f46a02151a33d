//! pare IR → ONNX (default-domain opset 21, IR version 10): unique value names,
//! weights as raw_data initializers or external data (sparse and palette weights
//! in their own form where smaller: see `sparse`, `palette`), deterministic
//! bytes, atomic files.

mod needed_info;
mod ops;
mod palette;
mod palette_storage;
pub use palette_storage::{palette_storage, PaletteStored};
mod qdq;
mod sparse;

use crate::error::{ErrorKind, OnnxError};
use crate::proto::{
    tensor_proto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, SparseTensorProto,
    StringStringEntryProto, TensorProto,
};
use crate::tensor::encode_raw;
use crate::types::value_info;
use ops::{int_attr, onnx_attributes, onnx_op_type};
use pare_ir::{Graph, Node, Op, ValueDef, ValueId};
use prost::Message;
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// The opset and IR version every exported model declares.
pub const EXPORT_OPSET: i64 = 21;
pub const EXPORT_IR_VERSION: i64 = 10;

/// Byte alignment of each tensor inside an external data file.
const EXTERNAL_ALIGN: usize = 64;

/// Options for [`export_model`] and [`export_file`].
#[derive(Clone, Debug)]
pub struct ExportOptions {
    /// Write a `value_info` entry with the IR type of each intermediate value whose type
    /// shape inference would not give back on re-import (as PyTorch's exporter and
    /// onnxsim write value_info). On by default: the names of symbolic dims then survive
    /// a round trip, where a re-import would infer fresh ones.
    pub value_info: bool,
    /// Move large weights to a data file beside the model (only for [`export_file`]).
    pub external: Option<ExternalDataOptions>,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            value_info: true,
            external: None,
        }
    }
}

/// Where and from which size weights go to an external data file.
#[derive(Clone, Debug)]
pub struct ExternalDataOptions {
    /// File name relative to the model's directory (no `..`, not absolute).
    pub location: String,
    /// Weights of at least this many bytes go to the file; smaller ones stay inline.
    pub threshold: usize,
}

/// Serializes `g` as an ONNX model (all weights inline).
pub fn export_model(g: &Graph, opts: &ExportOptions) -> Result<Vec<u8>, OnnxError> {
    if opts.external.is_some() {
        return Err(ErrorKind::Export(
            "external data needs a file to sit beside: use export_file".into(),
        )
        .at(&g.name));
    }
    let (model, _) = build(g, opts).map_err(|k| k.at(&g.name))?;
    Ok(model.encode_to_vec())
}

/// Writes `g` to `path` (and its external data file, if asked for), each atomically.
pub fn export_file(g: &Graph, path: &Path, opts: &ExportOptions) -> Result<(), OnnxError> {
    let name = path.display().to_string();
    let (model, data) = build(g, opts).map_err(|k| k.at(&name))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if let Some(ext) = &opts.external {
        let data_path = dir.join(&ext.location);
        if data_path == path {
            return Err(
                ErrorKind::Export("external data file would overwrite the model".into()).at(&name),
            );
        }
        pare_ir::fsutil::write_atomic(&data_path, &data).map_err(|source| {
            ErrorKind::Io {
                action: "write",
                path: data_path.clone(),
                source,
            }
            .at(&name)
        })?;
    }
    pare_ir::fsutil::write_atomic(path, &model.encode_to_vec()).map_err(|source| {
        ErrorKind::Io {
            action: "write",
            path: path.to_path_buf(),
            source,
        }
        .at(&name)
    })
}

/// Builds the ModelProto and the external data bytes (empty when none).
fn build(g: &Graph, opts: &ExportOptions) -> Result<(ModelProto, Vec<u8>), ErrorKind> {
    let lowered = qdq::lower_quantized(g)?;
    let g: &Graph = &lowered;
    if let Some(ext) = &opts.external {
        crate::external::parse_location(
            &ext.location,
            &[StringStringEntryProto {
                key: Some("location".into()),
                value: Some(ext.location.clone()),
            }],
        )?;
    }
    let mut ex = Exporter {
        g,
        names: vec![None; g.value_count()],
        used: HashSet::new(),
        node_names: HashSet::new(),
        fresh: 0,
        nodes: Vec::new(),
        initializers: Vec::new(),
        sparse_initializers: Vec::new(),
        decode_nodes: Vec::new(),
        decode: sparse::DecodeConstants::default(),
        palette_consts: HashMap::new(),
        data: Vec::new(),
        opts,
    };
    let uses = g.uses();
    for &i in &g.inputs {
        ex.name(i);
    }
    let mut weights_seen = HashSet::new();
    let weight_uses = g
        .nodes()
        .flat_map(|(_, n)| n.present_inputs().collect::<Vec<_>>())
        .chain(g.outputs.iter().copied());
    for v in weight_uses {
        if matches!(g.value(v).def, ValueDef::Weight(_)) && weights_seen.insert(v) {
            ex.initializer(v)?;
        }
    }
    for (_, n) in g.nodes() {
        ex.node(n, &uses)?;
    }
    let inputs = g
        .inputs
        .iter()
        .map(|&v| value_info(&ex.name_of(v), g.ty(v)))
        .collect();
    let outputs = g
        .outputs
        .iter()
        .map(|&v| value_info(&ex.name_of(v), g.ty(v)))
        .collect();
    let mut infos = Vec::new();
    if opts.value_info {
        let io: HashSet<ValueId> = g.inputs.iter().chain(&g.outputs).copied().collect();
        let wanted = needed_info::values_needing_info(g);
        for (_, n) in g.nodes() {
            for &o in &n.outputs {
                if !io.contains(&o) && wanted.contains(&o) && ex.names[o.index()].is_some() {
                    infos.push(value_info(&ex.name_of(o), g.ty(o)));
                }
            }
        }
    }
    // Sparse and palette weights' decode nodes read only initializers: they go first.
    let mut node = std::mem::take(&mut ex.decode_nodes);
    node.append(&mut ex.nodes);
    let graph = GraphProto {
        node,
        name: Some(if g.name.is_empty() {
            "pare".into()
        } else {
            g.name.clone()
        }),
        initializer: ex.initializers,
        sparse_initializer: ex.sparse_initializers,
        input: inputs,
        output: outputs,
        value_info: infos,
        ..GraphProto::default()
    };
    let model = ModelProto {
        ir_version: Some(EXPORT_IR_VERSION),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(EXPORT_OPSET),
        }],
        producer_name: Some(g.meta.producer_name.clone()),
        producer_version: Some(g.meta.producer_version.clone()),
        graph: Some(graph),
        ..ModelProto::default()
    };
    Ok((model, ex.data))
}

struct Exporter<'g> {
    g: &'g Graph,
    /// ONNX name given to each value (by arena index), once named.
    names: Vec<Option<String>>,
    used: HashSet<String>,
    /// Node names already written (ONNX runtimes require non-empty ones to be unique).
    node_names: HashSet<String>,
    fresh: u32,
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    sparse_initializers: Vec<SparseTensorProto>,
    /// The subgraphs that decode sparse integer and palette weights (see `sparse`,
    /// `palette`).
    decode_nodes: Vec<NodeProto>,
    decode: sparse::DecodeConstants,
    /// Names of the constants palette decode subgraphs share (see `palette`).
    palette_consts: HashMap<crate::palette_decode::Const, String>,
    data: Vec<u8>,
    opts: &'g ExportOptions,
}

impl Exporter<'_> {
    /// The value's name, made unique (ONNX values are SSA names): the IR name when it is
    /// free, otherwise a fresh `_pare_N`.
    fn name(&mut self, v: ValueId) -> String {
        if let Some(n) = &self.names[v.index()] {
            return n.clone();
        }
        let want = &self.g.value(v).name;
        let name = if !want.is_empty() && !self.used.contains(want) {
            want.clone()
        } else {
            self.fresh_name(if want.is_empty() { "_pare" } else { want })
        };
        self.used.insert(name.clone());
        self.names[v.index()] = Some(name.clone());
        name
    }

    fn fresh_name(&mut self, base: &str) -> String {
        loop {
            let n = format!("{base}_{}", self.fresh);
            self.fresh += 1;
            if !self.used.contains(&n) {
                return n;
            }
        }
    }

    fn name_of(&mut self, v: ValueId) -> String {
        self.name(v)
    }

    fn initializer(&mut self, v: ValueId) -> Result<(), ErrorKind> {
        let name = self.name(v);
        let Some(w) = self.g.weight_of(v) else {
            return Ok(());
        };
        if w.is_sparse() && self.sparse_weight(v, &name, w)? {
            return Ok(());
        }
        if w.palette_spec().is_some() && self.palette_weight(&name, w)? {
            return Ok(());
        }
        let t = encode_raw(&name, &w.ty, w.bytes());
        let t = self.placed(t);
        self.initializers.push(t);
        Ok(())
    }

    /// Initializer `t` as written: its raw data moved to the external data file
    /// when that is on and the data is large enough.
    fn placed(&mut self, mut t: TensorProto) -> TensorProto {
        let len = t.raw_data.as_ref().map_or(0, Vec::len);
        let Some(e) = self
            .opts
            .external
            .as_ref()
            .filter(|e| len >= e.threshold && len > 0)
        else {
            return t;
        };
        let pad = (EXTERNAL_ALIGN - self.data.len() % EXTERNAL_ALIGN) % EXTERNAL_ALIGN;
        self.data.resize(self.data.len() + pad, 0);
        let offset = self.data.len();
        self.data
            .extend_from_slice(t.raw_data.as_deref().unwrap_or_default());
        let entry = |k: &str, v: String| StringStringEntryProto {
            key: Some(k.into()),
            value: Some(v),
        };
        t.raw_data = None;
        t.data_location = Some(tensor_proto::DataLocation::External as i32);
        t.external_data = vec![
            entry("location", e.location.clone()),
            entry("offset", offset.to_string()),
            entry("length", len.to_string()),
        ];
        t
    }

    /// `want`, or a fresh variant of it when a node already has that name.
    fn node_name(&mut self, want: &str) -> String {
        if want.is_empty() {
            return String::new();
        }
        let mut name = want.to_string();
        let mut k = 0;
        while self.node_names.contains(&name) {
            name = format!("{want}_{k}");
            k += 1;
        }
        self.node_names.insert(name.clone());
        name
    }

    /// A helper value name for rewrites (never clashes with a model name).
    fn tmp(&mut self, base: &str) -> String {
        let n = self.fresh_name(&format!("{base}__pare"));
        self.used.insert(n.clone());
        n
    }

    fn node(&mut self, n: &Node, uses: &[Vec<(pare_ir::NodeId, usize)>]) -> Result<(), ErrorKind> {
        let inputs: Vec<String> = n
            .inputs
            .iter()
            .map(|i| i.map_or_else(String::new, |v| self.name(v)))
            .collect();
        // An unnamed output nobody reads is an omitted optional output in ONNX.
        let mut outputs: Vec<String> = n
            .outputs
            .iter()
            .map(|&o| {
                let unused = uses[o.index()].is_empty() && !self.g.outputs.contains(&o);
                if unused && self.g.value(o).name.is_empty() {
                    String::new()
                } else {
                    self.name(o)
                }
            })
            .collect();
        while outputs.len() > 1 && outputs.last().is_some_and(String::is_empty) {
            outputs.pop();
        }
        if outputs.first().is_some_and(String::is_empty) {
            outputs[0] = self.name(n.outputs[0]);
        }
        let (axis, coerce) = match &n.op {
            Op::Softmax { axis, coerce_2d }
            | Op::LogSoftmax { axis, coerce_2d }
            | Op::Hardmax { axis, coerce_2d } => (*axis, *coerce_2d),
            _ => (0, false),
        };
        let node_name = self.node_name(&n.name);
        let rank = n.input(0).map_or(0, |x| self.g.ty(x).rank() as i64);
        let last_axis = axis == -1 || (rank > 0 && axis == rank - 1);
        if coerce && !last_axis {
            return self.coerced_softmax(n, &node_name, axis, inputs, outputs);
        }
        if matches!(n.op, Op::Silu {}) {
            return self.silu(&node_name, inputs, outputs);
        }
        self.nodes.push(NodeProto {
            input: inputs,
            output: outputs,
            name: Some(node_name),
            op_type: Some(onnx_op_type(&n.op)?),
            attribute: onnx_attributes(&n.op, &n.name)?,
            ..NodeProto::default()
        });
        Ok(())
    }

    /// SiLU, which ONNX (opsets up to 21) has no operator for: `Mul(x, Sigmoid(x))`,
    /// the form onnxruntime fuses back into its own SiLU kernel.
    fn silu(
        &mut self,
        node_name: &str,
        inputs: Vec<String>,
        outputs: Vec<String>,
    ) -> Result<(), ErrorKind> {
        let x = inputs.first().cloned().unwrap_or_default();
        let y = outputs.first().cloned().unwrap_or_default();
        let sig = self.tmp(&y);
        let base = if node_name.is_empty() {
            y.as_str()
        } else {
            node_name
        };
        let sig_name = self.node_name(&format!("{base}/sigmoid"));
        self.nodes.push(NodeProto {
            input: vec![x.clone()],
            output: vec![sig.clone()],
            name: Some(sig_name),
            op_type: Some("Sigmoid".into()),
            ..NodeProto::default()
        });
        self.nodes.push(NodeProto {
            input: vec![x, sig],
            output: vec![y],
            name: Some(node_name.to_string()),
            op_type: Some("Mul".into()),
            ..NodeProto::default()
        });
        Ok(())
    }

    /// Opset < 13 softmax semantics at opset 21: flatten to 2-D at `axis`, normalize the
    /// last axis, restore the input's shape.
    fn coerced_softmax(
        &mut self,
        n: &Node,
        node_name: &str,
        axis: i64,
        inputs: Vec<String>,
        outputs: Vec<String>,
    ) -> Result<(), ErrorKind> {
        let x = inputs.first().cloned().unwrap_or_default();
        let y = outputs.first().cloned().unwrap_or_default();
        let (shape, flat, normed) = (self.tmp(&y), self.tmp(&y), self.tmp(&y));
        // The helper nodes are named after the node (or its output when unnamed).
        let base = if node_name.is_empty() {
            y.as_str()
        } else {
            node_name
        };
        let steps = [
            (
                "/shape",
                "Shape".to_string(),
                vec![x.clone()],
                shape.clone(),
                vec![],
            ),
            (
                "/flatten",
                "Flatten".to_string(),
                vec![x],
                flat.clone(),
                vec![int_attr("axis", axis)],
            ),
            (
                "",
                onnx_op_type(&n.op)?,
                vec![flat],
                normed.clone(),
                vec![int_attr("axis", -1)],
            ),
            (
                "/reshape",
                "Reshape".to_string(),
                vec![normed, shape],
                y.clone(),
                vec![],
            ),
        ];
        for (suffix, op, input, output, attribute) in steps {
            let name = if suffix.is_empty() && !node_name.is_empty() {
                node_name.to_string()
            } else {
                self.node_name(&format!("{base}{suffix}"))
            };
            self.nodes.push(NodeProto {
                input,
                output: vec![output],
                name: Some(name),
                op_type: Some(op),
                attribute,
                ..NodeProto::default()
            });
        }
        Ok(())
    }
}
