//! `pare compile --target rp2040`: the quantized graph as C99 in a directory
//! (NAME.h, NAME.c, NAME_weights.c, pare_kernels.h, pare_kernels.c and
//! report.json), written atomically: a failed compile leaves nothing behind.
//! The report's figures say how they were obtained: `planned` (the static
//! memory plan, MACs from static shapes) or `measured` (bytes of what was
//! written).

use super::CompileArgs;
use anyhow::{bail, Context, Result};
use pare_ir::Graph;
use pare_targets::rp2040::{emit, EmitOptions, Emitted, IoQuant};
use serde_json::{json, Value};
use std::fmt::Write;
use std::path::Path;

/// The C name `--name` gives (default `model`).
pub fn name_of(a: &CompileArgs) -> &str {
    a.name.as_deref().unwrap_or("model")
}

/// Emits the C of quantized graph `g`.
pub fn generate(g: &Graph, a: &CompileArgs) -> Result<Emitted> {
    emit(
        g,
        &EmitOptions {
            name: name_of(a).to_string(),
            rounding: a.rounding,
            model: a
                .model
                .file_name()
                .map(|n| n.to_string_lossy().into_owned()),
        },
    )
    .with_context(|| format!("{}: generating rp2040 C", a.model.display()))
}

/// The files to write (report.json is added by the caller).
pub fn files(e: &Emitted) -> Vec<(String, Vec<u8>)> {
    e.files()
        .into_iter()
        .map(|(n, t)| (n, t.as_bytes().to_vec()))
        .collect()
}

fn tagged(value: Value, how: &str) -> Value {
    json!({ "value": value, "how": how })
}

fn io_json(io: &IoQuant) -> Value {
    json!({
        "name": io.name,
        "shape": io.shape,
        "scale": io.scale,
        "zero_point": io.zero_point,
    })
}

/// The report's `rp2040` section.
pub fn report_json(e: &Emitted, dir: &Path, files: &[(String, Vec<u8>)]) -> Value {
    let weights_file = format!("{}_weights.c", e.name);
    let macs: u64 = e.layers.iter().map(|l| l.macs).sum();
    let layers: Vec<Value> = e
        .layers
        .iter()
        .map(|l| {
            json!({
                "index": l.index,
                "node": l.node,
                "op": l.op,
                "kernel": l.kernel,
                "macs": tagged(json!(l.macs), "planned: counted from the layer's static shapes"),
            })
        })
        .collect();
    let file_rows: Vec<Value> = files
        .iter()
        .map(|(n, b)| json!({ "file": n, "bytes": tagged(json!(b.len()), "measured: size of the written file") }))
        .collect();
    json!({
        "name": e.name,
        "directory": dir.display().to_string(),
        "files": file_rows,
        "arena_bytes": tagged(json!(e.plan.arena_bytes), "planned: static memory plan, inputs and outputs in the caller's buffers"),
        "arena_lower_bound": tagged(json!(e.plan.lower_bound), "planned: most bytes live at one step of the schedule"),
        "naive_arena_bytes": tagged(json!(e.plan.naive_bytes()), "planned: every activation in its own buffer (TFLite Micro's naive sum)"),
        "const_data_bytes": tagged(json!(e.const_bytes()), &format!("measured: const arrays in {weights_file}")),
        "weight_bytes": tagged(json!(e.weight_bytes), &format!("measured: weight and bias arrays in {weights_file}")),
        "table_bytes": tagged(json!(e.table_bytes), &format!("measured: multiplier, shift, lookup and index arrays in {weights_file}")),
        "macs": tagged(json!(macs), "planned: counted from static shapes"),
        "inputs": e.lowered.inputs.iter().map(io_json).collect::<Vec<_>>(),
        "outputs": e.lowered.outputs.iter().map(io_json).collect::<Vec<_>>(),
        "layers": layers,
    })
}

/// The terminal lines of the rp2040 section.
pub fn table(e: &Emitted, dir: &Path, files: &[(String, Vec<u8>)]) -> String {
    let mut s = String::new();
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    let _ = writeln!(
        s,
        "rp2040 C in {}: {} and report.json",
        dir.display(),
        names.join(", ")
    );
    let _ = writeln!(
        s,
        "  {:>3}  {:<32} {:<20} {:<22} {:>10}",
        "#", "layer", "op", "kernel", "MACs"
    );
    for l in &e.layers {
        let _ = writeln!(
            s,
            "  {:>3}  {:<32} {:<20} {:<22} {:>10}",
            l.index,
            truncate(&l.node, 32),
            l.op,
            l.kernel,
            l.macs
        );
    }
    let macs: u64 = e.layers.iter().map(|l| l.macs).sum();
    let _ = writeln!(
        s,
        "arena {} bytes (planned), lower bound {} bytes (planned), naive sum {} bytes (planned)",
        e.plan.arena_bytes,
        e.plan.lower_bound,
        e.plan.naive_bytes()
    );
    let _ = writeln!(
        s,
        "const data {} bytes (measured in {}_weights.c: weights and biases {}, tables {}); {macs} MACs (planned)",
        e.const_bytes(),
        e.name,
        e.weight_bytes,
        e.table_bytes
    );
    s
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let tail: Vec<char> = s.chars().rev().take(n - 1).collect();
        format!("…{}", tail.into_iter().rev().collect::<String>())
    }
}

/// Writes `files` into `dir` atomically: everything goes to a staging
/// directory beside it first; a new `dir` appears whole (one rename), an
/// existing one gets each file by rename. On error the staging directory is
/// removed and `dir` is as it was (or absent).
pub fn write_dir(dir: &Path, files: &[(String, Vec<u8>)]) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        bail!(
            "{}: exists and is not a directory (--target rp2040 writes a directory)",
            dir.display()
        );
    }
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => Path::new(".").to_path_buf(),
    };
    let base = dir
        .file_name()
        .with_context(|| format!("{}: not a directory name", dir.display()))?;
    let stage = parent.join(format!(
        ".{}.pare-{}.tmp",
        base.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| -> std::io::Result<()> {
        std::fs::create_dir_all(&parent)?;
        let _ = std::fs::remove_dir_all(&stage);
        std::fs::create_dir(&stage)?;
        for (name, bytes) in files {
            let f = stage.join(name);
            std::fs::write(&f, bytes)?;
            std::fs::File::open(&f)?.sync_all()?;
        }
        if dir.exists() {
            for (name, _) in files {
                std::fs::rename(stage.join(name), dir.join(name))?;
            }
            std::fs::remove_dir(&stage)
        } else {
            std::fs::rename(&stage, dir)
        }
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&stage);
    }
    result.with_context(|| format!("writing {}", dir.display()))
}
