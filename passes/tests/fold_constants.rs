//! fold-constants on hand-built graphs.

mod common;
use common::*;
use pare_ir::{DType, Graph, Op, Tensor, TensorType};
use pare_passes::{Changed, PassOptions};

#[test]
fn folds_a_constant_chain_and_keeps_names() {
    let mut g = Graph::new("g");
    let x = g.add_input("x", f32t(&[3])).unwrap();
    let a = wf32(&mut g, "a", &[3], vec![1.0, 2.0, 3.0]);
    let b = wf32(&mut g, "b", &[3], vec![10.0, 20.0, 30.0]);
    let s = node1(&mut g, Op::Add {}, &[Some(a), Some(b)], "s", f32t(&[3]));
    let n = node1(&mut g, Op::Neg {}, &[Some(s)], "n", f32t(&[3]));
    let y = node1(&mut g, Op::Mul {}, &[Some(x), Some(n)], "y", f32t(&[3]));
    g.outputs.push(y);
    assert_eq!(run_pass("fold-constants", &mut g), Changed::Yes);
    assert_eq!(g.order().len(), 1);
    let mul = g.node(g.order()[0]);
    let folded = mul.input(1).unwrap();
    assert_eq!(g.value(folded).name, "n");
    let t = g.weight_of(folded).unwrap().tensor().unwrap();
    assert_eq!(t.as_slice::<f32>().unwrap(), &[-11.0, -22.0, -33.0]);
    assert_eq!(run_pass("fold-constants", &mut g), Changed::No);
}

fn constant_of_shape_graph() -> Graph {
    let mut g = Graph::new("g");
    let shape = weight(
        &mut g,
        "shape",
        Tensor::from_vec(vec![2], vec![4i64, 8]).unwrap(),
    );
    let c = node1(
        &mut g,
        Op::ConstantOfShape {
            dtype: DType::F32,
            value: 1.5,
        },
        &[Some(shape)],
        "c",
        f32t(&[4, 8]),
    );
    g.outputs.push(c);
    g
}

#[test]
fn size_limit_stops_growth() {
    let run = |limit: usize| {
        let mut g = constant_of_shape_graph();
        let mut cx = pare_passes::PassCx::new(PassOptions {
            fold_size_limit: limit,
            ..PassOptions::default()
        });
        let changed = pare_passes::pass_by_name("fold-constants")
            .unwrap()
            .run(&mut g, &mut cx)
            .unwrap();
        (changed, g)
    };
    // 4*8 f32 = 128 bytes: over a 64-byte limit and larger than the 16-byte input.
    assert_eq!(run(64).0, Changed::No);
    let (changed, g) = run(128);
    assert_eq!(changed, Changed::Yes);
    let out = g.weight_of(g.outputs[0]).unwrap().tensor().unwrap();
    assert_eq!(out.as_slice::<f32>().unwrap(), &[1.5; 32]);
    assert_eq!(g.value(g.outputs[0]).name, "c");
}

#[test]
fn dequantize_of_weight_is_kept() {
    let mut g = Graph::new("g");
    let q = weight(
        &mut g,
        "q",
        Tensor::from_vec(vec![2], vec![3i8, -4]).unwrap(),
    );
    let s = wf32(&mut g, "s", &[], vec![0.5]);
    let y = node1(
        &mut g,
        Op::DequantizeLinear {
            axis: 1,
            block_size: 0,
        },
        &[Some(q), Some(s)],
        "y",
        TensorType::fixed(DType::F32, &[2]),
    );
    g.outputs.push(y);
    assert_eq!(run_pass("fold-constants", &mut g), Changed::No);
}
