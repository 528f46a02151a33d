//! Sparse weights in the RP2040 C: convs (k×k, pointwise, grouped) and fully
//! connected layers whose float weights are magnitude-pruned (50 % unstructured,
//! 2:4, 90 % with empty channels) before int8 quantization store only their
//! non-zeros (`PARE_SPARSE`) and stay bit-exact with the integer interpreter
//! (both roundings, gcc and clang under ASan/UBSan); the pruned fixtures too, on
//! the whole digits test split; unpruned weights keep the dense kernel.

mod common;
mod rp2040_support;
mod sparse_support;

use common::{digits, quantized_fixture, quantized_fixture_edited, test_split};
use pare_ir::interp::run_observed;
use pare_ir::ops::AutoPad;
use pare_ir::quant::Rounding;
use pare_ir::{DType, Graph, Op, Tensor, TensorType, ValueId, Weight};
use pare_targets::rp2040::{emit, EmitOptions, Emitted, WeightEncoding};
use rp2040_support::{check_bit_exact, quantize_input, random_codes, reference};
use sparse_support::{prune, Pruning};
use std::collections::BTreeMap;

/// A float graph with random weights in [-1, 1).
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

    fn input(&mut self, shape: &[u64]) -> ValueId {
        self.count += 1;
        let name = format!("x{}", self.count);
        self.g
            .add_input(name, TensorType::fixed(DType::F32, shape))
            .expect("input")
    }

    fn weight(&mut self, shape: &[usize]) -> ValueId {
        self.count += 1;
        let n: usize = shape.iter().product();
        let v: Vec<f32> = (0..n).map(|_| self.rng.f32() * 2.0 - 1.0).collect();
        let t = Tensor::from_vec(shape.to_vec(), v).expect("weight");
        self.g
            .add_weight(format!("w{}", self.count), Weight::from_tensor(&t))
            .expect("weight")
    }

    fn op(&mut self, op: Op, inputs: &[ValueId]) -> ValueId {
        self.count += 1;
        let name = format!("{}{}", op.name(), self.count);
        let ins = inputs.iter().map(|&v| Some(v)).collect();
        let out = (format!("{name}_y"), TensorType::scalar(DType::F32));
        self.g.add_node(name, op, ins, vec![out]).expect("node").1[0]
    }

    fn finish(mut self, outputs: &[ValueId]) -> Graph {
        self.g.outputs = outputs.to_vec();
        pare_ir::infer::infer_graph(&mut self.g).expect("shapes infer");
        self.g
    }
}

fn conv(pads: i64, group: i64) -> Op {
    conv_with(&[1, 1], &[pads; 4], &[1, 1], group)
}

fn conv_with(strides: &[i64], pads: &[i64], dilations: &[i64], group: i64) -> Op {
    Op::Conv {
        auto_pad: AutoPad::NotSet,
        kernel_shape: vec![],
        strides: strides.to_vec(),
        pads: pads.to_vec(),
        dilations: dilations.to_vec(),
        group,
    }
}

fn gemm(trans_b: bool) -> Op {
    Op::Gemm {
        alpha: 1.0,
        beta: 1.0,
        trans_a: false,
        trans_b,
    }
}

/// Every product kind: a 3×3 conv over 6 channels (depth 54: a chunk of 8 taps
/// ends past it), a pointwise conv, a grouped conv (20 output positions: the
/// last of the sparse conv's triples has two), a conv with strides, dilations and
/// asymmetric pads, a Gemm with and without `trans_b`, a MatMul by a constant.
fn products(seed: u64) -> Graph {
    let mut b = Builder::new("products", seed);
    let x = b.input(&[1, 6, 7, 6]);
    let w = b.weight(&[20, 6, 3, 3]);
    let bias = b.weight(&[20]);
    let y = b.op(conv(1, 1), &[x, w, bias]);
    let y = b.op(Op::Relu {}, &[y]);
    let w = b.weight(&[24, 20, 1, 1]);
    let y = b.op(conv(0, 1), &[y, w]);
    let w = b.weight(&[16, 12, 3, 3]);
    let bias = b.weight(&[16]);
    let y = b.op(conv(0, 2), &[y, w, bias]);
    let w = b.weight(&[12, 16, 3, 3]);
    let y = b.op(conv_with(&[2, 1], &[1, 2, 0, 1], &[1, 2], 1), &[y, w]);
    let y = b.op(Op::Flatten { axis: 1 }, &[y]);
    let w = b.weight(&[12 * 2 * 3, 40]);
    let bias = b.weight(&[40]);
    let y = b.op(gemm(false), &[y, w, bias]);
    let w = b.weight(&[21, 40]);
    let y = b.op(gemm(true), &[y, w]);
    let w = b.weight(&[21, 9]);
    let y = b.op(Op::MatMul {}, &[y, w]);
    b.finish(&[y])
}

