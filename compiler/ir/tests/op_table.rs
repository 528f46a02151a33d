//! The op table's own consistency, and the layers that derive from it: lookup
//! tables agree code for code with the float kernel's fake-quant path (that `quant`
//! builds them without the interpreter is checked by `layering.rs`).

use pare_ir::interp::eval_op;
use pare_ir::ops::{self, Category, GeluApprox};
use pare_ir::quant::{dequantize_f32, is_lut_op, qrange, quantize_f32, unary_lut};
use pare_ir::{Op, QParams, Tensor};
use std::collections::BTreeMap;

#[test]
fn rows_are_consistent() {
    let mut onnx_names = BTreeMap::new();
    let mut aten_targets = BTreeMap::new();
    for (name, info) in ops::table() {
        if info.lut {
            assert!(
                info.scalar.is_some(),
                "{name}: a lookup-table op needs a scalar function"
            );
        }
        if let Category::Unary(a) = info.category {
            if a == ops::Accepts::Float {
                assert!(
                    info.scalar.is_some(),
                    "{name}: float unary op without a scalar function"
                );
            }
        }
        if let Some(form) = info.onnx {
            assert!(form.since >= 1, "{name}: since {}", form.since);
            let prev = onnx_names.insert(form.name, name);
            assert!(
                prev.is_none(),
                "ONNX {} claimed by {name} and {prev:?}",
                form.name
            );
        }
        for &target in info.aten {
            assert!(
                Op::bare(name).is_some(),
                "{name} lists ATen {target} but has attributes the target would have to set"
            );
            assert!(
                matches!(
                    info.category,
                    Category::Unary(_)
                        | Category::UnaryTest(_)
                        | Category::Broadcast(_)
                        | Category::Compare(_)
                ) || info.signature.inputs.len() == 2,
                "{name}: ATen {target} must map onto a one- or two-operand op"
            );
            let prev = aten_targets.insert(target, name);
            assert!(
                prev.is_none(),
                "ATen {target} claimed by {name} and {prev:?}"
            );
            assert_eq!(ops::by_aten_target(target).map(|(n, _)| n), Some(name));
        }
    }
    // The derivations agree with the rows.
    assert_eq!(
        ops::by_onnx_name("HardSwish").map(|(n, _)| n),
        Some("hard_swish")
    );
    assert!(is_lut_op(&Op::HardSwish {}) && !is_lut_op(&Op::Add {}));
    assert_eq!(
        pare_ir::infer::signature(&Op::TopK {
            axis: -1,
            largest: true,
            sorted: true
        })
        .max_outputs,
        Some(2)
    );
    assert_eq!(Op::bare("relu"), Some(Op::Relu {}));
    assert_eq!(Op::bare("leaky_relu"), None);
}

fn per_tensor(bits: u8, signed: bool, scale: f32, zp: i32) -> QParams {
    QParams {
        bits,
        signed,
        scale: vec![scale],
        zero_point: vec![zp],
        axis: None,
    }
}

/// One instance of every lookup-table op (attribute-free ones from the table, the
/// others with non-default attributes).
fn lut_ops() -> Vec<Op> {
    let mut out: Vec<Op> = ops::table()
        .filter(|(_, i)| i.lut)
        .filter_map(|(n, _)| Op::bare(n))
        .collect();
    out.extend([
        Op::LeakyRelu { alpha: 0.1 },
        Op::Elu { alpha: 0.7 },
        Op::Selu {
            alpha: 1.5,
            gamma: 1.1,
        },
        Op::Celu { alpha: 0.8 },
        Op::ThresholdedRelu { alpha: 0.3 },
        Op::HardSigmoid {
            alpha: 0.25,
            beta: 0.4,
        },
        Op::Gelu {
            approximate: GeluApprox::None,
        },
        Op::Gelu {
            approximate: GeluApprox::Tanh,
        },
        Op::Shrink {
            bias: 0.25,
            lambd: 0.5,
        },
    ]);
    out
}

/// The table of every lookup-table op equals dequantize → the interpreter's f32
/// kernel → quantize, code by code (the fake-quant path), so the integer and
/// fake-quant interpreters agree.
#[test]
fn lookup_tables_match_the_float_kernel() {
    let in_q = per_tensor(8, true, 0.05, -3);
    let out_q = per_tensor(8, true, 0.03, 4);
    let ops = lut_ops();
    // Every lookup-table row is covered.
    let listed: std::collections::BTreeSet<&str> = ops::table()
        .filter(|(_, i)| i.lut)
        .map(|(n, _)| n)
        .collect();
    let covered: std::collections::BTreeSet<&str> = ops.iter().map(Op::name).collect();
    assert_eq!(listed, covered);
    for op in ops.iter().filter(|o| !matches!(o, Op::Clip {})) {
        check_lut(op, &in_q, &out_q, &[]);
    }
    let lo = Tensor::from_vec(vec![], vec![-1.5f32]).unwrap();
    let hi = Tensor::from_vec(vec![], vec![2.25f32]).unwrap();
    check_lut(&Op::Clip {}, &in_q, &out_q, &[Some(&lo), Some(&hi)]);
    check_lut(&Op::Clip {}, &in_q, &out_q, &[None, Some(&hi)]);
}

fn check_lut(op: &Op, in_q: &QParams, out_q: &QParams, aux: &[Option<&Tensor>]) {
    let table = unary_lut(op, in_q, out_q, aux).unwrap_or_else(|e| panic!("{op:?}: {e}"));
    let (lo, hi) = qrange(in_q);
    let (olo, ohi) = qrange(out_q);
    let codes: Vec<f32> = (lo..=hi)
        .map(|q| dequantize_f32(q, in_q.scale[0], in_q.zero_point[0]))
        .collect();
    let x = Tensor::from_vec(vec![codes.len()], codes).unwrap();
    let mut inputs = vec![Some(&x)];
    inputs.extend_from_slice(aux);
    let y = eval_op(op, &inputs, 1).unwrap_or_else(|e| panic!("{op:?}: {e}"));
    let want: Vec<i32> = y[0]
        .to_f32_vec()
        .into_iter()
        .map(|v| quantize_f32(v, out_q.scale[0], out_q.zero_point[0], olo, ohi))
        .collect();
    assert_eq!(table, want, "{op:?}");
}

#[test]
fn set_keepdims_covers_every_reduction_and_nothing_else() {
    let mut reductions = 0;
    for (name, info) in ops::table() {
        if let Some(mut bare) = Op::bare(name) {
            assert!(!bare.set_keepdims(true), "{name}");
        }
        let attrs = BTreeMap::from([
            ("keepdims".to_string(), pare_ir::Attr::Bool(false)),
            (
                "noop_with_empty_axes".to_string(),
                pare_ir::Attr::Bool(false),
            ),
        ]);
        let Ok(mut op) = Op::from_attrs(name, attrs) else {
            continue;
        };
        let reduces = op.reduce_attrs().is_some();
        assert_eq!(
            reduces,
            matches!(info.category, Category::Reduction),
            "{name}"
        );
        assert_eq!(op.set_keepdims(true), reduces, "{name}");
        if reduces {
            assert_eq!(op.reduce_attrs(), Some((true, false)), "{name}");
            reductions += 1;
        }
    }
    // ReduceSum … ReduceSumSquare: every `Reduce*` row of the table.
    assert_eq!(reductions, 10);
}
