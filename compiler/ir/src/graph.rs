//! The graph: arenas of values and nodes, a topological node order, graph inputs
//! and outputs, and the weight store.
//!
//! Every operand is a [`ValueId`]. A value is defined by a graph input, a node
//! output or a weight ([`ValueDef`]). Nodes live in an arena; `order` lists the
//! live ones topologically. Removing a node takes it out of `order` and leaves a
//! dead arena slot; [`Graph::compact`] renumbers everything densely.

use crate::{IrError, NodeId, Op, TensorType, ValueId, Weight, WeightId};

/// Where a value comes from.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ValueDef {
    /// Graph input number `n` at the time it was added.
    Input,
    /// Output `slot` of `node`.
    Node { node: NodeId, slot: u32 },
    /// A weight in the store.
    Weight(WeightId),
}

/// A tensor value with its static type.
#[derive(Clone, PartialEq, Debug)]
pub struct Value {
    /// Source-model name (ONNX value name); may be empty for values pare made.
    pub name: String,
    pub ty: TensorType,
    pub def: ValueDef,
}

/// One op application.
#[derive(Clone, PartialEq, Debug)]
pub struct Node {
    /// Source-model node name; may be empty.
    pub name: String,
    pub op: Op,
    /// Positional operands; `None` is an absent optional input.
    pub inputs: Vec<Option<ValueId>>,
    pub outputs: Vec<ValueId>,
}

impl Node {
    /// Input `i` if present.
    pub fn input(&self, i: usize) -> Option<ValueId> {
        self.inputs.get(i).copied().flatten()
    }

    /// Present inputs, in order.
    pub fn present_inputs(&self) -> impl Iterator<Item = ValueId> + '_ {
        self.inputs.iter().flatten().copied()
    }
}

/// Facts about the source model kept for export and `inspect`.
#[derive(Clone, PartialEq, Debug, Default)]
pub struct ModelMeta {
    pub producer_name: String,
    pub producer_version: String,
    /// Default-domain opset the model was imported at (0 if not from ONNX).
    pub opset: i64,
    pub ir_version: i64,
}

/// A model graph. See the module docs.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    pub name: String,
    pub meta: ModelMeta,
    values: Vec<Value>,
    nodes: Vec<Node>,
    live: Vec<bool>,
    order: Vec<NodeId>,
    weights: Vec<Weight>,
    pub inputs: Vec<ValueId>,
    pub outputs: Vec<ValueId>,
}

impl Graph {
    pub fn new(name: impl Into<String>) -> Graph {
        Graph {
            name: name.into(),
            ..Graph::default()
        }
    }

    fn push_value(&mut self, v: Value) -> Result<ValueId, IrError> {
        if self.values.len() >= u32::MAX as usize {
            return Err(IrError::ArenaFull("values"));
        }
        self.values.push(v);
        Ok(ValueId::from_index(self.values.len() - 1))
    }

    /// Adds a graph input.
    pub fn add_input(
        &mut self,
        name: impl Into<String>,
        ty: TensorType,
    ) -> Result<ValueId, IrError> {
        let id = self.push_value(Value {
            name: name.into(),
            ty,
            def: ValueDef::Input,
        })?;
        self.inputs.push(id);
        Ok(id)
    }

    /// Adds a weight and the value that refers to it.
    pub fn add_weight(&mut self, name: impl Into<String>, w: Weight) -> Result<ValueId, IrError> {
        if self.weights.len() >= u32::MAX as usize {
            return Err(IrError::ArenaFull("weights"));
        }
        let ty = w.ty.clone();
        self.weights.push(w);
        let wid = WeightId::from_index(self.weights.len() - 1);
        self.push_value(Value {
            name: name.into(),
            ty,
            def: ValueDef::Weight(wid),
        })
    }

    fn make_node(
        &mut self,
        name: String,
        op: Op,
        mut inputs: Vec<Option<ValueId>>,
        output_types: Vec<(String, TensorType)>,
    ) -> Result<(NodeId, Vec<ValueId>), IrError> {
        if self.nodes.len() >= u32::MAX as usize {
            return Err(IrError::ArenaFull("nodes"));
        }
        while inputs.last() == Some(&None) {
            inputs.pop();
        }
        let id = NodeId::from_index(self.nodes.len());
        let mut outputs = Vec::with_capacity(output_types.len());
        for (slot, (vname, ty)) in output_types.into_iter().enumerate() {
            let def = ValueDef::Node {
                node: id,
                slot: slot as u32,
            };
            outputs.push(self.push_value(Value {
                name: vname,
                ty,
                def,
            })?);
        }
        self.nodes.push(Node {
            name,
            op,
            inputs,
            outputs: outputs.clone(),
        });
        self.live.push(true);
        Ok((id, outputs))
    }

    /// Appends a node at the end of the order; returns it and its output values.
    pub fn add_node(
        &mut self,
        name: impl Into<String>,
        op: Op,
        inputs: Vec<Option<ValueId>>,
        output_types: Vec<(String, TensorType)>,
    ) -> Result<(NodeId, Vec<ValueId>), IrError> {
        let (id, outs) = self.make_node(name.into(), op, inputs, output_types)?;
        self.order.push(id);
        Ok((id, outs))
    }

