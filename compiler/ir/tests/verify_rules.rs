//! The verifier: a valid graph passes, and one broken graph per rule reports
//! that rule's message.

mod infer_util;
use infer_util::{add_in, ty, In};
use pare_ir::infer::infer_graph;
use pare_ir::verify::{verify, Entity, Rule, Violation};
use pare_ir::{Graph, NodeId, Op, QParams, ValueDef, ValueId};

/// x → relu(a) → add(b, with weight w) → output.
fn good() -> (Graph, [NodeId; 2], [ValueId; 3]) {
    let mut g = Graph::new("g");
    let x = g.add_input("x", ty("f32[N,3]")).unwrap();
    let w = add_in(&mut g, 1, &In::W("f32[3]")).unwrap();
    let p = infer_util::placeholder;
    let (a, av) = g
        .add_node("a", Op::Relu {}, vec![Some(x)], vec![("r".into(), p())])
        .unwrap();
    let (b, bv) = g
        .add_node(
            "b",
            Op::Add {},
            vec![Some(av[0]), Some(w)],
            vec![("y".into(), p())],
        )
        .unwrap();
    g.outputs.push(bv[0]);
    infer_graph(&mut g).unwrap();
    (g, [a, b], [x, av[0], bv[0]])
}

/// Asserts that some violation prints a line containing `needle`; when the
/// needle starts with a `[rule]` tag, that violation's typed rule must match it.
/// Returns the violation.
#[track_caller]
fn expect(g: &Graph, needle: &str) -> Violation {
    let e = verify(g).expect_err("verifier accepted a broken graph");
    let Some(v) = e.errors.iter().find(|v| v.to_string().contains(needle)) else {
        panic!("no message contains `{needle}`:\n{e}");
    };
    if let Some(tag) = needle.strip_prefix('[').and_then(|r| r.split(']').next()) {
        assert_eq!(v.rule.id(), tag, "{v}");
        assert!(e.breaks(Rule::from_id(tag).unwrap()));
    }
    v.clone()
}

#[test]
fn valid_graph_passes() {
    let (g, _, _) = good();
    verify(&g).unwrap();
}

#[test]
fn rule_1_ids_in_range() {
    let (mut g, [a, _], _) = good();
    g.node_mut(a).inputs[0] = Some(ValueId(999));
    expect(
        &g,
        "[ids] node `a` (relu) input 0 refers to value 999 out of range",
    );
    let (mut g, [a, b], _) = good();
    g.set_order(vec![a, b, a]);
    expect(&g, "[ids] node `a` (relu) appears twice in the order");
    let (mut g, _, _) = good();
    g.outputs.push(ValueId(77));
    expect(&g, "[ids] graph output 1 refers to value 77 out of range");
}

#[test]
fn rule_2_defs_agree() {
    let (mut g, _, [_, r, _]) = good();
    g.value_mut(r).def = ValueDef::Input;
    expect(
        &g,
        "[def] value %2 is output 0 of node `a` (relu) but its def is Input",
    );
    expect(&g, "[def] value %2 has def Input but is not a graph input");
    let (mut g, [a, _], [x, _, _]) = good();
    g.value_mut(x).def = ValueDef::Node { node: a, slot: 0 };
    expect(&g, "[def] graph input %0 has def");
}

#[test]
fn rule_3_no_value_defined_twice() {
    let (mut g, [a, b], [_, r, _]) = good();
    // `b` now claims `a`'s output as its own.
    let y = g.node(b).outputs[0];
    g.node_mut(b).outputs[0] = r;
    g.outputs[0] = y;
    let _ = a;
    expect(&g, "[unique] value %2 is defined twice: by output 0 of node `a` (relu) and by output 0 of node `b` (add)");
}

#[test]
fn rule_4_dominance() {
    let (mut g, [a, b], _) = good();
    g.set_order(vec![b, a]);
    expect(
        &g,
        "[dominance] node `b` (add) input 0 uses %2, which is not defined before it",
    );
}

#[test]
fn rule_5_graph_outputs_defined() {
    let (mut g, [_, b], _) = good();
    g.remove_node(b);
    expect(&g, "[outputs] graph output 0 (%3) is not defined");
}

#[test]
fn rule_6_arity() {
    let (mut g, [a, _], [x, _, _]) = good();
    g.node_mut(a).inputs.push(Some(x));
    expect(
        &g,
        "[arity] node `a` (relu) has 2 inputs, at most 1 allowed",
    );
    let (mut g, [_, b], _) = good();
    g.node_mut(b).inputs.pop();
    expect(&g, "[arity] node `b` (add) is missing required input 1 (b)");
}

