//! The IR verifier: checks a graph's structural and type invariants and reports
//! every violation it finds, not just the first.
//!
//! Each violation ([`Violation`]) carries its rule's stable id ([`Rule`], printed
//! as the `[tag]` that starts its line and named by `; verify-error: RULE`
//! filetests), the entity it is about ([`Entity`]: a node, value or weight by
//! typed id with its printable name) and a message. Rules, in the order they are
//! checked:
//!
//! 1. `ids` — Every id is in range: node ids in the order, value ids used as node
//!    inputs or outputs, graph inputs and outputs, and the node and weight ids in
//!    each value's `def`. No node appears twice in the order.
//! 2. `def` — Each value's `def` agrees with what holds it: a graph input has
//!    `def = Input` and every `Input` value is a graph input; output `slot` of a
//!    live node has `def = Node { node, slot }`; a value with `def = Node` belongs
//!    to a live node (or is unused); a `Weight` value names an existing weight.
//! 3. `unique` — No value is defined twice (by two graph inputs, two node output
//!    slots, or a graph input and a node output).
//! 4. `dominance` — Every live node's inputs are graph inputs, weights, or outputs
//!    of live nodes earlier in the order (so the order is topological).
//! 5. `outputs` — Every graph output is defined by a graph input, a weight or a
//!    live node.
//! 6. `arity` — Every live node's input and output counts fit its op's signature
//!    (`infer::signature`): required inputs present, no extra inputs, output count
//!    within bounds.
//! 7. `types` — Every live node's output types equal what `infer_node` computes
//!    from its input types: same dtype and rank; fixed dims equal; symbolic dims
//!    equal by name, except where inference can only say "unknown" (a `?` dim,
//!    or an input's `_uN` unknown carried through; then any dim is accepted). An
//!    inference error is reported as a violation.
//! 8. `weights` — Every weight has a fully fixed shape whose element count times
//!    the dtype width (half a byte for 4-bit quantized weights, which are packed)
//!    equals its byte length, and every value referring to a
//!    weight has the weight's type.
//! 9. `quant` — Every quantization parameter set is consistent: `scale` and
//!    `zero_point` have the same, non-zero length; per-tensor params have length
//!    1; per-axis params have `axis < rank` and length equal to that dim (when
//!    fixed); the dtype is an integer type and `bits` fits in it.
//!
//! Rules 7 runs only on nodes whose ids, defs and arity passed, so one broken id
//! does not cascade into a flood of type messages.
//!
//! The textual IR cannot spell a graph that breaks rules 1–5 (its parser resolves
//! names, rejects redefinitions and uses before definition), so those rules are
//! exercised through the graph API (`compiler/ir/tests/verify_rules.rs`); rules
//! 6–9 also have `.pir` cases in `tests/filetests/verifier/`.

mod error;

pub use error::{Entity, Rule, VerifyError, Violation};

use crate::infer::{infer_node, is_unknown_sym, shape_values, signature, ArityError, ShapeValues};
use crate::{Dim, Graph, NodeId, TensorType, ValueDef, ValueId, WeightId};

/// Checks every rule in the module docs; `Err` lists all violations.
pub fn verify(g: &Graph) -> Result<(), VerifyError> {
    let mut v = Verifier {
        g,
        errors: Vec::new(),
    };
    v.run();
    if v.errors.is_empty() {
        Ok(())
    } else {
        Err(VerifyError { errors: v.errors })
    }
}

struct Verifier<'a> {
    g: &'a Graph,
    errors: Vec<Violation>,
}

/// Who defines a value, as found by walking the graph.
#[derive(Clone, Copy, PartialEq)]
enum Holder {
    Input,
    Node(NodeId, u32),
}

