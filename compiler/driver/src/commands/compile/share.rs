//! `pare compile --share kmeans:K[:per-channel|:per-tensor|:rows=N][:weighted][:gptq]`:
//! weight sharing after quantization (so an int8 model gets int8 codebooks), then
//! the fidelity measured again on the shared graph, since sharing changes values.

use super::CompileArgs;
use anyhow::{bail, Context, Result};
use pare_ir::Graph;
use pare_passes::metrics::{fidelity_on, Fidelity, FIDELITY_SAMPLES};
use pare_passes::share::{Scope, Share};
use pare_passes::{PassCx, PassManager, Pipeline, Step};
use serde_json::{json, Value};

/// Calibration samples the input channels' moments are measured on.
const SHARE_SAMPLES: usize = 256;

/// What `--share` asks for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ShareSpec {
    pub k: usize,
    pub scope: Scope,
    pub weighted: bool,
    /// Error-feedback assignment and codebook refit on each layer's input Gram.
    pub gptq: bool,
}

impl ShareSpec {
    pub fn parse(spec: &str) -> Result<ShareSpec> {
        let mut parts = spec.split(':');
        if parts.next() != Some("kmeans") {
            bail!("--share {spec}: expected kmeans:K[:per-channel|:per-tensor|:rows=N][:weighted][:gptq]");
        }
        let k = parts.next().context(format!(
            "--share {spec}: give the cluster count, e.g. kmeans:16"
        ))?;
        let k: usize = k
            .parse()
            .with_context(|| format!("--share {spec}: `{k}` is not a cluster count"))?;
        if !(2..=256).contains(&k) {
            bail!("--share {spec}: {k} clusters is out of range; expected 2 to 256 (1- to 8-bit indices)");
        }
        let mut out = ShareSpec {
            k,
            scope: Scope::Tensor,
            weighted: false,
            gptq: false,
        };
        for p in parts {
            match p {
                "per-tensor" => out.scope = Scope::Tensor,
                "per-channel" => out.scope = Scope::Channel,
                "weighted" => out.weighted = true,
                "gptq" => out.gptq = true,
                _ => match p.strip_prefix("rows=").map(str::parse::<usize>) {
                    Some(Ok(r)) if r > 0 => out.scope = Scope::Rows(r),
                    _ => bail!(
                        "--share {spec}: unknown part `{p}` (expected per-channel, per-tensor, rows=N, weighted or gptq)"
                    ),
                },
            }
        }
        Ok(out)
    }
}

/// Shares the weights of `g` (quantized, or float with `--quantize none`) in
/// place; returns the report section and, where calibration data is given, the
/// fidelity of the shared graph against `float`.
pub fn run(
    a: &CompileArgs,
    spec: &str,
    g: &mut Graph,
    float: &Graph,
    manager: &mut PassManager,
    cx: &PassCx,
) -> Result<(Value, String, Option<Fidelity>)> {
    let s = ShareSpec::parse(spec)?;
    // With calibration data, biases are corrected for the mean shift sharing causes
    // (and `weighted` weighs errors by each input channel's mean square).
    let data = match a.calib.as_deref() {
        Some(c) => Some(super::calib::data(c, a, Some(SHARE_SAMPLES))?),
        None if s.weighted || s.gptq => bail!(
            "--share {spec}: `{}` measures each layer's input on calibration data: give --calib DATA",
            if s.gptq { "gptq" } else { "weighted" }
        ),
        None => None,
    };
    let pass = Share {
        k: s.k,
        scope: s.scope,
        weighted: s.weighted,
        gptq: s.gptq,
        bias_correct: true,
        keep: a.share_keep.clone(),
        layer_k: pare_passes::share::parse_layer_k(&a.share_k)
            .map_err(|e| anyhow::anyhow!("--share-k: {e}"))?,
        data,
    };
    let before = pare_ir::analysis::weight_bytes(g);
    let mut p = Pipeline::new("share", vec![Step::Once(Box::new(pass))]);
    let mut scx = cx.clone();
    manager
        .run(&mut p, g, &mut scx)
        .with_context(|| format!("{}: weight sharing", a.model.display()))?;
    let after = pare_ir::analysis::weight_bytes(g);
    let layers: Vec<String> = scx
        .log
        .iter()
        .filter(|e| e.pass == "share")
        .map(|e| e.message.clone())
        .collect();
    let palettes = g
        .weights()
        .filter(|(_, w)| w.palette_spec().is_some())
        .count();
    let mut text = String::new();
    for l in &layers {
        text.push_str(&format!("share {l}\n"));
    }
    text.push_str(&format!(
        "share ({spec}): {palettes} weights stored as palettes; weight bytes {before} -> {after} (measured in the weight store, weights in use)\n"
    ));
    let fidelity = match a.calib.as_deref() {
        Some(c) => {
            let d = super::calib::data(c, a, Some(FIDELITY_SAMPLES))?;
            let mut opened = d.open(float, "share").map_err(|e| anyhow::anyhow!("{e}"))?;
            Some(
                fidelity_on(float, g, &mut opened, a.rounding_mode()?)
                    .map_err(|e| anyhow::anyhow!("measuring the shared model's fidelity: {e}"))?,
            )
        }
        None => None,
    };
    Ok((
        json!({
            "spec": spec,
            "k": s.k,
            "scope": s.scope.describe(),
            "sensitivity_weighted": s.weighted,
            "error_feedback": s.gptq,
            "layer_k": a.share_k,
            "palette_weights": palettes,
            "weight_bytes_before": before,
            "weight_bytes_after": after,
            "layers": layers,
            "how": "measured: stored bytes of every weight in the store before and after (codebooks + packed indices for a palette); per layer the relative squared error in real units (times the input channel's mean square on --calib when weighted); with gptq, each layer's relative output error on --calib (ΔWᵀ·H·ΔW over W'ᵀ·H·W, H the input Gram) for nearest-centroid and error-feedback assignment",
        }),
        text,
        fidelity,
    ))
}

