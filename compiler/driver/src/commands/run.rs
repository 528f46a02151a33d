//! `pare run`: evaluate a model with the reference interpreter on `.npy`/`.npz`
//! inputs and write each output to `DIR/<name>.npy`.

use crate::model_io;
use anyhow::{bail, Context, Result};
use pare_ir::{Graph, Tensor};
use std::path::{Path, PathBuf};

pub fn run(
    model: &Path,
    inputs: &[String],
    npz: Option<&Path>,
    input_shapes: &[model_io::InputShape],
    out_dir: &Path,
    exec: &pare_ir::interp::RunOptions,
) -> Result<()> {
    let g = model_io::load_executable(model, input_shapes)?;
    let bound = bind_inputs(&g, inputs, npz)?;
    let outputs = pare_ir::interp::run_with(&g, &bound, exec, &mut |_, _| {})
        .with_context(|| format!("running {}", model.display()))?;
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    for (v, t) in g.outputs.iter().zip(&outputs) {
        let path = out_dir.join(format!("{}.npy", file_stem_for(&g.value(*v).name)));
        pare_ir::fsutil::write_atomic(&path, &pare_npy::encode_npy(t)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// An output name made safe as a file name: characters outside `[A-Za-z0-9_.-]`
/// become `_` (and an empty or dot-only name becomes `output`).
pub fn file_stem_for(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.chars().all(|c| c == '.') {
        "output".to_string()
    } else {
        s
    }
}

/// Matches `--input [NAME=]FILE` and `--inputs FILE.npz` arguments to the graph's
/// inputs, in graph input order.
fn bind_inputs(g: &Graph, specs: &[String], npz: Option<&Path>) -> Result<Vec<Tensor>> {
    let names: Vec<&str> = g.inputs.iter().map(|&v| g.value(v).name.as_str()).collect();
    let mut slots: Vec<Option<Tensor>> = vec![None; names.len()];
    let mut next_positional = 0;
    let slot_of = |name: &str| {
        names
            .iter()
            .position(|n| *n == name)
            .with_context(|| format!("model has no input `{name}` (inputs: {})", names.join(", ")))
    };
    if let Some(path) = npz {
        for (name, t) in pare_npy::read_npz(path)? {
            let i =
                slot_of(&name).with_context(|| format!("{}: array `{name}`", path.display()))?;
            slots[i] = Some(t);
        }
    }
    for spec in specs {
        let (name, file) = match spec.split_once('=') {
            Some((n, f)) if !n.is_empty() => (Some(n), PathBuf::from(f)),
            _ => (None, PathBuf::from(spec)),
        };
        let t = pare_npy::read_npy(&file)?;
        let i = match name {
            Some(n) => slot_of(n)?,
            None => {
                while next_positional < slots.len() && slots[next_positional].is_some() {
                    next_positional += 1;
                }
                if next_positional >= slots.len() {
                    bail!(
                        "{}: more inputs given than the model has ({})",
                        file.display(),
                        names.len()
                    );
                }
                next_positional
            }
        };
        if slots[i].is_some() {
            bail!("input `{}` given twice", names[i]);
        }
        slots[i] = Some(t);
    }
    slots
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            t.with_context(|| {
                format!(
                    "missing input `{}` (give --input {}=FILE.npy)",
                    names[i], names[i]
                )
            })
        })
        .collect()
}