impl Verifier<'_> {
    fn report(&mut self, rule: Rule, entity: Entity, message: String) {
        self.errors.push(Violation {
            rule,
            entity,
            message,
        });
    }

    /// A node in range, named as in messages.
    fn node_entity(&self, id: NodeId) -> Entity {
        Entity::Node {
            id,
            label: self.node_name(id),
        }
    }

    fn node_name(&self, id: NodeId) -> String {
        let n = self.g.node(id);
        if n.name.is_empty() {
            format!("#{} ({})", id.0, n.op.name())
        } else {
            format!("`{}` ({})", n.name, n.op.name())
        }
    }

    fn value_ok(&self, v: ValueId) -> bool {
        v.index() < self.g.value_count()
    }

    fn run(&mut self) {
        let g = self.g;
        // ---- rule 1: ids ----
        let mut seen = vec![false; g.node_slots()];
        let mut order_ok: Vec<NodeId> = Vec::new();
        for &n in g.order() {
            if n.index() >= g.node_slots() {
                self.report(
                    Rule::Ids,
                    Entity::Node {
                        id: n,
                        label: format!("#{}", n.0),
                    },
                    format!("node id {} in the order is out of range", n.0),
                );
                continue;
            }
            if std::mem::replace(&mut seen[n.index()], true) {
                self.report(
                    Rule::Ids,
                    self.node_entity(n),
                    format!("node {} appears twice in the order", self.node_name(n)),
                );
                continue;
            }
            order_ok.push(n);
        }
        let mut ids_ok = vec![true; g.node_slots()];
        for &n in &order_ok {
            let node = g.node(n);
            for (slot, i) in node.inputs.iter().enumerate() {
                if let Some(v) = i {
                    if !self.value_ok(*v) {
                        ids_ok[n.index()] = false;
                        self.report(
                            Rule::Ids,
                            self.node_entity(n),
                            format!(
                                "node {} input {slot} refers to value {} out of range",
                                self.node_name(n),
                                v.0
                            ),
                        );
                    }
                }
            }
            for (slot, o) in node.outputs.iter().enumerate() {
                if !self.value_ok(*o) {
                    ids_ok[n.index()] = false;
                    self.report(
                        Rule::Ids,
                        self.node_entity(n),
                        format!(
                            "node {} output {slot} refers to value {} out of range",
                            self.node_name(n),
                            o.0
                        ),
                    );
                }
            }
        }
        for (what, list) in [("input", &g.inputs), ("output", &g.outputs)] {
            for (k, v) in list.iter().enumerate() {
                if !self.value_ok(*v) {
                    self.report(
                        Rule::Ids,
                        Entity::Graph,
                        format!("graph {what} {k} refers to value {} out of range", v.0),
                    );
                }
            }
        }
        for (id, val) in g.values() {
            match val.def {
                ValueDef::Node { node, .. } if node.index() >= g.node_slots() => {
                    self.report(
                        Rule::Ids,
                        value_entity(id),
                        format!("value %{} is defined by node {} out of range", id.0, node.0),
                    );
                }
                ValueDef::Weight(w) if w.index() >= g.weight_count() => {
                    self.report(
                        Rule::Ids,
                        value_entity(id),
                        format!("value %{} refers to weight {} out of range", id.0, w.0),
                    );
                }
                _ => {}
            }
        }

        // ---- rules 2 and 3: defs agree, no value defined twice ----
        let mut holder: Vec<Option<Holder>> = vec![None; g.value_count()];
        let mut def_ok = vec![true; g.node_slots()];
        for &v in g.inputs.iter().filter(|v| v.index() < g.value_count()) {
            if holder[v.index()].replace(Holder::Input).is_some() {
                self.report(
                    Rule::Unique,
                    value_entity(v),
                    format!("value %{} is a graph input twice", v.0),
                );
            }
            if g.value(v).def != ValueDef::Input {
                self.report(
                    Rule::Def,
                    value_entity(v),
                    format!(
                        "graph input %{} has def {:?}, expected Input",
                        v.0,
                        g.value(v).def
                    ),
                );
            }
        }
        for &n in order_ok.iter().filter(|n| ids_ok[n.index()]) {
            for (slot, &o) in g.node(n).outputs.iter().enumerate() {
                let here = Holder::Node(n, slot as u32);
                if let Some(prev) = holder[o.index()].replace(here) {
                    def_ok[n.index()] = false;
                    let prev = match prev {
                        Holder::Input => "a graph input".to_string(),
                        Holder::Node(p, s) => format!("output {s} of node {}", self.node_name(p)),
                    };
                    self.report(
                        Rule::Unique,
                        value_entity(o),
                        format!(
                            "value %{} is defined twice: by {prev} and by output {slot} of node {}",
                            o.0,
                            self.node_name(n)
                        ),
                    );
                }
                let want = ValueDef::Node {
                    node: n,
                    slot: slot as u32,
                };
                if g.value(o).def != want {
                    def_ok[n.index()] = false;
                    self.report(
                        Rule::Def,
                        value_entity(o),
                        format!(
                            "value %{} is output {slot} of node {} but its def is {:?}",
                            o.0,
                            self.node_name(n),
                            g.value(o).def
                        ),
                    );
                }
            }
        }
        for (id, val) in g.values() {
            match val.def {
                ValueDef::Input if holder[id.index()] != Some(Holder::Input) => {
                    self.report(
                        Rule::Def,
                        value_entity(id),
                        format!("value %{} has def Input but is not a graph input", id.0),
                    );
                }
                ValueDef::Node { node, slot }
                    if node.index() < g.node_slots()
                        && g.is_live(node)
                        && holder[id.index()] != Some(Holder::Node(node, slot)) =>
                {
                    self.report(Rule::Def, value_entity(id), format!("value %{} claims to be output {slot} of node {}, which does not hold it", id.0, self.node_name(node)));
                }
                _ => {}
            }
        }

        // ---- rule 4: dominance; rule 5: graph outputs ----
        let mut defined = vec![false; g.value_count()];
        for (id, val) in g.values() {
            let ok = match val.def {
                ValueDef::Input => holder[id.index()] == Some(Holder::Input),
                ValueDef::Weight(w) => w.index() < g.weight_count(),
                ValueDef::Node { .. } => false,
            };
            defined[id.index()] = ok;
        }
        for &n in order_ok.iter().filter(|n| ids_ok[n.index()]) {
            let node = g.node(n);
            for (slot, v) in node.inputs.iter().enumerate() {
                if let Some(v) = v {
                    if !defined[v.index()] {
                        def_ok[n.index()] = false;
                        self.report(
                            Rule::Dominance,
                            self.node_entity(n),
                            format!(
                                "node {} input {slot} uses %{}, which is not defined before it",
                                self.node_name(n),
                                v.0
                            ),
                        );
                    }
                }
            }
            for &o in &node.outputs {
                defined[o.index()] = true;
            }
        }
        for (k, &v) in g.outputs.iter().enumerate() {
            if self.value_ok(v) && !defined[v.index()] {
                self.report(Rule::Outputs, value_entity(v), format!("graph output {k} (%{}) is not defined by an input, a weight or a live node", v.0));
            }
        }

        // ---- rule 6: arity ----
        let mut arity_ok = vec![true; g.node_slots()];
        for &n in &order_ok {
            if let Err(msg) = check_arity(g, n) {
                arity_ok[n.index()] = false;
                self.report(
                    Rule::Arity,
                    self.node_entity(n),
                    format!("node {} {msg}", self.node_name(n)),
                );
            }
        }

        // ---- rule 7: types ----
        // A table that cannot be built only costs precision, never soundness.
        let known = shape_values(g).unwrap_or_default();
        for &n in &order_ok {
            let i = n.index();
            if ids_ok[i] && def_ok[i] && arity_ok[i] {
                self.check_types(n, &known);
            }
        }

        // ---- rules 8 and 9: weights and quantization ----
        self.check_weights();
        for (id, val) in g.values() {
            if let Err(msg) = check_quant(&val.ty) {
                self.report(
                    Rule::Quant,
                    value_entity(id),
                    format!("value %{} ({}): {msg}", id.0, val.ty),
                );
            }
        }
    }

    fn check_types(&mut self, n: NodeId, known: &ShapeValues) {
        let g = self.g;
        match infer_node(g, n, known) {
            Err(e) => self.report(Rule::Types, self.node_entity(n), format!("{e}")),
            Ok(types) => {
                for (slot, (want, &o)) in types.iter().zip(&g.node(n).outputs).enumerate() {
                    let have = &g.value(o).ty;
                    if !type_matches(want, have) {
                        self.report(
                            Rule::Types,
                            self.node_entity(n),
                            format!(
                                "node {} output {slot} (%{}) has type {have}, inference gives {}",
                                self.node_name(n),
                                o.0,
                                show(want)
                            ),
                        );
                    }
                }
            }
        }
    }

    fn check_weights(&mut self) {
        let g = self.g;
        for (wid, w) in g.weights() {
            let Some(shape) = w.ty.fixed_shape() else {
                self.report(
                    Rule::Weights,
                    weight_entity(wid),
                    format!("weight {} has symbolic type {}", wid.0, w.ty),
                );
                continue;
            };
            let bytes = shape
                .iter()
                .try_fold(1u64, |a, &d| a.checked_mul(d))
                .and_then(|n| usize::try_from(n).ok())
                .and_then(|n| crate::weights::stored_len(&w.ty, n))
                .map(|b| b as u64);
            if bytes != Some(w.bytes().len() as u64) {
                self.report(
                    Rule::Weights,
                    weight_entity(wid),
                    format!(
                        "weight {} of type {} needs {} bytes, holds {}",
                        wid.0,
                        w.ty,
                        bytes.map_or("too many".into(), |b| b.to_string()),
                        w.bytes().len()
                    ),
                );
            }
        }
        for (id, val) in g.values() {
            if let ValueDef::Weight(w) = val.def {
                if w.index() < g.weight_count() && g.weight(w).ty != val.ty {
                    self.report(
                        Rule::Weights,
                        value_entity(id),
                        format!(
                            "value %{} has type {} but its weight {} has {}",
                            id.0,
                            val.ty,
                            w.0,
                            g.weight(w).ty
                        ),
                    );
                }
            }
        }
    }
}

