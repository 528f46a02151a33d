//! `pare compile --prune`: parses the pruning spec, runs the pruning pass on
//! the float model before quantization, and reports per layer what it cut
//! (channels, params, MACs, bytes in the emitted artifact) and the pruned
//! float model's fidelity against the original, all measured.

use super::CompileArgs;
use anyhow::{bail, Context, Result};
use pare_ir::{Graph, Node, Op};
use pare_passes::metrics::{Fidelity, FidelityMeter};
use pare_passes::prune::structured::select::Scope;
use pare_passes::prune::{PruneReport, PruneStructured};
use pare_passes::{Pass, PassCx, PassManager, Pipeline, Step};
use serde_json::{json, Value};
use std::fmt::Write;

/// What `--prune` asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum PruneSpec {
    /// `structured:R[:l1|l2|act|recon]`: remove a fraction of every group's channels.
    Structured {
        ratio: f64,
        importance: &'static str,
    },
    /// `unstructured:R`: zero the smallest fraction of the weights.
    Unstructured { ratio: f64 },
    /// `N:M`: keep N of every M consecutive weights.
    Pattern { n: u32, m: u32 },
}

fn ratio(s: &str, spec: &str) -> Result<f64> {
    let r: f64 = s
        .parse()
        .with_context(|| format!("--prune {spec}: `{s}` is not a number"))?;
    if !(0.0..1.0).contains(&r) {
        bail!("--prune {spec}: the ratio {r} is out of range; expected a fraction in [0, 1)");
    }
    Ok(r)
}

impl PruneSpec {
    pub fn parse(spec: &str) -> Result<PruneSpec> {
        let parts: Vec<&str> = spec.split(':').collect();
        match parts.as_slice() {
            ["structured", r] => Ok(PruneSpec::Structured {
                ratio: ratio(r, spec)?,
                importance: "l2",
            }),
            ["structured", r, imp] => {
                let importance = match *imp {
                    "l1" => "l1",
                    "l2" => "l2",
                    "act" => "act",
                    "recon" => "recon",
                    other => bail!(
                        "--prune {spec}: unknown importance `{other}` (expected l1, l2, act or recon)"
                    ),
                };
                Ok(PruneSpec::Structured {
                    ratio: ratio(r, spec)?,
                    importance,
                })
            }
            ["unstructured", r] => Ok(PruneSpec::Unstructured {
                ratio: ratio(r, spec)?,
            }),
            [n, m] if n.parse::<u32>().is_ok() && m.parse::<u32>().is_ok() => {
                let (n, m) = (n.parse::<u32>()?, m.parse::<u32>()?);
                if n == 0 || n >= m {
                    bail!("--prune {spec}: an N:M pattern keeps N of every M weights, 0 < N < M");
                }
                Ok(PruneSpec::Pattern { n, m })
            }
            _ => bail!(
                "--prune `{spec}`: expected structured:RATIO[:l1|l2|act|recon], unstructured:RATIO or N:M (e.g. 2:4)"
            ),
        }
    }
}

