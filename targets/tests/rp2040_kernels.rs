//! Every C kernel family against pare's integer interpreter, byte for byte, on
//! small random graphs quantized by pare's own int8 pass: conv (groups,
//! strides, asymmetric pads, dilations, SAME padding), depthwise and pointwise
//! conv, conv-transpose, fully connected (Gemm, MatMul) and activation ×
//! activation MatMul, max/average/global pooling, mean, add/sub/mul with
//! broadcasting and constant operands, lookup tables (in place), softmax,
//! concat, pad, transpose, slice, split, gather, tile, depth-to-space, views
//! — each with both roundings, compiled with gcc (and clang) under ASan/UBSan.

mod rp2040_support;

use pare_ir::interp::run_observed;
use pare_ir::ops::{AutoPad, DepthToSpaceMode, PadMode};
use pare_ir::quant::Rounding;
use pare_ir::{DType, Graph, Op, Tensor, TensorType, ValueId, Weight};
use pare_targets::rp2040::{emit, EmitOptions, Emitted};
use rp2040_support::{check_bit_exact, random_codes};
use std::collections::BTreeMap;

/// Builds small float graphs with random weights.
struct Builder {
    g: Graph,
    rng: fastrand::Rng,
    count: usize,
}

impl Builder {
    fn new(name: &str, seed: u64) -> Builder {
        Builder {
            g: Graph::new(name),
            rng: fastrand::Rng::with_seed(seed),
            count: 0,
        }
    }

    fn name(&mut self, what: &str) -> String {
        self.count += 1;
        format!("{what}{}", self.count)
    }

    fn input(&mut self, shape: &[u64]) -> ValueId {
        let n = self.name("x");
        self.g
            .add_input(n, TensorType::fixed(DType::F32, shape))
            .expect("input")
    }

    fn weight(&mut self, shape: &[usize]) -> ValueId {
        let n: usize = shape.iter().product();
        let v: Vec<f32> = (0..n).map(|_| self.rng.f32() * 2.0 - 1.0).collect();
        let t = Tensor::from_vec(shape.to_vec(), v).expect("weight");
        let name = self.name("w");
        self.g
            .add_weight(name, Weight::from_tensor(&t))
            .expect("weight")
    }

    fn ints(&mut self, v: &[i64]) -> ValueId {
        let t = Tensor::from_vec(vec![v.len()], v.to_vec()).expect("ints");
        let name = self.name("c");
        self.g
            .add_weight(name, Weight::from_tensor(&t))
            .expect("ints")
    }

    fn scalar(&mut self, x: f32) -> ValueId {
        let name = self.name("s");
        self.g
            .add_weight(name, Weight::from_tensor(&Tensor::scalar(x)))
            .expect("scalar")
    }

    fn ops(&mut self, op: Op, inputs: &[Option<ValueId>], outputs: usize) -> Vec<ValueId> {
        let name = self.name(op.name());
        let outs = (0..outputs)
            .map(|j| (format!("{name}_y{j}"), TensorType::scalar(DType::F32)))
            .collect();
        self.g
            .add_node(name, op, inputs.to_vec(), outs)
            .expect("node")
            .1
    }

    fn op(&mut self, op: Op, inputs: &[ValueId]) -> ValueId {
        let ins: Vec<Option<ValueId>> = inputs.iter().map(|&v| Some(v)).collect();
        self.ops(op, &ins, 1)[0]
    }

    fn finish(mut self, outputs: &[ValueId]) -> Graph {
        self.g.outputs = outputs.to_vec();
        pare_ir::infer::infer_graph(&mut self.g).expect("shapes infer");
        self.g
    }
}

fn conv(strides: &[i64], pads: &[i64], dilations: &[i64], group: i64) -> Op {
    Op::Conv {
        auto_pad: AutoPad::NotSet,
        kernel_shape: vec![],
        strides: strides.to_vec(),
        pads: pads.to_vec(),
        dilations: dilations.to_vec(),
        group,
    }
}

/// Quantizes `g` with min-max ranges over 32 random samples in [-1, 1).
fn quantize(g: Graph) -> Graph {
    quantize_with(g, &Default::default())
}

/// Gemm with `trans_b`, alpha = beta = 1.
fn gemm(trans_b: bool) -> Op {
    Op::Gemm {
        alpha: 1.0,
        beta: 1.0,
        trans_a: false,
        trans_b,
    }
}

/// int8 quantization with 4-bit weights.
fn four_bit() -> pare_passes::quantize::IntOptions {
    pare_passes::quantize::IntOptions {
        weight_bits: 4,
        ..Default::default()
    }
}