fn value_entity(id: ValueId) -> Entity {
    Entity::Value {
        id,
        label: format!("%{}", id.0),
    }
}

fn weight_entity(id: WeightId) -> Entity {
    Entity::Weight {
        id,
        label: format!("weight {}", id.0),
    }
}

/// Input/output counts against the op's signature.
fn check_arity(g: &Graph, n: NodeId) -> Result<(), String> {
    let node = g.node(n);
    let s = signature(&node.op);
    s.check_inputs(node.inputs.len(), |i| node.input(i).is_some())
        .and_then(|()| s.check_outputs(node.outputs.len()))
        .map_err(|e| match e {
            ArityError::MissingInput { index, name, .. }
            | ArityError::VariadicHole { index, name } => {
                format!("is missing required input {index} ({name})")
            }
            other => other.to_string(),
        })
}

/// `have` is what `want` (from inference) allows.
fn type_matches(want: &TensorType, have: &TensorType) -> bool {
    want.dtype == have.dtype
        && want.rank() == have.rank()
        && want
            .shape
            .iter()
            .zip(&have.shape)
            .all(|(w, h)| is_unknown_sym(w) || is_named_unknown(w) || w == h)
}

/// An unknown that inference named earlier (`_uN`): a value whose size
/// inference could not know may carry a better-known declared size (type
/// merging lets `_uN` yield to it), so it matches anything too.
fn is_named_unknown(d: &Dim) -> bool {
    matches!(d, Dim::Sym(s) if s.starts_with("_u") && s[2..].parse::<u64>().is_ok())
}

