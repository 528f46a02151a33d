//! Whole-graph interpretation: input checking with symbolic-dim binding, weight
//! decoding, observation of intermediates and node-named errors.

use pare_ir::interp::{run, run_observed, InterpError};
use pare_ir::{DType, Dim, Element, Graph, Op, Tensor, TensorType, ValueId, Weight};

fn t<T: Element>(shape: &[usize], v: Vec<T>) -> Tensor {
    Tensor::from_vec(shape.to_vec(), v).unwrap()
}

fn sym(dtype: DType, dims: &[&str]) -> TensorType {
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

/// y = relu(a + b) * w, then reduce-summed over axis 1: a, b: f32[N,3]; w: f32[3].
fn graph() -> (Graph, Vec<ValueId>) {
    let mut g = Graph::new("g");
    let a = g.add_input("a", sym(DType::F32, &["N", "3"])).unwrap();
    let b = g.add_input("b", sym(DType::F32, &["N", "3"])).unwrap();
    let w = g
        .add_weight("w", Weight::from_tensor(&t(&[3], vec![1.0f32, 2.0, 3.0])))
        .unwrap();
    let axes = g
        .add_weight("axes", Weight::from_tensor(&t(&[1], vec![1i64])))
        .unwrap();
    let ty = sym(DType::F32, &["N", "3"]);
    let (_, s) = g
        .add_node(
            "add",
            Op::Add {},
            vec![Some(a), Some(b)],
            vec![("s".into(), ty.clone())],
        )
        .unwrap();
    let (_, r) = g
        .add_node(
            "relu",
            Op::Relu {},
            vec![Some(s[0])],
            vec![("r".into(), ty.clone())],
        )
        .unwrap();
    let (_, m) = g
        .add_node(
            "mul",
            Op::Mul {},
            vec![Some(r[0]), Some(w)],
            vec![("m".into(), ty)],
        )
        .unwrap();
    let op = Op::ReduceSum {
        keepdims: false,
        noop_with_empty_axes: false,
    };
    let (_, y) = g
        .add_node(
            "sum",
            op,
            vec![Some(m[0]), Some(axes)],
            vec![("y".into(), sym(DType::F32, &["N"]))],
        )
        .unwrap();
    g.outputs = vec![y[0], r[0]];
    (g, vec![s[0], r[0], m[0], y[0]])
}

#[test]
fn runs_a_small_graph() {
    let (g, ids) = graph();
    let a = t(&[2, 3], vec![1.0f32, -2.0, 3.0, 0.0, 1.0, -1.0]);
    let b = t(&[2, 3], vec![0.5f32, 1.0, 1.0, 1.0, 1.0, 1.0]);
    let out = run(&g, &[a.clone(), b.clone()]).unwrap();
    // relu(a+b) = [[1.5,0,4],[1,2,0]]; * [1,2,3] summed = [13.5, 5].
    assert_eq!(out[0], t(&[2], vec![13.5f32, 5.0]));
    assert_eq!(out[1], t(&[2, 3], vec![1.5f32, 0.0, 4.0, 1.0, 2.0, 0.0]));

    let mut seen = Vec::new();
    run_observed(&g, &[a, b], &mut |v, t| seen.push((v, t.shape().to_vec()))).unwrap();
    let ids_seen: Vec<ValueId> = seen.iter().map(|(v, _)| *v).collect();
    assert_eq!(ids_seen, ids);
    assert_eq!(seen[3].1, vec![2]);
}

#[test]
fn checks_inputs_and_binds_symbols() {
    let (g, _) = graph();
    let ok = t(&[2, 3], vec![0.0f32; 6]);
    let e = run(&g, std::slice::from_ref(&ok)).unwrap_err();
    assert!(
        e.to_string().contains("takes 2 inputs, 1 were given"),
        "{e}"
    );

    let other_n = t(&[4, 3], vec![0.0f32; 12]);
    let e = run(&g, &[ok.clone(), other_n]).unwrap_err();
    assert!(
        matches!(&e, InterpError::Input { name, .. } if name == "b"),
        "{e}"
    );
    assert!(
        e.to_string().contains("symbol `N` is already bound to 2"),
        "{e}"
    );

    let wrong_fixed = t(&[2, 4], vec![0.0f32; 8]);
    let e = run(&g, &[wrong_fixed, ok.clone()]).unwrap_err();
    assert!(
        e.to_string().contains("input `a`: dim 1 is 4, expected 3"),
        "{e}"
    );

    let wrong_rank = t(&[6], vec![0.0f32; 6]);
    let e = run(&g, &[ok.clone(), wrong_rank]).unwrap_err();
    assert!(e.to_string().contains("rank 1"), "{e}");

    let wrong_dtype = t(&[2, 3], vec![0i64; 6]);
    let e = run(&g, &[wrong_dtype, ok]).unwrap_err();
    assert!(e.to_string().contains("dtype is i64, expected f32"), "{e}");
}

#[test]
fn kernel_errors_name_the_node() {
    let mut g = Graph::new("bad");
    let x = g
        .add_input("x", TensorType::fixed(DType::I32, &[2]))
        .unwrap();
    let z = g
        .add_weight("z", Weight::from_tensor(&t(&[2], vec![1i32, 0])))
        .unwrap();
    let (_, y) = g
        .add_node(
            "divide",
            Op::Div {},
            vec![Some(x), Some(z)],
            vec![("y".into(), TensorType::fixed(DType::I32, &[2]))],
        )
        .unwrap();
    g.outputs = vec![y[0]];
    let e = run(&g, &[t(&[2], vec![4i32, 5])]).unwrap_err();
    assert!(
        matches!(&e, InterpError::Node { node, op: "div", .. } if node == "divide"),
        "{e}"
    );
    assert!(e.to_string().contains("division by zero"), "{e}");
}

#[test]
fn declared_output_types_are_checked() {
    let mut g = Graph::new("lie");
    let x = g
        .add_input("x", TensorType::fixed(DType::F32, &[2]))
        .unwrap();
    let (_, y) = g
        .add_node(
            "n",
            Op::Relu {},
            vec![Some(x)],
            vec![("y".into(), TensorType::fixed(DType::F32, &[3]))],
        )
        .unwrap();
    g.outputs = vec![y[0]];
    let e = run(&g, &[t(&[2], vec![1.0f32, 2.0])]).unwrap_err();
    assert!(e.to_string().contains("declared type is f32[3]"), "{e}");
}

#[test]
fn outputs_may_be_inputs_or_weights() {
    let mut g = Graph::new("pass");
    let x = g
        .add_input("x", TensorType::fixed(DType::Bool, &[1]))
        .unwrap();
    let w = g
        .add_weight("w", Weight::from_tensor(&Tensor::scalar(3u8)))
        .unwrap();
    g.outputs = vec![w, x];
    let out = run(&g, &[t(&[1], vec![true])]).unwrap();
    assert_eq!(out, vec![Tensor::scalar(3u8), t(&[1], vec![true])]);
}

/// `x: f32[2,3]` and `axes: i64[k]` fed to one node, typed by `infer_graph`.
fn runtime_axes_graph(op: Op, k: u64) -> Graph {
    let mut g = Graph::new("axes");
    let x = g
        .add_input("x", TensorType::fixed(DType::F32, &[2, 3]))
        .unwrap();
    let axes = g
        .add_input("axes", TensorType::fixed(DType::I64, &[k]))
        .unwrap();
    let (_, y) = g
        .add_node(
            "n",
            op,
            vec![Some(x), Some(axes)],
            vec![("y".into(), TensorType::scalar(DType::F32))],
        )
        .unwrap();
    g.outputs = vec![y[0]];
    pare_ir::infer::infer_graph(&mut g).unwrap();
    g
}

#[test]
fn runtime_axes_outputs_fit_their_unknown_dims() {
    let x = t(&[2, 3], vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let g = runtime_axes_graph(Op::Unsqueeze {}, 2);
    assert_eq!(g.ty(g.outputs[0]).to_string(), "f32[_u0,_u1,_u2,_u3]");
    let out = run(&g, &[x.clone(), t(&[2], vec![0i64, -1])]).unwrap();
    assert_eq!(out[0].shape(), &[1, 2, 3, 1]);
    // Repeated axes break the rank inference promised; the kernel refuses them.
    assert!(run(&g, &[x.clone(), t(&[2], vec![1i64, 1])]).is_err());

    let sum = Op::ReduceSum {
        keepdims: false,
        noop_with_empty_axes: false,
    };
    let g = runtime_axes_graph(sum, 1);
    assert_eq!(g.ty(g.outputs[0]).to_string(), "f32[_u0]");
    let out = run(&g, &[x.clone(), t(&[1], vec![0i64])]).unwrap();
    assert_eq!(out[0], t(&[3], vec![5.0f32, 7.0, 9.0]));
    let out = run(&g, &[x, t(&[1], vec![1i64])]).unwrap();
    assert_eq!(out[0], t(&[2], vec![6.0f32, 15.0]));
}
