//! Inference's constant evaluator (`infer::const_eval`) against the interpreter on
//! random small integer tensors: on every op it covers, wherever the interpreter
//! succeeds the evaluator gives the same tensor (dtype, shape and values), and it
//! gives nothing where the interpreter fails. The two cannot drift apart silently.

mod infer_util;
use infer_util::{add_in, placeholder, ty, In::I};
use pare_ir::infer::const_eval::{self, MAX_LEN};
use pare_ir::infer::{infer_graph, shape_values};
use pare_ir::interp::eval_op;
use pare_ir::{DType, Graph, Op, Tensor, ValueId};
use std::collections::BTreeMap;

const DTYPES: [DType; 7] = [
    DType::I8,
    DType::I16,
    DType::I32,
    DType::I64,
    DType::U8,
    DType::U16,
    DType::U32,
];

/// Every op the evaluator covers, each attribute combination once.
fn covered_ops() -> Vec<Op> {
    let mut ops = vec![
        Op::Add {},
        Op::Sub {},
        Op::Mul {},
        Op::Div {},
        Op::Mod { fmod: false },
        Op::Mod { fmod: true },
        Op::Max {},
        Op::Min {},
        Op::Neg {},
        Op::Abs {},
        Op::Sign {},
        Op::Range {},
    ];
    for keepdims in [false, true] {
        for noop_with_empty_axes in [false, true] {
            ops.push(Op::ReduceSum {
                keepdims,
                noop_with_empty_axes,
            });
            ops.push(Op::ReduceProd {
                keepdims,
                noop_with_empty_axes,
            });
            ops.push(Op::ReduceMax {
                keepdims,
                noop_with_empty_axes,
            });
            ops.push(Op::ReduceMin {
                keepdims,
                noop_with_empty_axes,
            });
        }
    }
    ops
}

/// A value of `dtype`'s range, biased towards what breaks arithmetic: zero, ±1,
/// the extremes and their neighbours.
fn value(r: &mut fastrand::Rng, dtype: DType) -> i64 {
    let (lo, hi) = match dtype {
        DType::I8 => (i8::MIN.into(), i8::MAX.into()),
        DType::I16 => (i16::MIN.into(), i16::MAX.into()),
        DType::I32 => (i32::MIN.into(), i32::MAX.into()),
        DType::I64 => (i64::MIN, i64::MAX),
        DType::U8 => (0, u8::MAX.into()),
        DType::U16 => (0, u16::MAX.into()),
        DType::U32 => (0, u32::MAX.into()),
        _ => unreachable!("not an evaluated dtype"),
    };
    match r.u8(0..10) {
        0..=4 => r.i64(-6..=6).clamp(lo, hi),
        5 => [lo, hi, lo.saturating_add(1), hi - 1][r.usize(0..4)],
        6 => r.i64(-1000..=1000).clamp(lo, hi),
        _ => r.i64(lo..=hi),
    }
}

fn shape(r: &mut fastrand::Rng) -> Vec<usize> {
    match r.u8(0..4) {
        0 => vec![],
        1 => vec![1],
        _ => vec![r.usize(0..=6)],
    }
}

/// A tensor of `dtype` of a random rank-≤1 shape.
fn tensor(r: &mut fastrand::Rng, dtype: DType) -> Tensor {
    let s = shape(r);
    tensor_shaped(r, dtype, s)
}

fn tensor_shaped(r: &mut fastrand::Rng, dtype: DType, shape: Vec<usize>) -> Tensor {
    let n = shape.iter().product();
    let v: Vec<i64> = (0..n).map(|_| value(r, dtype)).collect();
    Tensor::from_vec(shape, v).unwrap().cast(dtype)
}

/// A dtype that is usually `d` and sometimes another one (a mismatch the op rejects).
fn mostly(r: &mut fastrand::Rng, d: DType) -> DType {
    if r.u8(0..10) == 0 {
        DTYPES[r.usize(0..DTYPES.len())]
    } else {
        d
    }
}

