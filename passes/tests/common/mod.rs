//! Helpers for building small graphs by hand and evaluating them node by node.
#![allow(dead_code)]

use pare_ir::{DType, Dim, Graph, Op, Tensor, TensorType, ValueId, Weight};
use pare_passes::{Changed, PassCx, PassOptions};

pub fn f32t(shape: &[u64]) -> TensorType {
    TensorType::fixed(DType::F32, shape)
}

pub fn sym(dtype: DType, dims: &[&str]) -> TensorType {
    TensorType::new(
        dtype,
        dims.iter()
            .map(|d| match d.parse::<u64>() {
                Ok(n) => Dim::Fixed(n),
                Err(_) => Dim::Sym(d.to_string()),
            })
            .collect(),
    )
}

pub fn weight(g: &mut Graph, name: &str, t: Tensor) -> ValueId {
    g.add_weight(name, Weight::from_tensor(&t)).unwrap()
}

pub fn wf32(g: &mut Graph, name: &str, shape: &[usize], v: Vec<f32>) -> ValueId {
    weight(g, name, Tensor::from_vec(shape.to_vec(), v).unwrap())
}

/// Adds a one-output node; returns the output.
pub fn node1(
    g: &mut Graph,
    op: Op,
    inputs: &[Option<ValueId>],
    out: &str,
    ty: TensorType,
) -> ValueId {
    g.add_node(out, op, inputs.to_vec(), vec![(out.to_string(), ty)])
        .unwrap()
        .1[0]
}

/// Deterministic pseudo-random floats in [-1, 1) (xorshift), so tests need no rng crate.
pub fn rand_vec(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E3779B97F4A7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

pub fn cx() -> PassCx {
    PassCx::new(PassOptions {
        verify: true,
        ..PassOptions::default()
    })
}

/// Runs one pass by name directly.
pub fn run_pass(name: &str, g: &mut Graph) -> Changed {
    let mut p = pare_passes::pass_by_name(name).unwrap();
    p.run(g, &mut cx()).unwrap()
}

/// Evaluates `g` on `inputs` (one per graph input) with the interpreter's
/// per-op kernels, returning the graph outputs.
pub fn eval(g: &Graph, inputs: &[Tensor]) -> Vec<Tensor> {
    let mut vals: Vec<Option<Tensor>> = vec![None; g.value_count()];
    for (&v, t) in g.inputs.iter().zip(inputs) {
        vals[v.index()] = Some(t.clone());
    }
    for (v, _) in g.values() {
        if let Some(w) = g.weight_of(v) {
            vals[v.index()] = Some(w.tensor().unwrap());
        }
    }
    for (_, n) in g.nodes() {
        let ins: Vec<Option<&Tensor>> = n
            .inputs
            .iter()
            .map(|i| i.map(|v| vals[v.index()].as_ref().expect("input computed")))
            .collect();
        let outs = pare_ir::interp::eval_op(&n.op, &ins, n.outputs.len()).unwrap();
        for (&o, t) in n.outputs.iter().zip(outs) {
            vals[o.index()] = Some(t);
        }
    }
    g.outputs
        .iter()
        .map(|o| vals[o.index()].clone().unwrap())
        .collect()
}

pub fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    assert_eq!(a.shape(), b.shape());
    a.to_f64_vec()
        .iter()
        .zip(b.to_f64_vec())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// Deterministic standard-normal floats (Box-Muller over xorshift), so tests need no rng crate.
pub fn gauss_vec(n: usize, seed: u64) -> Vec<f32> {
    let u = rand_vec(n + 1, seed ^ 0xA5A5);
    let v = rand_vec(n + 1, seed ^ 0x5A5A_0000);
    (0..n)
        .map(|i| {
            // Map [-1, 1) to (0, 1] for the log.
            let a = (1.0 - (f64::from(u[i]) + 1.0) / 2.0).max(1e-12);
            let b = (f64::from(v[i]) + 1.0) / 2.0;
            ((-2.0 * a.ln()).sqrt() * (std::f64::consts::TAU * b).cos()) as f32
        })
        .collect()
}
