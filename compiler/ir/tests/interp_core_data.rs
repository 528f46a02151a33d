//! Interpreter kernels: shape ops, data movement, gather/scatter, generators and
//! quantization, with numpy-computed expectations and their error paths.

use pare_ir::interp::eval_op;
use pare_ir::ops::{DepthToSpaceMode, PadMode, ScatterReduction};
use pare_ir::{DType, Element, Op, Tensor};

fn t<T: Element>(shape: &[usize], v: Vec<T>) -> Tensor {
    Tensor::from_vec(shape.to_vec(), v).unwrap()
}

fn i64s(v: &[i64]) -> Tensor {
    t(&[v.len()], v.to_vec())
}

fn run(op: Op, inputs: &[Option<&Tensor>]) -> Tensor {
    eval_op(&op, inputs, 1).unwrap().remove(0)
}

fn fails(op: Op, inputs: &[Option<&Tensor>], n: usize) -> String {
    match eval_op(&op, inputs, n) {
        Err(e) => e.to_string(),
        Ok(v) => panic!("{op:?} should fail, got {v:?}"),
    }
}

fn ar(shape: &[usize]) -> Tensor {
    let n = shape.iter().product::<usize>() as i64;
    t(shape, (0..n).collect())
}

#[test]
fn shape_size_reshape_flatten() {
    let x = ar(&[2, 3, 4]);
    assert_eq!(
        run(
            Op::Shape {
                start: 0,
                end: None
            },
            &[Some(&x)]
        ),
        i64s(&[2, 3, 4])
    );
    assert_eq!(
        run(
            Op::Shape {
                start: -2,
                end: Some(10)
            },
            &[Some(&x)]
        ),
        i64s(&[3, 4])
    );
    assert_eq!(
        run(
            Op::Shape {
                start: 2,
                end: Some(1)
            },
            &[Some(&x)]
        ),
        i64s(&[])
    );
    assert_eq!(run(Op::Size {}, &[Some(&x)]), Tensor::scalar(24i64));
    let r = run(
        Op::Reshape { allowzero: false },
        &[Some(&x), Some(&i64s(&[0, -1]))],
    );
    assert_eq!(r.shape(), &[2, 12]);
    let e = ar(&[0, 3]);
    let r = run(
        Op::Reshape { allowzero: true },
        &[Some(&e), Some(&i64s(&[3, 0]))],
    );
    assert_eq!(r.shape(), &[3, 0]);
    assert!(fails(
        Op::Reshape { allowzero: false },
        &[Some(&x), Some(&i64s(&[-1, -1]))],
        1
    )
    .contains("more than one -1"));
    assert!(fails(
        Op::Reshape { allowzero: false },
        &[Some(&x), Some(&i64s(&[5, -1]))],
        1
    )
    .contains("cannot infer"));
    assert!(fails(
        Op::Reshape { allowzero: false },
        &[Some(&x), Some(&i64s(&[5, 5]))],
        1
    )
    .contains("holds 25"));
    assert!(fails(
        Op::Reshape { allowzero: false },
        &[Some(&x), Some(&i64s(&[-2, 12]))],
        1
    )
    .contains("negative"));
    assert_eq!(run(Op::Flatten { axis: 2 }, &[Some(&x)]).shape(), &[6, 4]);
    assert_eq!(run(Op::Flatten { axis: 0 }, &[Some(&x)]).shape(), &[1, 24]);
    assert_eq!(run(Op::Flatten { axis: -3 }, &[Some(&x)]).shape(), &[1, 24]);
    assert!(fails(Op::Flatten { axis: 4 }, &[Some(&x)], 1).contains("out of range"));
}

