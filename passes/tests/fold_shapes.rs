//! fold-shapes: PyTorch's dynamic-batch flatten chain becomes a constant reshape,
//! and shapes of fixed-shape tensors become weights.

mod common;
use common::*;
use pare_ir::{DType, Graph, Op, Tensor, TensorType};
use pare_passes::{Changed, PassManager};

fn i64s(g: &mut Graph, name: &str, v: Vec<i64>) -> pare_ir::ValueId {
    weight(g, name, Tensor::from_vec(vec![v.len()], v).unwrap())
}

/// `reshape(x, concat(unsqueeze(gather(shape(x), 0)), [-1]))` with x: [N,3,4].
fn flatten_chain() -> Graph {
    let mut g = Graph::new("g");
    let x = g.add_input("x", sym(DType::F32, &["N", "3", "4"])).unwrap();
    let i64t = |s: &[u64]| TensorType::fixed(DType::I64, s);
    let s = node1(
        &mut g,
        Op::Shape {
            start: 0,
            end: None,
        },
        &[Some(x)],
        "s",
        i64t(&[3]),
    );
    let zero = weight(&mut g, "zero", Tensor::scalar(0i64));
    let b = node1(
        &mut g,
        Op::Gather { axis: 0 },
        &[Some(s), Some(zero)],
        "b",
        i64t(&[]),
    );
    let axes = i64s(&mut g, "axes", vec![0]);
    let bu = node1(
        &mut g,
        Op::Unsqueeze {},
        &[Some(b), Some(axes)],
        "bu",
        i64t(&[1]),
    );
    let minus1 = i64s(&mut g, "minus1", vec![-1]);
    let shape = node1(
        &mut g,
        Op::Concat { axis: 0 },
        &[Some(bu), Some(minus1)],
        "shape",
        i64t(&[2]),
    );
    let y = node1(
        &mut g,
        Op::Reshape { allowzero: false },
        &[Some(x), Some(shape)],
        "y",
        sym(DType::F32, &["N", "12"]),
    );
    g.outputs.push(y);
    g
}

#[test]
fn symbolic_batch_flatten_becomes_constant_reshape() {
    let mut g = flatten_chain();
    let x = Tensor::from_vec(vec![2, 3, 4], rand_vec(24, 7)).unwrap();
    let before = eval(&g, std::slice::from_ref(&x));
    let mut p = pare_passes::pipeline("cleanup").unwrap();
    assert_eq!(
        PassManager::new().run(&mut p, &mut g, &mut cx()).unwrap(),
        Changed::Yes
    );
    assert_eq!(g.order().len(), 1, "only the reshape is left");
    let reshape = g.node(g.order()[0]);
    let shape = g
        .weight_of(reshape.input(1).unwrap())
        .unwrap()
        .tensor()
        .unwrap();
    assert_eq!(shape.to_i64_vec(), vec![0, -1]);
    let after = eval(&g, &[x]);
    assert_eq!(before, after);
}

#[test]
fn shape_of_fixed_tensor_becomes_weight() {
    let mut g = Graph::new("g");
    let x = g.add_input("x", f32t(&[2, 3])).unwrap();
    let s = node1(
        &mut g,
        Op::Shape {
            start: 0,
            end: None,
        },
        &[Some(x)],
        "s",
        TensorType::fixed(DType::I64, &[2]),
    );
    g.outputs.push(s);
    assert_eq!(run_pass("fold-shapes", &mut g), Changed::Yes);
    let w = g.weight_of(g.outputs[0]).expect("output is now a weight");
    assert_eq!(w.tensor().unwrap().to_i64_vec(), vec![2, 3]);
    assert_eq!(g.value(g.outputs[0]).name, "s");
    // The replaced value is unused now: nothing more to do.
    assert_eq!(run_pass("fold-shapes", &mut g), Changed::No);
}
