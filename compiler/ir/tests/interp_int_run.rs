//! Whole-graph runs of a quantized graph: quantized nodes go to the integer kernels
//! or the fake-quant path as `RunOptions` says, QDQ boundary and float nodes run as
//! before, and errors name the node.

mod int_util;

use int_util::*;
use pare_ir::interp::{
    eval_fake_quant, eval_int, eval_op, run, run_observed, run_with, QuantExec, RunOptions,
};
use pare_ir::ops::AutoPad;
use pare_ir::quant::Rounding;
use pare_ir::{DType, Graph, Op, QParams, Tensor, TensorType, ValueDef, ValueId, Weight};
use std::collections::HashMap;

fn add_weight(g: &mut Graph, name: &str, o: &Operand) -> ValueId {
    let mut w = Weight::from_tensor(&o.t);
    w.ty.quant = o.ty.as_ref().and_then(|t| t.quant.clone());
    g.add_weight(name, w).unwrap()
}

fn node(g: &mut Graph, name: &str, op: Op, inputs: &[Option<ValueId>], ty: TensorType) -> ValueId {
    g.add_node(name, op, inputs.to_vec(), vec![(name.to_string(), ty)])
        .unwrap()
        .1[0]
}

fn q(dtype: DType, shape: &[usize], scale: f32, zp: i32) -> TensorType {
    qtype(dtype, shape, per_tensor(dtype == DType::I8, scale, zp))
}

/// x f32[1,2,6,6] → quantize → conv 3x3 (per-channel, bias) → relu → max_pool →
/// global_average_pool → flatten → gemm (per-channel, bias) → softmax →
/// dequantize → f32[1,3].
fn graph() -> Graph {
    let mut r = rng(2024);
    let mut g = Graph::new("qnet");
    let x = g
        .add_input("x", TensorType::fixed(DType::F32, &[1, 2, 6, 6]))
        .unwrap();
    let (sx, zx) = (6.0 / 255.0, 0);
    let xs = add_weight(&mut g, "xs", &plain(Tensor::scalar(sx)));
    let xz = add_weight(&mut g, "xz", &plain(Tensor::scalar(zx as i8)));
    let ql = Op::QuantizeLinear {
        axis: 1,
        saturate: true,
        block_size: 0,
    };
    let xq = node(
        &mut g,
        "quant",
        ql,
        &[Some(x), Some(xs), Some(xz)],
        q(DType::I8, &[1, 2, 6, 6], sx, zx),
    );
    let w = weight(&mut r, &[4, 2, 3, 3], Some(0), 8);
    let b = bias(&mut r, 4, sx, &w, 500);
    let (wv, bv) = (add_weight(&mut g, "w", &w), add_weight(&mut g, "b", &b));
    let conv = Op::Conv {
        auto_pad: AutoPad::NotSet,
        kernel_shape: vec![],
        strides: vec![1, 1],
        pads: vec![1, 1, 1, 1],
        dilations: vec![1, 1],
        group: 1,
    };
    let c = node(
        &mut g,
        "conv",
        conv,
        &[Some(xq), Some(wv), Some(bv)],
        q(DType::I8, &[1, 4, 6, 6], 0.25, 3),
    );
    let rl = node(
        &mut g,
        "relu",
        Op::Relu {},
        &[Some(c)],
        q(DType::I8, &[1, 4, 6, 6], 0.15, -128),
    );
    let mp = Op::MaxPool {
        auto_pad: AutoPad::NotSet,
        kernel_shape: vec![2, 2],
        strides: vec![2, 2],
        pads: vec![],
        dilations: vec![],
        ceil_mode: false,
        storage_order: 0,
    };
    let p = node(
        &mut g,
        "pool",
        mp,
        &[Some(rl)],
        q(DType::I8, &[1, 4, 3, 3], 0.15, -128),
    );
    let gp = node(
        &mut g,
        "gap",
        Op::GlobalAveragePool {},
        &[Some(p)],
        q(DType::I8, &[1, 4, 1, 1], 0.12, -128),
    );
    let f = node(
        &mut g,
        "flat",
        Op::Flatten { axis: 1 },
        &[Some(gp)],
        q(DType::I8, &[1, 4], 0.12, -128),
    );
    // Small fc weights keep the logits within a few units, where softmax is not one-hot.
    let mut w2 = weight(&mut r, &[3, 4], Some(0), 8);
    if let Some(q) = w2.ty.as_mut().and_then(|t| t.quant.as_mut()) {
        q.scale.iter_mut().for_each(|s| *s *= 0.02);
    }
    let b2 = bias(&mut r, 3, 0.12, &w2, 50);
    let (w2v, b2v) = (add_weight(&mut g, "w2", &w2), add_weight(&mut g, "b2", &b2));
    let gemm = Op::Gemm {
        alpha: 1.0,
        beta: 1.0,
        trans_a: false,
        trans_b: true,
    };
    let fc = node(
        &mut g,
        "fc",
        gemm,
        &[Some(f), Some(w2v), Some(b2v)],
        q(DType::I8, &[1, 3], 0.03, 0),
    );
    let sm = Op::Softmax {
        axis: -1,
        coerce_2d: false,
    };
    let s = node(
        &mut g,
        "softmax",
        sm,
        &[Some(fc)],
        q(DType::I8, &[1, 3], 1.0 / 256.0, -128),
    );
    let ss = add_weight(&mut g, "ss", &plain(Tensor::scalar(1f32 / 256.0)));
    let sz = add_weight(&mut g, "sz", &plain(Tensor::scalar(-128i8)));
    let dq = Op::DequantizeLinear {
        axis: 1,
        block_size: 0,
    };
    let y = node(
        &mut g,
        "dequant",
        dq,
        &[Some(s), Some(ss), Some(sz)],
        TensorType::fixed(DType::F32, &[1, 3]),
    );
    g.outputs.push(y);
    g
}

