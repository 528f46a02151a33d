//! `pare compile --lowrank`: factorizes Gemm/MatMul weights after pruning and
//! before quantization (so the factors are what gets quantized), and reports
//! each layer's rank, size and measured errors.

use super::CompileArgs;
use anyhow::{bail, Context, Result};
use pare_ir::Graph;
use pare_passes::lowrank::{ConvMethod, LowRank, RankBy};
use pare_passes::{PassCx, PassManager, Pipeline, Step};
use serde_json::{json, Value};

/// A parsed `--lowrank` spec.
#[derive(Debug, PartialEq)]
pub struct Spec {
    pub by: RankBy,
    pub data_aware: bool,
    pub conv: ConvMethod,
}

/// Parses `energy:0.95 | size:0.5 | error:1e-3`, then optionally `:plain`
/// and/or `:tucker | :spatial` (k×k convs; both tried by default).
pub fn parse(spec: &str) -> Result<Spec> {
    let parts: Vec<&str> = spec.split(':').collect();
    let (by, v, rest) = match parts.as_slice() {
        [by, v, rest @ ..] if rest.len() <= 2 => (*by, *v, rest),
        _ => bail!(
            "--lowrank `{spec}`: expected energy:E, size:S or error:E, optionally :plain and :tucker or :spatial"
        ),
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
    let mut out = Spec {
        by,
        data_aware: true,
        conv: ConvMethod::Best,
    };
    for word in rest {
        match *word {
            "data" => out.data_aware = true,
            "plain" => out.data_aware = false,
            "tucker" => out.conv = ConvMethod::Tucker,
            "spatial" => out.conv = ConvMethod::Spatial,
            "best" => out.conv = ConvMethod::Best,
            other => bail!(
                "--lowrank {spec}: unknown word `{other}` (expected plain, tucker or spatial)"
            ),
        }
    }
    Ok(out)
}

/// Factorizes `g` in place; returns the report section (JSON and text).
pub fn run(
    a: &CompileArgs,
    spec: &str,
    g: &mut Graph,
    manager: &mut PassManager,
    cx: &PassCx,
) -> Result<(Value, String)> {
    let Spec {
        by,
        data_aware,
        conv,
    } = parse(spec)?;
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
        conv,
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
            "conv": format!("{conv:?}").to_lowercase(),
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
        let spec = |by, data_aware, conv| Spec {
            by,
            data_aware,
            conv,
        };
        assert_eq!(
            parse("energy:0.95").unwrap(),
            spec(RankBy::Energy(0.95), true, ConvMethod::Best)
        );
        assert_eq!(
            parse("size:0.5:plain").unwrap(),
            spec(RankBy::Size(0.5), false, ConvMethod::Best)
        );
        assert_eq!(
            parse("error:0.01:spatial:plain").unwrap(),
            spec(RankBy::Error(0.01), false, ConvMethod::Spatial)
        );
        assert_eq!(
            parse("size:0.5:tucker").unwrap(),
            spec(RankBy::Size(0.5), true, ConvMethod::Tucker)
        );
        assert!(parse("size:0.5:svd")
            .unwrap_err()
            .to_string()
            .contains("unknown word `svd`"));
        assert!(parse("error:2")
            .unwrap_err()
            .to_string()
            .contains("out of range"));
        assert!(parse("rank:3").is_err());
        assert!(parse("energy").is_err());
    }
}