/// [`quantize`] with these options (4-bit weights, ...).
fn quantize_with(mut g: Graph, opts: &pare_passes::quantize::IntOptions) -> Graph {
    let mut rng = fastrand::Rng::with_seed(7);
    let mut ranges: BTreeMap<ValueId, (f32, f32)> = BTreeMap::new();
    let mut note = |v: ValueId, t: &Tensor| {
        if let Some(s) = t.as_slice::<f32>() {
            let e = ranges
                .entry(v)
                .or_insert((f32::INFINITY, f32::NEG_INFINITY));
            for &x in s {
                e.0 = e.0.min(x);
                e.1 = e.1.max(x);
            }
        }
    };
    for _ in 0..32 {
        let inputs: Vec<Tensor> = g
            .inputs
            .iter()
            .map(|&v| {
                let shape: Vec<usize> = g
                    .ty(v)
                    .fixed_shape()
                    .expect("fixed input")
                    .into_iter()
                    .map(|d| d as usize)
                    .collect();
                let n = shape.iter().product();
                Tensor::from_vec(
                    shape,
                    (0..n).map(|_| rng.f32() * 2.0 - 1.0).collect::<Vec<f32>>(),
                )
                .expect("sample")
            })
            .collect();
        for (&v, t) in g.inputs.iter().zip(&inputs) {
            note(v, t);
        }
        run_observed(&g, &inputs, &mut note).expect("float run");
    }
    pare_passes::quantize::quantize_int(&mut g, &ranges, opts).expect("quantizes");
    g
}

/// Emits `g` (quantized) with both roundings and checks the C bit for bit on
/// 48 random samples of int8 codes; returns the kernels used and the last emission.
fn check(g: Graph) -> (Vec<&'static str>, Emitted) {
    check_quantized(quantize(g))
}

/// [`check`] on an already quantized graph.
fn check_quantized(q: Graph) -> (Vec<&'static str>, Emitted) {
    let name = q.name.clone();
    let mut last = None;
    for (k, rounding) in [Rounding::Gemmlowp, Rounding::Single]
        .into_iter()
        .enumerate()
    {
        let e = emit(
            &q,
            &EmitOptions {
                name: format!("{name}_{k}"),
                rounding,
                model: None,
                force_palette: false,
            },
        )
        .unwrap_or_else(|err| panic!("{name}: {err}"));
        let samples = random_codes(&e, 48, 11 + k as u64);
        let n = check_bit_exact(&e, rounding, &samples);
        eprintln!(
            "{name} ({rounding}): {n} random samples bit-exact; arena {} = lower bound {}; kernels {:?}",
            e.plan.arena_bytes,
            e.plan.lower_bound,
            e.layers.iter().map(|l| l.kernel).collect::<Vec<_>>()
        );
        last = Some(e);
    }
    let e = last.expect("emitted");
    (e.layers.iter().map(|l| l.kernel).collect(), e)
}

fn assert_uses(kernels: &[&str], want: &[&str]) {
    for w in want {
        assert!(kernels.contains(w), "expected {w} among {kernels:?}");
    }
}

#[test]
fn conv_groups_strides_pads_dilations_depthwise_pointwise() {
    let mut b = Builder::new("convs", 1);
    let x = b.input(&[1, 4, 9, 10]);
    let w1 = b.weight(&[6, 4, 3, 3]);
    let b1 = b.weight(&[6]);
    let y = b.op(conv(&[2, 1], &[1, 0, 2, 1], &[1, 2], 1), &[x, w1, b1]);
    let w2 = b.weight(&[4, 3, 2, 3]);
    let y = b.op(conv(&[1, 1], &[0, 1, 1, 0], &[1, 1], 2), &[y, w2]);
    let w3 = b.weight(&[8, 1, 3, 3]);
    let b3 = b.weight(&[8]);
    let same = Op::Conv {
        auto_pad: AutoPad::SameUpper,
        kernel_shape: vec![3, 3],
        strides: vec![2, 2],
        pads: vec![],
        dilations: vec![],
        group: 4,
    };
    let y = b.op(same, &[y, w3, b3]);
    let y = b.op(Op::Relu {}, &[y]);
    // Depthwise with dilation and stride along one axis each.
    let w5 = b.weight(&[8, 1, 2, 3]);
    let y = b.op(conv(&[1, 2], &[1, 2, 0, 1], &[2, 1], 8), &[y, w5]);
    let w4 = b.weight(&[5, 8, 1, 1]);
    let y = b.op(conv(&[], &[], &[], 1), &[y, w4]);
    let (k, _) = check(b.finish(&[y]));
    assert_uses(&k, &["pare_conv2d"]);
}