/// Random inputs for `op`: mostly valid, sometimes with mismatched dtypes, shapes
/// that do not broadcast, zero divisors, absent inputs or bad axes.
fn inputs(r: &mut fastrand::Rng, op: &Op) -> Vec<Option<Tensor>> {
    let d = DTYPES[r.usize(0..DTYPES.len())];
    match op {
        Op::Neg {} | Op::Abs {} | Op::Sign {} => vec![Some(tensor(r, d))],
        Op::Max {} | Op::Min {} => {
            let n = r.usize(1..=4);
            (0..n)
                .map(|_| {
                    (r.u8(0..20) != 0).then(|| {
                        let d = mostly(r, d);
                        tensor(r, d)
                    })
                })
                .collect()
        }
        Op::Range {} => (0..3)
            .map(|k| {
                // One element, as a scalar or a 1-vector; now and then two.
                let s = match r.u8(0..15) {
                    0 => vec![2],
                    1..=7 => vec![],
                    _ => vec![1],
                };
                let d = mostly(r, d);
                let mut t = tensor_shaped(r, d, s);
                if k == 2 && r.bool() {
                    // A small step, so that most ranges stay short enough to evaluate.
                    let step = [-3i64, -1, 1, 2, 5][r.usize(0..5)];
                    t = Tensor::from_vec(t.shape().to_vec(), vec![step; t.len()])
                        .unwrap()
                        .cast(d);
                }
                Some(t)
            })
            .collect(),
        _ if op.reduce_attrs().is_some() => {
            let x = tensor(r, d);
            let axes = match r.u8(0..4) {
                0 => return vec![Some(x)],
                1 => None,
                _ => {
                    let ad = [DType::I64, DType::I32, DType::I16][r.usize(0..3)];
                    let n = r.usize(0..=2);
                    let v: Vec<i64> = (0..n).map(|_| r.i64(-2..=1)).collect();
                    Some(Tensor::from_vec(vec![n], v).unwrap().cast(ad))
                }
            };
            vec![Some(x), axes]
        }
        _ => {
            let a = tensor(r, d);
            let db = mostly(r, d);
            let b = tensor(r, db);
            vec![Some(a), Some(b)]
        }
    }
}

#[test]
fn agrees_with_the_interpreter_on_random_integer_cases() {
    let mut r = fastrand::Rng::with_seed(0x5eed_c0de);
    let ops = covered_ops();
    // Per op: cases both evaluated, to show the comparison is not vacuous.
    let mut evaluated: BTreeMap<String, usize> = BTreeMap::new();
    for case in 0..24_000 {
        let op = &ops[case % ops.len()];
        let ins = inputs(&mut r, op);
        let refs: Vec<Option<&Tensor>> = ins.iter().map(Option::as_ref).collect();
        let want = eval_op(op, &refs, 1);
        let got = const_eval::eval(op, &refs);
        match (want, got) {
            (Ok(want), Some(got)) => {
                assert_eq!(want[0], got, "case {case}: {op:?} on {ins:?}");
                *evaluated.entry(format!("{op:?}")).or_default() += 1;
            }
            (Ok(want), None) => assert!(
                want[0].len() > MAX_LEN,
                "case {case}: {op:?} on {ins:?}: the interpreter gives {:?}, the evaluator nothing",
                want[0]
            ),
            (Err(e), Some(got)) => panic!(
                "case {case}: {op:?} on {ins:?}: the interpreter fails ({e}), the evaluator gives {got:?}"
            ),
            (Err(_), None) => {}
        }
    }
    for op in &ops {
        let n = evaluated.get(&format!("{op:?}")).copied().unwrap_or(0);
        assert!(
            n >= 300,
            "{op:?}: only {n} of its cases were evaluated by both"
        );
    }
}

