//! Deciding the integer domain: which nodes run in int8 and every integer
//! value's parameters, from the calibrated ranges. Pure analysis; `rewrite`
//! applies the result.

use super::params::{activation_params, softmax_output_params};
use super::support::{classify, OpClass};
use pare_ir::{DType, Graph, NodeId, Op, QParams, ValueId};
use std::collections::{BTreeMap, BTreeSet};

/// Calibrated value ranges, keyed by the float graph's value ids.
pub trait RangeSource {
    /// The clipping range [lo, hi] chosen for `v`, if it was observed.
    fn range(&self, v: ValueId) -> Option<(f32, f32)>;
}

impl RangeSource for BTreeMap<ValueId, (f32, f32)> {
    fn range(&self, v: ValueId) -> Option<(f32, f32)> {
        self.get(&v).copied()
    }
}

impl RangeSource for super::calibrate::Calibration {
    fn range(&self, v: ValueId) -> Option<(f32, f32)> {
        super::calibrate::Calibration::range(self, v)
    }
}

/// What the planner decided for one node.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    Int(OpClass),
    Float(String),
}

/// The integer domain of a graph.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// Per live node, by node id.
    pub decisions: BTreeMap<NodeId, Decision>,
    /// Parameters of every value produced in the integer domain.
    pub int_values: BTreeMap<ValueId, QParams>,
    /// Float values that a quantized node reads: each gets one QuantizeLinear.
    pub entries: BTreeMap<ValueId, QParams>,
    /// Nodes kept float by request (float islands): their activations stay
    /// float, their compute weights are stored int8 all the same.
    pub islands: BTreeSet<NodeId>,
}

impl Plan {
    pub fn is_int(&self, n: NodeId) -> bool {
        matches!(self.decisions.get(&n), Some(Decision::Int(_)))
    }

    /// The parameters a quantized node sees for input value `v`.
    pub fn params_of(&self, v: ValueId) -> Option<&QParams> {
        self.int_values.get(&v).or_else(|| self.entries.get(&v))
    }
}

/// Plans int8 (activation `bits`) quantization of `g` over `ranges`.
pub fn plan(g: &Graph, ranges: &dyn RangeSource, bits: u8) -> Plan {
    plan_with(g, ranges, bits, &BTreeMap::new())
}

/// [`plan`], with the nodes of `keep_float` left float for the reason given
/// (the fidelity floor raises precision this way: a float island).
pub fn plan_with(
    g: &Graph,
    ranges: &dyn RangeSource,
    bits: u8,
    keep_float: &BTreeMap<NodeId, String>,
) -> Plan {
    let mut p = Plan::default();
    let uses = g.uses();
    // Activations (Relu/Clip) whose producer already saturates at their range.
    let mut fused: BTreeSet<NodeId> = BTreeSet::new();
    for &id in g.order() {
        // A producer that took a Relu/Clip's range stays correct even if that
        // activation ends up float: it saturates exactly where the activation clips.
        if let Some(reason) = keep_float.get(&id) {
            p.decisions.insert(id, Decision::Float(reason.clone()));
            p.islands.insert(id);
            continue;
        }
        let decision = match decide(g, id, ranges, bits, &uses, &mut p, &mut fused) {
            Ok(class) => Decision::Int(class),
            Err(reason) => Decision::Float(reason),
        };
        p.decisions.insert(id, decision);
    }
    p
}