    /// Inserts a node just before `anchor` in the order (keeps topological order
    /// when the new node's inputs are defined before `anchor`).
    pub fn insert_node_before(
        &mut self,
        anchor: NodeId,
        name: impl Into<String>,
        op: Op,
        inputs: Vec<Option<ValueId>>,
        output_types: Vec<(String, TensorType)>,
    ) -> Result<(NodeId, Vec<ValueId>), IrError> {
        let pos = self
            .order
            .iter()
            .position(|&n| n == anchor)
            .ok_or_else(|| IrError::Invalid(format!("node {} is not live", anchor.0)))?;
        let (id, outs) = self.make_node(name.into(), op, inputs, output_types)?;
        self.order.insert(pos, id);
        Ok((id, outs))
    }

    /// Takes a node out of the graph. Its outputs must no longer be used.
    pub fn remove_node(&mut self, id: NodeId) {
        if let Some(l) = self.live.get_mut(id.index()) {
            if *l {
                *l = false;
                self.order.retain(|&n| n != id);
            }
        }
    }

    /// Gives node `n` a fresh value (named `name`, typed `ty`) as output `slot`
    /// and returns it. The value it replaces keeps its uses but no definition:
    /// the caller hands it to another node with [`Graph::set_output`].
    pub fn detach_output(
        &mut self,
        n: NodeId,
        slot: usize,
        name: impl Into<String>,
        ty: TensorType,
    ) -> Result<ValueId, IrError> {
        let v = self.push_value(Value {
            name: name.into(),
            ty,
            def: ValueDef::Node {
                node: n,
                slot: slot as u32,
            },
        })?;
        self.nodes[n.index()].outputs[slot] = v;
        Ok(v)
    }

    /// Makes `v` output `slot` of node `n` (the value there before is left
    /// unused).
    pub fn set_output(&mut self, n: NodeId, slot: usize, v: ValueId) {
        self.nodes[n.index()].outputs[slot] = v;
        self.values[v.index()].def = ValueDef::Node {
            node: n,
            slot: slot as u32,
        };
    }

    /// Redirects every use of `old` (node inputs and graph outputs) to `new`.
    pub fn replace_all_uses(&mut self, old: ValueId, new: ValueId) {
        for &n in &self.order {
            for i in self.nodes[n.index()].inputs.iter_mut().flatten() {
                if *i == old {
                    *i = new;
                }
            }
        }
        for o in &mut self.outputs {
            if *o == old {
                *o = new;
            }
        }
    }

    /// Replaces the node order (a pass that reorders must keep it topological;
    /// the verifier checks). Nodes left out become dead.
    pub fn set_order(&mut self, order: Vec<NodeId>) {
        for l in &mut self.live {
            *l = false;
        }
        for &n in &order {
            self.live[n.index()] = true;
        }
        self.order = order;
    }

    /// Live nodes in topological order.
    pub fn order(&self) -> &[NodeId] {
        &self.order
    }

