//! Interpreter kernels: softmax family, reductions, ArgMax/ArgMin, CumSum and TopK.

use pare_ir::interp::eval_op;
use pare_ir::{Element, Op, Tensor};

fn t<T: Element>(shape: &[usize], v: Vec<T>) -> Tensor {
    Tensor::from_vec(shape.to_vec(), v).unwrap()
}

fn run(op: Op, inputs: &[Option<&Tensor>], n: usize) -> Vec<Tensor> {
    eval_op(&op, inputs, n).unwrap()
}

fn fails(op: Op, inputs: &[Option<&Tensor>], n: usize) -> String {
    match eval_op(&op, inputs, n) {
        Err(e) => e.to_string(),
        Ok(v) => panic!("{op:?} should fail, got {v:?}"),
    }
}

fn close(got: &Tensor, want: &[f64]) {
    let g = got.to_f64_vec();
    assert_eq!(g.len(), want.len(), "{got:?}");
    for (a, b) in g.iter().zip(want) {
        let ok = a == b || (a - b).abs() <= 1e-6 * (1.0 + b.abs());
        assert!(ok, "got {g:?}, want {want:?}");
    }
}

fn x23() -> Tensor {
    t(&[2, 3], vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0])
}

#[test]
fn softmax_family() {
    let x = x23();
    // numpy reference values.
    let sm = [0.09003057, 0.24472846, 0.66524094];
    let y = &run(
        Op::Softmax {
            axis: -1,
            coerce_2d: false,
        },
        &[Some(&x)],
        1,
    )[0];
    close(y, &[sm[0], sm[1], sm[2], sm[0], sm[1], sm[2]]);
    let y = &run(
        Op::LogSoftmax {
            axis: 1,
            coerce_2d: false,
        },
        &[Some(&x)],
        1,
    )[0];
    close(
        y,
        &[
            -2.40760589,
            -1.40760601,
            -0.40760598,
            -2.40760589,
            -1.40760601,
            -0.40760598,
        ],
    );
    // coerce_2d at axis 0 normalizes over all six elements.
    let y = &run(
        Op::Softmax {
            axis: 0,
            coerce_2d: true,
        },
        &[Some(&x)],
        1,
    )[0];
    close(
        y,
        &[
            0.00426978, 0.01160646, 0.03154963, 0.08576079, 0.23312199, 0.63369131,
        ],
    );
    let h = t(&[2, 3], vec![3.0f32, 1.0, 3.0, 0.0, 0.0, -1.0]);
    let y = &run(
        Op::Hardmax {
            axis: 1,
            coerce_2d: false,
        },
        &[Some(&h)],
        1,
    )[0];
    close(y, &[1.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
    assert!(fails(
        Op::Softmax {
            axis: 2,
            coerce_2d: false
        },
        &[Some(&x)],
        1
    )
    .contains("axis 2"));
    let i = t(&[1], vec![1i32]);
    assert!(fails(
        Op::Softmax {
            axis: 0,
            coerce_2d: false
        },
        &[Some(&i)],
        1
    )
    .contains("i32"));
}

fn red(op: fn(bool, bool) -> Op, keep: bool, x: &Tensor, axes: Option<&Tensor>) -> Tensor {
    run(op(keep, false), &[Some(x), axes], 1).remove(0)
}

#[test]
fn reductions() {
    let x = x23();
    let ax1 = t(&[1], vec![1i64]);
    let axn = t(&[1], vec![-2i64]);
    let sum = |k, n| Op::ReduceSum {
        keepdims: k,
        noop_with_empty_axes: n,
    };
    let y = red(sum, true, &x, Some(&ax1));
    assert_eq!(y, t(&[2, 1], vec![6.0f32, 15.0]));
    let y = red(sum, false, &x, Some(&axn));
    assert_eq!(y, t(&[3], vec![5.0f32, 7.0, 9.0]));
    // No axes: reduce everything (or nothing with noop_with_empty_axes).
    assert_eq!(red(sum, false, &x, None), Tensor::scalar(21.0f32));
    let y = run(
        Op::ReduceSum {
            keepdims: true,
            noop_with_empty_axes: true,
        },
        &[Some(&x)],
        1,
    );
    assert_eq!(y[0], x);
    let mean = |k, n| Op::ReduceMean {
        keepdims: k,
        noop_with_empty_axes: n,
    };
    assert_eq!(red(mean, false, &x, Some(&ax1)), t(&[2], vec![2.0f32, 5.0]));
    let l2 = |k, n| Op::ReduceL2 {
        keepdims: k,
        noop_with_empty_axes: n,
    };
    close(&red(l2, false, &x, Some(&ax1)), &[3.74165750, 8.77496433]);
    let lse = |k, n| Op::ReduceLogSumExp {
        keepdims: k,
        noop_with_empty_axes: n,
    };
    close(
        &red(lse, false, &x, Some(&t(&[1], vec![0i64]))),
        &[4.04858732, 5.04858732, 6.04858732],
    );
    let prod = |k, n| Op::ReduceProd {
        keepdims: k,
        noop_with_empty_axes: n,
    };
    assert_eq!(red(prod, false, &x, None), Tensor::scalar(720.0f32));
    let l1 = |k, n| Op::ReduceL1 {
        keepdims: k,
        noop_with_empty_axes: n,
    };
    let neg = t(&[3], vec![-1i32, 2, -3]);
    assert_eq!(red(l1, false, &neg, None), Tensor::scalar(6i32));
    let ss = |k, n| Op::ReduceSumSquare {
        keepdims: k,
        noop_with_empty_axes: n,
    };
    assert_eq!(red(ss, false, &neg, None), Tensor::scalar(14i32));
    let max = |k, n| Op::ReduceMax {
        keepdims: k,
        noop_with_empty_axes: n,
    };
    assert_eq!(red(max, false, &neg, None), Tensor::scalar(2i32));
    let ls = |k, n| Op::ReduceLogSum {
        keepdims: k,
        noop_with_empty_axes: n,
    };
    close(&red(ls, false, &x, None), &[21f64.ln()]);

    // Empty reductions give the identity.
    let e = t(&[2, 0], Vec::<f32>::new());
    assert_eq!(red(sum, false, &e, Some(&ax1)), t(&[2], vec![0.0f32, 0.0]));
    assert_eq!(red(prod, false, &e, Some(&ax1)), t(&[2], vec![1.0f32, 1.0]));
    assert_eq!(
        red(max, true, &e, Some(&ax1)),
        t(&[2, 1], vec![f32::NEG_INFINITY; 2])
    );
    let min = |k, n| Op::ReduceMin {
        keepdims: k,
        noop_with_empty_axes: n,
    };
    assert_eq!(
        red(min, false, &e, Some(&ax1)),
        t(&[2], vec![f32::INFINITY; 2])
    );

    let dup = t(&[2], vec![1i64, -1]);
    assert!(fails(sum(false, false), &[Some(&x), Some(&dup)], 1).contains("twice"));
    let bad = t(&[1], vec![2i64]);
    assert!(fails(sum(false, false), &[Some(&x), Some(&bad)], 1).contains("out of range"));
    let fax = t(&[1], vec![1.0f32]);
    assert!(fails(sum(false, false), &[Some(&x), Some(&fax)], 1).contains("int64"));
}

#[test]
fn argmax_argmin() {
    let x = t(&[2, 3], vec![1.0f32, 5.0, 5.0, 7.0, 0.0, 0.0]);
    let y = &run(
        Op::ArgMax {
            axis: 1,
            keepdims: true,
            select_last_index: false,
        },
        &[Some(&x)],
        1,
    )[0];
    assert_eq!(*y, t(&[2, 1], vec![1i64, 0]));
    let y = &run(
        Op::ArgMax {
            axis: 1,
            keepdims: false,
            select_last_index: true,
        },
        &[Some(&x)],
        1,
    )[0];
    assert_eq!(*y, t(&[2], vec![2i64, 0]));
    let y = &run(
        Op::ArgMin {
            axis: -1,
            keepdims: false,
            select_last_index: true,
        },
        &[Some(&x)],
        1,
    )[0];
    assert_eq!(*y, t(&[2], vec![0i64, 2]));
    let y = &run(
        Op::ArgMin {
            axis: 0,
            keepdims: false,
            select_last_index: false,
        },
        &[Some(&x)],
        1,
    )[0];
    assert_eq!(*y, t(&[3], vec![0i64, 1, 1]));
    let z = t(&[0, 2], Vec::<f32>::new());
    let y = &run(
        Op::ArgMax {
            axis: 1,
            keepdims: false,
            select_last_index: false,
        },
        &[Some(&z)],
        1,
    )[0];
    assert_eq!(y.shape(), &[0]);
    let w = t(&[2, 0], Vec::<f32>::new());
    assert!(fails(
        Op::ArgMax {
            axis: 1,
            keepdims: false,
            select_last_index: false
        },
        &[Some(&w)],
        1
    )
    .contains("size 0"));
}

#[test]
fn cumsum_variants() {
    let x = t(&[2, 3], vec![1i64, 2, 3, 4, 5, 6]);
    let ax = Tensor::scalar(1i32);
    let cs = |exclusive, reverse| Op::CumSum { exclusive, reverse };
    assert_eq!(
        run(cs(false, false), &[Some(&x), Some(&ax)], 1)[0],
        t(&[2, 3], vec![1i64, 3, 6, 4, 9, 15])
    );
    assert_eq!(
        run(cs(true, false), &[Some(&x), Some(&ax)], 1)[0],
        t(&[2, 3], vec![0i64, 1, 3, 0, 4, 9])
    );
    assert_eq!(
        run(cs(false, true), &[Some(&x), Some(&ax)], 1)[0],
        t(&[2, 3], vec![6i64, 5, 3, 15, 11, 6])
    );
    assert_eq!(
        run(cs(true, true), &[Some(&x), Some(&ax)], 1)[0],
        t(&[2, 3], vec![5i64, 3, 0, 11, 6, 0])
    );
    let a0 = t(&[1], vec![0i64]);
    assert_eq!(
        run(cs(false, false), &[Some(&x), Some(&a0)], 1)[0],
        t(&[2, 3], vec![1i64, 2, 3, 5, 7, 9])
    );
    let bad = t(&[2], vec![0i64, 1]);
    assert!(fails(cs(false, false), &[Some(&x), Some(&bad)], 1).contains("one value"));
}

#[test]
fn topk_is_stable() {
    let x = t(&[2, 4], vec![1.0f32, 3.0, 3.0, 2.0, 0.0, -1.0, 5.0, 0.0]);
    let k = t(&[1], vec![2i64]);
    let y = run(
        Op::TopK {
            axis: -1,
            largest: true,
            sorted: true,
        },
        &[Some(&x), Some(&k)],
        2,
    );
    assert_eq!(y[0], t(&[2, 2], vec![3.0f32, 3.0, 5.0, 0.0]));
    assert_eq!(y[1], t(&[2, 2], vec![1i64, 2, 2, 0]));
    let y = run(
        Op::TopK {
            axis: 1,
            largest: false,
            sorted: true,
        },
        &[Some(&x), Some(&k)],
        2,
    );
    assert_eq!(y[0], t(&[2, 2], vec![1.0f32, 2.0, -1.0, 0.0]));
    assert_eq!(y[1], t(&[2, 2], vec![0i64, 3, 1, 0]));
    let k0 = t(&[2], vec![3i64, 0]);
    let y = run(
        Op::TopK {
            axis: 0,
            largest: true,
            sorted: true,
        },
        &[Some(&x), Some(&t(&[1], vec![1i64]))],
        2,
    );
    assert_eq!(y[1], t(&[1, 4], vec![0i64, 0, 1, 0]));
    assert!(fails(
        Op::TopK {
            axis: 1,
            largest: true,
            sorted: true
        },
        &[Some(&x), Some(&k0)],
        2
    )
    .contains("one value"));
    let k9 = t(&[1], vec![9i64]);
    assert!(fails(
        Op::TopK {
            axis: 1,
            largest: true,
            sorted: true
        },
        &[Some(&x), Some(&k9)],
        2
    )
    .contains("outside"));
    assert!(fails(
        Op::TopK {
            axis: 1,
            largest: true,
            sorted: true
        },
        &[Some(&x), Some(&k)],
        1
    )
    .contains("outputs"));
}

#[test]
fn bool_max_min_are_any_all() {
    let x = t(&[2, 2], vec![true, false, false, false]);
    let ax = t(&[1], vec![1i64]);
    let max = Op::ReduceMax {
        keepdims: false,
        noop_with_empty_axes: false,
    };
    let min = Op::ReduceMin {
        keepdims: false,
        noop_with_empty_axes: false,
    };
    assert_eq!(
        run(max, &[Some(&x), Some(&ax)], 1)[0],
        t(&[2], vec![true, false])
    );
    assert_eq!(
        run(min, &[Some(&x), Some(&ax)], 1)[0],
        t(&[2], vec![false, false])
    );
    let sum = Op::ReduceSum {
        keepdims: false,
        noop_with_empty_axes: false,
    };
    assert!(fails(sum, &[Some(&x)], 1).contains("bool"));
}