#[allow(clippy::too_many_arguments)]
fn decide(
    g: &Graph,
    id: NodeId,
    ranges: &dyn RangeSource,
    bits: u8,
    uses: &[Vec<(NodeId, usize)>],
    p: &mut Plan,
    fused: &mut BTreeSet<NodeId>,
) -> Result<OpClass, String> {
    let n = g.node(id);
    let class = classify(g, n)?;
    let data = class.data_inputs(n);
    let is_weight = |v: ValueId| g.weight_of(v).is_some();
    for &i in &data {
        let v = n.inputs[i].ok_or("missing data input")?;
        if g.ty(v).dtype != DType::F32 {
            return Err(format!("input {i} is {}, not f32", g.ty(v).dtype));
        }
    }
    for &o in &n.outputs {
        if g.ty(o).dtype != DType::F32 {
            return Err(format!("output is {}, not f32", g.ty(o).dtype));
        }
    }
    let activations: Vec<ValueId> = data
        .iter()
        .filter_map(|&i| n.inputs[i])
        .filter(|&v| !is_weight(v))
        .collect();
    if activations.is_empty() {
        return Err("all its inputs are constants".into());
    }
    // A constant operand other than a compute op's weight (whose NaN or infinity
    // the rewrite reports as an error) with a non-finite value, such as a -inf
    // mask, has no integer form: the node stays float.
    let compute_weight = match class {
        OpClass::Compute { weight, .. } => Some(weight),
        _ => None,
    };
    for &i in data.iter().filter(|&&i| Some(i) != compute_weight) {
        let Some(w) = n.inputs[i].and_then(|v| g.weight_of(v)) else {
            continue;
        };
        if w.tensor()
            .is_ok_and(|t| t.to_f32_vec().iter().any(|x| !x.is_finite()))
        {
            return Err(format!(
                "its constant `{}` is not finite everywhere, which no integer code represents",
                n.inputs[i].map_or("", |v| g.value(v).name.as_str())
            ));
        }
    }
    if let OpClass::Compute { data: d, .. } = class {
        if n.inputs[d].is_some_and(is_weight) {
            return Err("its data input is a constant".into());
        }
    } else if !activations.iter().any(|v| p.int_values.contains_key(v)) {
        return Err("no input is quantized, so it would only add conversions".into());
    }
    // Entry parameters for float activations a quantized node reads.
    let mut entries = Vec::new();
    for &v in &activations {
        if p.params_of(v).is_none() {
            let (lo, hi) = ranges
                .range(v)
                .ok_or_else(|| format!("no calibration range for input `{}`", g.value(v).name))?;
            entries.push((v, activation_params(lo, hi, bits)));
        }
    }
    let input_params = |v: ValueId| -> Option<QParams> {
        p.params_of(v).cloned().or_else(|| {
            entries
                .iter()
                .find(|(e, _)| *e == v)
                .map(|(_, q)| q.clone())
        })
    };
    let out_params: Vec<QParams> = match &class {
        OpClass::SameParams { .. } => {
            let first = input_params(activations[0]).ok_or("input has no parameters")?;
            for &v in &activations[1..] {
                if input_params(v).as_ref() != Some(&first) {
                    return Err("its inputs have different quantization parameters".into());
                }
            }
            if data.len() != activations.len() {
                return Err("a constant input would need its own parameters".into());
            }
            vec![first; n.outputs.len()]
        }
        OpClass::Softmax => vec![softmax_output_params()],
        OpClass::Lut if fused.contains(&id) => {
            vec![input_params(activations[0]).ok_or("input has no parameters")?]
        }
        _ => {
            let out = n.outputs[0];
            let (range_of, act) = match fusable_activation(g, id, uses) {
                Some(act) => (g.node(act).outputs[0], Some(act)),
                None => (out, None),
            };
            let (lo, hi) = ranges.range(range_of).ok_or_else(|| {
                format!("no calibration range for output `{}`", g.value(out).name)
            })?;
            if let Some(act) = act {
                fused.insert(act);
            }
            vec![activation_params(lo, hi, bits)]
        }
    };
    for (v, q) in entries {
        p.entries.insert(v, q);
    }
    for (&o, q) in n.outputs.iter().zip(out_params) {
        p.int_values.insert(o, q);
    }
    Ok(class)
}

/// The Relu/Clip that is the only reader of `id`'s single output, when the
/// producer can take that activation's range (it then saturates exactly where
/// the activation would clip, so the activation becomes a no-op table).
fn fusable_activation(g: &Graph, id: NodeId, uses: &[Vec<(NodeId, usize)>]) -> Option<NodeId> {
    let n = g.node(id);
    let out = *n.outputs.first()?;
    if n.outputs.len() != 1 || g.outputs.contains(&out) {
        return None;
    }
    let [(user, 0)] = uses[out.index()][..] else {
        return None;
    };
    let u = g.node(user);
    let constant_bounds = u.inputs[1..]
        .iter()
        .flatten()
        .all(|&v| g.weight_of(v).is_some());
    match u.op {
        Op::Relu {} => Some(user),
        Op::Clip {} if constant_bounds => Some(user),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_GEMMS: &str = "graph @g(%x \"x\": f32[N,2]) -> (f32[N,2]) {
  $w0 \"w0\": f32[2,2] = [1.0, -0.5, 0.25, 2.0]
  $w1 \"w1\": f32[2,2] = [0.5, 1.0, -1.0, 0.75]
  %a \"a\": f32[N,2] = gemm(%x, $w0) \"fc0\" {alpha=1.0, beta=1.0, trans_a=false, trans_b=true}
  %y \"y\": f32[N,2] = gemm(%a, $w1) \"fc1\" {alpha=1.0, beta=1.0, trans_a=false, trans_b=true}
  return %y
}
";

    #[test]
    fn a_node_kept_float_stays_float_and_its_readers_enter_again() {
        let g = pare_ir::text::parse(TWO_GEMMS).unwrap();
        let ranges: BTreeMap<ValueId, (f32, f32)> = (0..g.value_count())
            .map(|i| (ValueId::from_index(i), (-4.0, 4.0)))
            .collect();
        let id = |name: &str| g.nodes().find(|(_, n)| n.name == name).unwrap().0;
        let all = plan(&g, &ranges, 8);
        assert!(all.is_int(id("fc0")) && all.is_int(id("fc1")));
        let keep = BTreeMap::from([(id("fc0"), "kept float: test".to_string())]);
        let p = plan_with(&g, &ranges, 8, &keep);
        assert_eq!(
            p.decisions[&id("fc0")],
            Decision::Float("kept float: test".into())
        );
        assert!(p.is_int(id("fc1")));
        // fc0's output is float now: fc1 quantizes it at its entry.
        let a = g.node(id("fc0")).outputs[0];
        assert!(p.entries.contains_key(&a) && !p.int_values.contains_key(&a));
    }
}