/// The pass `--prune` and its companions ask for.
fn pass(a: &CompileArgs, spec: &PruneSpec) -> Result<Box<dyn Pass>> {
    let multiple = usize::try_from(a.prune_multiple)?;
    if multiple == 0 {
        bail!("--prune-multiple must be at least 1");
    }
    let data_driven = a.prune_refit
        || matches!(
            spec,
            PruneSpec::Structured {
                importance: "act" | "recon",
                ..
            }
        );
    let data = match (data_driven, a.calib.as_deref()) {
        (false, _) => None,
        (true, Some(c)) => Some(super::calib::data(c, a, Some(a.prune_samples))?),
        (true, None) => bail!(
            "--prune {}: act and recon importance and --prune-refit read calibration data: give --calib DATA",
            a.prune.as_deref().unwrap_or_default()
        ),
    };
    Ok(match spec {
        PruneSpec::Structured { ratio, importance } => Box::new(PruneStructured {
            data,
            refit: a.prune_refit,
            ratio: *ratio,
            importance,
            scope: if a.prune_scope.as_deref() == Some("global") {
                Scope::Global
            } else {
                Scope::Group
            },
            multiple,
            keep: a.prune_keep.clone(),
        }),
        PruneSpec::Unstructured { .. } | PruneSpec::Pattern { .. } => {
            let mut args = vec![match spec {
                PruneSpec::Unstructured { ratio } => ("ratio".to_string(), ratio.to_string()),
                PruneSpec::Pattern { n, m } => ("pattern".to_string(), format!("{n}:{m}")),
                PruneSpec::Structured { .. } => unreachable!(),
            }];
            // Unstructured pruning ranks globally unless told per layer.
            let scope = match a.prune_scope.as_deref() {
                Some("group") => "layer",
                _ => "global",
            };
            args.push(("scope".into(), scope.into()));
            if !a.prune_keep.is_empty() {
                args.push(("keep".into(), a.prune_keep.join(";")));
            }
            let o = pare_passes::registry::Options::parse(
                "prune-unstructured",
                pare_passes::prune::unstructured::OPTIONS,
                &args,
            )?;
            let p = pare_passes::prune::PruneUnstructured::from_options(&o)?;
            match data {
                Some(d) => Box::new(p.with_refit(d)),
                None => Box::new(p),
            }
        }
    })
}

/// The pruned float model and what was done.
pub struct Pruned {
    pub before: Graph,
    /// The float graph right after pruning (later steps, --lowrank, change it).
    pub after: Graph,
    pub report: PruneReport,
    pub fidelity: Option<Fidelity>,
}

/// Prunes `g` in place.
pub fn run(
    a: &CompileArgs,
    spec: &PruneSpec,
    g: &mut Graph,
    manager: &mut PassManager,
    cx: &PassCx,
) -> Result<Pruned> {
    let before = g.clone();
    let dce = pare_passes::pass_by_name("dce").context("the dce pass")?;
    let mut p = Pipeline::new("prune", vec![Step::Once(pass(a, spec)?), Step::Once(dce)]);
    let mut pcx = cx.clone();
    manager
        .run(&mut p, g, &mut pcx)
        .with_context(|| format!("{}: pruning", a.model.display()))?;
    let report = match (pcx.prune.pop(), spec) {
        (Some(r), _) => r,
        (None, PruneSpec::Structured { .. }) => bail!("the pruning pass reported nothing"),
        (None, other) => PruneReport {
            kind: "unstructured",
            importance: "magnitude",
            ratio: match other {
                PruneSpec::Unstructured { ratio } => *ratio,
                PruneSpec::Pattern { n, m } => 1.0 - f64::from(*n) / f64::from(*m),
                PruneSpec::Structured { .. } => unreachable!(),
            },
            scope: match other {
                PruneSpec::Pattern { .. } => "n:m",
                _ if a.prune_scope.as_deref() == Some("group") => "layer",
                _ => "global",
            },
            groups: Vec::new(),
            refit: false,
            refitted: Vec::new(),
        },
    };
    let fidelity = match a.calib.as_deref() {
        Some(data) => {
            let n = usize::try_from(a.calib_samples.unwrap_or(256).min(256))?;
            let samples = super::calib::samples(data, &before, a, n)?;
            let mut meter = FidelityMeter::default();
            for x in &samples {
                meter
                    .add(&before, g, x, a.rounding_mode()?)
                    .context("measuring the pruned model")?;
            }
            Some(meter.finish())
        }
        None => None,
    };
    Ok(Pruned {
        before,
        after: g.clone(),
        report,
        fidelity,
    })
}

/// A layer's output channels, from its weight's shape.
fn out_channels(g: &Graph, n: &Node) -> Option<u64> {
    let w = g.ty(n.input(1)?).fixed_shape()?;
    Some(match &n.op {
        Op::Conv { .. } => w[0],
        Op::ConvTranspose { group, .. } => w.get(1)? * (*group as u64),
        Op::Gemm { trans_b, .. } => {
            if *trans_b {
                w[0]
            } else {
                w[1]
            }
        }
        Op::MatMul {} => *w.last()?,
        _ => return None,
    })
}