#[test]
fn transpose_squeeze_unsqueeze() {
    let x = ar(&[2, 3]);
    assert_eq!(
        run(Op::Transpose { perm: None }, &[Some(&x)]),
        t(&[3, 2], vec![0i64, 3, 1, 4, 2, 5])
    );
    let y = ar(&[2, 3, 4]);
    let z = run(
        Op::Transpose {
            perm: Some(vec![1, 2, 0]),
        },
        &[Some(&y)],
    );
    assert_eq!(z.shape(), &[3, 4, 2]);
    // z[i][j][k] = y[k][i][j]
    assert_eq!(z.as_slice::<i64>().unwrap()[..4], [0, 12, 1, 13]);
    assert!(fails(
        Op::Transpose {
            perm: Some(vec![0, 0, 1])
        },
        &[Some(&y)],
        1
    )
    .contains("not a permutation"));
    assert!(fails(
        Op::Transpose {
            perm: Some(vec![0, 1])
        },
        &[Some(&y)],
        1
    )
    .contains("length"));

    let s = ar(&[1, 3, 1]);
    assert_eq!(run(Op::Squeeze {}, &[Some(&s)]).shape(), &[3]);
    assert_eq!(
        run(Op::Squeeze {}, &[Some(&s), Some(&i64s(&[-1]))]).shape(),
        &[1, 3]
    );
    assert!(fails(Op::Squeeze {}, &[Some(&s), Some(&i64s(&[1]))], 1).contains("size 3"));
    assert_eq!(
        run(Op::Unsqueeze {}, &[Some(&x), Some(&i64s(&[0, -1]))]).shape(),
        &[1, 2, 3, 1]
    );
    assert_eq!(
        run(Op::Unsqueeze {}, &[Some(&x), Some(&i64s(&[1]))]).shape(),
        &[2, 1, 3]
    );
    assert!(fails(Op::Unsqueeze {}, &[Some(&x), Some(&i64s(&[0, 0]))], 1).contains("twice"));
    assert!(fails(Op::Unsqueeze {}, &[Some(&x)], 1).contains("required"));
}

#[test]
fn concat_and_split() {
    let a = ar(&[2, 1]);
    let b = t(&[2, 2], vec![10i64, 11, 12, 13]);
    let empty = t(&[2, 0], Vec::<i64>::new());
    let c = run(Op::Concat { axis: -1 }, &[Some(&a), Some(&empty), Some(&b)]);
    assert_eq!(c, t(&[2, 3], vec![0i64, 10, 11, 1, 12, 13]));
    assert!(fails(Op::Concat { axis: 0 }, &[Some(&a), Some(&b)], 1).contains("incompatible"));
    let f = t(&[2, 1], vec![0.0f32, 1.0]);
    assert!(fails(Op::Concat { axis: 1 }, &[Some(&a), Some(&f)], 1).contains("dtype"));

    let x = ar(&[2, 5]);
    let parts = eval_op(
        &Op::Split {
            axis: 1,
            num_outputs: None,
        },
        &[Some(&x), Some(&i64s(&[2, 3]))],
        2,
    )
    .unwrap();
    assert_eq!(parts[0], t(&[2, 2], vec![0i64, 1, 5, 6]));
    assert_eq!(parts[1], t(&[2, 3], vec![2i64, 3, 4, 7, 8, 9]));
    // num_outputs: ceil-sized pieces, the last one smaller.
    let parts = eval_op(
        &Op::Split {
            axis: 1,
            num_outputs: Some(3),
        },
        &[Some(&x)],
        3,
    )
    .unwrap();
    let shapes: Vec<&[usize]> = parts.iter().map(|p| p.shape()).collect();
    assert_eq!(shapes, vec![&[2, 2][..], &[2, 2], &[2, 1]]);
    let parts = eval_op(
        &Op::Split {
            axis: 0,
            num_outputs: None,
        },
        &[Some(&x)],
        2,
    )
    .unwrap();
    assert_eq!(parts[1], t(&[1, 5], vec![5i64, 6, 7, 8, 9]));
    assert!(fails(
        Op::Split {
            axis: 1,
            num_outputs: None
        },
        &[Some(&x), Some(&i64s(&[2, 2]))],
        2
    )
    .contains("add up"));
    assert!(fails(
        Op::Split {
            axis: 1,
            num_outputs: None
        },
        &[Some(&x), Some(&i64s(&[5]))],
        2
    )
    .contains("outputs requested"));
}

