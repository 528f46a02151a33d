//! The compile report: JSON (`--report`, `--json`) and a terminal table. Every
//! figure carries how it was obtained; nothing estimated is shown as a result.

use super::calib::Calibrated;
use super::CompileArgs;
use anyhow::{Context, Result};
use pare_ir::Graph;
use pare_passes::metrics::Fidelity;
use pare_passes::ptq::raise::FloorReport;
use pare_passes::ptq::Summary;
use pare_passes::quantize::mixed::LayerSensitivity;
use pare_passes::quantize::{attention_note, LayerRecord, LayerStatus};
use serde_json::{json, Value};
use std::fmt::Write;
use std::path::Path;

pub struct LayerRow {
    pub record: LayerRecord,
}

impl LayerRow {
    pub fn from_record(r: &LayerRecord) -> LayerRow {
        LayerRow { record: r.clone() }
    }
}

pub struct Report {
    model: String,
    scheme: &'static str,
    output: String,
    rounding: String,
    float_model_bytes: u64,
    float_weight_bytes: u64,
    pub artifact_bytes: u64,
    compiled_weight_bytes: u64,
    pub layers: Vec<LayerRow>,
    pub sensitivity: Vec<LayerSensitivity>,
    /// Mixed precision: layers the target can only store in 8 bits, with why.
    pub int8_only: Vec<(String, String)>,
    pub fidelity: Option<Fidelity>,
    /// What equalization and bias correction did, and the variants measured.
    pub techniques: Option<Summary>,
    /// What the fidelity floor measured and raised.
    pub floor: Option<FloorReport>,
    calibration: Option<(String, usize, String, usize, f64)>,
    /// Degenerate calibrated ranges and what the quantizer made of them.
    range_notes: Vec<String>,
    peak_rss_bytes: Option<u64>,
    /// A target's section: its name (the JSON key), JSON and terminal text.
    pub target: Option<(&'static str, Value, String)>,
    /// What `--prune` cut: JSON and terminal text.
    pub prune: Option<(Value, String)>,
    /// What `--lowrank` factorized: JSON and terminal text.
    pub lowrank: Option<(Value, String)>,
    /// What `--share` clustered: JSON and terminal text.
    pub share: Option<(Value, String)>,
}

fn measured(value: Value, how: &str) -> Value {
    json!({ "value": value, "how": format!("measured: {how}") })
}

impl Report {
    pub fn new(a: &CompileArgs, float: &Graph) -> Report {
        Report {
            model: a.model.display().to_string(),
            scheme: a.scheme.name(),
            output: a.output.display().to_string(),
            rounding: a.rounding.to_string(),
            float_model_bytes: std::fs::metadata(&a.model).map_or(0, |m| m.len()),
            float_weight_bytes: pare_ir::analysis::weight_bytes(float),
            artifact_bytes: 0,
            compiled_weight_bytes: 0,
            layers: Vec::new(),
            sensitivity: Vec::new(),
            int8_only: Vec::new(),
            fidelity: None,
            techniques: None,
            floor: None,
            calibration: None,
            range_notes: Vec::new(),
            peak_rss_bytes: None,
            target: None,
            prune: None,
            lowrank: None,
            share: None,
        }
    }

    pub fn set_calibration(&mut self, c: &Calibrated, seconds: f64) {
        self.calibration = Some((
            c.data.clone(),
            c.samples,
            c.method.to_string(),
            c.state_bytes,
            seconds,
        ));
        self.range_notes = c.range_notes.clone();
    }

    pub fn set_artifact(&mut self, path: &Path) -> Result<()> {
        self.artifact_bytes = std::fs::metadata(path)
            .with_context(|| format!("measuring {}", path.display()))?
            .len();
        Ok(())
    }

    /// Totals that need every layer, and the process's peak memory.
    pub fn finish(&mut self) {
        self.compiled_weight_bytes = self
            .layers
            .iter()
            .map(|l| l.record.weight_bytes_after)
            .sum();
        self.peak_rss_bytes = peak_rss_bytes();
    }

