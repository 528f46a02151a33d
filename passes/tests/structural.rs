//! dce, remove-identity and the manager on hand-built graphs.

mod common;
use common::*;
use pare_ir::{DType, Graph, Op, Tensor, TensorType};
use pare_passes::{Changed, Pass, PassCx, PassError, PassManager, Pipeline, Step};

#[test]
fn dce_removes_dead_keeps_multi_output_node() {
    let mut g = Graph::new("g");
    let x = g.add_input("x", f32t(&[4])).unwrap();
    let dead = node1(&mut g, Op::Relu {}, &[Some(x)], "dead", f32t(&[4]));
    node1(&mut g, Op::Neg {}, &[Some(dead)], "dead2", f32t(&[4]));
    // TopK: only `indices` is used; the node must stay whole.
    let k = weight(&mut g, "k", Tensor::from_vec(vec![1], vec![2i64]).unwrap());
    let (_, outs) = g
        .add_node(
            "topk",
            Op::TopK {
                axis: 0,
                largest: true,
                sorted: true,
            },
            vec![Some(x), Some(k)],
            vec![
                ("vals".into(), f32t(&[2])),
                ("idx".into(), TensorType::fixed(DType::I64, &[2])),
            ],
        )
        .unwrap();
    g.outputs.push(outs[1]);
    assert_eq!(run_pass("dce", &mut g), Changed::Yes);
    assert_eq!(g.order().len(), 1);
    assert_eq!(g.node(g.order()[0]).op.name(), "top_k");
    assert_eq!(run_pass("dce", &mut g), Changed::No);
}

#[test]
fn identity_on_graph_output_renames_input() {
    let mut g = Graph::new("g");
    let x = g.add_input("x", f32t(&[4])).unwrap();
    let r = node1(&mut g, Op::Relu {}, &[Some(x)], "r", f32t(&[4]));
    let y = node1(&mut g, Op::Identity {}, &[Some(r)], "y", f32t(&[4]));
    g.outputs.push(y);
    assert_eq!(run_pass("remove-identity", &mut g), Changed::Yes);
    assert_eq!(g.order().len(), 1);
    assert_eq!(g.outputs, vec![r]);
    assert_eq!(g.value(r).name, "y");
}

#[test]
fn identity_between_input_and_output_stays() {
    let mut g = Graph::new("g");
    let x = g.add_input("x", f32t(&[4])).unwrap();
    let y = node1(&mut g, Op::Identity {}, &[Some(x)], "y", f32t(&[4]));
    g.outputs.push(y);
    assert_eq!(run_pass("remove-identity", &mut g), Changed::No);
    assert_eq!(g.outputs, vec![y]);
}

#[test]
fn dropout_mask_becomes_constant_when_shape_known() {
    let mut g = Graph::new("g");
    let x = g.add_input("x", f32t(&[2, 3])).unwrap();
    let (_, outs) = g
        .add_node(
            "drop",
            Op::Dropout {},
            vec![Some(x)],
            vec![
                ("y".into(), f32t(&[2, 3])),
                ("mask".into(), TensorType::fixed(DType::Bool, &[2, 3])),
            ],
        )
        .unwrap();
    let r = node1(&mut g, Op::Relu {}, &[Some(outs[0])], "r", f32t(&[2, 3]));
    g.outputs.extend([r, outs[1]]);
    assert_eq!(run_pass("remove-identity", &mut g), Changed::Yes);
    assert_eq!(g.order().len(), 1);
    let mask = g.weight_of(g.outputs[1]).expect("mask is a weight");
    assert_eq!(
        mask.tensor().unwrap().as_slice::<bool>().unwrap(),
        &[true; 6]
    );
    assert_eq!(g.value(g.outputs[1]).name, "mask");
}

#[test]
fn dropout_mask_with_symbolic_shape_keeps_node() {
    let mut g = Graph::new("g");
    let x = g.add_input("x", sym(DType::F32, &["N", "3"])).unwrap();
    let (_, outs) = g
        .add_node(
            "drop",
            Op::Dropout {},
            vec![Some(x)],
            vec![
                ("y".into(), sym(DType::F32, &["N", "3"])),
                ("mask".into(), sym(DType::Bool, &["N", "3"])),
            ],
        )
        .unwrap();
    let r = node1(
        &mut g,
        Op::Relu {},
        &[Some(outs[0])],
        "r",
        sym(DType::F32, &["N", "3"]),
    );
    g.outputs.extend([r, outs[1]]);
    assert_eq!(run_pass("remove-identity", &mut g), Changed::No);
}

