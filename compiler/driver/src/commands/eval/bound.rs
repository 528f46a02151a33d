//! `pare eval` on data bound to several model inputs (`--data FILE.npz` by
//! name, `FILE.npz:INPUT=ARRAY,...`, a folder of per-sample `.npz` files) with
//! `--fixed` inputs: the same binding calibration uses
//! (`pare_passes::quantize::data`), so `--calib` data evaluates as given.

use super::runner::Runner;
use super::{open_targets, write_text, Ctx, EvalArgs, Measure};
use anyhow::{bail, Context, Result};
use pare_npy::DataSpec;
use pare_passes::quantize::bindings::{Binds, FileBinding, FileKind, FixedInputs};
use pare_passes::quantize::calibrate::CalibData;
use pare_passes::quantize::data::DataSource;
use std::io::Write;

/// Whether `--data` goes through the multi-input binding: the model has
/// several inputs, some are fixed, the spec renames arrays, or it is a
/// folder of `.npz` files. One-input models with plain specs keep the
/// one-array path (and its `--x`).
pub fn is_bound(data: &str, model: &Runner, fixed: &FixedInputs) -> Result<bool> {
    if model.graph.inputs.len() != 1 || !fixed.is_empty() {
        return Ok(true);
    }
    let Ok(file) = FileBinding::parse(data) else {
        return Ok(false);
    };
    Ok(match (file.kind, &file.binds) {
        (_, Binds::Renamed(_)) => true,
        (FileKind::Dir, _) => !pare_npy::files_with_ext(&file.path, "npz")?.is_empty(),
        _ => false,
    })
}

pub fn eval_bound(
    a: &EvalArgs,
    model: &Runner,
    reference: Option<&Runner>,
    fixed: &FixedInputs,
) -> Result<()> {
    if a.x.is_some() {
        bail!(
            "--x names the one array of a one-input model; bind arrays to inputs in --data \
             (FILE.npz by input name, or FILE.npz:INPUT=ARRAY,...)"
        );
    }
    let source = DataSource::parse(&a.data).context("--data")?;
    if matches!(source, DataSource::Random { .. }) {
        bail!("--data takes a data file here, not random:...");
    }
    let ignore: Vec<&str> = a.y.iter().map(String::as_str).collect();
    let batch = usize::try_from(a.batch)?;
    let all = source
        .open_with(&model.graph, fixed, &ignore, batch, None)
        .with_context(|| format!("data for {}", model.path.display()))?;
    let total = all.len();
    let limit = a.limit.map(usize::try_from).transpose()?;
    let n = limit.map_or(total, |l| l.min(total));
    if n == 0 {
        bail!("{}: no samples to evaluate", all.spec());
    }
    let mut data = all.limited(n);
    let batch = data.batch();
    let spec = data.spec().to_string();
    let y = match a.y.as_deref() {
        None => None,
        Some(key) => {
            let file = FileBinding::parse(&a.data)?;
            if file.kind != FileKind::Npz {
                bail!(
                    "--y names an array of the --data .npz, but `{}` is not an .npz",
                    a.data
                );
            }
            let x_spec = DataSpec::Npz {
                path: file.path,
                key: None,
            };
            Some(open_targets(&x_spec, key, &spec, total)?)
        }
    };
    let order_owned: Vec<String> = model.input_names().iter().map(|s| s.to_string()).collect();
    let order: Vec<&str> = order_owned.iter().map(String::as_str).collect();
    let mut m = Measure::default();
    let mut y_batches = y.as_ref().map(|d| d.data.batches(batch, Some(n)));
    let ctx = Ctx {
        model,
        reference,
        y: y.as_ref(),
    };
    let mut seen = 0;
    let batches = data.open().map_err(|e| anyhow::anyhow!("{spec}: {e}"))?;
    for inputs in batches {
        let inputs = inputs.map_err(|e| anyhow::anyhow!("{spec}: {e}"))?;
        let b = batch.min(n - seen);
        let out = model.run_inputs(&order, &inputs)?;
        let yb = match &mut y_batches {
            Some(it) => Some(it.next().context("targets ended before the samples")??),
            None => None,
        };
        let rout = reference
            .map(|r| r.run_inputs(&order, &inputs))
            .transpose()?;
        m.add(&ctx, &out, yb.as_ref(), rout.as_deref(), seen)?;
        seen += b;
    }
    let mut out = std::io::stdout().lock();
    if a.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&m.to_json(n))?)?;
    } else {
        let data = format!(
            "{spec} ({n} of {total} samples for inputs {})",
            order.join(", ")
        );
        write_text(&mut out, &m, model, reference, &data, y.as_ref(), n)?;
    }
    Ok(())
}
