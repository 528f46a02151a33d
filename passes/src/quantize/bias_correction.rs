//! Empirical bias correction of an int8 graph, after Nagel, van Baalen,
//! Blankevoort and Welling, "Data-Free Quantization Through Weight
//! Equalization and Bias Correction" (ICCV 2019), §4.2, with the expected
//! error measured on calibration data instead of derived from batch-norm
//! statistics.
//!
//! Quantization shifts the expected pre-activation of a layer: the rounding
//! errors of a channel's weights, times an input whose mean is not zero, add
//! up to a per-channel offset `δ_c` that the layer's bias can absorb. For each
//! quantized Conv/Gemm with an int32 bias and a float counterpart (the node of
//! the same name: the quantizer keeps node names, while compaction renumbers
//! values), `δ_c` is averaged over the first
//! [`BiasCorrectionOptions::max_samples`] samples and `round(δ_c / (s_x·s_w[c]))`
//! is subtracted from the int32 bias. Two estimators ([`Estimator`]):
//!
//! * `Sequential` compares the quantized model's pre-activation with the
//!   float model's. The quantized one is the float kernel on the dequantized
//!   int8 input, weights and bias: exactly `s_x·s_w[c]` times the integer
//!   accumulator before requantization, so an output range that saturates
//!   like a fused ReLU hides nothing. It sees every source of bias (weight
//!   rounding, activation rounding and clipping, errors arriving from earlier
//!   layers), so layers are corrected one at a time in graph order, each
//!   measured with the corrections before it in place: correcting all from one
//!   measurement counts an upstream offset once at its source and again
//!   downstream, and iterating that (Jacobi-style) diverged on the digits CNN
//!   (38.2 → 37.5 → 35.5 dB). Each layer costs one pass of the integer
//!   interpreter over the graph before it.
//! * `WeightError` is the paper's own formulation, `δ = E[(W̃ − W)·x] + (b̃ − b)`
//!   with `x` the float model's input to the layer: one float pass for all
//!   layers, since a layer's own rounding error does not depend on the others.
//!   It misses biases from activation clipping; on MobileNetV2 it matched the
//!   sequential estimator (39.1 vs 39.1 dB from 33.6) at a twentieth of the cost,
//!   on the digits CNN it fell short (38.5 vs 38.6 dB).
//!
//! A layer that sees few values per channel (a squeeze-excitation conv, a
//! classifier head: one value a sample) corrects only the channels whose
//! mean error is significant, paired sample by sample
//! ([`FEW_VALUES_PER_CHANNEL`]); elsewhere the mean is noise fitted to the
//! calibration samples.
//!
//! Data is streamed: one batch of inputs and the interpreter's working set at
//! a time, whatever the number of samples.

use super::calibrate::{batch_samples, take_samples, BoxError, CalibData};
use crate::PassError;
use pare_ir::interp::{eval_op, run_with, QuantExec, RunOptions};
use pare_ir::quant::{dequantize_tensor, Rounding};
use pare_ir::{DType, Graph, NodeId, Op, Tensor, ValueId, Weight};
use std::collections::BTreeMap;

const PASS: &str = "bias-correction";

/// Below this many values per channel (samples × output positions) a
/// layer's per-channel mean errors must pass a significance test to be
/// corrected: a squeeze-excitation conv or a classifier head sees one value
/// per sample, and a mean of a few dozen per-sample errors is mostly those
/// samples' noise (on PP-OCR's direction classifier, correcting its SE convs
/// as measured cost 1.2 dB on held-out images). Layers with more values
/// are corrected as measured (their per-value errors are not independent
/// across positions, so a test would count them wrongly anyway).
pub const FEW_VALUES_PER_CHANNEL: u64 = 1024;

/// How many standard errors a channel's mean error must be from zero, on a
/// layer with few values per channel, to be corrected (about a 5 % chance
/// that pure noise passes).
const SIGNIFICANT_T: f64 = 2.0;

/// How each layer's mean error is measured (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Estimator {
    /// Quantized vs float pre-activation, layer by layer in graph order.
    Sequential,
    /// Each layer's own weight and bias rounding error on its float input,
    /// all layers in one float pass.
    WeightError,
}

impl Estimator {
    pub fn name(self) -> &'static str {
        match self {
            Estimator::Sequential => "sequential",
            Estimator::WeightError => "weight-error",
        }
    }
}