#[test]
fn depthwise_three_and_five_wide_strides_one_and_two() {
    let mut b = Builder::new("dws", 6);
    // Odd widths, so the last output of a row has no partner; asymmetric pads.
    let x = b.input(&[1, 6, 11, 13]);
    let w1 = b.weight(&[6, 1, 3, 3]);
    let b1 = b.weight(&[6]);
    let y = b.op(conv(&[1, 1], &[1, 1, 1, 1], &[1, 1], 6), &[x, w1, b1]);
    let w2 = b.weight(&[6, 1, 3, 3]);
    let y = b.op(conv(&[2, 2], &[0, 1, 1, 0], &[1, 1], 6), &[y, w2]);
    let w3 = b.weight(&[6, 1, 5, 5]);
    let b3 = b.weight(&[6]);
    let y = b.op(conv(&[1, 1], &[2, 2, 2, 2], &[1, 1], 6), &[y, w3, b3]);
    let w4 = b.weight(&[6, 1, 5, 5]);
    let y = b.op(conv(&[2, 2], &[2, 1, 2, 2], &[1, 1], 6), &[y, w4]);
    // A channel multiplier of 2 is a grouped conv, not a depthwise one.
    let w5 = b.weight(&[12, 1, 3, 3]);
    let y = b.op(conv(&[1, 1], &[1, 1, 1, 1], &[1, 1], 6), &[y, w5]);
    let (k, _) = check(b.finish(&[y]));
    assert_uses(&k, &["pare_depthwise_conv2d", "pare_conv2d"]);
}

#[test]
fn four_bit_weights_stay_packed_in_convs_and_fully_connected() {
    let mut b = Builder::new("s4", 3);
    let x = b.input(&[1, 5, 6, 7]);
    // Odd channel counts: the last pair of 4-bit channels has a weight-0 partner.
    let w1 = b.weight(&[7, 5, 3, 3]);
    let b1 = b.weight(&[7]);
    let y = b.op(conv(&[1, 1], &[1, 1, 1, 1], &[1, 1], 1), &[x, w1, b1]);
    let w2 = b.weight(&[6, 7, 1, 1]);
    let y = b.op(conv(&[2, 2], &[0, 0, 0, 0], &[1, 1], 1), &[y, w2]);
    let y = b.op(Op::Flatten { axis: 1 }, &[y]);
    let w3 = b.weight(&[11, 72]);
    let b3 = b.weight(&[11]);
    let y = b.op(gemm(true), &[y, w3, b3]);
    let q = quantize_with(b.finish(&[y]), &four_bit());
    let (k, e) = check_quantized(q);
    assert_uses(&k, &["pare_conv2d", "pare_fully_connected"]);
    // Two codes a byte: 4 pairs x 48 taps, 3 pairs x 8 taps, 6 pairs x 72 taps.
    let weights = &e.weights;
    for (name, bytes) in [
        ("l0_weights", 4 * 48),
        ("l1_weights", 3 * 8),
        ("l3_weights", 6 * 72),
    ] {
        let decl = format!("_{name}[{bytes}]");
        assert!(weights.contains(&decl), "no {decl} in:\n{weights}");
    }
}

#[test]
fn fully_connected_with_4bit_weights() {
    let mut b = Builder::new("fc4", 13);
    let x = b.input(&[3, 13]);
    let w1 = b.weight(&[13, 7]);
    let c1 = b.weight(&[7]);
    let y = b.op(gemm(false), &[x, w1, c1]);
    let w2 = b.weight(&[33, 7]);
    let c2 = b.weight(&[33]);
    let y = b.op(gemm(true), &[y, w2, c2]);
    let a = b.input(&[2, 3, 4]);
    let wa = b.weight(&[4, 6]);
    let a = b.op(Op::MatMul {}, &[a, wa]);
    let (k, e) = check_quantized(quantize_with(b.finish(&[y, a]), &four_bit()));
    assert_eq!(
        k.iter().filter(|&&k| k == "pare_fully_connected").count(),
        3,
        "{k:?}"
    );
    // Packed: pairs of units, a byte a pair and tap (depth padded to 4).
    for (array, bytes) in [("l0_weights", 4 * 16), ("l1_weights", 17 * 8)] {
        let decl = format!("const uint8_t {}_{array}[{bytes}]", e.name);
        assert!(e.weights.contains(&decl), "{decl} missing");
    }
}

