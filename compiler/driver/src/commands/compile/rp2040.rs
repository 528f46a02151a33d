//! `pare compile --target rp2040`: the quantized graph as C99 in a directory
//! (NAME.h, NAME.c, NAME_weights.c, pare_kernels.h, pare_kernels.c and
//! report.json), written atomically: a failed compile leaves nothing behind.
//! The report's figures say how they were obtained: `planned` (the static
//! memory plan, MACs from static shapes), `measured` (bytes of what was
//! written; `arm-none-eabi-size` on the cross-built image) or `emulated`
//! (instructions counted under QEMU).

use super::rp2040_fw::core_note;
use super::rp2040_fw::Measured;
pub use super::rp2040_fw::{device_of, measure_firmware, planned_fit, Firmware};
use super::CompileArgs;
use anyhow::{bail, Context, Result};
use pare_ir::Graph;
use pare_targets::rp2040::{emit, EmitOptions, Emitted, IoQuant, LayerInfo};
use serde_json::{json, Value};
use std::fmt::Write;
use std::path::Path;

/// The C name `--name` gives (default `model`).
pub fn name_of(a: &CompileArgs) -> &str {
    a.name.as_deref().unwrap_or("model")
}

/// The emitter's options from the command line.
pub fn emit_options(a: &CompileArgs) -> Result<EmitOptions> {
    Ok(EmitOptions {
        name: name_of(a).to_string(),
        rounding: a.rounding_mode()?,
        model: a
            .model
            .file_name()
            .map(|n| n.to_string_lossy().into_owned()),
        ..EmitOptions::default()
    })
}

/// Emits the C of quantized graph `g`.
pub fn generate(g: &Graph, a: &CompileArgs) -> Result<Emitted> {
    emit(g, &emit_options(a)?)
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

/// One layer's row of the report: kernel, MACs and how its weights are stored.
fn layer_json(l: &LayerInfo, weights_file: &str) -> Value {
    let mut row = json!({
        "index": l.index,
        "node": l.node,
        "op": l.op,
        "kernel": l.kernel,
        "macs": tagged(json!(l.macs), "planned: counted from the layer's static shapes"),
    });
    if let (Some(w), Some(obj)) = (l.weights, row.as_object_mut()) {
        obj.insert("weight_encoding".into(), json!(w.encoding.name()));
        obj.insert("weight_bits".into(), json!(w.bits));
        obj.insert(
            "weight_stored_bytes".into(),
            tagged(
                json!(w.stored_bytes),
                &format!("measured: the layer's weight arrays in {weights_file} (a palette's codebooks and indices)"),
            ),
        );
        obj.insert(
            "weight_dense_bytes".into(),
            tagged(
                json!(w.dense_bytes),
                "planned: the same weights in the dense layout (blocked int8 codes; int32 taps for a depthwise conv)",
            ),
        );
        obj.insert("weight_density".into(), json!(w.density()));
        if let Some(p) = w.palette {
            obj.insert(
                "weight_palette".into(),
                json!({
                    "k": p.k,
                    "index_bits": w.bits,
                    "codebooks": p.books,
                    "codebook_bytes": p.codebook_bytes,
                    "index_bytes": p.index_bytes,
                    "how": "measured: int8 codebooks then each output channel's packed indices, in the layer's arrays",
                }),
            );
        }
    }
    row
}

/// The report's `rp2040` section.
pub fn report_json(e: &Emitted, dir: &Path, files: &[(String, Vec<u8>)], fw: &Firmware) -> Value {
    let weights_file = format!("{}_weights.c", e.name);
    let macs: u64 = e.layers.iter().map(|l| l.macs).sum();
    let layers: Vec<Value> = e
        .layers
        .iter()
        .map(|l| layer_json(l, &weights_file))
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
        "firmware": firmware_json(fw, macs),
    })
}

const SIZE_HOW: &str = "measured: arm-none-eabi-size on the image cross-built with arm-none-eabi-gcc -mcpu=cortex-m0plus -mthumb -Os (the model's share)";
const EMU_HOW: &str =
    "emulated: instructions of one inference on a zero input under qemu-system-arm -M microbit (Cortex-M0)";

const EMU_FN_HOW: &str = "emulated: one inference's instructions in each function, from the blocks QEMU logs under each symbol";

/// Instructions per inference, per MAC, and by function.
fn instruction_json(m: &Measured, macs: u64) -> (Value, Value, Value) {
    match &m.instructions {
        Ok(p) => {
            let n = p.per_inference;
            let by: Vec<Value> = p
                .by_function
                .iter()
                .map(|(f, k)| {
                    json!({
                        "function": f,
                        "instructions": k,
                        "share": (*k as f64 / n.max(1) as f64 * 1000.0).round() / 1000.0,
                    })
                })
                .collect();
            (
                tagged(json!(n), EMU_HOW),
                tagged(
                    json!((n as f64 / macs.max(1) as f64 * 100.0).round() / 100.0),
                    EMU_HOW,
                ),
                tagged(json!(by), EMU_FN_HOW),
            )
        }
        Err(why) => {
            let v = json!({ "value": null, "how": "not measured", "why": why });
            (v.clone(), v.clone(), v)
        }
    }
}