    pub fn to_json(&self) -> Value {
        let layers: Vec<Value> = self
            .layers
            .iter()
            .map(|l| {
                let r = &l.record;
                let (status, reason) = match &r.status {
                    LayerStatus::Int8 => ("int8", None),
                    LayerStatus::Fp16 => ("fp16", None),
                    LayerStatus::WeightOnly => ("weight-only", None),
                    LayerStatus::Folded(why) => ("folded", Some(why.clone())),
                    LayerStatus::Float(why) => ("float", Some(why.clone())),
                };
                let sens = self.sensitivity.iter().find(|s| s.name == r.node).map(|s| {
                    s.mse
                        .iter()
                        .map(|(b, e)| (b.to_string(), json!(e)))
                        .collect::<serde_json::Map<_, _>>()
                });
                let width_note = self
                    .int8_only
                    .iter()
                    .find(|(n, _)| *n == r.node)
                    .map(|(_, why)| why.clone());
                json!({
                    "node": r.node,
                    "op": r.op,
                    "status": status,
                    "reason": reason,
                    "weight_bits": r.weight_bits,
                    "weight_bits_note": width_note,
                    "weight_bytes_before": r.weight_bytes_before,
                    "weight_bytes_after": r.weight_bytes_after,
                    "weight_scale_min": r.weight_scale_range.map(|s| s.0),
                    "weight_scale_max": r.weight_scale_range.map(|s| s.1),
                    "output_scale": r.output_scale,
                    "output_zero_point": r.output_zero_point,
                    "attention": attention_note(r),
                    "sensitivity_mse": sens,
                })
            })
            .collect();
        let count = |f: fn(&LayerStatus) -> bool| {
            self.layers.iter().filter(|l| f(&l.record.status)).count()
        };
        let mut v = json!({
            "model": self.model,
            "quantize": self.scheme,
            "output": self.output,
            "rounding": self.rounding,
            "artifact_bytes": measured(json!(self.artifact_bytes), "size of the written file"),
            "float_model_bytes": measured(json!(self.float_model_bytes), "size of the input model file"),
            "size_ratio": measured(
                json!(self.artifact_bytes as f64 / self.float_model_bytes.max(1) as f64),
                "artifact bytes / input model bytes",
            ),
            "weight_bytes": {
                "before": measured(json!(self.float_weight_bytes), "weight store of the cleaned float graph"),
                "after": measured(json!(self.compiled_weight_bytes), "weight store of the quantized layers"),
            },
            "layers": layers,
            "totals": {
                "int8_layers": count(|s| matches!(s, LayerStatus::Int8)),
                "fp16_layers": count(|s| matches!(s, LayerStatus::Fp16)),
                "weight_only_layers": count(|s| matches!(s, LayerStatus::WeightOnly)),
                "folded_layers": count(|s| matches!(s, LayerStatus::Folded(_))),
                "float_layers": count(|s| matches!(s, LayerStatus::Float(_))),
            },
            "peak_rss_bytes": self.peak_rss_bytes.map(|b| measured(json!(b), "VmHWM of the pare process")),
        });
        if let Some((data, samples, method, state, secs)) = &self.calibration {
            v["calibration"] = json!({
                "data": data,
                "samples": samples,
                "method": method,
                "observer_bytes": measured(json!(state), "histogram and range state, independent of sample count"),
                "seconds": measured(json!(secs), "wall time of calibration"),
                "range_notes": self.range_notes,
            });
        }
        if let Some((key, t, _)) = &self.target {
            v[*key] = t.clone();
        }
        if let Some((p, _)) = &self.prune {
            v["prune"] = p.clone();
        }
        if let Some((l, _)) = &self.lowrank {
            v["lowrank"] = l.clone();
        }
        if let Some((l, _)) = &self.share {
            v["share"] = l.clone();
        }
        if let Some(f) = &self.fidelity {
            let how = format!(
                "float vs compiled (integer interpreter) on the first {} calibration samples",
                f.samples
            );
            v["fidelity"] = json!({
                "samples": f.samples,
                "agreement": f.agreement.map(|a| measured(json!(a), &how)),
                "sqnr_db": measured(json!(f.sqnr_db), &how),
                "max_abs_error": measured(json!(f.max_abs_error), &how),
            });
        }
        if let Some(t) = &self.techniques {
            v["error_reduction"] = super::report_techniques::to_json(t);
        }
        if let Some(f) = &self.floor {
            v["fidelity_floor"] = super::report_floor::to_json(f);
        }
        v
    }