fn is_layer(g: &Graph, n: &Node) -> bool {
    matches!(
        n.op,
        Op::Conv { .. } | Op::ConvTranspose { .. } | Op::Gemm { .. } | Op::MatMul {}
    ) && n.input(1).is_some_and(|w| g.weight_of(w).is_some())
}

/// Params (the non-zeros of a weight stored sparse) and stored bytes of `n`'s
/// weights.
fn weights_of(g: &Graph, n: &Node) -> (u64, u64) {
    n.inputs
        .iter()
        .skip(1)
        .flatten()
        .filter_map(|&v| g.weight_of(v))
        .fold((0, 0), |(p, b), w| {
            let params = match w.encoding() {
                pare_ir::WeightEncoding::Sparse { nnz } => nnz as u64,
                _ => w.ty.num_elements().unwrap_or(0),
            };
            (p + params, b + w.stored_len() as u64)
        })
}

fn label(g: &Graph, n: &Node) -> String {
    if !n.name.is_empty() {
        return n.name.clone();
    }
    n.outputs
        .first()
        .map(|&o| g.value(o).name.clone())
        .unwrap_or_default()
}

/// The `prune` section: per layer before/after, totals, and fidelity.
pub fn to_json(p: &Pruned, emitted: &Graph) -> Result<(Value, String)> {
    let after = &p.after;
    let b1 = pare_ir::analysis::with_symbols_bound(&p.before, 1)?;
    let a1 = pare_ir::analysis::with_symbols_bound(after, 1)?;
    let find = |g: &Graph, name: &str| {
        g.order()
            .iter()
            .map(|&id| g.node(id))
            .find(|n| is_layer(g, n) && label(g, n) == name)
            .cloned()
    };
    let mut rows = Vec::new();
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{:<28} {:>9} {:>9} {:>10} {:>10} {:>11} {:>11} {:>9}",
        "pruned layer",
        "ch.before",
        "ch.after",
        "params.bef",
        "params.aft",
        "MACs.before",
        "MACs.after",
        "bytes"
    );
    let (mut tp0, mut tp1) = (0u64, 0u64);
    for &id in b1.order() {
        let n = b1.node(id);
        if !is_layer(&b1, n) {
            continue;
        }
        let name = label(&b1, n);
        let m = find(&a1, &name);
        let e = find(emitted, &name);
        let (p0, _) = weights_of(&b1, n);
        let (p1, _) = m.as_ref().map_or((0, 0), |m| weights_of(&a1, m));
        let bytes = e.as_ref().map(|e| weights_of(emitted, e).1);
        let mac0 = pare_ir::analysis::macs_of_node(&b1, n);
        let mac1 = m
            .as_ref()
            .and_then(|m| pare_ir::analysis::macs_of_node(&a1, m));
        let (c0, c1) = (
            out_channels(&b1, n),
            m.as_ref().and_then(|m| out_channels(&a1, m)),
        );
        tp0 += p0;
        tp1 += p1;
        rows.push(json!({
            "layer": name,
            "op": n.op.name(),
            "channels_before": c0,
            "channels_after": c1,
            "params_before": p0,
            "params_after": p1,
            "macs_before": mac0,
            "macs_after": mac1,
            "weight_bytes_in_artifact": bytes,
        }));
        let _ = writeln!(
            text,
            "{:<28} {:>9} {:>9} {:>10} {:>10} {:>11} {:>11} {:>9}",
            super::report::truncate(&name, 28),
            c0.map_or("-".into(), |c| c.to_string()),
            c1.map_or("-".into(), |c| c.to_string()),
            p0,
            p1,
            mac0.map_or("-".into(), |c| c.to_string()),
            mac1.map_or("-".into(), |c| c.to_string()),
            bytes.map_or("-".into(), |c| c.to_string()),
        );
    }
    let macs0 = pare_ir::analysis::total_macs(&b1);
    let macs1 = pare_ir::analysis::total_macs(&a1);
    let params0 = pare_ir::analysis::param_count(&p.before);
    let params1 = pare_ir::analysis::param_count(after);
    let bytes0 = pare_ir::analysis::weight_bytes(&p.before);
    let bytes1 = pare_ir::analysis::weight_bytes(after);
    let r = &p.report;
    let groups: Vec<Value> = r
        .groups
        .iter()
        .map(|g| {
            json!({
                "layers": g.layers,
                "channels_before": g.classes_before * g.channels_per_class,
                "channels_after": g.classes_after * g.channels_per_class,
                "block": g.channels_per_class,
                "blocked": g.blocked,
                "reason": g.reason,
            })
        })
        .collect();
    for g in &r.groups {
        let what = if g.classes_after < g.classes_before {
            format!(
                "{} of {} {}",
                g.classes_before - g.classes_after,
                g.classes_before,
                if g.channels_per_class > 1 {
                    format!("blocks of {} coupled channels", g.channels_per_class)
                } else {
                    "channels".into()
                }
            )
        } else {
            match &g.reason {
                Some(why) => format!("nothing ({why})"),
                None => "nothing".into(),
            }
        };
        let _ = writeln!(text, "group {}: removed {what}", g.layers.join(" + "));
    }
    let how_f =
        "original float model vs pruned float model, float interpreter, on the calibration samples";
    let fidelity = p.fidelity.as_ref().map(|f| {
        json!({
            "samples": f.samples,
            "agreement": f.agreement,
            "sqnr_db": f.sqnr_db,
            "max_abs_error": f.max_abs_error,
            "how": format!("measured: {how_f}"),
        })
    });
    let _ = writeln!(
        text,
        "pruning ({} {}, ratio {}, {} scope): params {} -> {} ({:.3}x), MACs {} -> {} ({:.3}x), float weight bytes {} -> {} (measured on the graphs, batch 1)",
        r.kind,
        r.importance,
        r.ratio,
        r.scope,
        params0,
        params1,
        params1 as f64 / params0.max(1) as f64,
        macs0.map_or("?".into(), |m| m.to_string()),
        macs1.map_or("?".into(), |m| m.to_string()),
        match (macs0, macs1) {
            (Some(x), Some(y)) => y as f64 / x.max(1) as f64,
            _ => f64::NAN,
        },
        bytes0,
        bytes1
    );
    match &p.fidelity {
        Some(f) => {
            let agree = f
                .agreement
                .map_or(String::new(), |a| format!("top-1 agreement {a:.4}, "));
            let _ = writeln!(
                text,
                "pruned float vs original float on {} calibration samples (measured): {agree}SQNR {:.2} dB",
                f.samples, f.sqnr_db
            );
        }
        None => {
            let _ = writeln!(text, "pruned fidelity: not measured (no --calib data)");
        }
    }
    Ok((
        json!({
            "kind": r.kind,
            "importance": r.importance,
            "ratio": r.ratio,
            "scope": r.scope,
            "refit": r.refit,
            "groups": groups,
            "layers": rows,
            "totals": {
                "params_before": params0,
                "params_after": params1,
                "macs_before": macs0,
                "macs_after": macs1,
                "bytes_before": bytes0,
                "bytes_after": bytes1,
                "layer_params_before": tp0,
                "layer_params_after": tp1,
                "how": "measured: counted on the float graphs before and after pruning (MACs at batch 1, dense); bytes are stored weight bytes (sparse where stored sparse); layer_params count the non-zeros of weights stored sparse",
            },
            "fidelity": fidelity,
        }),
        text,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_bad_ones_say_why() {
        assert_eq!(
            PruneSpec::parse("structured:0.25:l1").unwrap(),
            PruneSpec::Structured {
                ratio: 0.25,
                importance: "l1"
            }
        );
        assert_eq!(
            PruneSpec::parse("2:4").unwrap(),
            PruneSpec::Pattern { n: 2, m: 4 }
        );
        assert_eq!(
            PruneSpec::parse("unstructured:0.5").unwrap(),
            PruneSpec::Unstructured { ratio: 0.5 }
        );
        let e = PruneSpec::parse("structured:1.5").unwrap_err().to_string();
        assert!(e.contains("out of range"), "{e}");
        assert!(PruneSpec::parse("4:2").is_err());
        assert!(PruneSpec::parse("structured:0.2:l7").is_err());
        assert!(PruneSpec::parse("channels:0.2").is_err());
    }
}