#[test]
fn expand_and_tile() {
    let x = t(&[3, 1], vec![1i32, 2, 3]);
    let y = run(Op::Expand {}, &[Some(&x), Some(&i64s(&[2, 1, 2]))]);
    assert_eq!(
        y,
        t(&[2, 3, 2], vec![1i32, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3])
    );
    // A 1 in the requested shape keeps the input's size.
    let y = run(Op::Expand {}, &[Some(&x), Some(&i64s(&[1, 1]))]);
    assert_eq!(y, x);
    assert!(fails(Op::Expand {}, &[Some(&x), Some(&i64s(&[2, 2]))], 1).contains("cannot expand"));
    let huge = i64s(&[1 << 30, 3, 1 << 10]);
    assert!(fails(Op::Expand {}, &[Some(&x), Some(&huge)], 1).contains("too large"));

    let y = run(Op::Tile {}, &[Some(&x), Some(&i64s(&[1, 2]))]);
    assert_eq!(y, t(&[3, 2], vec![1i32, 1, 2, 2, 3, 3]));
    let y = run(Op::Tile {}, &[Some(&ar(&[2])), Some(&i64s(&[3]))]);
    assert_eq!(y, t(&[6], vec![0i64, 1, 0, 1, 0, 1]));
    assert!(fails(Op::Tile {}, &[Some(&x), Some(&i64s(&[2]))], 1).contains("repeats"));
    assert!(fails(
        Op::Tile {},
        &[Some(&x), Some(&i64s(&[1 << 40, 1 << 30]))],
        1
    )
    .contains("too large"));
}

#[test]
fn slice_rules() {
    let x = ar(&[3, 4]);
    let s = |st: &[i64], en: &[i64], ax: Option<&[i64]>, sp: Option<&[i64]>| {
        let (st, en) = (i64s(st), i64s(en));
        let ax = ax.map(i64s);
        let sp = sp.map(i64s);
        eval_op(
            &Op::Slice {},
            &[Some(&x), Some(&st), Some(&en), ax.as_ref(), sp.as_ref()],
            1,
        )
    };
    assert_eq!(
        s(&[1, 0], &[3, 3], None, None).unwrap()[0],
        t(&[2, 3], vec![4i64, 5, 6, 8, 9, 10])
    );
    // Negative and clamped bounds, one axis.
    assert_eq!(
        s(&[-2], &[i64::MAX], Some(&[1]), None).unwrap()[0],
        t(&[3, 2], vec![2i64, 3, 6, 7, 10, 11])
    );
    // Negative steps run backwards; ends clamp to -1.
    assert_eq!(
        s(&[-1], &[i64::MIN], Some(&[1]), Some(&[-2])).unwrap()[0],
        t(&[3, 2], vec![3i64, 1, 7, 5, 11, 9])
    );
    assert_eq!(
        s(&[10], &[-10], Some(&[0]), Some(&[-1])).unwrap()[0].shape(),
        &[3, 4]
    );
    assert_eq!(s(&[2], &[1], Some(&[0]), None).unwrap()[0].shape(), &[0, 4]);
    assert!(s(&[0], &[1], Some(&[0]), Some(&[0]))
        .unwrap_err()
        .to_string()
        .contains("step 0"));
    assert!(s(&[0, 0], &[1, 1], Some(&[0, -2]), None)
        .unwrap_err()
        .to_string()
        .contains("twice"));
    assert!(s(&[0, 0], &[1], None, None)
        .unwrap_err()
        .to_string()
        .contains("differ in length"));
}