/// Options of [`correct_biases`].
#[derive(Clone, Copy, Debug)]
pub struct BiasCorrectionOptions {
    /// Samples (the first of the data) each layer's mean error is measured on.
    pub max_samples: usize,
    /// Rounding of the integer kernels the quantized graph runs with.
    pub rounding: Rounding,
    pub estimator: Estimator,
}

impl Default for BiasCorrectionOptions {
    fn default() -> Self {
        BiasCorrectionOptions {
            max_samples: 64,
            rounding: Rounding::default(),
            estimator: Estimator::Sequential,
        }
    }
}

/// One corrected layer, for the report (errors in the layer's output units).
#[derive(Clone, Debug, PartialEq)]
pub struct CorrectedLayer {
    pub node: String,
    pub channels: usize,
    /// Mean over channels of `|δ_c|` as the estimator measured it (for the
    /// sequential one, with the earlier layers already corrected).
    pub mean_abs_error: f64,
    /// Largest change of one channel's bias, in real units and in int32 codes.
    pub max_shift: f64,
    pub max_shift_codes: i64,
}

/// What [`correct_biases`] did.
#[derive(Clone, Debug, PartialEq)]
pub struct BiasCorrection {
    pub estimator: Estimator,
    pub layers: Vec<CorrectedLayer>,
    /// Quantized compute nodes left alone: (node, why).
    pub skipped: Vec<(String, String)>,
    pub samples: usize,
}