/// Quantizes `g` (int8) with min-max ranges over 32 random samples in [-1, 1).
fn quantize(g: Graph) -> Graph {
    quantize_bits(g, 8)
}

/// [`quantize`] with `bits`-bit weights.
fn quantize_bits(mut g: Graph, bits: u8) -> Graph {
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
                let data: Vec<f32> = (0..n).map(|_| rng.f32() * 2.0 - 1.0).collect();
                Tensor::from_vec(shape, data).expect("sample")
            })
            .collect();
        for (&v, t) in g.inputs.iter().zip(&inputs) {
            note(v, t);
        }
        run_observed(&g, &inputs, &mut note).expect("float run");
    }
    let opts = pare_passes::quantize::IntOptions {
        weight_bits: bits,
        ..Default::default()
    };
    pare_passes::quantize::quantize_int(&mut g, &ranges, &opts).expect("quantizes");
    g
}

/// Emits `q` with both roundings, checks 48 random samples bit for bit; returns
/// the last emission.
fn check_both_roundings(q: &Graph) -> Emitted {
    let mut last = None;
    for (k, rounding) in [Rounding::Gemmlowp, Rounding::Single]
        .into_iter()
        .enumerate()
    {
        let e = emit(
            q,
            &EmitOptions {
                name: format!("{}_{k}", q.name),
                rounding,
                model: None,
                force_palette: false,
            },
        )
        .unwrap_or_else(|err| panic!("{}: {err}", q.name));
        let n = check_bit_exact(&e, rounding, &random_codes(&e, 48, 11 + k as u64));
        eprintln!("{} ({rounding}): {n} random samples bit-exact", q.name);
        last = Some(e);
    }
    last.expect("emitted")
}

/// The (encoding, stored bytes, dense bytes, density) of each product layer.
fn storage(e: &Emitted) -> Vec<(WeightEncoding, u64, u64, f64)> {
    e.layers
        .iter()
        .filter_map(|l| l.weights)
        .map(|w| (w.encoding, w.stored_bytes, w.dense_bytes, w.density()))
        .collect()
}

/// Every product layer of `e` stores its weights sparse, in fewer bytes.
fn assert_all_sparse(e: &Emitted) {
    let s = storage(e);
    assert_eq!(s.len(), 7, "seven product layers: {s:?}");
    for l in e.layers.iter().filter(|l| l.weights.is_some()) {
        assert!(l.kernel.ends_with("_sparse"), "{}: {}", l.node, l.kernel);
    }
    for (enc, stored, dense, density) in &s {
        assert_eq!(*enc, WeightEncoding::SparseBitmap, "{s:?}");
        assert!(stored < dense, "{s:?}");
        assert!(*density < 0.6, "{s:?}");
    }
    assert!(e.source.contains("PARE_SPARSE"));
}

#[test]
fn unstructured_half_sparse_products_are_bit_exact() {
    let mut g = products(1);
    assert_eq!(prune(&mut g, Pruning::Unstructured(0.5)), 7);
    let e = check_both_roundings(&quantize(g));
    assert_all_sparse(&e);
    eprintln!("50 %: {:?}", storage(&e));
}

#[test]
fn two_of_four_sparse_products_are_bit_exact() {
    let mut g = products(2);
    assert_eq!(prune(&mut g, Pruning::TwoOfFour), 7);
    let e = check_both_roundings(&quantize(g));
    assert_all_sparse(&e);
    eprintln!("2:4: {:?}", storage(&e));
}

