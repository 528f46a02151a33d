//! The mixed-precision budget loop: measure each layer's sensitivity, pick
//! int8/int4 per layer to fit a byte budget, and check the budget against
//! the real size of what the target stores (a caller's [`Measure`]: the
//! encoded model file, the const data of generated C, or the graph's weight
//! bytes), tightening and retrying when the bytes besides the weights push it
//! over.

use super::calibrate::{BoxError, Calibration};
use super::mixed::{choose_bits, sensitivities_for, LayerSensitivity};
use super::{quantize_int, IntOptions, LayerRecord};
use crate::PassError;
use pare_ir::{Graph, Node, NodeId, Tensor};
use std::collections::BTreeMap;

const PASS: &str = "mixed-precision";

/// Candidate weight widths, widest first.
const WIDTHS: [u8; 2] = [8, 4];

/// Attempts at tightening the weight budget before giving up.
const ATTEMPTS: usize = 8;

/// The chosen quantization.
#[derive(Debug)]
pub struct Chosen {
    pub graph: Graph,
    pub records: Vec<LayerRecord>,
    /// The artifact's bytes, when the measure produced them.
    pub bytes: Option<Vec<u8>>,
    pub size: u64,
    pub sensitivity: Vec<LayerSensitivity>,
    /// Layers kept at 8 bits because the target cannot store them in 4, with why.
    pub int8_only: Vec<(String, String)>,
}

/// A budgeted size and the artifact's bytes, if that is how it was measured.
pub type Sized = (u64, Option<Vec<u8>>);

/// Why a layer may not take 4 bits on a target (`None`: it may).
pub type NoInt4<'a> = &'a dyn Fn(&Graph, &Node) -> Option<String>;

/// What the budget is measured on, for one target.
pub struct Measure<'a> {
    /// The budgeted size of a quantized graph, and the artifact's bytes if
    /// that is how it was measured.
    pub size: &'a dyn Fn(&Graph) -> Result<Sized, BoxError>,
    /// What `size` counts (for messages): "the artifact", ...
    pub what: &'a str,
    pub no_int4: NoInt4<'a>,
}

/// The weight bytes of a quantized graph as stored (every weight's encoded
/// bytes): the measure of targets that store the graph's weights as they are.
pub fn weight_bytes(g: &Graph) -> Result<Sized, BoxError> {
    Ok((pare_ir::analysis::weight_bytes(g), None))
}

/// Every layer may take 4 bits.
pub fn any_int4(_: &Graph, _: &Node) -> Option<String> {
    None
}

impl std::fmt::Debug for Measure<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Measure").field("what", &self.what).finish()
    }
}

/// Chooses per-layer widths of `float` (calibrated as `cal`) so that the
/// measured size fits `budget`; sensitivities are measured on `samples`.
pub fn fit(
    float: &Graph,
    cal: &Calibration,
    samples: &[Vec<Tensor>],
    budget: u64,
    m: &Measure,
) -> Result<Chosen, PassError> {
    let widths = |g: &Graph, n: &Node| -> Vec<u8> {
        match (m.no_int4)(g, n) {
            Some(_) => vec![WIDTHS[0]],
            None => WIDTHS.to_vec(),
        }
    };
    let sens = sensitivities_for(float, samples, &widths)?;
    let int8_only: Vec<(String, String)> = sens
        .iter()
        .filter_map(|l| (m.no_int4)(float, float.node(l.node)).map(|why| (l.name.clone(), why)))
        .collect();
    let weights_at = |bits: &BTreeMap<NodeId, u8>| -> u64 {
        sens.iter().map(|l| l.bytes_at(bits[&l.node])).sum()
    };
    let measure =
        |bits: &BTreeMap<NodeId, u8>| -> Result<(Graph, Vec<LayerRecord>, Sized), PassError> {
            let mut g = float.clone();
            let opts = IntOptions {
                node_bits: bits.clone(),
                ..IntOptions::default()
            };
            let records = quantize_int(&mut g, cal, &opts)?;
            let sized =
                (m.size)(&g).map_err(|source| PassError::Analysis { pass: PASS, source })?;
            Ok((g, records, sized))
        };
    // What the measured size holds besides the chosen weights (scales, biases,
    // tables, graph structure), measured on the all-int8 choice.
    let all8: BTreeMap<NodeId, u8> = sens.iter().map(|l| (l.node, WIDTHS[0])).collect();
    let (_, _, (size8, _)) = measure(&all8)?;
    let overhead = size8.saturating_sub(weights_at(&all8));
    let mut weight_budget = budget.saturating_sub(overhead);
    for _ in 0..ATTEMPTS {
        let bits = choose_bits(&sens, weight_budget).map_err(|e| PassError::Config {
            pass: PASS,
            msg: format!(
                "budget {budget}: {e} (the rest of {} takes {overhead} bytes{})",
                m.what,
                match int8_only.first() {
                    None => String::new(),
                    Some((_, why)) => format!(
                        "; {} layers can only be int8 on this target: {why}",
                        int8_only.len()
                    ),
                }
            ),
        })?;
        let (graph, records, (size, bytes)) = measure(&bits)?;
        if size <= budget {
            return Ok(Chosen {
                graph,
                records,
                bytes,
                size,
                sensitivity: sens,
                int8_only,
            });
        }
        weight_budget = weight_budget.saturating_sub(size - budget);
    }
    Err(PassError::Config {
        pass: PASS,
        msg: format!(
            "budget {budget}: no choice of widths fits {} after {ATTEMPTS} attempts",
            m.what
        ),
    })
}