#[test]
fn pad_modes() {
    let x = ar(&[2, 3]);
    let pads = i64s(&[1, 2, 0, 1]);
    let p = |mode, x: &Tensor, pads: &Tensor, v: Option<&Tensor>, axes: Option<&Tensor>| {
        eval_op(&Op::Pad { mode }, &[Some(x), Some(pads), v, axes], 1)
    };
    let c = Tensor::scalar(9i64);
    let y = p(PadMode::Constant, &x, &pads, Some(&c), None)
        .unwrap()
        .remove(0);
    assert_eq!(
        y,
        t(
            &[3, 6],
            vec![9i64, 9, 9, 9, 9, 9, 9, 9, 0, 1, 2, 9, 9, 9, 3, 4, 5, 9]
        )
    );
    // numpy.pad(x, ((1,0),(2,1)), mode=...)
    let y = p(PadMode::Reflect, &x, &pads, None, None)
        .unwrap()
        .remove(0);
    assert_eq!(
        y,
        t(
            &[3, 6],
            vec![5i64, 4, 3, 4, 5, 4, 2, 1, 0, 1, 2, 1, 5, 4, 3, 4, 5, 4]
        )
    );
    let lr = i64s(&[2, 1]);
    let ax = i64s(&[1]);
    let y = p(PadMode::Edge, &x, &lr, None, Some(&ax))
        .unwrap()
        .remove(0);
    assert_eq!(y, t(&[2, 6], vec![0i64, 0, 0, 1, 2, 2, 3, 3, 3, 4, 5, 5]));
    let y = p(PadMode::Wrap, &x, &lr, None, Some(&ax))
        .unwrap()
        .remove(0);
    assert_eq!(y, t(&[2, 6], vec![1i64, 2, 0, 1, 2, 0, 4, 5, 3, 4, 5, 3]));
    // Negative pads crop.
    let crop = i64s(&[0, -1, 0, -1]);
    let y = p(PadMode::Constant, &x, &crop, None, None)
        .unwrap()
        .remove(0);
    assert_eq!(y, t(&[2, 1], vec![1i64, 4]));
    let bad = i64s(&[0, -4, 0, 0]);
    assert!(p(PadMode::Constant, &x, &bad, None, None)
        .unwrap_err()
        .to_string()
        .contains("negative size"));
    assert!(p(PadMode::Constant, &x, &lr, None, None)
        .unwrap_err()
        .to_string()
        .contains("2 per axis"));
    let e = ar(&[0, 2]);
    let y = i64s(&[1, 0, 0, 0]);
    assert!(p(PadMode::Edge, &e, &y, None, None)
        .unwrap_err()
        .to_string()
        .contains("empty axis"));
    let huge = i64s(&[0, 0, 1 << 40, 0]);
    assert!(p(PadMode::Constant, &x, &huge, None, None)
        .unwrap_err()
        .to_string()
        .contains("too large"));
}

#[test]
fn depth_space_trilu_compress_reverse() {
    let x = ar(&[1, 8, 2, 2]);
    let dcr = run(
        Op::DepthToSpace {
            blocksize: 2,
            mode: DepthToSpaceMode::Dcr,
        },
        &[Some(&x)],
    );
    assert_eq!(dcr.shape(), &[1, 2, 4, 4]);
    assert_eq!(
        dcr.as_slice::<i64>().unwrap()[..8],
        [0, 8, 1, 9, 16, 24, 17, 25]
    );
    let crd = run(
        Op::DepthToSpace {
            blocksize: 2,
            mode: DepthToSpaceMode::Crd,
        },
        &[Some(&x)],
    );
    assert_eq!(
        crd.as_slice::<i64>().unwrap()[..8],
        [0, 4, 1, 5, 8, 12, 9, 13]
    );
    let y = ar(&[1, 1, 4, 4]);
    let s = run(Op::SpaceToDepth { blocksize: 2 }, &[Some(&y)]);
    assert_eq!(s.shape(), &[1, 4, 2, 2]);
    assert_eq!(
        s.as_slice::<i64>().unwrap()[..8],
        [0, 2, 8, 10, 1, 3, 9, 11]
    );
    assert!(fails(Op::SpaceToDepth { blocksize: 3 }, &[Some(&y)], 1).contains("divisible"));
    assert!(fails(
        Op::DepthToSpace {
            blocksize: 0,
            mode: DepthToSpaceMode::Dcr
        },
        &[Some(&y)],
        1
    )
    .contains("positive"));
    assert!(fails(Op::SpaceToDepth { blocksize: 2 }, &[Some(&ar(&[4, 4]))], 1).contains("4-D"));

    let m = ar(&[3, 3]);
    let up = run(Op::Trilu { upper: true }, &[Some(&m)]);
    assert_eq!(up, t(&[3, 3], vec![0i64, 1, 2, 0, 4, 5, 0, 0, 8]));
    let lo = run(
        Op::Trilu { upper: false },
        &[Some(&m), Some(&Tensor::scalar(-1i64))],
    );
    assert_eq!(lo, t(&[3, 3], vec![0i64, 0, 0, 3, 0, 0, 6, 7, 0]));
    assert!(fails(Op::Trilu { upper: true }, &[Some(&ar(&[3]))], 1).contains("rank >= 2"));

    let c = t(&[2], vec![false, true]);
    assert_eq!(
        run(Op::Compress { axis: Some(0) }, &[Some(&m), Some(&c)]),
        t(&[1, 3], vec![3i64, 4, 5])
    );
    assert_eq!(
        run(Op::Compress { axis: None }, &[Some(&m), Some(&c)]),
        t(&[1], vec![1i64])
    );
    let long = t(&[4], vec![true, false, false, true]);
    assert!(fails(Op::Compress { axis: Some(1) }, &[Some(&m), Some(&long)], 1).contains("beyond"));

    // [time=3, batch=2]; batch 0 reverses 3 steps, batch 1 reverses 2.
    let s = ar(&[3, 2]);
    let lens = i64s(&[3, 2]);
    let r = run(
        Op::ReverseSequence {
            batch_axis: 1,
            time_axis: 0,
        },
        &[Some(&s), Some(&lens)],
    );
    assert_eq!(r, t(&[3, 2], vec![4i64, 3, 2, 1, 0, 5]));
    let bad = i64s(&[4, 1]);
    assert!(fails(
        Op::ReverseSequence {
            batch_axis: 1,
            time_axis: 0
        },
        &[Some(&s), Some(&bad)],
        1
    )
    .contains("outside"));
}

