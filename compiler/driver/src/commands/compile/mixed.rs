//! `--quantize mixed`: measure each layer's sensitivity, pick int8/int4 per
//! layer to fit `--size-budget`, and check the budget against the encoded
//! artifact's real size (tightening and retrying when the container's own bytes
//! push it over).

use crate::model_io::{self, Format};
use anyhow::{bail, Context, Result};
use pare_ir::{Graph, NodeId, Tensor};
use pare_passes::quantize::calibrate::Calibration;
use pare_passes::quantize::mixed::{choose_bits, sensitivities, LayerSensitivity};
use pare_passes::quantize::{quantize_int, IntOptions, LayerRecord};
use std::collections::BTreeMap;
use std::path::Path;

/// Candidate weight widths, widest first.
const WIDTHS: [u8; 2] = [8, 4];

pub struct Chosen {
    pub graph: Graph,
    pub records: Vec<LayerRecord>,
    pub bytes: Vec<u8>,
    pub sensitivity: Vec<LayerSensitivity>,
}

pub fn fit(
    float: &Graph,
    cal: &Calibration,
    samples: &[Vec<Tensor>],
    budget: u64,
    format: Format,
    out: &Path,
) -> Result<Chosen> {
    let sens = sensitivities(float, samples, &WIDTHS).context("measuring layer sensitivity")?;
    let weights_at = |bits: &BTreeMap<NodeId, u8>| -> u64 {
        sens.iter().map(|l| l.bytes_at(bits[&l.node])).sum()
    };
    let encode = |bits: &BTreeMap<NodeId, u8>| -> Result<(Graph, Vec<LayerRecord>, Vec<u8>)> {
        let mut g = float.clone();
        let opts = IntOptions {
            node_bits: bits.clone(),
            ..IntOptions::default()
        };
        let records = quantize_int(&mut g, cal, &opts)?;
        let bytes = model_io::encode(&g, format, out)?;
        Ok((g, records, bytes))
    };
    // What the artifact costs besides the chosen weights (scales, biases,
    // graph structure), measured on the all-int8 encoding.
    let all8: BTreeMap<NodeId, u8> = sens.iter().map(|l| (l.node, WIDTHS[0])).collect();
    let (_, _, bytes8) = encode(&all8)?;
    let overhead = (bytes8.len() as u64).saturating_sub(weights_at(&all8));
    let mut weight_budget = budget.saturating_sub(overhead);
    for _ in 0..8 {
        let bits = choose_bits(&sens, weight_budget).map_err(|e| {
            anyhow::anyhow!(
                "--size-budget {budget}: {e} (the rest of the artifact takes {overhead} bytes)"
            )
        })?;
        let (graph, records, bytes) = encode(&bits)?;
        let size = bytes.len() as u64;
        if size <= budget {
            return Ok(Chosen {
                graph,
                records,
                bytes,
                sensitivity: sens,
            });
        }
        weight_budget = weight_budget.saturating_sub(size - budget);
    }
    bail!("--size-budget {budget}: no choice of widths fits after 8 attempts")
}