/// Corrects the int32 biases of `quant` (quantized from `float`) on the first
/// `opts.max_samples` samples of `data` (see the module docs);
/// `progress(done, total)` reports layers (sequential) or passes. Re-verifies.
pub fn correct_biases<D: CalibData + ?Sized>(
    float: &Graph,
    quant: &mut Graph,
    data: &mut D,
    opts: &BiasCorrectionOptions,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<BiasCorrection, PassError> {
    let (mut targets, skipped) = find_targets(float, quant, opts.max_samples)?;
    let mut done = BiasCorrection {
        estimator: opts.estimator,
        layers: Vec::new(),
        skipped,
        samples: 0,
    };
    if targets.is_empty() {
        return Ok(done);
    }
    let total = targets.len();
    let errors: Vec<Vec<f64>> = match opts.estimator {
        Estimator::Sequential => {
            let (float_sums, samples) = float_sums(float, &targets, data, opts.max_samples)?;
            done.samples = samples;
            let mut errors = Vec::with_capacity(total);
            for k in 0..total {
                let prefix = upstream_of(quant, targets[k].x);
                let q = quant_sums(&prefix, &targets[k..=k], data, opts)?;
                let e = q[0].mean_errors(Some(&float_sums[k]));
                done.layers.push(apply(quant, &mut targets[k], &e)?);
                errors.push(e);
                progress(k + 1, total);
            }
            errors
        }
        Estimator::WeightError => {
            let (sums, samples) = weight_errors(float, quant, &targets, data, opts.max_samples)?;
            let errors: Vec<Vec<f64>> = sums.iter().map(|s| s.mean_errors(None)).collect();
            done.samples = samples;
            for (t, e) in targets.iter_mut().zip(&errors) {
                done.layers.push(apply(quant, t, e)?);
            }
            progress(1, 1);
            errors
        }
    };
    for (l, e) in done.layers.iter_mut().zip(&errors) {
        l.mean_abs_error = e.iter().map(|x| x.abs()).sum::<f64>() / e.len().max(1) as f64;
    }
    // Drops the replaced biases.
    quant.compact();
    crate::util::verify(quant, PASS)?;
    Ok(done)
}

/// Per quantized compute node with an int32 bias (by node name, in graph
/// order): the mean per-channel error `E[quantized − float pre-activation]` of
/// `quant` as it is, on the first `opts.max_samples` samples of `data`.
pub fn mean_errors<D: CalibData + ?Sized>(
    float: &Graph,
    quant: &Graph,
    data: &mut D,
    opts: &BiasCorrectionOptions,
) -> Result<Vec<(String, Vec<f64>)>, PassError> {
    let (targets, _) = find_targets(float, quant, usize::MAX)?;
    let (f, _) = float_sums(float, &targets, data, opts.max_samples)?;
    let f: Vec<Vec<f64>> = f.iter().map(ChannelSums::means).collect();
    let q: Vec<Vec<f64>> = quant_sums(quant, &targets, data, opts)?
        .iter()
        .map(ChannelSums::means)
        .collect();
    Ok(targets
        .iter()
        .zip(q.iter().zip(&f))
        .map(|(t, (q, f))| {
            (
                t.name.clone(),
                q.iter().zip(f).map(|(a, b)| a - b).collect(),
            )
        })
        .collect())
}

/// A layer to correct: a quantized Conv/Gemm with an int32 bias and its float
/// counterpart.
#[derive(Clone, Debug)]
struct Target {
    q: NodeId,
    f: NodeId,
    name: String,
    channels: usize,
    /// The quantized data input.
    x: ValueId,
    /// Dequantized weight.
    w: Tensor,
    bias_codes: Vec<i32>,
    bias_scale: Vec<f32>,
    /// Measured on fewer than [`FEW_VALUES_PER_CHANNEL`] values a channel:
    /// each channel's mean error must be significant to be corrected.
    few_values: bool,
}

impl Target {
    fn sums(&self) -> ChannelSums {
        ChannelSums::new(self.channels, self.few_values)
    }

    /// The bias in real units.
    fn bias(&self) -> Result<Tensor, PassError> {
        let b: Vec<f32> = self
            .bias_codes
            .iter()
            .zip(&self.bias_scale)
            .map(|(&c, &s)| c as f32 * s)
            .collect();
        Tensor::from_vec(vec![b.len()], b).map_err(|e| node_err(&self.name, e))
    }

    /// The layer's op applied to real-valued inputs.
    fn eval(&self, g: &Graph, x: &Tensor, w: &Tensor, b: &Tensor) -> Result<Tensor, PassError> {
        let op = &g.node(self.q).op;
        let mut out =
            eval_op(op, &[Some(x), Some(w), Some(b)], 1).map_err(|e| node_err(&self.name, e))?;
        out.pop()
            .ok_or_else(|| msg(&self.name, "the kernel returned no output".into()))
    }

    /// The quantized pre-activation for quantized input `xq`.
    fn pre_activation(&self, g: &Graph, xq: &Tensor) -> Result<Tensor, PassError> {
        let q = g.ty(self.x).quant.as_ref().ok_or_else(|| {
            msg(
                &self.name,
                "its input lost its quantization parameters".into(),
            )
        })?;
        let x = dequantize_tensor(xq, q).map_err(|e| node_err(&self.name, e))?;
        self.eval(g, &x, &self.w, &self.bias()?)
    }
}

/// The quantized Conv/Gemm nodes with an int32 bias that have a float
/// counterpart of the same (unique) name and op, and the others with reasons.
#[allow(clippy::type_complexity)]
fn find_targets(
    float: &Graph,
    quant: &Graph,
    samples: usize,
) -> Result<(Vec<Target>, Vec<(String, String)>), PassError> {
    let mut by_name: BTreeMap<&str, Vec<NodeId>> = BTreeMap::new();
    // Unnamed nodes (pare-made, or from a .pir without node names) pair up by
    // order: quantization rewrites convs and gemms in place, in graph order.
    let is_product = |n: &pare_ir::Node| matches!(n.op, Op::Conv { .. } | Op::Gemm { .. });
    let unnamed_in = |g: &Graph| -> Vec<NodeId> {
        g.order()
            .iter()
            .copied()
            .filter(|&id| g.node(id).name.is_empty() && is_product(g.node(id)))
            .collect()
    };
    let unnamed = unnamed_in(float);
    let quant_ordinal: BTreeMap<NodeId, usize> = unnamed_in(quant)
        .into_iter()
        .enumerate()
        .map(|(k, id)| (id, k))
        .collect();
    for (id, n) in float.nodes() {
        by_name.entry(n.name.as_str()).or_default().push(id);
    }
    let mut targets = Vec::new();
    let mut skipped = Vec::new();
    for (id, n) in quant.nodes() {
        let ordinal = quant_ordinal.get(&id).copied();
        let quantized = |i: usize| n.input(i).is_some_and(|v| quant.ty(v).quant.is_some());
        if !(matches!(n.op, Op::Conv { .. } | Op::Gemm { .. }) && quantized(0) && quantized(1)) {
            continue;
        }
        let mut skip = |r: &str| skipped.push((n.name.clone(), r.to_string()));
        let (Some(x), Some(wv), Some(bv)) = (n.input(0), n.input(1), n.input(2)) else {
            skip("it has no bias to absorb the error");
            continue;
        };
        let (Some(w), Some(bias)) = (quant.weight_of(wv), quant.weight_of(bv)) else {
            skip("its weight or bias is not a constant");
            continue;
        };
        let (Some(wq), Some(bq)) = (w.ty.quant.as_ref(), bias.ty.quant.as_ref()) else {
            skip("its weight or bias is not quantized");
            continue;
        };
        if bias.ty.dtype != DType::I32 {
            skip("its bias is not int32");
            continue;
        }
        let by_order = ordinal
            .and_then(|k| unnamed.get(k))
            .map(std::slice::from_ref);
        let f = match by_order.or_else(|| by_name.get(n.name.as_str()).map(Vec::as_slice)) {
            Some([f]) if float.node(*f).op.name() == n.op.name() => *f,
            Some([_]) => {
                skip("the float node of this name is another op");
                continue;
            }
            Some(_) if !n.name.is_empty() => {
                skip("several float nodes have this name");
                continue;
            }
            _ => {
                skip("no float node has this name");
                continue;
            }
        };
        let wt = w.tensor().map_err(|e| node_err(&n.name, e))?;
        let w = dequantize_tensor(&wt, wq).map_err(|e| node_err(&n.name, e))?;
        let codes = bias.tensor().map_err(|e| node_err(&n.name, e))?;
        let bias_codes: Vec<i32> = codes.as_slice::<i32>().unwrap_or_default().to_vec();
        let channels = bias_codes.len();
        let bias_scale: Vec<f32> = match bq.scale.len() {
            1 => vec![bq.scale[0]; channels],
            k if k == channels => bq.scale.clone(),
            _ => {
                skip("its bias scales do not match its channels");
                continue;
            }
        };
        let out = float.node(f).outputs.first().map(|&o| float.ty(o));
        let axis1 = out.and_then(|t| t.shape.get(1)).and_then(|d| d.fixed());
        if axis1 != Some(channels as u64) {
            skip("its bias is not one value per output channel (axis 1)");
            continue;
        }
        // Output positions per sample (unknown when symbolic: then measured).
        let positions = out.and_then(|t| {
            t.shape
                .get(2..)
                .unwrap_or_default()
                .iter()
                .try_fold(1u64, |a, d| d.fixed().map(|n| a.saturating_mul(n)))
        });
        let few_values =
            positions.is_some_and(|p| p.saturating_mul(samples as u64) < FEW_VALUES_PER_CHANNEL);
        targets.push(Target {
            q: id,
            f,
            name: n.name.clone(),
            channels,
            x,
            w,
            bias_codes,
            bias_scale,
            few_values,
        });
    }
    Ok((targets, skipped))
}

/// Subtracts `error` (real units, per channel) from the target's bias codes,
/// stores them in `g`, and says how far the bias moved.
fn apply(g: &mut Graph, t: &mut Target, error: &[f64]) -> Result<CorrectedLayer, PassError> {
    let mut max_shift = (0f64, 0i64);
    for (c, &delta) in error.iter().enumerate().take(t.channels) {
        let scale = f64::from(t.bias_scale[c]);
        let old = i64::from(t.bias_codes[c]);
        // In f64: a tiny bias scale (a dead channel's) makes the shift too large
        // for any integer type, and it must saturate, not overflow.
        let shifted =
            (old as f64 - (delta / scale).round()).clamp(i32::MIN.into(), i32::MAX.into());
        let new = if shifted.is_nan() {
            old
        } else {
            shifted as i64
        };
        t.bias_codes[c] = new as i32;
        if (new - old).abs() > max_shift.1.abs() {
            max_shift = ((new - old) as f64 * scale, new - old);
        }
    }
    let Some(old) = g.node(t.q).input(2) else {
        return Err(msg(&t.name, "the bias vanished".into()));
    };
    let codes = Tensor::from_vec(vec![t.bias_codes.len()], t.bias_codes.clone())
        .map_err(|e| node_err(&t.name, e))?;
    let w = Weight::with_type(g.ty(old).clone(), &codes).map_err(|e| node_err(&t.name, e))?;
    let name = std::mem::take(&mut g.value_mut(old).name);
    let nv = g.add_weight(name, w).map_err(|e| node_err(&t.name, e))?;
    g.node_mut(t.q).inputs[2] = Some(nv);
    Ok(CorrectedLayer {
        node: t.name.clone(),
        channels: t.channels,
        mean_abs_error: 0.0,
        max_shift: max_shift.0,
        max_shift_codes: max_shift.1,
    })
}

/// Per target, the float model's pre-activation summed per channel, and the
/// number of samples seen.
fn float_sums<D: CalibData + ?Sized>(
    float: &Graph,
    targets: &[Target],
    data: &mut D,
    max_samples: usize,
) -> Result<(Vec<ChannelSums>, usize), PassError> {
    let mut sums: Vec<ChannelSums> = targets.iter().map(Target::sums).collect();
    let mut readers: BTreeMap<ValueId, Vec<usize>> = BTreeMap::new();
    for (k, t) in targets.iter().enumerate() {
        if let Some(&o) = float.node(t.f).outputs.first() {
            readers.entry(o).or_default().push(k);
        }
    }
    let samples = stream(
        float,
        data,
        max_samples,
        &RunOptions::default(),
        &readers,
        &mut |k, y| sums[k].add(y, &targets[k].name),
    )?;
    Ok((sums, samples))
}

/// Per target, the quantized model's pre-activation summed per channel,
/// running `g` (the quantized graph, or a prefix of it holding the targets'
/// inputs).
fn quant_sums<D: CalibData + ?Sized>(
    g: &Graph,
    targets: &[Target],
    data: &mut D,
    opts: &BiasCorrectionOptions,
) -> Result<Vec<ChannelSums>, PassError> {
    let mut sums: Vec<ChannelSums> = targets.iter().map(Target::sums).collect();
    let mut readers: BTreeMap<ValueId, Vec<usize>> = BTreeMap::new();
    for (k, t) in targets.iter().enumerate() {
        readers.entry(t.x).or_default().push(k);
    }
    let run_opts = RunOptions {
        quant: QuantExec::Integer(opts.rounding),
    };
    stream(
        g,
        data,
        opts.max_samples,
        &run_opts,
        &readers,
        &mut |k, xq| {
            let y = targets[k].pre_activation(g, xq)?;
            sums[k].add(&y, &targets[k].name)
        },
    )?;
    Ok(sums)
}

/// Per target, its own rounding error on the float model's input,
/// `(W̃ − W)·x + (b̃ − b)`, summed per channel, and the number of samples
/// seen.
fn weight_errors<D: CalibData + ?Sized>(
    float: &Graph,
    quant: &Graph,
    targets: &[Target],
    data: &mut D,
    max_samples: usize,
) -> Result<(Vec<ChannelSums>, usize), PassError> {
    let mut deltas = Vec::with_capacity(targets.len());
    let mut readers: BTreeMap<ValueId, Vec<usize>> = BTreeMap::new();
    for (k, t) in targets.iter().enumerate() {
        let n = float.node(t.f);
        let constant = |i: usize| -> Result<Vec<f32>, PassError> {
            let w = n
                .input(i)
                .and_then(|v| float.weight_of(v))
                .ok_or_else(|| msg(&t.name, format!("float input {i} is not a constant")))?;
            Ok(w.tensor().map_err(|e| node_err(&t.name, e))?.to_f32_vec())
        };
        let (fw, fb) = (constant(1)?, constant(2)?);
        let (qw, qb) = (t.w.to_f32_vec(), t.bias()?.to_f32_vec());
        if fw.len() != qw.len() || fb.len() != qb.len() {
            return Err(msg(
                &t.name,
                "float and quantized weights differ in shape".into(),
            ));
        }
        let diff =
            |q: &[f32], f: &[f32]| -> Vec<f32> { q.iter().zip(f).map(|(a, b)| a - b).collect() };
        let dw = Tensor::from_vec(t.w.shape().to_vec(), diff(&qw, &fw))
            .map_err(|e| node_err(&t.name, e))?;
        let db =
            Tensor::from_vec(vec![qb.len()], diff(&qb, &fb)).map_err(|e| node_err(&t.name, e))?;
        deltas.push((dw, db));
        let x = n
            .input(0)
            .ok_or_else(|| msg(&t.name, "no float data input".into()))?;
        readers.entry(x).or_default().push(k);
    }
    let mut sums: Vec<ChannelSums> = targets.iter().map(Target::sums).collect();
    let samples = stream(
        float,
        data,
        max_samples,
        &RunOptions::default(),
        &readers,
        &mut |k, x| {
            let (dw, db) = &deltas[k];
            let y = targets[k].eval(quant, x, dw, db)?;
            sums[k].add(&y, &targets[k].name)
        },
    )?;
    Ok((sums, samples))
}

/// Runs `g` over the first `max` samples of `data`, one batch at a time, and
/// calls `seen(k, tensor)` for every reader `k` of each value in `readers` as
/// soon as it is computed (graph inputs included), so no activation is held
/// past the interpreter's own use of it. Returns the samples seen.
fn stream<D: CalibData + ?Sized>(
    g: &Graph,
    data: &mut D,
    max: usize,
    opts: &RunOptions,
    readers: &BTreeMap<ValueId, Vec<usize>>,
    seen: &mut dyn FnMut(usize, &Tensor) -> Result<(), PassError>,
) -> Result<usize, PassError> {
    let source = |e: D::Error| PassError::Analysis {
        pass: PASS,
        source: e.into(),
    };
    let mut done = 0;
    let mut batches = data.open().map_err(source)?;
    while done < max {
        let Some(batch) = batches.next() else { break };
        let mut batch = batch.map_err(source)?;
        let mut n = batch_samples(&batch);
        if n > max - done {
            batch = take_samples(batch, n, max - done).map_err(analysis_err)?;
            n = max - done;
        }
        let mut failed: Option<PassError> = None;
        let mut observe = |v: ValueId, t: &Tensor| {
            for &k in readers.get(&v).map_or(&[][..], Vec::as_slice) {
                if let Err(e) = seen(k, t) {
                    failed = failed.take().or(Some(e));
                }
            }
        };
        for (&v, t) in g.inputs.iter().zip(&batch) {
            observe(v, t);
        }
        run_with(g, &batch, opts, &mut observe).map_err(analysis_err)?;
        if let Some(e) = failed {
            return Err(e);
        }
        done += n;
    }
    if done == 0 {
        return Err(PassError::Analysis {
            pass: PASS,
            source: BoxError::from("the data yielded no samples"),
        });
    }
    Ok(done)
}

/// A copy of `g` that computes only what `v` needs and returns `v`.
fn upstream_of(g: &Graph, v: ValueId) -> Graph {
    let mut need = vec![false; g.node_slots()];
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        if let Some(p) = g.producer(v) {
            if !need[p.index()] {
                need[p.index()] = true;
                stack.extend(g.node(p).present_inputs());
            }
        }
    }
    let mut prefix = g.clone();
    prefix.set_order(
        g.order()
            .iter()
            .copied()
            .filter(|n| need[n.index()])
            .collect(),
    );
    prefix.outputs = vec![v];
    prefix
}