/// 90 % zeros and whole channels of zeros (mask bytes of 0, channels with no
/// value at all), with weights that reach the int8 extremes.
#[test]
fn very_sparse_products_with_empty_channels_are_bit_exact() {
    let mut g = products(3);
    prune(&mut g, Pruning::Unstructured(0.9));
    for (id, w) in g
        .weights()
        .map(|(id, w)| (id, w.clone()))
        .collect::<Vec<_>>()
    {
        let t = w.tensor().expect("reads");
        if t.rank() < 2 {
            continue;
        }
        let mut v = t.to_f32_vec();
        let per = v.len() / t.shape()[0];
        // The first output unit's row (Conv, Gemm with trans_b) or column: gone.
        for x in v.iter_mut().take(per) {
            *x = 0.0;
        }
        let t = Tensor::from_vec(t.shape().to_vec(), v).expect("weight");
        *g.weight_mut(id) = Weight::from_tensor(&t);
    }
    let e = check_both_roundings(&quantize(g));
    assert_all_sparse(&e);
}

#[test]
fn dense_weights_keep_the_dense_kernel() {
    let e = check_both_roundings(&quantize(products(4)));
    let s = storage(&e);
    assert_eq!(s.len(), 7);
    assert!(
        s.iter()
            .all(|(enc, stored, dense, _)| *enc == WeightEncoding::Dense && stored == dense),
        "{s:?}"
    );
    assert!(!e.source.contains("PARE_SPARSE"));
    let digits_cnn = quantized_fixture("digits_cnn.onnx", &digits(256));
    let e = emit(&digits_cnn, &EmitOptions::default()).expect("emits");
    assert!(storage(&e)
        .iter()
        .all(|(enc, _, _, _)| *enc == WeightEncoding::Dense));
    assert!(!e.source.contains("PARE_SPARSE"));
}

/// Pruned 4-bit weights stay packed two a byte (dense): a mask bit and a byte
/// per non-zero would take more than the nibbles.
#[test]
fn pruned_4bit_weights_stay_packed() {
    let mut g = products(5);
    prune(&mut g, Pruning::Unstructured(0.5));
    let e = check_both_roundings(&quantize_bits(g, 4));
    let layers: Vec<_> = e.layers.iter().filter_map(|l| l.weights).collect();
    assert_eq!(layers.len(), 7);
    assert!(
        layers
            .iter()
            .all(|w| w.encoding == WeightEncoding::Dense && w.bits == 4),
        "{layers:?}"
    );
}

/// The fixture pruned, quantized on 256 training digits, compiled and run over
/// the whole test split with both roundings.
fn check_pruned_fixture(file: &str, how: Pruning) {
    let g = quantized_fixture_edited(file, &digits(256), 8, |g| {
        prune(g, how);
    });
    let (xs, ys) = test_split();
    for rounding in [Rounding::Gemmlowp, Rounding::Single] {
        let e = emit(
            &g,
            &EmitOptions {
                rounding,
                ..EmitOptions::default()
            },
        )
        .unwrap_or_else(|err| panic!("{file}: {err}"));
        let samples: Vec<Vec<Vec<i8>>> = xs.iter().map(|x| vec![quantize_input(&e, x)]).collect();
        let n = check_bit_exact(&e, rounding, &samples);
        // The int8 logits' argmax (dequantizing keeps the order), for the record.
        let correct = reference(&e, rounding, &samples)
            .iter()
            .zip(&ys)
            .filter(|(out, &y)| {
                let best = (0..out.len()).fold(0, |b, i| if out[i] > out[b] { i } else { b });
                best as i64 == y
            })
            .count();
        let sparse = e
            .layers
            .iter()
            .filter(|l| {
                l.weights
                    .is_some_and(|w| w.encoding == WeightEncoding::SparseBitmap)
            })
            .count();
        eprintln!(
            "{file} pruned {how:?} ({rounding}): {n} test samples bit-exact; accuracy {:.3}; {sparse} sparse layers; weights {} B, const data {} B; {:?}",
            correct as f64 / ys.len() as f64,
            e.weight_bytes,
            e.const_bytes(),
            storage(&e)
        );
        assert!(sparse >= 2, "{file}: {:?}", storage(&e));
    }
}

#[test]
fn pruned_micro_cnn_is_bit_exact_on_the_test_split() {
    check_pruned_fixture("micro_cnn.onnx", Pruning::Unstructured(0.5));
    check_pruned_fixture("micro_cnn.onnx", Pruning::TwoOfFour);
}

#[test]
fn pruned_digits_cnn_is_bit_exact_on_the_test_split() {
    check_pruned_fixture("digits_cnn.onnx", Pruning::Unstructured(0.5));
    check_pruned_fixture("digits_cnn.onnx", Pruning::TwoOfFour);
}
