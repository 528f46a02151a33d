//! The fidelity floor's part of the compile report: the floor, each float
//! island raised (value, nodes, fidelity before → after) and, where it was
//! measured, the per-layer table of what keeping each value float gives.

use pare_passes::metrics::Fidelity;
use pare_passes::ptq::raise::FloorReport;
use serde_json::{json, Value};
use std::fmt::Write;

fn fidelity_json(f: &Fidelity) -> Value {
    json!({
        "samples": f.samples,
        "agreement": f.agreement,
        // JSON has no infinity: identical outputs give null.
        "sqnr_db": f.sqnr_db.is_finite().then_some(f.sqnr_db),
    })
}

fn fidelity_text(f: &Fidelity) -> String {
    let agree = f
        .agreement
        .map_or(String::new(), |a| format!("agreement {a:.4}, "));
    format!("{agree}SQNR {:.2} dB", f.sqnr_db)
}

pub fn to_json(f: &FloorReport) -> Value {
    let how = |n: usize| {
        format!("measured: float vs compiled (integer interpreter) on the first {n} calibration samples")
    };
    json!({
        "floor": {
            "agreement": f.floor.agreement,
            "sqnr_db": f.floor.sqnr_db,
            "spec": f.floor.to_string(),
        },
        "met": f.met,
        "unmet_reason": f.unmet,
        "initial": fidelity_json(&f.initial),
        "raised": f.raised.iter().map(|r| json!({
            "value": r.value,
            "nodes": r.nodes,
            "precision": "float",
            "before": fidelity_json(&r.before),
            "after": fidelity_json(&r.after),
            "how": how(r.after.samples),
        })).collect::<Vec<_>>(),
        "layers": f.candidates.iter().map(|c| json!({
            "value": c.value,
            "producer": c.producer,
            "op": c.op,
            "precision": c.precision,
            "island": c.nodes,
            "kept_float": c.kept_float.as_ref().ok().map(fidelity_json),
            "not_measured": c.kept_float.as_ref().err(),
        })).collect::<Vec<_>>(),
        "layers_how": how(f.candidate_samples),
    })
}

/// One line per raise, for the compile report.
pub fn summary(f: &FloorReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "fidelity floor {}: {} ({})",
        f.floor,
        if f.met { "held" } else { "missed" },
        if f.raised.is_empty() {
            "nothing raised".to_string()
        } else {
            format!("{} float island(s) raised", f.raised.len())
        }
    );
    for r in &f.raised {
        // The whole-model fallback names every node: the JSON has them.
        let nodes = match r.nodes.len() {
            n if n > 8 => format!("{n} nodes"),
            _ => r.nodes.join(", "),
        };
        let _ = writeln!(
            s,
            "  kept float: value `{}` ({}): {} → {} (measured on {} samples)",
            r.value,
            nodes,
            fidelity_text(&r.before),
            fidelity_text(&r.after),
            r.after.samples
        );
    }
    s
}

/// Why the floor was missed, in one line.
pub fn verdict(f: &FloorReport) -> String {
    let last = f.raised.last().map_or(&f.initial, |r| &r.after);
    let misses = f.floor.misses(last).join(", ");
    match &f.unmet {
        Some(why) => format!("{misses}; {why}"),
        None => misses,
    }
}

/// The per-layer table printed when the floor is missed: each quantized
/// value, its producer's precision and the fidelity with it kept float.
pub fn table(f: &FloorReport) -> String {
    let mut s = summary(f);
    let _ = writeln!(
        s,
        "per layer: fidelity with its output kept float (measured, integer interpreter, {} calibration samples)",
        f.candidate_samples
    );
    let _ = writeln!(
        s,
        "{:<24} {:<24} {:<12} {:<18} {:>10} {:>10}",
        "value", "layer", "op", "precision", "agreement", "SQNR dB"
    );
    for c in &f.candidates {
        let (agree, sqnr) = match &c.kept_float {
            Ok(k) => (
                k.agreement.map_or("-".into(), |a| format!("{a:.4}")),
                format!("{:.2}", k.sqnr_db),
            ),
            Err(why) => ("-".to_string(), why.clone()),
        };
        let _ = writeln!(
            s,
            "{:<24} {:<24} {:<12} {:<18} {:>10} {:>10}",
            c.value,
            c.producer.as_deref().unwrap_or("(input)"),
            c.op,
            c.precision,
            agree,
            sqnr
        );
    }
    s
}
