//! `pare compile --lowrank`: factorizes Gemm/MatMul weights after pruning and
//! before quantization (so the factors are what gets quantized), and reports
//! each layer's rank, size and measured errors.

use super::CompileArgs;
use anyhow::{bail, Context, Result};
use pare_ir::Graph;
use pare_passes::lowrank::{LowRank, RankBy};
use pare_passes::{PassCx, PassManager, Pipeline, Step};
use serde_json::{json, Value};

/// Parses `energy:0.95 | size:0.5 | error:1e-3`, optionally `:plain`.
pub fn parse(spec: &str) -> Result<(RankBy, bool)> {
    let parts: Vec<&str> = spec.split(':').collect();
    let (by, v, variant) = match parts.as_slice() {
        [by, v] => (*by, *v, "data"),
        [by, v, variant] => (*by, *v, *variant),
        _ => bail!("--lowrank `{spec}`: expected energy:E, size:S or error:E, optionally :plain"),
    };
    if !matches!(by, "energy" | "size" | "error") {
        bail!("--lowrank {spec}: unknown criterion `{by}` (expected energy, size or error)");
    }
    let v: f64 = v
        .parse()
        .with_context(|| format!("--lowrank {spec}: `{v}` is not a number"))?;
    if !(v > 0.0 && v < 1.0) {
        bail!("--lowrank {spec}: {v} is out of range; expected a fraction in (0, 1)");
    }
    let by = match by {
        "energy" => RankBy::Energy(v),
        "size" => RankBy::Size(v),
        _ => RankBy::Error(v),
    };
    let data_aware = match variant {
        "data" => true,
        "plain" => false,
        other => bail!("--lowrank {spec}: unknown variant `{other}` (expected plain)"),
    };
    Ok((by, data_aware))
}

/// Factorizes `g` in place; returns the report section (JSON and text).
pub fn run(
    a: &CompileArgs,
    spec: &str,
    g: &mut Graph,
    manager: &mut PassManager,
    cx: &PassCx,
) -> Result<(Value, String)> {
    let (by, data_aware) = parse(spec)?;
    let data = match a.calib.as_deref() {
        Some(c) => Some(super::calib::data(c, a, Some(a.prune_samples))?),
        None if data_aware || matches!(by, RankBy::Error(_)) => bail!(
            "--lowrank {spec}: the data-aware variant and error budgets measure on calibration data: give --calib DATA (or use energy:/size: with :plain)"
        ),
        None => None,
    };
    let pass = LowRank {
        by,
        data_aware,
        keep: a.lowrank_keep.clone(),
        data,
    };
    let before = pare_ir::analysis::param_count(g);
    let mut p = Pipeline::new("lowrank", vec![Step::Once(Box::new(pass))]);
    let mut lcx = cx.clone();
    manager
        .run(&mut p, g, &mut lcx)
        .with_context(|| format!("{}: low-rank factorization", a.model.display()))?;
    let after = pare_ir::analysis::param_count(g);
    let layers: Vec<String> = lcx
        .log
        .iter()
        .filter(|e| e.pass == "lowrank")
        .map(|e| e.message.clone())
        .collect();
    let mut text = String::new();
    for l in &layers {
        text.push_str(&format!("lowrank {l}\n"));
    }
    text.push_str(&format!(
        "lowrank ({spec}): params {before} -> {after} (counted on the float graph; errors measured on the calibration data)\n"
    ));
    Ok((
        json!({
            "spec": spec,
            "variant": if data_aware { "data-aware" } else { "plain" },
            "params_before": before,
            "params_after": after,
            "layers": layers,
            "how": "measured: relative weight error ‖W−W'‖²/‖W‖² and relative output error on the calibration inputs ‖Lᵀ(W−W')‖²/‖LᵀW‖² (L: Cholesky of their Gram matrix), per layer",
        }),
        text,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_bad_ones_say_why() {
        assert_eq!(parse("energy:0.95").unwrap(), (RankBy::Energy(0.95), true));
        assert_eq!(parse("size:0.5:plain").unwrap(), (RankBy::Size(0.5), false));
        assert!(parse("error:2")
            .unwrap_err()
            .to_string()
            .contains("out of range"));
        assert!(parse("rank:3").is_err());
        assert!(parse("energy").is_err());
    }
}
