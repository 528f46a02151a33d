//! Helpers shared by the inference and verifier tests: build one-node graphs from
//! compact type strings and read back inferred types as strings.
#![allow(dead_code)]

use pare_ir::infer::{infer_graph, InferError};
use pare_ir::{DType, Dim, Graph, Op, Tensor, TensorType, ValueId, Weight};

/// `"f32[N,8,32]"` → a type (`[]` is a scalar).
pub fn ty(s: &str) -> TensorType {
    let (dt, rest) = s.split_once('[').expect("type needs `[`");
    let dtype = DType::from_name(dt).expect("dtype");
    let body = rest.strip_suffix(']').expect("type needs `]`");
    let shape = if body.is_empty() {
        Vec::new()
    } else {
        body.split(',')
            .map(|d| match d.parse::<u64>() {
                Ok(n) => Dim::Fixed(n),
                Err(_) => Dim::Sym(d.to_string()),
            })
            .collect()
    };
    TensorType::new(dtype, shape)
}

/// One operand of a test node.
pub enum In {
    /// A graph input of this type.
    T(&'static str),
    /// An i64 weight of rank 1.
    I(Vec<i64>),
    /// An i64 scalar weight.
    IS(i64),
    /// An f32 weight of rank 1.
    F(Vec<f32>),
    /// A weight of this type filled with zeros.
    W(&'static str),
    /// An absent optional input.
    No,
}

pub fn add_in(g: &mut Graph, k: usize, i: &In) -> Option<ValueId> {
    let name = format!("in{k}");
    Some(match i {
        In::T(t) => g.add_input(name, ty(t)).unwrap(),
        In::I(v) => g
            .add_weight(
                name,
                Weight::from_tensor(&Tensor::from_vec(vec![v.len()], v.clone()).unwrap()),
            )
            .unwrap(),
        In::IS(v) => g
            .add_weight(name, Weight::from_tensor(&Tensor::scalar(*v)))
            .unwrap(),
        In::F(v) => g
            .add_weight(
                name,
                Weight::from_tensor(&Tensor::from_vec(vec![v.len()], v.clone()).unwrap()),
            )
            .unwrap(),
        In::W(t) => {
            let t = ty(t);
            let shape = t
                .fixed_shape()
                .unwrap()
                .iter()
                .map(|&d| d as usize)
                .collect();
            g.add_weight(
                name,
                Weight::from_tensor(&Tensor::zeros(t.dtype, shape).unwrap()),
            )
            .unwrap()
        }
        In::No => return None,
    })
}

/// A placeholder output type importers would use before inference.
pub fn placeholder() -> TensorType {
    TensorType::scalar(DType::F32)
}

/// Builds a graph with one node named `node` and runs `infer_graph`.
pub fn build(op: Op, ins: &[In], n_out: usize) -> (Graph, Vec<ValueId>) {
    let mut g = Graph::new("t");
    let inputs: Vec<Option<ValueId>> = ins
        .iter()
        .enumerate()
        .map(|(k, i)| add_in(&mut g, k, i))
        .collect();
    let outs = (0..n_out)
        .map(|k| (format!("out{k}"), placeholder()))
        .collect();
    let (_, outs) = g.add_node("node", op, inputs, outs).unwrap();
    g.outputs = outs.clone();
    (g, outs)
}

/// Output types of one node as strings (`f32[N,4]`), or the error message.
pub fn run(op: Op, ins: &[In], n_out: usize) -> Result<Vec<String>, String> {
    let (mut g, outs) = build(op, ins, n_out);
    infer_graph(&mut g).map_err(|e: InferError| e.to_string())?;
    Ok(outs.iter().map(|&o| g.ty(o).to_string()).collect())
}

/// The single output type as a string; panics with the error otherwise.
pub fn one(op: Op, ins: &[In]) -> String {
    match run(op, ins, 1) {
        Ok(v) => v[0].clone(),
        Err(e) => panic!("inference failed: {e}"),
    }
}

/// The error message; panics if inference succeeded.
pub fn fails(op: Op, ins: &[In], n_out: usize) -> String {
    match run(op, ins, n_out) {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e,
    }
}

/// Asserts `err` contains `needle`.
#[track_caller]
pub fn has(err: &str, needle: &str) {
    assert!(err.contains(needle), "error `{err}` lacks `{needle}`");
}