#[test]
fn conv_transpose_strides_pads_groups() {
    let mut b = Builder::new("convt", 2);
    let x = b.input(&[1, 3, 4, 5]);
    let w1 = b.weight(&[3, 4, 3, 3]);
    let b1 = b.weight(&[4]);
    let t1 = Op::ConvTranspose {
        auto_pad: AutoPad::NotSet,
        kernel_shape: vec![],
        strides: vec![2, 2],
        pads: vec![1, 1, 0, 0],
        dilations: vec![],
        group: 1,
        output_padding: vec![1, 0],
        output_shape: vec![],
    };
    let y = b.op(t1, &[x, w1, b1]);
    let w2 = b.weight(&[4, 3, 2, 2]);
    let t2 = Op::ConvTranspose {
        auto_pad: AutoPad::NotSet,
        kernel_shape: vec![],
        strides: vec![1, 2],
        pads: vec![0, 1, 1, 0],
        dilations: vec![2, 1],
        group: 2,
        output_padding: vec![],
        output_shape: vec![],
    };
    let y = b.op(t2, &[y, w2]);
    let (k, _) = check(b.finish(&[y]));
    assert_uses(&k, &["pare_conv_transpose2d"]);
}

#[test]
fn fully_connected_and_activation_matmul() {
    let mut b = Builder::new("fc", 3);
    let x = b.input(&[3, 12]);
    let w1 = b.weight(&[12, 7]);
    let c1 = b.weight(&[7]);
    let y = b.op(gemm(false), &[x, w1, c1]);
    let w2 = b.weight(&[5, 7]);
    let y = b.op(gemm(true), &[y, w2]);
    // Activation × activation with a broadcast batch, and a constant right
    // operand (products first: a node reading only a float input stays float).
    let a = b.input(&[2, 3, 4]);
    let wa = b.weight(&[4, 4]);
    let a = b.op(Op::MatMul {}, &[a, wa]);
    let m = b.input(&[4, 5]);
    let wm = b.weight(&[5, 5]);
    let m = b.op(gemm(false), &[m, wm]);
    let p = b.op(Op::MatMul {}, &[a, m]);
    let w3 = b.weight(&[4, 6]);
    let q = b.op(Op::MatMul {}, &[a, w3]);
    let (k, _) = check(b.finish(&[y, p, q]));
    assert_uses(&k, &["pare_fully_connected", "pare_matmul"]);
}

#[test]
fn pools_and_means() {
    let mut b = Builder::new("pools", 4);
    let x = b.input(&[1, 3, 9, 9]);
    let w = b.weight(&[3, 3, 1, 1]);
    let x = b.op(conv(&[], &[], &[], 1), &[x, w]);
    let max = Op::MaxPool {
        auto_pad: AutoPad::NotSet,
        kernel_shape: vec![3, 3],
        strides: vec![2, 2],
        pads: vec![1, 1, 1, 1],
        dilations: vec![],
        ceil_mode: false,
        storage_order: 0,
    };
    let y = b.op(max, &[x]);
    let avg = |k: Vec<i64>, s: Vec<i64>, p: Vec<i64>, ceil, cip| Op::AveragePool {
        auto_pad: AutoPad::NotSet,
        kernel_shape: k,
        strides: s,
        pads: p,
        dilations: vec![],
        ceil_mode: ceil,
        count_include_pad: cip,
    };
    let a1 = b.op(
        avg(vec![3, 2], vec![2, 1], vec![1, 0, 1, 1], true, true),
        &[x],
    );
    let a2 = b.op(
        avg(vec![2, 2], vec![2, 2], vec![1, 1, 0, 0], false, false),
        &[a1],
    );
    let gap = b.op(Op::GlobalAveragePool {}, &[a2]);
    let axes = b.ints(&[1, 3]);
    let mean = b.op(
        Op::ReduceMean {
            keepdims: false,
            noop_with_empty_axes: false,
        },
        &[y, axes],
    );
    let (k, _) = check(b.finish(&[gap, mean]));
    assert_uses(&k, &["pare_max_pool2d", "pare_average_pool2d", "pare_mean"]);
}