/// A pass that claims a change every time: the fixpoint cap must stop it.
struct AlwaysChanged;
impl Pass for AlwaysChanged {
    fn name(&self) -> &'static str {
        "always-changed"
    }
    fn run(&mut self, _g: &mut Graph, _cx: &mut PassCx) -> Result<Changed, PassError> {
        Ok(Changed::Yes)
    }
}

fn tiny() -> Graph {
    let mut g = Graph::new("g");
    let x = g.add_input("x", f32t(&[4])).unwrap();
    let y = node1(&mut g, Op::Relu {}, &[Some(x)], "y", f32t(&[4]));
    g.outputs.push(y);
    g
}

#[test]
fn fixpoint_cap_is_an_error() {
    let mut g = tiny();
    let mut p = Pipeline::new("loop", vec![Step::Fixpoint(vec![Box::new(AlwaysChanged)])]);
    let err = PassManager::new()
        .run(&mut p, &mut g, &mut cx())
        .unwrap_err();
    assert!(matches!(err, PassError::NoFixpoint { .. }), "{err}");
    assert!(err.to_string().contains("always-changed"), "{err}");
}

#[test]
fn print_after_all_sees_every_pass() {
    let mut g = tiny();
    let mut seen = Vec::new();
    let mut p = pare_passes::pipeline("cleanup").unwrap();
    let changed = PassManager::new()
        .print_after_all(|name, g| seen.push((name.to_string(), g.order().len())))
        .run(&mut p, &mut g, &mut cx())
        .unwrap();
    assert_eq!(changed, Changed::No);
    let names: Vec<&str> = seen.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "remove-identity",
            "fold-constants",
            "fold-shapes",
            "keep-reduced-dims",
            "fold-batchnorm",
            "fold-affine",
            "dce",
            "fuse-layer-norm",
            "fuse-gelu",
            "fuse-softmax",
            "fuse-activations",
            "dce"
        ]
    );
}

#[test]
fn registry_knows_every_pass() {
    for name in pare_passes::pass_names() {
        let info = pare_passes::registry::pass_info(name).unwrap();
        match pare_passes::pass_by_name(name) {
            Some(p) => assert_eq!(p.name(), *name),
            // Only a pass with a required option (mixed-precision's budget)
            // cannot be built from its name alone.
            None => assert!(info.options.iter().any(|o| o.default.is_none()), "{name}"),
        }
    }
    assert!(pare_passes::pass_by_name("nope").is_none());
    assert!(pare_passes::pipeline_from_names(&["dce", "nope"]).is_err());
    assert!(pare_passes::pipeline("nope").is_none());
}

/// A pass that leaves quantization parameters on a float graph input, or an
/// extra input on the relu: the manager's checks must blame it, with the
/// verifier's or inference's typed error as the source.
struct Breaks(&'static str);
impl Pass for Breaks {
    fn name(&self) -> &'static str {
        self.0
    }
    fn run(&mut self, g: &mut Graph, _cx: &mut PassCx) -> Result<Changed, PassError> {
        let x = g.inputs[0];
        if self.0 == "bad-quant" {
            g.value_mut(x).ty.quant = Some(pare_ir::QParams {
                bits: 8,
                signed: true,
                scale: vec![0.5],
                zero_point: vec![0],
                axis: None,
            });
        } else {
            let relu = g.order()[0];
            g.node_mut(relu).inputs.push(Some(x));
        }
        Ok(Changed::Yes)
    }
}

#[test]
fn pass_errors_carry_typed_verifier_and_inference_errors() {
    let run = |name: &'static str| {
        let mut p = Pipeline::new(name, vec![Step::Once(Box::new(Breaks(name)))]);
        PassManager::new()
            .run(&mut p, &mut tiny(), &mut cx())
            .unwrap_err()
    };
    let err = run("bad-quant");
    let PassError::Verify { pass, source } = &err else {
        panic!("not a verifier error: {err}")
    };
    assert_eq!(pass, "bad-quant");
    assert!(source.breaks(pare_ir::verify::Rule::Quant), "{source}");
    assert!(
        err.to_string()
            .starts_with("graph does not verify after pass `bad-quant`: [quant] value %0"),
        "{err}"
    );
    let err = run("bad-arity");
    assert!(
        matches!(&err, PassError::Infer { pass, .. } if pass == "bad-arity"),
        "{err}"
    );
    let source = std::error::Error::source(&err).expect("a source");
    assert!(source.is::<pare_ir::infer::InferError>(), "{source}");
}