    /// Live nodes with their ids, in topological order.
    pub fn nodes(&self) -> impl Iterator<Item = (NodeId, &Node)> + '_ {
        self.order
            .iter()
            .map(move |&id| (id, &self.nodes[id.index()]))
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.index()]
    }

    pub fn node_mut(&mut self, id: NodeId) -> &mut Node {
        &mut self.nodes[id.index()]
    }

    pub fn is_live(&self, id: NodeId) -> bool {
        self.live.get(id.index()).copied().unwrap_or(false)
    }

    /// Number of arena slots (live or dead), for verifiers that check ids.
    pub fn node_slots(&self) -> usize {
        self.nodes.len()
    }

    pub fn value(&self, id: ValueId) -> &Value {
        &self.values[id.index()]
    }

    /// The value `id`, or `None` when the id is out of range (for checkers that
    /// must not trust ids).
    pub fn values_get(&self, id: ValueId) -> Option<&Value> {
        self.values.get(id.index())
    }

    pub fn value_mut(&mut self, id: ValueId) -> &mut Value {
        &mut self.values[id.index()]
    }

    /// Number of values in the arena (some may be unused).
    pub fn value_count(&self) -> usize {
        self.values.len()
    }

    /// All values with their ids (including unused ones).
    pub fn values(&self) -> impl Iterator<Item = (ValueId, &Value)> + '_ {
        self.values
            .iter()
            .enumerate()
            .map(|(i, v)| (ValueId::from_index(i), v))
    }

    pub fn ty(&self, id: ValueId) -> &TensorType {
        &self.values[id.index()].ty
    }

    /// The node defining `v`, if a node does.
    pub fn producer(&self, v: ValueId) -> Option<NodeId> {
        match self.values[v.index()].def {
            ValueDef::Node { node, .. } => Some(node),
            _ => None,
        }
    }

    pub fn weight(&self, id: WeightId) -> &Weight {
        &self.weights[id.index()]
    }

    pub fn weight_mut(&mut self, id: WeightId) -> &mut Weight {
        &mut self.weights[id.index()]
    }

    pub fn weight_count(&self) -> usize {
        self.weights.len()
    }

    /// All weights with their ids (including any no longer used).
    pub fn weights(&self) -> impl Iterator<Item = (WeightId, &Weight)> + '_ {
        self.weights
            .iter()
            .enumerate()
            .map(|(i, w)| (WeightId::from_index(i), w))
    }

    /// The weight behind `v`, if `v` is a weight value.
    pub fn weight_of(&self, v: ValueId) -> Option<&Weight> {
        match self.values[v.index()].def {
            ValueDef::Weight(w) => Some(&self.weights[w.index()]),
            _ => None,
        }
    }

    /// Every use of each value by live nodes: `uses[v] = [(node, input slot)]`.
    pub fn uses(&self) -> Vec<Vec<(NodeId, usize)>> {
        let mut uses = vec![Vec::new(); self.values.len()];
        for (id, n) in self.nodes() {
            for (slot, i) in n.inputs.iter().enumerate() {
                if let Some(v) = i {
                    uses[v.index()].push((id, slot));
                }
            }
        }
        uses
    }

    /// Drops dead nodes and unreferenced values and weights, renumbering ids densely
    /// in a canonical order: inputs, then weights in first-use order, then node
    /// outputs in node order. Two graphs that differ only in numbering compare
    /// equal after compaction.
    pub fn compact(&mut self) {
        let mut vmap: Vec<Option<ValueId>> = vec![None; self.values.len()];
        let mut new_values: Vec<Value> = Vec::new();
        let mut new_weights: Vec<Weight> = Vec::new();
        let mut wmap: Vec<Option<WeightId>> = vec![None; self.weights.len()];

        let keep = |v: ValueId,
                    vmap: &mut Vec<Option<ValueId>>,
                    new_values: &mut Vec<Value>,
                    def: ValueDef| {
            if vmap[v.index()].is_none() {
                let mut val = self.values[v.index()].clone();
                val.def = def;
                new_values.push(val);
                vmap[v.index()] = Some(ValueId::from_index(new_values.len() - 1));
            }
        };

        for &i in &self.inputs {
            keep(i, &mut vmap, &mut new_values, ValueDef::Input);
        }
        // Weights in first-use order (node inputs, then graph outputs).
        let mut weight_uses: Vec<ValueId> = Vec::new();
        for &n in &self.order {
            weight_uses.extend(self.nodes[n.index()].present_inputs());
        }
        weight_uses.extend(self.outputs.iter().copied());
        for v in weight_uses {
            if let ValueDef::Weight(w) = self.values[v.index()].def {
                if vmap[v.index()].is_none() {
                    let nw = match wmap[w.index()] {
                        Some(nw) => nw,
                        None => {
                            new_weights.push(self.weights[w.index()].clone());
                            let nw = WeightId::from_index(new_weights.len() - 1);
                            wmap[w.index()] = Some(nw);
                            nw
                        }
                    };
                    keep(v, &mut vmap, &mut new_values, ValueDef::Weight(nw));
                }
            }
        }
        let mut new_nodes = Vec::with_capacity(self.order.len());
        for (new_idx, &n) in self.order.iter().enumerate() {
            let node = &self.nodes[n.index()];
            let nid = NodeId::from_index(new_idx);
            for (slot, &o) in node.outputs.iter().enumerate() {
                keep(
                    o,
                    &mut vmap,
                    &mut new_values,
                    ValueDef::Node {
                        node: nid,
                        slot: slot as u32,
                    },
                );
            }
            let inputs = node
                .inputs
                .iter()
                .map(|i| i.map(|v| vmap[v.index()].unwrap_or(v)))
                .collect();
            let outputs = node
                .outputs
                .iter()
                .map(|o| vmap[o.index()].unwrap_or(*o))
                .collect();
            new_nodes.push(Node {
                name: node.name.clone(),
                op: node.op.clone(),
                inputs,
                outputs,
            });
        }
        self.inputs = self
            .inputs
            .iter()
            .map(|v| vmap[v.index()].unwrap_or(*v))
            .collect();
        self.outputs = self
            .outputs
            .iter()
            .map(|v| vmap[v.index()].unwrap_or(*v))
            .collect();
        self.order = (0..new_nodes.len()).map(NodeId::from_index).collect();
        self.live = vec![true; new_nodes.len()];
        self.nodes = new_nodes;
        self.values = new_values;
        self.weights = new_weights;
    }
}

/// Structural equality: same inputs, outputs, nodes, types and weights after
/// canonical compaction (ids and dead slots do not matter).
impl PartialEq for Graph {
    fn eq(&self, other: &Graph) -> bool {
        let (mut a, mut b) = (self.clone(), other.clone());
        a.compact();
        b.compact();
        a.name == b.name
            && a.meta == b.meta
            && a.values == b.values
            && a.nodes == b.nodes
            && a.weights == b.weights
            && a.inputs == b.inputs
            && a.outputs == b.outputs
    }
}
