//! `pare inspect`: a model's interface and size figures, as text or JSON.
//!
//! Every figure is counted from the imported IR: parameters and weight bytes from
//! the weight store, MACs from the static shapes (`--input-shape` first, then
//! any symbolic dim left bound to 1).

use crate::model_io;
use anyhow::{Context, Result};
use pare_ir::{analysis, Dim, Graph, ValueId};
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;

pub fn inspect(path: &Path, shapes: &[model_io::InputShape], as_json: bool) -> Result<()> {
    let g = model_io::load_shaped(path, shapes)?;
    let report = Report::of(&g).with_context(|| format!("{}", path.display()))?;
    let mut out = std::io::stdout().lock();
    if as_json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report.to_json())?)?;
    } else {
        report.write_text(&mut out, path)?;
    }
    Ok(())
}

struct Port {
    name: String,
    dtype: String,
    shape: Vec<Dim>,
}

struct Report {
    inputs: Vec<Port>,
    outputs: Vec<Port>,
    ops: Vec<(&'static str, usize)>,
    params: u64,
    weight_bytes: u64,
    /// MACs at batch 1, or why they could not be counted.
    macs: Result<u64, String>,
    /// The ONNX default-domain opset; `None` for models that are not ONNX.
    opset: Option<i64>,
    producer: String,
}

fn port(g: &Graph, v: ValueId) -> Port {
    let val = g.value(v);
    Port {
        name: val.name.clone(),
        dtype: val.ty.dtype.name().to_string(),
        shape: val.ty.shape.clone(),
    }
}

impl Report {
    fn of(g: &Graph) -> Result<Report> {
        // A model that cannot be typed at batch 1 still gets the rest of its report.
        let macs = match analysis::with_symbols_bound(g, 1) {
            Ok(bound) => analysis::total_macs(&bound)
                .ok_or_else(|| "a shape stays symbolic at batch 1".to_string()),
            Err(e) => Err(format!(
                "binding symbolic dims to 1 failed: {e} (give the input's shape with --input-shape)"
            )),
        };
        let producer = match (&g.meta.producer_name, &g.meta.producer_version) {
            (n, v) if v.is_empty() => n.clone(),
            (n, v) => format!("{n} {v}"),
        };
        Ok(Report {
            inputs: g.inputs.iter().map(|&v| port(g, v)).collect(),
            outputs: g.outputs.iter().map(|&v| port(g, v)).collect(),
            ops: analysis::op_counts(g).into_iter().collect(),
            params: analysis::param_count(g),
            weight_bytes: analysis::weight_bytes(g),
            macs,
            opset: (g.meta.opset > 0).then_some(g.meta.opset),
            producer,
        })
    }

    fn to_json(&self) -> Value {
        let ports = |ps: &[Port]| -> Value {
            ps.iter()
                .map(|p| {
                    let shape: Vec<Value> = p
                        .shape
                        .iter()
                        .map(|d| match d {
                            Dim::Fixed(n) => json!(n),
                            Dim::Sym(s) => json!(s),
                        })
                        .collect();
                    json!({ "name": p.name, "dtype": p.dtype, "shape": shape })
                })
                .collect()
        };
        let ops: serde_json::Map<String, Value> = self
            .ops
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        json!({
            "inputs": ports(&self.inputs),
            "outputs": ports(&self.outputs),
            "ops": ops,
            "params": self.params,
            "weight_bytes": self.weight_bytes,
            "macs": self.macs.as_ref().ok(),
            "opset": self.opset,
            "producer": self.producer,
        })
    }

    fn write_text(&self, out: &mut impl Write, path: &Path) -> Result<()> {
        let shape = |p: &Port| {
            format!(
                "{}[{}]",
                p.dtype,
                p.shape
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            )
        };
        writeln!(out, "model        {}", path.display())?;
        let producer = if self.producer.is_empty() {
            "unknown"
        } else {
            &self.producer
        };
        match self.opset {
            Some(opset) => writeln!(out, "producer     {producer} (opset {opset})")?,
            None => writeln!(out, "producer     {producer}")?,
        }
        for p in &self.inputs {
            writeln!(out, "input        {}: {}", p.name, shape(p))?;
        }
        for p in &self.outputs {
            writeln!(out, "output       {}: {}", p.name, shape(p))?;
        }
        writeln!(out, "params       {}", group_digits(self.params))?;
        writeln!(out, "weight bytes {}", group_digits(self.weight_bytes))?;
        match &self.macs {
            Ok(m) => writeln!(
                out,
                "MACs         {} (batch 1, counted from static shapes)",
                group_digits(*m)
            )?,
            Err(why) => writeln!(out, "MACs         unknown ({why})")?,
        }
        let total: usize = self.ops.iter().map(|(_, n)| n).sum();
        writeln!(out, "ops          {total} nodes")?;
        for (op, n) in &self.ops {
            writeln!(out, "  {op:<24} {n}")?;
        }
        Ok(())
    }
}

fn group_digits(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