fn input(seed: u64) -> Tensor {
    let mut r = rng(seed);
    let v: Vec<f32> = (0..72).map(|_| r.f32() * 6.0 - 3.0).collect();
    Tensor::from_vec(vec![1, 2, 6, 6], v).unwrap()
}

/// Runs `g` and records every node output.
fn observed(g: &Graph, x: &Tensor, opts: RunOptions) -> (Vec<Tensor>, HashMap<ValueId, Tensor>) {
    let mut seen = HashMap::new();
    let out = run_with(g, std::slice::from_ref(x), &opts, &mut |v, t| {
        seen.insert(v, t.clone());
    })
    .unwrap();
    (out, seen)
}

/// Re-evaluates every node on the recorded values with `eval` and checks the
/// graph run produced exactly that.
fn replay(
    g: &Graph,
    x: &Tensor,
    seen: &HashMap<ValueId, Tensor>,
    eval: impl Fn(&Op, &[Option<&Tensor>], &[Option<&TensorType>], &[&TensorType], bool) -> Vec<Tensor>,
) {
    let value = |v: ValueId| -> Tensor {
        match g.value(v).def {
            ValueDef::Weight(w) => g.weight(w).tensor().unwrap(),
            ValueDef::Input => x.clone(),
            ValueDef::Node { .. } => seen[&v].clone(),
        }
    };
    for (_, n) in g.nodes() {
        let ins: Vec<Option<Tensor>> = n.inputs.iter().map(|i| i.map(value)).collect();
        let refs: Vec<Option<&Tensor>> = ins.iter().map(Option::as_ref).collect();
        let in_types: Vec<Option<&TensorType>> =
            n.inputs.iter().map(|i| i.map(|v| g.ty(v))).collect();
        let out_types: Vec<&TensorType> = n.outputs.iter().map(|&v| g.ty(v)).collect();
        let quantized = !matches!(
            n.op,
            Op::QuantizeLinear { .. } | Op::DequantizeLinear { .. }
        );
        let want = eval(&n.op, &refs, &in_types, &out_types, quantized);
        assert_eq!(seen[&n.outputs[0]], want[0], "node `{}`", n.name);
    }
}

#[test]
fn integer_run_dispatches_every_quantized_node_to_eval_int() {
    let g = graph();
    let x = input(1);
    for r in Rounding::ALL {
        let opts = RunOptions {
            quant: QuantExec::Integer(r),
        };
        let (out, seen) = observed(&g, &x, opts);
        // Every intermediate is a code tensor of its declared type.
        for (_, n) in g.nodes() {
            let v = n.outputs[0];
            eprintln!(
                "DBG {} {:?}",
                n.name,
                seen[&v].to_f32_vec().iter().take(12).collect::<Vec<_>>()
            );
            assert_eq!(seen[&v].dtype(), g.ty(v).dtype, "node `{}`", n.name);
        }
        replay(&g, &x, &seen, |op, ins, it, ot, quantized| {
            if quantized {
                eval_int(op, ins, it, ot, r).unwrap()
            } else {
                eval_op(op, ins, ot.len()).unwrap()
            }
        });
        // The probabilities are multiples of 1/256 summing to about 1.
        let p = out[0].to_f32_vec();
        let sum: f32 = p.iter().sum();
        assert!((sum - 1.0).abs() <= 3.0 / 256.0, "{p:?}");
    }
}

#[test]
fn fake_quant_run_dispatches_to_the_fake_quant_path() {
    let g = graph();
    let x = input(2);
    let opts = RunOptions {
        quant: QuantExec::FakeQuant,
    };
    let (_, seen) = observed(&g, &x, opts);
    replay(&g, &x, &seen, |op, ins, it, ot, quantized| {
        if quantized {
            eval_fake_quant(op, ins, it, ot).unwrap()
        } else {
            eval_op(op, ins, ot.len()).unwrap()
        }
    });
}