/// The `firmware` section: sizes, headroom and instruction counts, or why they are absent.
fn firmware_json(fw: &Firmware, macs: u64) -> Value {
    let m = match fw {
        Firmware::NotMeasured { device, reason } => {
            return json!({ "device": device.name, "measured": false, "why": reason })
        }
        Firmware::Measured(m) => m,
    };
    let (f, h, d) = (&m.footprint, &m.headroom, &m.device);
    let (per_inference, per_mac, by_function) = instruction_json(m, macs);
    json!({
        "device": d.name,
        "measured": true,
        "core_note": core_note(d),
        "flash_bytes": tagged(json!(f.flash), SIZE_HOW),
        "flash_code_bytes": tagged(json!(f.flash - f.weights), SIZE_HOW),
        "flash_weight_bytes": tagged(json!(f.weights), SIZE_HOW),
        "ram_arena_bytes": tagged(json!(f.arena), SIZE_HOW),
        "ram_other_static_bytes": tagged(json!(f.static_ram), SIZE_HOW),
        "ram_stack_reserve_bytes": tagged(json!(d.stack_reserve), "planned: the device profile's stack reserve"),
        "ram_bytes": tagged(json!(h.ram_used), "measured: arena + other static data + stack reserve"),
        "device_ram_bytes": d.ram_bytes,
        "device_flash_bytes": d.flash_bytes,
        "ram_headroom_bytes": tagged(json!(h.ram_free), "measured: device RAM less ram_bytes"),
        "flash_headroom_bytes": tagged(json!(h.flash_free), "measured: device flash less flash_bytes"),
        "instructions_per_inference": per_inference,
        "instructions_per_mac": per_mac,
        "instructions_by_function": by_function,
    })
}

/// The terminal lines of the firmware figures.
fn firmware_table(s: &mut String, fw: &Firmware, macs: u64) {
    let m = match fw {
        Firmware::NotMeasured { device, reason } => {
            let _ = writeln!(
                s,
                "{}: flash, RAM and instructions not measured: {reason}",
                device.name
            );
            return;
        }
        Firmware::Measured(m) => m,
    };
    let (f, h, d) = (&m.footprint, &m.headroom, &m.device);
    let _ = writeln!(
        s,
        "{}: flash {} bytes (code {}, weights {}) (measured), {} free of {}",
        d.name,
        f.flash,
        f.flash - f.weights,
        f.weights,
        h.flash_free,
        d.flash_bytes
    );
    let _ = writeln!(
        s,
        "{}: RAM {} bytes = arena {} + other static {} (measured) + stack reserve {}, {} free of {}",
        d.name, h.ram_used, f.arena, f.static_ram, d.stack_reserve, h.ram_free, d.ram_bytes
    );
    let _ = match &m.instructions {
        Ok(p) => {
            let n = p.per_inference;
            let top: Vec<String> = p
                .by_function
                .iter()
                .take(5)
                .map(|(f, k)| format!("{f} {:.1}%", 100.0 * *k as f64 / n.max(1) as f64))
                .collect();
            writeln!(
                s,
                "{n} instructions per inference, {:.2} per MAC (emulated, QEMU Cortex-M0); most in {}",
                n as f64 / macs.max(1) as f64,
                top.join(", ")
            )
        }
        Err(why) => writeln!(s, "instructions not measured: {why}"),
    };
    if let Some(note) = core_note(d) {
        let _ = writeln!(s, "note: {note}");
    }
}

/// The terminal lines of the rp2040 section.
pub fn table(e: &Emitted, dir: &Path, files: &[(String, Vec<u8>)], fw: &Firmware) -> String {
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
    firmware_table(&mut s, fw, macs);
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

#[cfg(test)]
mod tests {
    use super::*;
    use pare_targets::rp2040::{PaletteShape, WeightEncoding, WeightStorage};

    #[test]
    fn a_palette_layer_reports_what_it_stores() {
        let layer = LayerInfo {
            index: 3,
            node: "fc1".into(),
            op: "Gemm",
            kernel: "pare_fully_connected_palette",
            macs: 32768,
            inputs: vec![],
            outputs: vec![],
            weights: Some(WeightStorage {
                encoding: WeightEncoding::Palette,
                bits: 4,
                stored_bytes: 16 + 16384,
                dense_bytes: 32768,
                weights: 32768,
                nonzeros: 32000,
                palette: Some(PaletteShape {
                    k: 16,
                    books: 1,
                    codebook_bytes: 16,
                    index_bytes: 16384,
                }),
            }),
        };
        let row = layer_json(&layer, "model_weights.c");
        assert_eq!(row["weight_encoding"], "palette");
        assert_eq!(row["weight_bits"], 4);
        assert_eq!(row["weight_stored_bytes"]["value"], 16400);
        assert_eq!(row["weight_dense_bytes"]["value"], 32768);
        let p = &row["weight_palette"];
        assert_eq!(
            (&p["k"], &p["index_bits"], &p["codebooks"]),
            (&json!(16), &json!(4), &json!(1))
        );
        assert_eq!(
            (&p["codebook_bytes"], &p["index_bytes"]),
            (&json!(16), &json!(16384))
        );
        let mut dense = layer.clone();
        dense.weights = dense.weights.map(|w| WeightStorage {
            encoding: WeightEncoding::Dense,
            bits: 8,
            stored_bytes: 32768,
            palette: None,
            ..w
        });
        let row = layer_json(&dense, "model_weights.c");
        assert_eq!(row["weight_encoding"], "dense");
        assert!(row.get("weight_palette").is_none());
    }
}