/// Running per-channel sums over axis 1 of `[N, C, …]` tensors; on a layer
/// with few values per channel, the values themselves, in the order seen.
struct ChannelSums {
    sum: Vec<f64>,
    count: u64,
    values: Option<Vec<Vec<f64>>>,
}

impl ChannelSums {
    fn new(channels: usize, keep_values: bool) -> ChannelSums {
        ChannelSums {
            sum: vec![0.0; channels],
            count: 0,
            values: keep_values.then(|| vec![Vec::new(); channels]),
        }
    }

    /// Adds `t`; errors when its axis 1 is not the channels.
    fn add(&mut self, t: &Tensor, node: &str) -> Result<(), PassError> {
        let c = self.sum.len();
        if t.shape().get(1) != Some(&c) {
            return Err(msg(
                node,
                format!(
                    "output of shape {:?} does not have {c} channels on axis 1",
                    t.shape()
                ),
            ));
        }
        let inner: usize = t.shape()[2..].iter().product();
        if inner == 0 {
            return Ok(());
        }
        for (e, x) in t.to_f64_vec().into_iter().enumerate() {
            let ch = (e / inner) % c;
            self.sum[ch] += x;
            if let Some(v) = &mut self.values {
                v[ch].push(x);
            }
        }
        self.count += (t.len() / c) as u64;
        Ok(())
    }

