//! The report's section on the error-reducing techniques: what cross-layer
//! equalization and bias correction did, and the measured fidelity of every
//! variant the guard compared (JSON `error_reduction`, and terminal lines).

use pare_passes::ptq::{Summary, Trial};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write;

fn measured(value: Value, how: &str) -> Value {
    json!({ "value": value, "how": format!("measured: {how}") })
}

fn label(t: &Trial) -> &'static str {
    match (t.equalized, t.bias_corrected) {
        (false, false) => "plain",
        (true, false) => "equalized",
        (false, true) => "bias-corrected",
        (true, true) => "equalized + bias-corrected",
    }
}

pub fn to_json(t: &Summary) -> Value {
    let kept = t.chosen();
    let fid_how = |n: usize| {
        format!("float vs compiled (integer interpreter) on the first {n} calibration samples")
    };
    let variants: Vec<Value> = t
        .trials
        .iter()
        .enumerate()
        .map(|(k, v)| {
            let how = fid_how(v.fidelity.samples);
            json!({
                "variant": label(v),
                "equalized": v.equalized,
                "bias_corrected": v.bias_corrected,
                "chosen": k == t.chosen,
                "sqnr_db": measured(json!(v.fidelity.sqnr_db), &how),
                "agreement": v.fidelity.agreement.map(|a| measured(json!(a), &how)),
                "max_abs_error": measured(json!(v.fidelity.max_abs_error), &how),
            })
        })
        .collect();
    let equalize = t.equalization.as_ref().map(|e| {
        let pairs: Vec<Value> = e
            .pairs
            .iter()
            .map(|p| {
                json!({
                    "first": p.first,
                    "second": p.second,
                    "activation": p.activation,
                    "channels": p.channels,
                    "scale_min": p.scale_range.0,
                    "scale_max": p.scale_range.1,
                    "first_precision": { "before": p.first_precision.0, "after": p.first_precision.1 },
                    "second_precision": { "before": p.second_precision.0, "after": p.second_precision.1 },
                })
            })
            .collect();
        let skipped: Vec<Value> = e
            .skipped
            .iter()
            .map(|p| json!({ "first": p.first, "second": p.second, "reason": p.reason }))
            .collect();
        json!({
            "kept": kept.is_some_and(|k| k.equalized),
            "sweeps": e.sweeps,
            "converged": e.converged,
            "pairs": pairs,
            "skipped": skipped,
            "precision": "mean over channels of r_c / max r, from the weights (computed, not measured on data)",
        })
    });
    let bias = t.correction.as_ref().map(|c| {
        let how = format!(
            "mean over channels of |mean error| by the {} estimator on the first {} calibration samples",
            c.estimator.name(),
            c.samples
        );
        let layers: Vec<Value> = c
            .layers
            .iter()
            .map(|l| {
                json!({
                    "node": l.node,
                    "channels": l.channels,
                    "mean_abs_error": measured(json!(l.mean_abs_error), &how),
                    "max_shift": l.max_shift,
                    "max_shift_codes": l.max_shift_codes,
                })
            })
            .collect();
        let skipped: Vec<Value> = c
            .skipped
            .iter()
            .map(|(n, r)| json!({ "node": n, "reason": r }))
            .collect();
        json!({
            "kept": kept.is_some_and(|k| k.bias_corrected),
            "estimator": c.estimator.name(),
            "samples": c.samples,
            "layers": layers,
            "skipped": skipped,
        })
    });
    json!({
        "equalize_mode": t.equalize.name(),
        "bias_correction_mode": t.bias_correction.name(),
        "variants": variants,
        "equalize": equalize,
        "bias_correction": bias,
        "seconds": measured(json!(t.seconds), "wall time of the techniques and the guard's extra measurements"),
    })
}

pub fn table(t: &Summary) -> String {
    let mut s = String::new();
    if t.trials.len() > 1 {
        let n = t.trials.first().map_or(0, |v| v.fidelity.samples);
        let _ = writeln!(
            s,
            "error reduction (--equalize {}, --bias-correction {}): SQNR vs float on {n} calibration samples (measured, integer interpreter)",
            t.equalize.name(),
            t.bias_correction.name()
        );
        for (k, v) in t.trials.iter().enumerate() {
            let _ = writeln!(
                s,
                "  {:<28} {:>8.2} dB{}",
                label(v),
                v.fidelity.sqnr_db,
                if k == t.chosen { "  ← kept" } else { "" }
            );
        }
    }
    if let Some(e) = &t.equalization {
        let kept = t.chosen().is_some_and(|k| k.equalized);
        let _ = writeln!(
            s,
            "equalization: {} pair(s) equalized in {} sweep(s){}",
            e.pairs.len(),
            e.sweeps,
            if kept || e.pairs.is_empty() {
                ""
            } else {
                " (not kept)"
            }
        );
        let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
        for p in &e.skipped {
            *reasons.entry(p.reason.as_str()).or_default() += 1;
        }
        for (why, n) in reasons {
            let _ = writeln!(s, "  {n} pair(s) left alone: {why}");
        }
    }
    if let Some(c) = &t.correction {
        let kept = t.chosen().is_some_and(|k| k.bias_corrected);
        let _ = writeln!(
            s,
            "bias correction: {} layer(s), {} estimator on {} samples{}",
            c.layers.len(),
            c.estimator.name(),
            c.samples,
            if kept || c.layers.is_empty() {
                ""
            } else {
                " (not kept)"
            }
        );
    }
    s
}
