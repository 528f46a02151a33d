//! `--quantize mixed`: measure each layer's sensitivity, pick int8/int4 per
//! layer to fit `--size-budget`, and check the budget against the real size of
//! what the target stores (the encoded model file, or for `--target rp2040` the
//! const data of NAME_weights.c, which is what lands in flash), tightening and
//! retrying when the bytes besides the weights push it over.

use anyhow::{bail, Context, Result};
use pare_ir::{Graph, Node, NodeId, Tensor};
use pare_passes::quantize::calibrate::Calibration;
use pare_passes::quantize::mixed::{choose_bits, sensitivities_for, LayerSensitivity};
use pare_passes::quantize::{quantize_int, IntOptions, LayerRecord};
use std::collections::BTreeMap;

/// Candidate weight widths, widest first.
const WIDTHS: [u8; 2] = [8, 4];

pub struct Chosen {
    pub graph: Graph,
    pub records: Vec<LayerRecord>,
    /// The artifact's bytes, when the measure produced them.
    pub bytes: Option<Vec<u8>>,
    pub sensitivity: Vec<LayerSensitivity>,
    /// Layers kept at 8 bits because the target cannot store them in 4, with why.
    pub int8_only: Vec<(String, String)>,
}

/// A budgeted size and the artifact's bytes, if that is how it was measured.
pub type Sized = (u64, Option<Vec<u8>>);

/// A quantized graph, its layer records and its [`Sized`].
type Trial = (Graph, Vec<LayerRecord>, Sized);

/// What the budget is measured on, for one target.
pub struct Measure<'a> {
    /// The budgeted size of a quantized graph, and the artifact's bytes if that
    /// is how it was measured.
    pub size: &'a dyn Fn(&Graph) -> Result<Sized>,
    /// What `size` counts (for messages): "the artifact", ...
    pub what: &'a str,
    /// Why a layer may not take 4 bits on this target (`None`: it may).
    pub no_int4: &'a dyn Fn(&Graph, &Node) -> Option<String>,
}

pub fn fit(
    float: &Graph,
    cal: &Calibration,
    samples: &[Vec<Tensor>],
    budget: u64,
    m: &Measure,
) -> Result<Chosen> {
    let widths = |g: &Graph, n: &Node| -> Vec<u8> {
        match (m.no_int4)(g, n) {
            Some(_) => vec![WIDTHS[0]],
            None => WIDTHS.to_vec(),
        }
    };
    let sens = sensitivities_for(float, samples, &widths).context("measuring layer sensitivity")?;
    let int8_only: Vec<(String, String)> = sens
        .iter()
        .filter_map(|l| (m.no_int4)(float, float.node(l.node)).map(|why| (l.name.clone(), why)))
        .collect();
    let weights_at = |bits: &BTreeMap<NodeId, u8>| -> u64 {
        sens.iter().map(|l| l.bytes_at(bits[&l.node])).sum()
    };
    let measure = |bits: &BTreeMap<NodeId, u8>| -> Result<Trial> {
        let mut g = float.clone();
        let opts = IntOptions {
            node_bits: bits.clone(),
            ..IntOptions::default()
        };
        let records = quantize_int(&mut g, cal, &opts)?;
        let sized = (m.size)(&g)?;
        Ok((g, records, sized))
    };
    // What the measured size holds besides the chosen weights (scales, biases,
    // tables, graph structure), measured on the all-int8 choice.
    let all8: BTreeMap<NodeId, u8> = sens.iter().map(|l| (l.node, WIDTHS[0])).collect();
    let (_, _, (size8, _)) = measure(&all8)?;
    let overhead = size8.saturating_sub(weights_at(&all8));
    let mut weight_budget = budget.saturating_sub(overhead);
    for _ in 0..8 {
        let bits = choose_bits(&sens, weight_budget).map_err(|e| {
            anyhow::anyhow!(
                "--size-budget {budget}: {e} (the rest of {} takes {overhead} bytes{})",
                m.what,
                if int8_only.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; {} layers can only be int8 on this target: {}",
                        int8_only.len(),
                        int8_only[0].1
                    )
                }
            )
        })?;
        let (graph, records, (size, bytes)) = measure(&bits)?;
        if size <= budget {
            return Ok(Chosen {
                graph,
                records,
                bytes,
                sensitivity: sens,
                int8_only,
            });
        }
        weight_budget = weight_budget.saturating_sub(size - budget);
    }
    bail!(
        "--size-budget {budget}: no choice of widths fits {} after 8 attempts",
        m.what
    )
}