    fn means(&self) -> Vec<f64> {
        let n = self.count.max(1) as f64;
        self.sum.iter().map(|s| s / n).collect()
    }

    /// The mean error per channel: these sums less `reference`'s (the float
    /// model's, seen on the same samples in the same order), or these sums
    /// alone (errors already). With the values kept, a channel whose mean
    /// error is within [`SIGNIFICANT_T`] standard errors of zero (its values
    /// paired sample by sample) gets 0: no correction.
    fn mean_errors(&self, reference: Option<&ChannelSums>) -> Vec<f64> {
        let mut e = self.means();
        if let Some(r) = reference {
            e.iter_mut().zip(r.means()).for_each(|(a, b)| *a -= b);
        }
        let Some(values) = &self.values else {
            return e;
        };
        for (c, mean) in e.iter_mut().enumerate() {
            let paired: Vec<f64> = match reference.and_then(|r| r.values.as_ref()) {
                Some(rv) if rv[c].len() == values[c].len() => {
                    values[c].iter().zip(&rv[c]).map(|(a, b)| a - b).collect()
                }
                Some(_) => continue,
                None => values[c].clone(),
            };
            let n = paired.len() as f64;
            if n < 2.0 {
                continue;
            }
            let var = paired.iter().map(|d| (d - *mean).powi(2)).sum::<f64>() / (n - 1.0);
            if mean.abs() < SIGNIFICANT_T * (var / n).sqrt() {
                *mean = 0.0;
            }
        }
        e
    }
}

