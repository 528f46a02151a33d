//! Palette (weight-sharing) weights for the RP2040 tests, made by hand (the k-means
//! `share` pass lands separately): a quantized graph's 8-bit weight codes rounded,
//! per codebook group, to `k` evenly spaced levels between the group's extreme
//! codes, then stored as an IR palette; and the small float graph of every product
//! kind (with a depthwise conv) the kernel tests quantize.

#![allow(dead_code)]

use pare_ir::interp::run_observed;
use pare_ir::ops::AutoPad;
use pare_ir::{DType, Graph, Op, PaletteSpec, Tensor, TensorType, ValueId, Weight};
use std::collections::BTreeMap;

/// One codebook for the whole weight, or one per row of axis 0 (output channel).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Books {
    PerTensor,
    PerChannel,
}

/// `codes` rounded to the `k` levels `lo + i (hi - lo) / (k - 1)` (rounded to
/// integers) of their own range: at most `k` distinct values.
fn cluster(codes: &mut [i64], k: usize) {
    let (Some(&lo), Some(&hi)) = (codes.iter().min(), codes.iter().max()) else {
        return;
    };
    let span = (hi - lo) as f64;
    let steps = (k - 1) as f64;
    for c in codes.iter_mut() {
        let level = ((*c - lo) as f64 * steps / span.max(1.0)).round();
        *c = lo + (level * span / steps).round() as i64;
    }
}

/// Stores every 8-bit quantized weight of rank >= 2 in `g` as a palette of `k`
/// entries (`books` codebooks), its codes first limited to `k` values per
/// codebook; `k` = 256 keeps the codes. Returns how many weights it changed.
pub fn palettize(g: &mut Graph, k: usize, books: Books) -> usize {
    let ids: Vec<_> = g
        .weights()
        .filter(|(_, w)| {
            w.ty.dtype == DType::I8
                && w.ty.quant.as_ref().is_some_and(|q| q.bits == 8)
                && w.ty.rank() >= 2
        })
        .map(|(id, _)| id)
        .collect();
    for &id in &ids {
        let w = g.weight(id).clone();
        let t = w.tensor().expect("weight reads");
        let rows = t.shape()[0];
        let mut codes = t.to_i64_vec();
        let groups = match books {
            Books::PerTensor => 1,
            Books::PerChannel => rows,
        };
        let per = codes.len() / groups;
        for chunk in codes.chunks_mut(per.max(1)) {
            cluster(chunk, k);
        }
        let v: Vec<i8> = codes.iter().map(|&c| c as i8).collect();
        let t = Tensor::from_vec(t.shape().to_vec(), v).expect("codes");
        let dense = Weight::with_type(w.ty.clone(), &t).expect("same type");
        *g.weight_mut(id) = dense
            .to_palette(PaletteSpec { k, groups })
            .expect("at most k values per codebook");
    }
    ids.len()
}

/// A float graph with random weights in [-1, 1).
pub struct Builder {
    pub g: Graph,
    rng: fastrand::Rng,
    count: usize,
}

impl Builder {
    pub fn new(name: &str, seed: u64) -> Builder {
        Builder {
            g: Graph::new(name),
            rng: fastrand::Rng::with_seed(seed),
            count: 0,
        }
    }

    pub fn input(&mut self, shape: &[u64]) -> ValueId {
        self.count += 1;
        let name = format!("x{}", self.count);
        self.g
            .add_input(name, TensorType::fixed(DType::F32, shape))
            .expect("input")
    }

    pub fn weight(&mut self, shape: &[usize]) -> ValueId {
        self.count += 1;
        let n: usize = shape.iter().product();
        let v: Vec<f32> = (0..n).map(|_| self.rng.f32() * 2.0 - 1.0).collect();
        let t = Tensor::from_vec(shape.to_vec(), v).expect("weight");
        self.g
            .add_weight(format!("w{}", self.count), Weight::from_tensor(&t))
            .expect("weight")
    }

    pub fn op(&mut self, op: Op, inputs: &[ValueId]) -> ValueId {
        self.count += 1;
        let name = format!("{}{}", op.name(), self.count);
        let ins = inputs.iter().map(|&v| Some(v)).collect();
        let out = (format!("{name}_y"), TensorType::scalar(DType::F32));
        self.g.add_node(name, op, ins, vec![out]).expect("node").1[0]
    }

    pub fn finish(mut self, outputs: &[ValueId]) -> Graph {
        self.g.outputs = outputs.to_vec();
        pare_ir::infer::infer_graph(&mut self.g).expect("shapes infer");
        self.g
    }
}

pub fn conv(strides: &[i64], pads: &[i64], dilations: &[i64], group: i64) -> Op {
    Op::Conv {
        auto_pad: AutoPad::NotSet,
        kernel_shape: vec![],
        strides: strides.to_vec(),
        pads: pads.to_vec(),
        dilations: dilations.to_vec(),
        group,
    }
}

pub fn gemm(trans_b: bool) -> Op {
    Op::Gemm {
        alpha: 1.0,
        beta: 1.0,
        trans_a: false,
        trans_b,
    }
}

/// Every kernel palette weights reach: a 3×3 conv over 6 channels (depth 54,
/// padded to 56), a depthwise 3×3 conv, a pointwise conv, a grouped conv, a conv
/// with strides, dilations and asymmetric pads, a Gemm with and without
/// `trans_b` (the latter's codebooks run along its `[k, n]` rows), a MatMul by a
/// constant.
pub fn products(seed: u64) -> Graph {
    let mut b = Builder::new("products", seed);
    let x = b.input(&[1, 6, 7, 6]);
    let w = b.weight(&[20, 6, 3, 3]);
    let bias = b.weight(&[20]);
    let y = b.op(conv(&[1, 1], &[1; 4], &[1, 1], 1), &[x, w, bias]);
    let y = b.op(Op::Relu {}, &[y]);
    let w = b.weight(&[20, 1, 3, 3]);
    let bias = b.weight(&[20]);
    let y = b.op(conv(&[1, 1], &[1; 4], &[1, 1], 20), &[y, w, bias]);
    let w = b.weight(&[24, 20, 1, 1]);
    let y = b.op(conv(&[1, 1], &[0; 4], &[1, 1], 1), &[y, w]);
    let w = b.weight(&[16, 12, 3, 3]);
    let bias = b.weight(&[16]);
    let y = b.op(conv(&[1, 1], &[0; 4], &[1, 1], 2), &[y, w, bias]);
    let w = b.weight(&[12, 16, 3, 3]);
    let y = b.op(conv(&[2, 1], &[1, 2, 0, 1], &[1, 2], 1), &[y, w]);
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

/// Quantizes `g` (int8, per-channel weights) with min-max ranges over 32 random
/// samples in [-1, 1).
pub fn quantize(mut g: Graph) -> Graph {
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
    let opts = pare_passes::quantize::IntOptions::default();
    pare_passes::quantize::quantize_int(&mut g, &ranges, &opts).expect("quantizes");
    g
}
