//! The result of calibration: each observed value's statistics and chosen range.

use super::select::{select_range, simulated_mse, Selected};
use super::{CalibError, CalibMethod, Observer, Phase, Progress};
use pare_ir::{Graph, ValueId};
use rayon::prelude::*;
use std::collections::BTreeMap;

/// Values chosen between two progress reports.
const SELECT_CHUNK: usize = 32;

/// Statistics and clipping ranges by value, in value order (no hashing: the same
/// data and options give the same calibration).
#[derive(Clone, Debug)]
pub struct Calibration {
    method: CalibMethod,
    bits: u8,
    samples: usize,
    observers: BTreeMap<ValueId, Observer>,
    chosen: BTreeMap<ValueId, Selected>,
}

impl Calibration {
    /// Chooses every value's range with `method` for `bits`-bit activations;
    /// `samples` is what the statistics were gathered over (for reports).
    /// Reports [`Phase::Select`] progress in values.
    pub fn new(
        observers: BTreeMap<ValueId, Observer>,
        method: CalibMethod,
        bits: u8,
        samples: usize,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Calibration, CalibError> {
        let total = observers.len();
        let mut chosen = BTreeMap::new();
        let report = |done| Progress {
            phase: Phase::Select,
            done,
            total: Some(total),
        };
        progress(report(0));
        // Values are independent: choose a chunk in parallel, then report. The
        // results are collected in value order, so threads change nothing.
        let entries: Vec<(ValueId, &Observer)> = observers.iter().map(|(&v, o)| (v, o)).collect();
        let mut done = 0;
        for chunk in entries.chunks(SELECT_CHUNK) {
            let picked: Vec<_> = chunk
                .par_iter()
                .map(|(_, obs)| select_range(obs, method, bits))
                .collect();
            for ((v, _), s) in chunk.iter().zip(picked) {
                if let Some(s) = s? {
                    chosen.insert(*v, s);
                }
            }
            done += chunk.len();
            progress(report(done));
        }
        Ok(Calibration {
            method,
            bits,
            samples,
            observers,
            chosen,
        })
    }

    /// The method ranges were chosen with.
    pub fn method(&self) -> CalibMethod {
        self.method
    }

    /// The activation bits ranges were chosen for.
    pub fn bits(&self) -> u8 {
        self.bits
    }

    /// Samples the statistics cover.
    pub fn samples(&self) -> usize {
        self.samples
    }

    /// Every observed value, in id order.
    pub fn values(&self) -> impl Iterator<Item = ValueId> + '_ {
        self.observers.keys().copied()
    }

    /// What was observed of `v`.
    pub fn stats(&self, v: ValueId) -> Option<&Observer> {
        self.observers.get(&v)
    }

    /// The chosen clipping range of `v`, always containing 0; `None` when `v`
    /// was not observed or had no finite element. `(0, 0)` when every element
    /// was 0 (the quantizer picks any scale then).
    pub fn range(&self, v: ValueId) -> Option<(f32, f32)> {
        self.chosen.get(&v).map(|s| s.range)
    }

    /// The method that chose `v`'s range: under `auto`, the winning candidate.
    pub fn chosen_method(&self, v: ValueId) -> Option<CalibMethod> {
        self.chosen.get(&v).map(|s| s.method)
    }

    /// `v`'s range under another method (computed now). Histogram methods need a
    /// calibration that ran both passes.
    pub fn range_with(
        &self,
        v: ValueId,
        method: CalibMethod,
    ) -> Result<Option<(f32, f32)>, CalibError> {
        match self.observers.get(&v) {
            Some(obs) => Ok(select_range(obs, method, self.bits)?.map(|s| s.range)),
            None => Ok(None),
        }
    }

    /// The simulated quantization MSE per element of `v` under `range` (see
    /// [`super::simulated_mse`]); `None` without a histogram.
    pub fn simulated_mse(&self, v: ValueId, range: (f32, f32)) -> Option<f64> {
        let obs = self.observers.get(&v)?;
        Some(simulated_mse(
            obs.histogram()?,
            obs.zeros(),
            range,
            self.bits,
        ))
    }

    /// Bytes all observers hold: independent of the number of samples.
    pub fn state_bytes(&self) -> usize {
        self.observers.values().map(Observer::state_bytes).sum()
    }

    /// One line per value whose calibrated range is degenerate, saying what the
    /// quantizer makes of it: infinities (ignored by the range, they saturate to its
    /// ends), a value that was constant on every sample (its range is widened to
    /// contain 0, or gets scale 1 when the constant is 0), and values with no finite
    /// element (their readers stay float).
    pub fn range_notes(&self, g: &Graph) -> Vec<String> {
        let mut notes = Vec::new();
        for v in self.values() {
            let Some(obs) = self.stats(v) else { continue };
            let name = &g.value(v).name;
            if obs.non_finite() > 0 {
                notes.push(match self.range(v) {
                    Some((lo, hi)) => format!(
                        "value `{name}`: {} infinite elements in calibration; range [{lo}, {hi}] from its {} finite ones, infinities saturate to its ends",
                        obs.non_finite(),
                        obs.count()
                    ),
                    None => format!(
                        "value `{name}`: every calibration element is infinite; no range, so its readers stay float"
                    ),
                });
            }
            match (obs.min(), obs.max()) {
                (Some(0.0), Some(0.0)) => notes.push(format!(
                    "value `{name}`: 0 on every calibration sample; scale 1, zero point 0"
                )),
                (Some(lo), Some(hi)) if lo == hi => notes.push(format!(
                    "value `{name}`: constant {lo} on every calibration sample; range widened to contain 0"
                )),
                _ => {}
            }
        }
        notes
    }
}