fn msg(node: &str, msg: String) -> PassError {
    PassError::NodeMsg {
        pass: PASS,
        node: node.to_string(),
        msg,
    }
}

fn node_err(node: &str, e: impl std::error::Error + Send + Sync + 'static) -> PassError {
    PassError::Node {
        pass: PASS,
        node: node.to_string(),
        source: Box::new(e),
    }
}

fn analysis_err(e: impl std::error::Error + Send + Sync + 'static) -> PassError {
    PassError::Analysis {
        pass: PASS,
        source: Box::new(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `[n, 2]` rows of one value per channel, as a Gemm head's output.
    fn rows(c0: &[f64], c1: &[f64]) -> Tensor {
        let v: Vec<f32> = c0
            .iter()
            .zip(c1)
            .flat_map(|(a, b)| [*a as f32, *b as f32])
            .collect();
        Tensor::from_vec(vec![c0.len(), 2], v).unwrap()
    }

    #[test]
    fn on_few_values_only_a_significant_mean_error_is_corrected() {
        // Channel 0: errors ±1 around a mean of 0.1 (t ≈ 0.6, noise);
        // channel 1: 0.5 ± 0.05 (t ≈ 60, a real offset).
        let n = 32;
        let noise: Vec<f64> = (0..n)
            .map(|i| if i % 2 == 0 { 1.1 } else { -0.9 })
            .collect();
        let offset: Vec<f64> = (0..n)
            .map(|i| if i % 2 == 0 { 0.55 } else { 0.45 })
            .collect();
        let base: Vec<f64> = (0..n).map(|i| i as f64 * 0.25).collect();
        let quant: Vec<f64> = base.iter().zip(&noise).map(|(b, e)| b + e).collect();
        let quant1: Vec<f64> = base.iter().zip(&offset).map(|(b, e)| b + e).collect();
        let mut f = ChannelSums::new(2, true);
        f.add(&rows(&base, &base), "fc").unwrap();
        let mut q = ChannelSums::new(2, true);
        q.add(&rows(&quant, &quant1), "fc").unwrap();
        let e = q.mean_errors(Some(&f));
        assert_eq!(e[0], 0.0);
        assert!((e[1] - 0.5).abs() < 1e-6, "{e:?}");
        // Without the values (a layer with many), both are corrected as measured.
        let mut f = ChannelSums::new(2, false);
        f.add(&rows(&base, &base), "fc").unwrap();
        let mut q = ChannelSums::new(2, false);
        q.add(&rows(&quant, &quant1), "fc").unwrap();
        let e = q.mean_errors(Some(&f));
        assert!(
            (e[0] - 0.1).abs() < 1e-6 && (e[1] - 0.5).abs() < 1e-6,
            "{e:?}"
        );
    }
}