/// A type with inference's unknowns printed as `?`.
fn show(t: &TensorType) -> String {
    let dims: Vec<String> = t
        .shape
        .iter()
        .map(|d| {
            if is_unknown_sym(d) {
                "?".to_string()
            } else {
                d.to_string()
            }
        })
        .collect();
    format!("{}[{}]", t.dtype, dims.join(","))
}

/// Consistency of one type's quantization parameters.
fn check_quant(t: &TensorType) -> Result<(), String> {
    let Some(q) = &t.quant else { return Ok(()) };
    if !t.dtype.is_int() {
        return Err(format!("quantized type has non-integer dtype {}", t.dtype));
    }
    let width = t.dtype.size_bytes() * 8;
    if q.bits == 0 || q.bits as usize > width {
        return Err(format!("bits = {} does not fit dtype {}", q.bits, t.dtype));
    }
    if q.scale.len() != q.zero_point.len() {
        return Err(format!(
            "{} scales but {} zero points",
            q.scale.len(),
            q.zero_point.len()
        ));
    }
    match q.axis {
        None if q.scale.len() != 1 => Err(format!(
            "per-tensor params need 1 scale, got {}",
            q.scale.len()
        )),
        None => Ok(()),
        Some(a) if a >= t.rank() => Err(format!("axis {a} is out of range for rank {}", t.rank())),
        Some(a) => match &t.shape[a] {
            Dim::Fixed(n) if *n != q.scale.len() as u64 => Err(format!(
                "axis {a} has size {n} but there are {} scales",
                q.scale.len()
            )),
            _ if q.scale.is_empty() => Err("per-axis params have no scales".to_string()),
            _ => Ok(()),
        },
    }
}
