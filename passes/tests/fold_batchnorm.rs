//! fold-batchnorm: the folded graph computes the same as the original on random
//! input (within 1e-5), for every producer kind; and the cases it must refuse.

mod common;
use common::*;
use pare_ir::ops::AutoPad;
use pare_ir::{Graph, Op, Tensor, ValueId};
use pare_passes::Changed;

fn conv(group: i64) -> Op {
    Op::Conv {
        auto_pad: AutoPad::NotSet,
        kernel_shape: vec![3, 3],
        strides: vec![1, 1],
        pads: vec![1, 1, 1, 1],
        dilations: vec![1, 1],
        group,
    }
}

fn conv_transpose(group: i64) -> Op {
    Op::ConvTranspose {
        auto_pad: AutoPad::NotSet,
        kernel_shape: vec![3, 3],
        strides: vec![2, 2],
        pads: vec![1, 1, 1, 1],
        dilations: vec![1, 1],
        group,
        output_padding: vec![1, 1],
        output_shape: vec![],
    }
}

/// BN with `c` channels on `x`; returns the BN output.
fn add_bn(g: &mut Graph, x: ValueId, c: usize, out_shape: &[u64]) -> ValueId {
    let gamma = wf32(g, "gamma", &[c], rand_vec(c, 11));
    let beta = wf32(g, "beta", &[c], rand_vec(c, 12));
    let mean = wf32(g, "mean", &[c], rand_vec(c, 13));
    let var: Vec<f32> = rand_vec(c, 14).iter().map(|v| v.abs() + 0.1).collect();
    let var = wf32(g, "var", &[c], var);
    node1(
        g,
        Op::BatchNormalization { epsilon: 1e-5 },
        &[Some(x), Some(gamma), Some(beta), Some(mean), Some(var)],
        "bn",
        f32t(out_shape),
    )
}

/// Folds and checks the result against the unfolded graph numerically.
fn check_fold(mut g: Graph, input_shape: &[usize]) -> Graph {
    let n: usize = input_shape.iter().product();
    let x = Tensor::from_vec(input_shape.to_vec(), rand_vec(n, 99)).unwrap();
    let before = eval(&g, std::slice::from_ref(&x));
    assert_eq!(run_pass("fold-batchnorm", &mut g), Changed::Yes);
    assert!(
        !g.nodes()
            .any(|(_, n)| matches!(n.op, Op::BatchNormalization { .. })),
        "batch norm left in the graph"
    );
    let after = eval(&g, &[x]);
    let d = max_abs_diff(&before[0], &after[0]);
    assert!(d < 1e-5, "folded output differs by {d}");
    g
}

fn conv_graph(group: i64, bias: bool) -> Graph {
    let mut g = Graph::new("g");
    let x = g.add_input("x", f32t(&[2, 4, 5, 5])).unwrap();
    let cin = 4 / group as usize;
    let w = wf32(&mut g, "w", &[6, cin, 3, 3], rand_vec(6 * cin * 9, 1));
    let b = bias.then(|| wf32(&mut g, "b", &[6], rand_vec(6, 2)));
    let c = node1(
        &mut g,
        conv(group),
        &[Some(x), Some(w), b],
        "c",
        f32t(&[2, 6, 5, 5]),
    );
    let y = add_bn(&mut g, c, 6, &[2, 6, 5, 5]);
    g.outputs.push(y);
    g
}

#[test]
fn conv_without_bias() {
    let g = check_fold(conv_graph(1, false), &[2, 4, 5, 5]);
    let conv = g.node(g.order()[0]);
    assert!(conv.input(2).is_some(), "a bias was added");
    assert_eq!(g.value(g.outputs[0]).name, "bn");
}

#[test]
fn conv_with_bias() {
    check_fold(conv_graph(1, true), &[2, 4, 5, 5]);
}

#[test]
fn grouped_conv() {
    check_fold(conv_graph(2, true), &[2, 4, 5, 5]);
}

#[test]
fn grouped_conv_transpose() {
    let mut g = Graph::new("g");
    let x = g.add_input("x", f32t(&[1, 4, 3, 3])).unwrap();
    // Weight [C_in=4, M/group=3, 3, 3] with group 2: M = 6.
    let w = wf32(&mut g, "w", &[4, 3, 3, 3], rand_vec(4 * 27, 3));
    let c = node1(
        &mut g,
        conv_transpose(2),
        &[Some(x), Some(w)],
        "c",
        f32t(&[1, 6, 6, 6]),
    );
    let y = add_bn(&mut g, c, 6, &[1, 6, 6, 6]);
    g.outputs.push(y);
    check_fold(g, &[1, 4, 3, 3]);
}

fn gemm_graph(trans_b: bool) -> Graph {
    let mut g = Graph::new("g");
    let x = g.add_input("x", f32t(&[3, 5])).unwrap();
    let bshape: &[usize] = if trans_b { &[4, 5] } else { &[5, 4] };
    let b = wf32(&mut g, "b", bshape, rand_vec(20, 4));
    let c = wf32(&mut g, "c", &[1, 4], rand_vec(4, 5));
    let op = Op::Gemm {
        alpha: 0.5,
        beta: 2.0,
        trans_a: false,
        trans_b,
    };
    let y = node1(&mut g, op, &[Some(x), Some(b), Some(c)], "y", f32t(&[3, 4]));
    let z = add_bn(&mut g, y, 4, &[3, 4]);
    g.outputs.push(z);
    g
}

#[test]
fn gemm_with_and_without_trans_b() {
    check_fold(gemm_graph(false), &[3, 5]);
    check_fold(gemm_graph(true), &[3, 5]);
}

#[test]
fn not_folded_when_conv_output_has_another_user() {
    let mut g = conv_graph(1, true);
    let c = g.node(g.order()[0]).outputs[0];
    let r = node1(&mut g, Op::Relu {}, &[Some(c)], "r", f32t(&[2, 6, 5, 5]));
    g.outputs.push(r);
    assert_eq!(run_pass("fold-batchnorm", &mut g), Changed::No);
}

#[test]
fn not_folded_when_conv_output_is_a_graph_output() {
    let mut g = conv_graph(1, false);
    let c = g.node(g.order()[0]).outputs[0];
    g.outputs.push(c);
    assert_eq!(run_pass("fold-batchnorm", &mut g), Changed::No);
}
