//! The units the fidelity floor raises: each quantized value with the
//! integer nodes that produce or read it (kept float together, the value is
//! never rounded), and how a candidate is described in the report.

use super::raise::{Base, Candidate};
use crate::metrics::Fidelity;
use crate::quantize::plan::plan_with;
use crate::quantize::{Decision, LayerRecord, LayerStatus};
use pare_ir::{Graph, NodeId, ValueId};
use std::collections::{BTreeMap, BTreeSet};

/// A quantized value and the nodes that keep it float.
pub(super) struct Island {
    pub value: ValueId,
    pub name: String,
    pub producer: Option<NodeId>,
    pub nodes: Vec<NodeId>,
}

impl Island {
    pub fn node_names(&self, g: &Graph) -> Vec<String> {
        self.nodes.iter().map(|&n| display_name(g, n)).collect()
    }

    pub fn describe(
        &self,
        g: &Graph,
        records: &[LayerRecord],
        kept_float: Result<Fidelity, String>,
    ) -> Candidate {
        let producer = self.producer.map(|p| g.node(p));
        // Records are one per node of `g`, in its order.
        let record = self
            .producer
            .and_then(|p| g.order().iter().position(|&n| n == p))
            .and_then(|k| records.get(k));
        let precision = record.map_or("input".to_string(), |r| match (&r.status, r.weight_bits) {
            (LayerStatus::Int8, Some(4)) => "int8, int4 weights".into(),
            (LayerStatus::Int8, _) => "int8".into(),
            (LayerStatus::Float(_), _) => "float".into(),
            (LayerStatus::Folded(_), _) => "folded".into(),
            (LayerStatus::Fp16, _) => "fp16".into(),
            (LayerStatus::WeightOnly, _) => "weight-only".into(),
        });
        Candidate {
            value: self.name.clone(),
            producer: self.producer.map(|p| display_name(g, p)),
            op: producer.map_or("input".into(), |p| p.op.name().to_string()),
            precision,
            nodes: self.node_names(g),
            kept_float,
        }
    }
}

/// A node's name, or for an unnamed one its op and first output's name.
pub(super) fn display_name(g: &Graph, id: NodeId) -> String {
    let n = g.node(id);
    if !n.name.is_empty() {
        return n.name.clone();
    }
    let out = n.outputs.first().map_or("", |&v| g.value(v).name.as_str());
    format!("{} → {out}", n.op.name())
}

/// The values the planner quantizes with `keep` float, each with the
/// integer nodes that produce or read it, in graph order.
pub(super) fn islands(base: &Base, keep: &BTreeMap<NodeId, String>) -> Vec<Island> {
    let g = base.graph;
    let plan = plan_with(g, base.calibration, 8, keep);
    let quantized: BTreeSet<ValueId> = plan
        .int_values
        .keys()
        .chain(plan.entries.keys())
        .copied()
        .collect();
    let uses = g.uses();
    let mut producer_of: BTreeMap<ValueId, NodeId> = BTreeMap::new();
    for &id in g.order() {
        for &o in &g.node(id).outputs {
            producer_of.insert(o, id);
        }
    }
    let int = |n: NodeId| matches!(plan.decisions.get(&n), Some(Decision::Int(_)));
    let position: BTreeMap<NodeId, usize> =
        g.order().iter().enumerate().map(|(i, &n)| (n, i)).collect();
    let mut out: Vec<Island> = Vec::new();
    for v in quantized {
        let producer = producer_of.get(&v).copied();
        let mut nodes: Vec<NodeId> = producer.into_iter().filter(|&p| int(p)).collect();
        nodes.extend(uses[v.index()].iter().map(|&(n, _)| n).filter(|&n| int(n)));
        nodes.sort_by_key(|n| position.get(n).copied().unwrap_or(usize::MAX));
        nodes.dedup();
        if nodes.is_empty() {
            continue;
        }
        out.push(Island {
            value: v,
            name: g.value(v).name.clone(),
            producer,
            nodes,
        });
    }
    // Graph order of the producing node (inputs first), then by value id.
    out.sort_by_key(|i| {
        (
            i.producer
                .and_then(|p| position.get(&p).map(|&x| x + 1))
                .unwrap_or(0),
            i.value,
        )
    });
    out
}