#[test]
fn gathers() {
    let x = ar(&[3, 2]);
    let idx = t(&[2, 2], vec![0i64, -1, 1, 2]);
    let g = run(Op::Gather { axis: 0 }, &[Some(&x), Some(&idx)]);
    assert_eq!(g, t(&[2, 2, 2], vec![0i64, 1, 4, 5, 2, 3, 4, 5]));
    let g = run(
        Op::Gather { axis: 1 },
        &[Some(&x), Some(&Tensor::scalar(1i32))],
    );
    assert_eq!(g, t(&[3], vec![1i64, 3, 5]));
    let oob = i64s(&[3]);
    assert!(fails(Op::Gather { axis: 0 }, &[Some(&x), Some(&oob)], 1).contains("out of range"));
    let fidx = t(&[1], vec![0.0f32]);
    assert!(fails(Op::Gather { axis: 0 }, &[Some(&x), Some(&fidx)], 1).contains("int64"));

    let ge_idx = t(&[2, 2], vec![1i64, 0, -1, 0]);
    let m = ar(&[2, 3]);
    let g = run(Op::GatherElements { axis: 1 }, &[Some(&m), Some(&ge_idx)]);
    assert_eq!(g, t(&[2, 2], vec![1i64, 0, 5, 3]));
    let g = run(
        Op::GatherElements { axis: 0 },
        &[Some(&m), Some(&t(&[1, 2], vec![1i64, 0]))],
    );
    assert_eq!(g, t(&[1, 2], vec![3i64, 1]));
    assert!(fails(
        Op::GatherElements { axis: 1 },
        &[Some(&m), Some(&i64s(&[0]))],
        1
    )
    .contains("rank"));

    // onnx test_gathernd_example_int32_batch_dim1
    let d = ar(&[2, 2, 2]);
    let i = t(&[2, 1], vec![1i64, 0]);
    let g = run(Op::GatherNd { batch_dims: 1 }, &[Some(&d), Some(&i)]);
    assert_eq!(g, t(&[2, 2], vec![2i64, 3, 4, 5]));
    let i = t(&[2, 2], vec![0i64, 1, 1, 0]);
    let g = run(Op::GatherNd { batch_dims: 0 }, &[Some(&d), Some(&i)]);
    assert_eq!(g, t(&[2, 2], vec![2i64, 3, 4, 5]));
    let i = t(&[1, 3], vec![1i64, 1, 1]);
    assert_eq!(
        run(Op::GatherNd { batch_dims: 0 }, &[Some(&d), Some(&i)]),
        t(&[1], vec![7i64])
    );
    let i = t(&[1, 4], vec![0i64; 4]);
    assert!(fails(Op::GatherNd { batch_dims: 0 }, &[Some(&d), Some(&i)], 1).contains("do not fit"));
}