#[test]
fn add_sub_mul_with_broadcast_and_constants() {
    let mut b = Builder::new("binary", 5);
    let x = b.input(&[1, 4, 3, 5]);
    let w = b.weight(&[4, 4, 1, 1]);
    let x = b.op(conv(&[], &[], &[], 1), &[x, w]);
    let s = b.input(&[1, 4, 1, 1]);
    let w = b.weight(&[4, 4, 1, 1]);
    let s = b.op(conv(&[], &[], &[], 1), &[s, w]);
    let y = b.op(Op::Add {}, &[x, s]);
    let y = b.op(Op::Mul {}, &[y, x]);
    let c = b.weight(&[5]);
    let y = b.op(Op::Sub {}, &[y, c]);
    let z = b.op(Op::Mul {}, &[s, y]);
    let (k, _) = check(b.finish(&[y, z]));
    assert_uses(&k, &["pare_add", "pare_sub", "pare_mul"]);
}

#[test]
fn lookup_tables_run_in_place() {
    let mut b = Builder::new("luts", 6);
    let x = b.input(&[1, 40]);
    let w = b.weight(&[40, 40]);
    // A product first so the tables follow a layer (in place over its output).
    let y = b.op(Op::MatMul {}, &[x, w]);
    let y = b.op(Op::Sigmoid {}, &[y]);
    let lo = b.scalar(0.55);
    let hi = b.scalar(0.7);
    let y = b.op(Op::Clip {}, &[y, lo, hi]);
    let y = b.op(Op::Tanh {}, &[y]);
    let y = b.op(Op::LeakyRelu { alpha: 0.1 }, &[y]);
    let y = b.op(Op::HardSwish {}, &[y]);
    let (k, e) = check(b.finish(&[y]));
    assert_uses(&k, &["pare_lookup"]);
    // The planner put tables in place: some call reads and writes one place.
    let in_place = e.source.lines().any(|l| {
        let Some(args) = l.trim().strip_prefix("pare_lookup(") else {
            return false;
        };
        let parts: Vec<&str> = args.trim_end_matches(");").split(", ").collect();
        parts.len() == 3 && parts[1] == parts[2]
    });
    assert!(in_place, "no lookup ran in place:\n{}", e.source);
}

#[test]
fn softmax_last_and_inner_axes() {
    let mut b = Builder::new("softmax", 7);
    let x = b.input(&[2, 3, 7]);
    let w = b.weight(&[7, 7]);
    let x = b.op(Op::MatMul {}, &[x, w]);
    let y = b.op(
        Op::Softmax {
            axis: -1,
            coerce_2d: false,
        },
        &[x],
    );
    let z = b.op(
        Op::Softmax {
            axis: 1,
            coerce_2d: false,
        },
        &[x],
    );
    let (k, _) = check(b.finish(&[y, z]));
    assert_uses(&k, &["pare_softmax"]);
}

#[test]
fn concat_pad_transpose_slice_split_and_views() {
    let mut b = Builder::new("movement", 8);
    let x = b.input(&[1, 4, 3, 5]);
    let w = b.weight(&[4, 4, 1, 1]);
    // A conv first so every movement op reads int8 made inside the model.
    let x = b.op(conv(&[], &[], &[], 1), &[x, w]);
    let t = b.op(
        Op::Transpose {
            perm: Some(vec![0, 2, 3, 1]),
        },
        &[x],
    );
    let pads = b.ints(&[0, 1, 0, 2, 0, 0, 1, 1]);
    let v = b.scalar(0.25);
    let p = b.op(
        Op::Pad {
            mode: PadMode::Constant,
        },
        &[t, pads, v],
    );
    let (st, en, ax, sp) = (
        b.ints(&[4, 1]),
        b.ints(&[0, 6]),
        b.ints(&[1, 3]),
        b.ints(&[-2, 2]),
    );
    let s = b.op(Op::Slice {}, &[p, st, en, ax, sp]);
    let halves = b.ops(
        Op::Split {
            axis: 2,
            num_outputs: Some(2),
        },
        &[Some(s), None],
        2,
    );
    let c = b.op(Op::Concat { axis: 3 }, &[halves[1], halves[0], halves[1]]);
    let shape = b.ints(&[1, -1]);
    let r = b.op(Op::Reshape { allowzero: false }, &[c, shape]);
    let idx = b.ints(&[3, 0, 3]);
    let gat = b.op(Op::Gather { axis: 1 }, &[x, idx]);
    let reps = b.ints(&[1, 1, 2, 1]);
    let til = b.op(Op::Tile {}, &[gat, reps]);
    let d2s = b.op(
        Op::DepthToSpace {
            blocksize: 2,
            mode: DepthToSpaceMode::Dcr,
        },
        &[x],
    );
    let (k, _) = check(b.finish(&[r, til, d2s]));
    assert_uses(&k, &["pare_gather", "pare_concat"]);
}