#[test]
fn rule_7_types_match_inference() {
    let (mut g, _, [_, r, _]) = good();
    g.value_mut(r).ty = ty("f32[N,4]");
    expect(
        &g,
        "[types] node `a` (relu) output 0 (%2) has type f32[N,4], inference gives f32[N,3]",
    );
    let (mut g, _, [_, r, _]) = good();
    g.value_mut(r).ty = ty("f32[M,3]");
    expect(&g, "inference gives f32[N,3]");
    // Inference errors are reported too.
    let (mut g, [_, b], _) = good();
    g.node_mut(b).op = Op::And {};
    expect(
        &g,
        "[types] node `b` (and): input 0 (a) has dtype f32, expected bool",
    );
    // Where inference can only say "unknown", any dim is accepted.
    let mut g = Graph::new("nz");
    let x = g.add_input("x", ty("f32[N,3]")).unwrap();
    let (_, o) = g
        .add_node(
            "nz",
            Op::NonZero {},
            vec![Some(x)],
            vec![("o".into(), ty("i64[2,K]"))],
        )
        .unwrap();
    g.outputs.push(o[0]);
    verify(&g).unwrap();
}

#[test]
fn rule_8_weights() {
    let (mut g, _, _) = good();
    let w = ValueId(1);
    g.value_mut(w).ty = ty("f32[4]");
    expect(
        &g,
        "[weights] value %1 has type f32[4] but its weight 0 has f32[3]",
    );
    let (mut g, _, _) = good();
    let ValueDef::Weight(wid) = g.value(w).def else {
        panic!("not a weight")
    };
    g.weight_mut(wid).ty = ty("f32[5]");
    expect(
        &g,
        "[weights] weight 0 of type f32[5] needs 20 bytes, holds 12",
    );
    g.weight_mut(wid).ty = ty("f32[N]");
    expect(&g, "[weights] weight 0 has symbolic type f32[N]");
}

#[test]
fn rule_9_quant_params() {
    let q = |scale: Vec<f32>, zp: Vec<i32>, axis| QParams {
        bits: 8,
        signed: true,
        scale,
        zero_point: zp,
        axis,
    };
    let mut g = Graph::new("q");
    let x = g.add_input("x", ty("i8[4,3]")).unwrap();
    g.outputs.push(x);
    g.value_mut(x).ty.quant = Some(q(vec![0.1; 4], vec![0; 4], Some(0)));
    verify(&g).unwrap();
    g.value_mut(x).ty.quant = Some(q(vec![0.1; 4], vec![0; 3], Some(0)));
    expect(&g, "[quant] value %0 (i8[4,3]): 4 scales but 3 zero points");
    g.value_mut(x).ty.quant = Some(q(vec![0.1; 4], vec![0; 4], Some(1)));
    expect(
        &g,
        "[quant] value %0 (i8[4,3]): axis 1 has size 3 but there are 4 scales",
    );
    g.value_mut(x).ty.quant = Some(q(vec![0.1; 2], vec![0; 2], None));
    expect(&g, "per-tensor params need 1 scale, got 2");
    g.value_mut(x).ty.quant = Some(q(vec![0.1; 4], vec![0; 4], Some(2)));
    expect(&g, "axis 2 is out of range for rank 2");
    g.value_mut(x).ty.quant = Some(QParams {
        bits: 9,
        ..q(vec![0.1], vec![0], None)
    });
    expect(&g, "bits = 9 does not fit dtype i8");
    g.value_mut(x).ty = ty("f32[4,3]");
    g.value_mut(x).ty.quant = Some(q(vec![0.1], vec![0], None));
    expect(&g, "non-integer dtype f32");
}

#[test]
fn all_violations_are_listed_one_per_line() {
    let (mut g, [a, b], [_, r, _]) = good();
    g.value_mut(r).ty = ty("f32[N,4]");
    g.outputs.push(ValueId(50));
    g.node_mut(a).inputs.push(None);
    let _ = b;
    let e = verify(&g).unwrap_err();
    assert!(e.errors.len() >= 2, "{e}");
    assert_eq!(e.to_string().lines().count(), e.errors.len());
}

#[test]
fn violations_name_their_entity_by_typed_id() {
    let (mut g, [a, _], [_, r, _]) = good();
    g.node_mut(a).inputs[0] = Some(ValueId(999));
    let v = expect(&g, "[ids] node `a` (relu) input 0");
    assert_eq!(
        v.entity,
        Entity::Node {
            id: a,
            label: "`a` (relu)".into()
        }
    );
    let (mut g, _, _) = good();
    g.value_mut(r).ty = ty("f32[N,4]");
    let v = expect(&g, "[types] node `a` (relu) output 0");
    assert!(matches!(v.entity, Entity::Node { id, .. } if id == a));
    let (mut g, _, [_, r, _]) = good();
    g.value_mut(r).def = ValueDef::Input;
    let v = expect(&g, "[def] value %2 has def Input");
    assert_eq!(
        v.entity,
        Entity::Value {
            id: r,
            label: "%2".into()
        }
    );
    assert_eq!(v.message, "value %2 has def Input but is not a graph input");
    assert_eq!(v.to_string(), format!("[def] {}", v.message));
}

#[test]
fn rule_ids_are_stable_and_round_trip() {
    let ids: Vec<&str> = Rule::ALL.iter().map(|r| r.id()).collect();
    assert_eq!(
        ids,
        [
            "ids",
            "def",
            "unique",
            "dominance",
            "outputs",
            "arity",
            "types",
            "weights",
            "quant"
        ]
    );
    for r in Rule::ALL {
        assert_eq!(Rule::from_id(r.id()), Some(r));
    }
    assert_eq!(Rule::from_id("typo"), None);
}