#[test]
fn scatters() {
    let d = t(&[1, 5], vec![1.0f32, 2.0, 3.0, 4.0, 5.0]);
    let i = t(&[1, 2], vec![1i64, 3]);
    let u = t(&[1, 2], vec![1.1f32, 2.1]);
    let none = ScatterReduction::None;
    let y = run(
        Op::ScatterElements {
            axis: 1,
            reduction: none,
        },
        &[Some(&d), Some(&i), Some(&u)],
    );
    assert_eq!(y, t(&[1, 5], vec![1.0f32, 1.1, 3.0, 2.1, 5.0]));
    let dup = t(&[1, 2], vec![1i64, 1]);
    let y = run(
        Op::ScatterElements {
            axis: 1,
            reduction: ScatterReduction::Add,
        },
        &[Some(&d), Some(&dup), Some(&u)],
    );
    assert_eq!(y.as_slice::<f32>().unwrap()[1], 2.0 + 1.1 + 2.1);
    let y = run(
        Op::ScatterElements {
            axis: 1,
            reduction: ScatterReduction::Max,
        },
        &[Some(&d), Some(&dup), Some(&u)],
    );
    assert_eq!(y.as_slice::<f32>().unwrap()[1], 2.1);
    let bad = t(&[1, 1], vec![1.0f32]);
    assert!(fails(
        Op::ScatterElements {
            axis: 1,
            reduction: none
        },
        &[Some(&d), Some(&i), Some(&bad)],
        1
    )
    .contains("updates shape"));

    // onnx test_scatternd_multiply-like case.
    let data = ar(&[4]);
    let idx = t(&[2, 1], vec![1i64, 3]);
    let upd = t(&[2], vec![10i64, 20]);
    let y = run(
        Op::ScatterNd { reduction: none },
        &[Some(&data), Some(&idx), Some(&upd)],
    );
    assert_eq!(y, t(&[4], vec![0i64, 10, 2, 20]));
    let y = run(
        Op::ScatterNd {
            reduction: ScatterReduction::Mul,
        },
        &[Some(&data), Some(&idx), Some(&upd)],
    );
    assert_eq!(y, t(&[4], vec![0i64, 10, 2, 60]));
    let rows = ar(&[2, 2]);
    let idx = t(&[1, 1], vec![1i64]);
    let upd = t(&[1, 2], vec![7i64, 8]);
    let y = run(
        Op::ScatterNd {
            reduction: ScatterReduction::Min,
        },
        &[Some(&rows), Some(&idx), Some(&upd)],
    );
    assert_eq!(y, t(&[2, 2], vec![0i64, 1, 2, 3]));
    let oob = t(&[1, 1], vec![5i64]);
    assert!(fails(
        Op::ScatterNd { reduction: none },
        &[Some(&rows), Some(&oob), Some(&upd)],
        1
    )
    .contains("out of range"));
}