#[test]
fn integer_and_fake_quant_runs_agree_closely() {
    let g = graph();
    let mut worst = 0f32;
    for seed in 0..20 {
        let x = input(100 + seed);
        let int = run(&g, std::slice::from_ref(&x)).unwrap();
        let fq = run_with(
            &g,
            std::slice::from_ref(&x),
            &RunOptions {
                quant: QuantExec::FakeQuant,
            },
            &mut |_, _| {},
        )
        .unwrap();
        for (a, b) in int[0].to_f32_vec().iter().zip(fq[0].to_f32_vec()) {
            worst = worst.max((a - b).abs() * 256.0);
        }
    }
    // One code of drift in a layer can move the next by a code or two; the final
    // probabilities stay within 3 codes (3/256).
    eprintln!("DBG worst {worst}");
    assert!(worst <= 3.0, "largest difference {worst} codes");
}

#[test]
fn default_options_are_integer_gemmlowp() {
    assert_eq!(
        RunOptions::default().quant,
        QuantExec::Integer(Rounding::Gemmlowp)
    );
    let g = graph();
    let x = input(3);
    let a = run(&g, std::slice::from_ref(&x)).unwrap();
    let b = run_observed(&g, std::slice::from_ref(&x), &mut |_, _| {}).unwrap();
    let (c, _) = observed(&g, &x, RunOptions::default());
    assert_eq!(a, b);
    assert_eq!(a, c);
}

#[test]
fn quantized_node_without_kernel_is_named() {
    let mut g = Graph::new("g");
    let x = g
        .add_input("x", TensorType::fixed(DType::F32, &[2, 3]))
        .unwrap();
    let xs = add_weight(&mut g, "xs", &plain(Tensor::scalar(0.1f32)));
    let xz = add_weight(&mut g, "xz", &plain(Tensor::scalar(0i8)));
    let ql = Op::QuantizeLinear {
        axis: 1,
        saturate: true,
        block_size: 0,
    };
    let xq = node(
        &mut g,
        "quant",
        ql,
        &[Some(x), Some(xs), Some(xz)],
        q(DType::I8, &[2, 3], 0.1, 0),
    );
    let op = Op::LogSoftmax {
        axis: -1,
        coerce_2d: false,
    };
    let y = node(
        &mut g,
        "lsm",
        op,
        &[Some(xq)],
        q(DType::I8, &[2, 3], 0.05, 127),
    );
    g.outputs.push(y);
    let x = Tensor::from_vec(vec![2, 3], vec![0.1f32, 0.5, -1.0, 2.0, 0.0, 0.3]).unwrap();
    let e = run(&g, std::slice::from_ref(&x)).unwrap_err().to_string();
    assert_eq!(
        e,
        "node `lsm` (log_softmax): no integer kernel for `log_softmax`"
    );
    let fq = run_with(
        &g,
        std::slice::from_ref(&x),
        &RunOptions {
            quant: QuantExec::FakeQuant,
        },
        &mut |_, _| {},
    )
    .unwrap();
    assert_eq!(fq[0].dtype(), DType::I8);
    assert!(fq[0].to_i64_vec().iter().all(|&c| c <= 127));
}

#[test]
fn bad_parameters_in_a_graph_name_the_node() {
    // A Relu whose output type is per-channel: the integer path refuses it by name.
    let mut g = Graph::new("g");
    let x = g
        .add_input("x", TensorType::fixed(DType::F32, &[1, 2]))
        .unwrap();
    let xs = add_weight(&mut g, "xs", &plain(Tensor::scalar(0.1f32)));
    let xz = add_weight(&mut g, "xz", &plain(Tensor::scalar(0i8)));
    let ql = Op::QuantizeLinear {
        axis: 1,
        saturate: true,
        block_size: 0,
    };
    let xq = node(
        &mut g,
        "quant",
        ql,
        &[Some(x), Some(xs), Some(xz)],
        q(DType::I8, &[1, 2], 0.1, 0),
    );
    let per_axis = QParams {
        bits: 8,
        signed: true,
        scale: vec![0.1, 0.2],
        zero_point: vec![0, 0],
        axis: Some(1),
    };
    let y = node(
        &mut g,
        "act",
        Op::Relu {},
        &[Some(xq)],
        qtype(DType::I8, &[1, 2], per_axis),
    );
    g.outputs.push(y);
    let x = Tensor::from_vec(vec![1, 2], vec![0.5f32, -0.5]).unwrap();
    let e = run(&g, std::slice::from_ref(&x)).unwrap_err().to_string();
    assert!(e.starts_with("node `act` (relu): "), "{e}");
    assert!(e.contains("output 0 must be quantized per tensor"), "{e}");
}
