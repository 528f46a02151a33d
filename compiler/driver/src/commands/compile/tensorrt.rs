//! `pare compile MODEL --target tensorrt --quantize int8 --calib DATA -o m.onnx`:
//! ONNX in TensorRT's explicit-quantization form (the `explicit-qdq` pass), its
//! fidelity measured against the float model on the calibration data, and the
//! written bytes checked against TensorRT's rules (`pare check`) before anything
//! is written: a file that breaks one is a compile error.

use super::CompileArgs;
use anyhow::{bail, Context, Result};
use pare_ir::Graph;
use pare_passes::metrics::{fidelity_on, Fidelity, FIDELITY_SAMPLES};
use pare_passes::quantize::calibrate::CalibMethod;
use pare_passes::quantize::explicit_qdq::ExplicitQdq;
use pare_passes::{PassCx, PassManager, Pipeline, Step};
use serde_json::{json, Value};

/// What the quantized graph, its bytes and the report's pieces are.
pub struct Quantized {
    pub graph: Graph,
    pub bytes: Vec<u8>,
    pub fidelity: Fidelity,
    pub notes: Vec<String>,
}

/// Quantizes `float` for TensorRT on calibration data `spec` and encodes it.
pub fn quantize(
    a: &CompileArgs,
    spec: &str,
    float: &Graph,
    method: CalibMethod,
    manager: &mut PassManager,
    cx: &PassCx,
) -> Result<Quantized> {
    let pass = ExplicitQdq {
        data: super::calib::data(spec, a, None)?,
        method,
        keep: a.keep_float.clone(),
    };
    let mut g = float.clone();
    let mut p = Pipeline::new("explicit-qdq", vec![Step::Once(Box::new(pass))]);
    let mut qcx = cx.clone();
    manager
        .run(&mut p, &mut g, &mut qcx)
        .with_context(|| format!("{}: TensorRT int8 (explicit Q/DQ)", a.model.display()))?;
    let notes = qcx
        .log
        .iter()
        .filter(|e| e.pass == "explicit-qdq")
        .map(|e| e.message.clone())
        .collect();
    let d = super::calib::data(spec, a, Some(FIDELITY_SAMPLES))?;
    let mut opened = d
        .open(float, "explicit-qdq")
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let fidelity = fidelity_on(float, &g, &mut opened, a.rounding_mode()?)
        .map_err(|e| anyhow::anyhow!("measuring the TensorRT model's fidelity: {e}"))?;
    let bytes = pare_onnx::export_model(&g, &pare_onnx::ExportOptions::default())
        .with_context(|| format!("encoding {}", a.output.display()))?;
    Ok(Quantized {
        graph: g,
        bytes,
        fidelity,
        notes,
    })
}

/// TensorRT's rules checked on the bytes about to be written: the report
/// section, or an error naming each broken rule and node.
pub fn check(a: &CompileArgs, bytes: &[u8], notes: &[String]) -> Result<(Value, String)> {
    let rules = pare_onnx::check_tensorrt(bytes, a.output.parent())
        .map_err(|e| anyhow::anyhow!("{}: {e}", a.output.display()))?;
    let broken: Vec<String> = rules
        .iter()
        .flat_map(|r| {
            r.violations
                .iter()
                .map(move |v| format!("{}: {} `{}`: {}", r.rule, v.op, v.node, v.why))
        })
        .collect();
    if !broken.is_empty() {
        bail!(
            "{}: the TensorRT ONNX breaks its rules (a pare bug; nothing written): {}",
            a.output.display(),
            broken.join("; ")
        );
    }
    let mut text = String::new();
    for n in notes {
        text.push_str(&format!("tensorrt {n}\n"));
    }
    text.push_str(&format!(
        "tensorrt: {} rules checked on the written bytes, all hold ({})\n",
        rules.len(),
        rules.iter().map(|r| r.rule).collect::<Vec<_>>().join(", ")
    ));
    Ok((
        json!({
            "form": "explicit quantization: symmetric int8 Q/DQ (zero point 0), per-channel int8 weights, float op outputs",
            "rules": rules.iter().map(|r| json!({"rule": r.rule, "statement": r.statement, "passed": r.violations.is_empty()})).collect::<Vec<_>>(),
            "activations": notes,
            "engine_latency": {
                "how": "not measured",
                "value": null,
                "why": "no GPU or TensorRT on this machine: build the engine with trtexec --onnx=FILE --int8 (or the tensorrt pip package) where one is",
            },
            "how": "measured: pare check's rules run on the bytes written",
        }),
        text,
    ))
}