    pub fn table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{:<28} {:<12} {:<8} {:>5} {:>10} {:>10} {:>12} {:>12}",
            "layer", "op", "status", "bits", "w.before", "w.after", "out.scale", "sens.mse"
        );
        for l in &self.layers {
            let r = &l.record;
            let status = match &r.status {
                LayerStatus::Int8 => "int8".to_string(),
                LayerStatus::Fp16 => "fp16".to_string(),
                LayerStatus::WeightOnly => "w-only".to_string(),
                LayerStatus::Folded(_) => "folded".to_string(),
                LayerStatus::Float(_) => "float".to_string(),
            };
            let sens = self
                .sensitivity
                .iter()
                .find(|x| x.name == r.node)
                .and_then(|x| r.weight_bits.and_then(|b| x.mse.get(&b)))
                .map_or(String::new(), |e| format!("{e:.3e}"));
            let _ = writeln!(
                s,
                "{:<28} {:<12} {:<8} {:>5} {:>10} {:>10} {:>12} {:>12}",
                truncate(&r.node, 28),
                r.op,
                status,
                r.weight_bits.map_or(String::new(), |b| b.to_string()),
                r.weight_bytes_before,
                r.weight_bytes_after,
                r.output_scale.map_or(String::new(), |x| format!("{x:.3e}")),
                sens
            );
            if let Some(note) = attention_note(r) {
                let _ = writeln!(s, "{:<28}   {note}", "");
            } else if let LayerStatus::Float(why) = &r.status {
                let _ = writeln!(s, "{:<28}   stays float: {why}", "");
            }
        }
        let _ = writeln!(
            s,
            "artifact {} : {} bytes (measured on disk), {:.3}× the input model's {} bytes",
            self.output,
            self.artifact_bytes,
            self.artifact_bytes as f64 / self.float_model_bytes.max(1) as f64,
            self.float_model_bytes
        );
        if let Some((_, why)) = self.int8_only.first() {
            let _ = writeln!(
                s,
                "mixed: {} of {} layers offered int8 only ({why})",
                self.int8_only.len(),
                self.sensitivity.len()
            );
        }
        if let Some((data, n, method, _, secs)) = &self.calibration {
            let _ = writeln!(
                s,
                "calibration: {n} samples of {data}, method {method}, {secs:.2} s (measured)"
            );
            for note in &self.range_notes {
                let _ = writeln!(s, "calibration note: {note}");
            }
        }
        if let Some(f) = &self.fidelity {
            let agree = f
                .agreement
                .map_or(String::new(), |a| format!("top-1 agreement {a:.4}, "));
            let vs = if self.prune.is_some() {
                "the pruned float model"
            } else {
                "float"
            };
            let _ = writeln!(
                s,
                "fidelity vs {vs} on {} calibration samples (measured, integer interpreter): {agree}SQNR {:.2} dB, max abs error {:.4}",
                f.samples, f.sqnr_db, f.max_abs_error
            );
        }
        if let Some((_, text)) = &self.prune {
            s.push_str(text);
        }
        if let Some((_, text)) = &self.lowrank {
            s.push_str(text);
        }
        if let Some((_, text)) = &self.share {
            s.push_str(text);
        }
        if let Some(t) = &self.techniques {
            s.push_str(&super::report_techniques::table(t));
        }
        if let Some(f) = &self.floor {
            s.push_str(&super::report_floor::summary(f));
        }
        if let Some((_, _, text)) = &self.target {
            s.push_str(text);
        }
        if let Some(b) = self.peak_rss_bytes {
            let _ = writeln!(
                s,
                "peak RSS {:.1} MiB (measured)",
                b as f64 / (1 << 20) as f64
            );
        }
        s
    }
}

/// `s` cut to `n` characters, keeping its end (layer names differ at the end).
pub fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let tail: String = s
            .chars()
            .rev()
            .take(n - 1)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("…{tail}")
    }
}

/// Peak resident set size of this process (Linux `VmHWM`), if available.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