#[test]
fn declines_what_it_does_not_cover() {
    let i64s = |v: Vec<i64>| Tensor::from_vec(vec![v.len()], v).unwrap();
    let a = i64s(vec![6, 4]);
    // Not an integer shape computation, or not small integers.
    let f = a.cast(DType::F32);
    let u = a.cast(DType::U64);
    let m = Tensor::from_vec(vec![1, 2], vec![6i64, 4]).unwrap();
    let long = i64s(vec![1; MAX_LEN + 1]);
    for (op, x) in [
        (Op::Add {}, &f),
        (Op::Add {}, &u),
        (Op::Add {}, &m),
        (Op::Add {}, &long),
        (Op::Relu {}, &a),
    ] {
        let ins = [Some(x), Some(x)];
        let n = if matches!(op, Op::Relu {}) { 1 } else { 2 };
        assert_eq!(const_eval::eval(&op, &ins[..n]), None, "{op:?} on {x:?}");
    }
    // What the interpreter rejects, the evaluator rejects.
    let zero = i64s(vec![0]);
    assert_eq!(
        const_eval::eval(&Op::Div {}, &[Some(&a), Some(&zero)]),
        None
    );
    assert_eq!(
        const_eval::eval(&Op::Range {}, &[Some(&zero), Some(&zero), Some(&zero)]),
        None
    );
    // And a shape computation comes out right.
    let got = const_eval::eval(
        &Op::Mod { fmod: false },
        &[Some(&i64s(vec![-7, 7])), Some(&i64s(vec![3]))],
    );
    assert_eq!(got, Some(i64s(vec![2, 1])));
}

/// Shape inference folds an exporter-style side computation that only the constant
/// evaluator can follow: the product of two dims (`ReduceProd`), a clamp (`Max`),
/// a negation and a floor remainder, all feeding a `Reshape` target, plus a `Range`.
#[test]
fn inference_folds_integer_side_computations() {
    let mut g = Graph::new("t");
    let x = g.add_input("x", ty("f32[N,6,4]")).unwrap();
    let add = |g: &mut Graph, op: Op, ins: Vec<Option<ValueId>>| {
        g.add_node("", op, ins, vec![(String::new(), placeholder())])
            .unwrap()
            .1[0]
    };
    let shape = add(
        &mut g,
        Op::Shape {
            start: 1,
            end: None,
        },
        vec![Some(x)],
    );
    let prod = add(
        &mut g,
        Op::ReduceProd {
            keepdims: true,
            noop_with_empty_axes: false,
        },
        vec![Some(shape)],
    );
    let two = add_in(&mut g, 1, &I(vec![2]));
    let clamped = add(&mut g, Op::Max {}, vec![Some(prod), two]);
    let one = add_in(&mut g, 2, &I(vec![1]));
    let minus_one = add(&mut g, Op::Neg {}, vec![one]);
    let minus_five = add_in(&mut g, 3, &I(vec![-5]));
    let three = add_in(&mut g, 4, &I(vec![3]));
    let rem = add(&mut g, Op::Mod { fmod: false }, vec![minus_five, three]);
    let target = add(
        &mut g,
        Op::Concat { axis: 0 },
        vec![Some(minus_one), Some(clamped), Some(rem)],
    );
    let y = add(
        &mut g,
        Op::Reshape { allowzero: false },
        vec![Some(x), Some(target)],
    );
    let (start, limit, delta) = (
        g.add_weight("start", pare_ir::Weight::from_tensor(&Tensor::scalar(1i64)))
            .unwrap(),
        g.add_weight("limit", pare_ir::Weight::from_tensor(&Tensor::scalar(8i64)))
            .unwrap(),
        g.add_weight("delta", pare_ir::Weight::from_tensor(&Tensor::scalar(3i64)))
            .unwrap(),
    );
    let positions = add(
        &mut g,
        Op::Range {},
        vec![Some(start), Some(limit), Some(delta)],
    );
    g.outputs.push(y);
    g.outputs.push(positions);
    infer_graph(&mut g).unwrap();
    assert_eq!(g.ty(y).to_string(), "f32[N,24,1]");
    assert_eq!(g.ty(positions).to_string(), "i64[3]");
    let sv = shape_values(&g).unwrap();
    assert_eq!(sv.ints(target), Some(vec![-1, 24, 1]));
    assert_eq!(sv.ints(positions), Some(vec![1, 4, 7]));
    pare_ir::verify::verify(&g).unwrap();
}