/// Adds to the report what the written ONNX file stores for each palette weight,
/// read back from its bytes: the index initializer (UINT4, or UINT8 one a byte or
/// packed rows) and the codebook; the other palette weights went dense (not smaller).
pub fn with_onnx_storage(
    mut json: Value,
    mut text: String,
    g: &Graph,
    onnx: &[u8],
) -> Result<(Value, String)> {
    let stored = pare_onnx::palette_storage(onnx).context("reading back the written ONNX")?;
    let palettes = g
        .weights()
        .filter(|(_, w)| w.palette_spec().is_some())
        .count();
    let (idx, books): (u64, u64) = stored.iter().fold((0, 0), |(i, b), s| {
        (i + s.index_bytes, b + s.codebook_bytes)
    });
    json["onnx_storage"] = json!({
        "weights": stored.iter().map(|s| json!({
            "weight": s.weight,
            "indices": format!("{} {:?}", s.index_type, s.index_dims),
            "index_bytes": s.index_bytes,
            "codebook_bytes": s.codebook_bytes,
        })).collect::<Vec<_>>(),
        "written_dense": palettes.saturating_sub(stored.len()),
        "how": "measured: the written file's initializers read back (indices at their bit width, codebooks [groups, k]); decoded by Cast -> GatherElements -> Reshape, or BitShift/BitwiseAnd unpacking of packed rows",
    });
    for s in &stored {
        text.push_str(&format!(
            "share onnx {}: indices {} {:?} ({} B), codebook {} B\n",
            s.weight, s.index_type, s.index_dims, s.index_bytes, s.codebook_bytes
        ));
    }
    text.push_str(&format!(
        "share onnx: {} of {palettes} palette weights stored as palettes in the file (indices {idx} B, codebooks {books} B; read back from the file), {} written dense where a palette was not smaller\n",
        stored.len(),
        palettes.saturating_sub(stored.len())
    ));
    Ok((json, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_bad_ones_say_why() {
        let s = ShareSpec::parse("kmeans:16").unwrap();
        assert_eq!((s.k, s.scope, s.weighted), (16, Scope::Tensor, false));
        let s = ShareSpec::parse("kmeans:32:per-channel:weighted").unwrap();
        assert_eq!((s.k, s.scope, s.weighted), (32, Scope::Channel, true));
        assert_eq!(
            ShareSpec::parse("kmeans:4:rows=8").unwrap().scope,
            Scope::Rows(8)
        );
        assert!(ShareSpec::parse("kmeans:300")
            .unwrap_err()
            .to_string()
            .contains("out of range"));
        assert!(ShareSpec::parse("kmeans").is_err());
        assert!(ShareSpec::parse("uniform:16").is_err());
        assert!(ShareSpec::parse("kmeans:16:per-row")
            .unwrap_err()
            .to_string()
            .contains("unknown part"));
    }
}