#[test]
fn generators() {
    let y = run(
        Op::ConstantOfShape {
            dtype: DType::I32,
            value: 7.0,
        },
        &[Some(&i64s(&[2, 1]))],
    );
    assert_eq!(y, t(&[2, 1], vec![7i32, 7]));
    let y = run(
        Op::ConstantOfShape {
            dtype: DType::F32,
            value: 0.0,
        },
        &[Some(&i64s(&[]))],
    );
    assert_eq!(y, t(&[], vec![0.0f32]));
    let huge = i64s(&[1 << 40, 1 << 40]);
    assert!(fails(
        Op::ConstantOfShape {
            dtype: DType::F32,
            value: 0.0
        },
        &[Some(&huge)],
        1
    )
    .contains("too large"));
    assert!(fails(
        Op::ConstantOfShape {
            dtype: DType::F32,
            value: 0.0
        },
        &[Some(&i64s(&[-1]))],
        1
    )
    .contains("negative"));

    let r = |a: Tensor, b: Tensor, c: Tensor| {
        eval_op(&Op::Range {}, &[Some(&a), Some(&b), Some(&c)], 1)
    };
    let y = r(
        Tensor::scalar(1i32),
        Tensor::scalar(10i32),
        Tensor::scalar(3i32),
    )
    .unwrap();
    assert_eq!(y[0], t(&[3], vec![1i32, 4, 7]));
    let y = r(
        Tensor::scalar(10i64),
        Tensor::scalar(4i64),
        Tensor::scalar(-3i64),
    )
    .unwrap();
    assert_eq!(y[0], t(&[2], vec![10i64, 7]));
    let y = r(
        Tensor::scalar(0.0f32),
        Tensor::scalar(1.0f32),
        Tensor::scalar(0.25f32),
    )
    .unwrap();
    assert_eq!(y[0], t(&[4], vec![0.0f32, 0.25, 0.5, 0.75]));
    let y = r(
        Tensor::scalar(5i64),
        Tensor::scalar(1i64),
        Tensor::scalar(1i64),
    )
    .unwrap();
    assert_eq!(y[0].shape(), &[0]);
    assert!(r(
        Tensor::scalar(0i64),
        Tensor::scalar(1i64),
        Tensor::scalar(0i64)
    )
    .unwrap_err()
    .to_string()
    .contains("delta is 0"));
    assert!(r(
        Tensor::scalar(0i64),
        Tensor::scalar(i64::MAX),
        Tensor::scalar(1i64)
    )
    .unwrap_err()
    .to_string()
    .contains("too large"));
    assert!(r(
        Tensor::scalar(0i64),
        Tensor::scalar(1i32),
        Tensor::scalar(1i64)
    )
    .unwrap_err()
    .to_string()
    .contains("dtype"));

    let e = run(
        Op::EyeLike {
            dtype: Some(DType::F32),
            k: 1,
        },
        &[Some(&ar(&[2, 3]))],
    );
    assert_eq!(e, t(&[2, 3], vec![0.0f32, 1.0, 0.0, 0.0, 0.0, 1.0]));
    let e = run(Op::EyeLike { dtype: None, k: -1 }, &[Some(&ar(&[2, 2]))]);
    assert_eq!(e, t(&[2, 2], vec![0i64, 0, 1, 0]));
    assert!(fails(Op::EyeLike { dtype: None, k: 0 }, &[Some(&ar(&[2]))], 1).contains("2-D"));

    let ind = t(&[3], vec![0i64, -1, 5]);
    let depth = Tensor::scalar(3.0f32);
    let vals = t(&[2], vec![0i32, 9]);
    let y = run(
        Op::OneHot { axis: -1 },
        &[Some(&ind), Some(&depth), Some(&vals)],
    );
    assert_eq!(y, t(&[3, 3], vec![9i32, 0, 0, 0, 0, 9, 0, 0, 0]));
    let y = run(
        Op::OneHot { axis: 0 },
        &[Some(&ind), Some(&depth), Some(&vals)],
    );
    assert_eq!(y, t(&[3, 3], vec![9i32, 0, 0, 0, 0, 0, 0, 9, 0]));
    let big = Tensor::scalar(1e12f64);
    assert!(fails(
        Op::OneHot { axis: -1 },
        &[Some(&ind), Some(&big), Some(&vals)],
        1
    )
    .contains("out of range"));

    let nz = t(&[2, 2], vec![1.0f32, 0.0, 0.0, -2.0]);
    assert_eq!(
        run(Op::NonZero {}, &[Some(&nz)]),
        t(&[2, 2], vec![0i64, 1, 0, 1])
    );
}

#[test]
fn quantization() {
    let x = t(&[7], vec![-1.0f32, 0.0, 0.5, 1.5, 2.5, 300.0, -300.0]);
    let s = Tensor::scalar(0.5f32);
    let zp = Tensor::scalar(10u8);
    let q = |x: &Tensor, s: &Tensor, z: Option<&Tensor>, axis, block_size| {
        eval_op(
            &Op::QuantizeLinear {
                axis,
                saturate: true,
                block_size,
            },
            &[Some(x), Some(s), z],
            1,
        )
    };
    // numpy: clip(rint(x / 0.5) + 10, 0, 255): ties to even.
    let y = q(&x, &s, Some(&zp), 1, 0).unwrap().remove(0);
    assert_eq!(y, t(&[7], vec![8u8, 10, 11, 13, 15, 255, 0]));
    let y = q(&x, &s, None, 1, 0).unwrap().remove(0);
    assert_eq!(y.dtype(), DType::U8);
    let zi = Tensor::scalar(-1i8);
    let y = q(&x, &s, Some(&zi), 1, 0).unwrap().remove(0);
    assert_eq!(y, t(&[7], vec![-3i8, -1, 0, 2, 4, 127, -128]));

    // Per-axis (axis 1) and blocked (block 2 along axis 1).
    let m = t(&[2, 2], vec![1.0f32, 1.0, 2.0, 2.0]);
    let sa = t(&[2], vec![1.0f32, 0.5]);
    let y = q(&m, &sa, None, 1, 0).unwrap().remove(0);
    assert_eq!(y, t(&[2, 2], vec![1u8, 2, 2, 4]));
    let sb = t(&[2, 1], vec![1.0f32, 0.25]);
    let y = q(&m, &sb, None, 1, 2).unwrap().remove(0);
    assert_eq!(y, t(&[2, 2], vec![1u8, 1, 8, 8]));
    let bad = t(&[3], vec![1.0f32; 3]);
    assert!(q(&m, &bad, None, 1, 0)
        .unwrap_err()
        .to_string()
        .contains("per-axis"));
    assert!(q(&m, &sa, None, 1, 2)
        .unwrap_err()
        .to_string()
        .contains("blocked"));
    let zf = Tensor::scalar(0.0f32);
    assert!(q(&m, &s, Some(&zf), 1, 0)
        .unwrap_err()
        .to_string()
        .contains("zero point"));

    let dq = |x: &Tensor, s: &Tensor, z: Option<&Tensor>| {
        eval_op(
            &Op::DequantizeLinear {
                axis: 0,
                block_size: 0,
            },
            &[Some(x), Some(s), z],
            1,
        )
    };
    let xq = t(&[2, 2], vec![0u8, 10, 20, 255]);
    let y = dq(
        &xq,
        &t(&[2], vec![0.5f32, 2.0]),
        Some(&t(&[2], vec![10u8, 0])),
    )
    .unwrap()
    .remove(0);
    assert_eq!(y, t(&[2, 2], vec![-5.0f32, 0.0, 40.0, 510.0]));
    let xi = t(&[2], vec![-4i32, 6]);
    assert_eq!(dq(&xi, &s, None).unwrap()[0], t(&[2], vec![-2.0f32, 3.0]));
    assert!(dq(&xq, &s, Some(&zi))
        .unwrap_err()
        .to_string()
        .contains("zero point"));
    assert!(dq(&x, &s, None).unwrap_err().to_string().contains("input"));
    // A one-element scale with a scalar zero point is one parameter (onnxruntime
    // writes such pairs for one-channel biases); other mismatches are errors.
    let z2 = Tensor::scalar(2i32);
    let y = dq(&xi, &t(&[1], vec![0.5f32]), Some(&z2))
        .unwrap()
        .remove(0);
    assert_eq!(y, t(&[2], vec![-3.0f32, 2.0]));
    assert!(dq(&xi, &t(&[2], vec![0.5f32, 1.0]), Some(&z2))
        .unwrap_err()
        .to_string()
        .contains("zero point shape"));

    let d = t(&[4], vec![0.0f32, 2.0, -3.5, 1.0]);
    let y = eval_op(&Op::DynamicQuantizeLinear {}, &[Some(&d)], 3).unwrap();
    // numpy reference: scale = 5.5/255, zp = 162.
    assert_eq!(y[0], t(&[4], vec![162u8, 255, 0, 208]));
    assert_eq!(y[1], Tensor::scalar(5.5f32 / 255.0));
    assert_eq!(y[2], Tensor::scalar(162u8));
    assert!(fails(Op::DynamicQuantizeLinear {}, &[Some(&d)], 1).contains("outputs"));
}
