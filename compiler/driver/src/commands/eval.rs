//! `pare eval`: measures a model on a dataset streamed in batches: accuracy
//! against integer labels, MSE against float targets, and with a reference model
//! top-1 agreement, SQNR and max abs error. Every figure is measured on the data
//! given; nothing is estimated.

mod bound;
mod runner;

use crate::model_io;
use anyhow::{bail, Context, Result};
use pare_ir::Tensor;
use pare_npy::{DataSpec, Dataset, OpenOptions};
use pare_passes::metrics::{classes_of, Accuracy, Agreement, ErrorStats as Fidelity, Mse};
use pare_passes::quantize::bindings::FixedInputs;
use runner::Runner;
use serde_json::{json, Map, Value};
use std::io::Write;
use std::path::PathBuf;

/// `pare eval`'s command line.
#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// Model file (.onnx, .pt2 or .pir).
    pub model: PathBuf,
    /// Samples: FILE.npz (with --x KEY), FILE.npz:KEY, FILE.npy (samples along
    /// axis 0) or a directory of .npy files (one sample or one batch per file,
    /// in file-name order). Models with several inputs: FILE.npz (arrays bound
    /// to inputs by name), FILE.npz:INPUT=ARRAY,... (renamed) or a directory
    /// of per-sample .npz files.
    #[arg(long, value_name = "DATA")]
    pub data: String,
    /// The array of the --data .npz holding the samples (may be left out when
    /// the archive holds one array).
    #[arg(long, value_name = "KEY")]
    pub x: Option<String>,
    /// The array of the --data .npz holding targets: integer class ids [n]
    /// (accuracy, argmax over the last axis of output 0) or floats of the
    /// output's shape (mean squared error).
    #[arg(long, value_name = "KEY", required_unless_present = "reference")]
    pub y: Option<String>,
    /// A model to compare against on the same inputs (top-1 agreement, SQNR,
    /// max abs error per output).
    #[arg(long, value_name = "FLOAT_MODEL")]
    pub reference: Option<PathBuf>,
    /// Inputs held at fixed values (recurrent state):
    /// NAME=zeros|ones|NUMBER|FILE.npz[:KEY]|FILE.npy, comma-separated; their
    /// symbolic dims (the batch) follow the data.
    #[arg(long, visible_alias = "calib-fixed", value_name = "NAME=VALUE,...")]
    pub fixed: Option<String>,
    /// Use this shape for a model input (of the model and of --reference) instead of its declared one (even a
    /// fixed one), e.g. `input=1,3,96,96`; repeatable. Shape inference re-runs
    /// and names the node that cannot take the shape.
    #[arg(long = "input-shape", value_name = "NAME=D0,D1,...", value_parser = crate::model_io::parse_input_shape)]
    pub input_shapes: Vec<crate::model_io::InputShape>,
    /// Samples per batch (batch-1 models run sample by sample).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..))]
    pub batch: u64,
    /// Evaluate only the first N samples.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: Option<u64>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub exec: crate::cli::ExecArgs,
}

pub fn eval(a: &EvalArgs) -> Result<()> {
    // How quantized nodes of MODEL run (the reference always runs as given);
    // a bad --rounding fails before any model is read.
    let exec = a.exec.options()?;
    let mut model = Runner::new(
        model_io::load_executable(&a.model, &a.input_shapes)?,
        &a.model,
    )?;
    model.exec = exec;
    let reference = match &a.reference {
        Some(p) => Some(Runner::new(
            model_io::load_executable(p, &a.input_shapes)?,
            p,
        )?),
        None => None,
    };
    let fixed = match &a.fixed {
        Some(f) => FixedInputs::parse(f).context("--fixed")?,
        None => FixedInputs::default(),
    };
    if bound::is_bound(&a.data, &model, &fixed)? {
        return bound::eval_bound(a, &model, reference.as_ref(), &fixed);
    }
    let x_spec = x_spec(&a.data, a.x.as_deref())?;
    let x = Dataset::open_with(
        &x_spec,
        &OpenOptions {
            sample_rank: Some(model.sample_rank()),
        },
    )
    .with_context(|| format!("data for {}", model.describe_input()))?;
    model.check_samples(&x)?;
    if let Some(r) = &reference {
        r.check_samples(&x)?;
    }
    let y =
        a.y.as_deref()
            .map(|key| open_targets(&x_spec, key, x.name(), x.len()))
            .transpose()?;
    let limit = a.limit.map(usize::try_from).transpose()?;
    let n = limit.map_or(x.len(), |l| l.min(x.len()));
    if n == 0 {
        bail!("{}: no samples to evaluate", x.name());
    }
    let batch = batch_size(usize::try_from(a.batch)?, n, &model, reference.as_ref())?;

    let mut m = Measure::default();
    let mut y_batches = y.as_ref().map(|d| d.data.batches(batch, Some(n)));
    let ctx = Ctx {
        model: &model,
        reference: reference.as_ref(),
        y: y.as_ref(),
    };
    let mut seen = 0;
    for xb in x.batches(batch, Some(n)) {
        let xb = xb?;
        let out = model.run(&xb)?;
        let yb = match &mut y_batches {
            Some(it) => Some(it.next().context("targets ended before the samples")??),
            None => None,
        };
        let rout = reference.as_ref().map(|r| r.run(&xb)).transpose()?;
        m.add(&ctx, &out, yb.as_ref(), rout.as_deref(), seen)?;
        seen += xb.shape()[0];
    }

    let mut out = std::io::stdout().lock();
    if a.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&m.to_json(n))?)?;
    } else {
        let data = format!(
            "{} ({n} of {} samples of {} {:?})",
            x.name(),
            x.len(),
            x.dtype(),
            x.sample_shape()
        );
        write_text(
            &mut out,
            &m,
            &model,
            reference.as_ref(),
            &data,
            y.as_ref(),
            n,
        )?;
    }
    Ok(())
}

/// The dataset of samples: `--data` as given, with `--x` naming the array.
fn x_spec(data: &str, x: Option<&str>) -> Result<DataSpec> {
    let spec = DataSpec::parse(data)?;
    match (spec, x) {
        (spec, None) => Ok(spec),
        (DataSpec::Npz { path, key: None }, Some(k)) => Ok(DataSpec::Npz {
            path,
            key: Some(k.to_string()),
        }),
        (DataSpec::Npz { key: Some(_), .. }, Some(_)) => {
            bail!("`{data}` names an array already; drop --x or the `:KEY`")
        }
        (spec, Some(_)) => bail!("--x names an array of an .npz, but `{spec}` is not one"),
    }
}

/// What `--y` holds.
enum Targets {
    /// Integer class ids, one per sample: accuracy.
    Labels,
    /// Floats of the output's shape: MSE.
    Floats,
}

struct YData {
    data: Dataset,
    kind: Targets,
}

/// Opens `--y` from the same archive and checks it against the samples
/// (`x_name`, `x_len`).
fn open_targets(x_spec: &DataSpec, key: &str, x_name: &str, x_len: usize) -> Result<YData> {
    let DataSpec::Npz { path, .. } = x_spec else {
        bail!("--y names an array of the --data .npz, but `{x_spec}` is not an .npz");
    };
    let data = Dataset::open(&DataSpec::Npz {
        path: path.clone(),
        key: Some(key.to_string()),
    })?;
    if data.len() != x_len {
        bail!(
            "`{}` holds {} targets but `{x_name}` holds {x_len} samples",
            data.name(),
            data.len(),
        );
    }
    let kind = if data.dtype().is_float() {
        Targets::Floats
    } else if data.dtype().is_int() {
        if data.sample_shape().iter().product::<usize>() != 1 {
            bail!(
                "`{}`: integer labels must be one class id per sample, but each sample has shape {:?}",
                data.name(),
                data.sample_shape()
            );
        }
        Targets::Labels
    } else {
        bail!(
            "`{}` holds {} data; --y takes integer class ids (accuracy) or float targets (MSE)",
            data.name(),
            data.dtype()
        );
    };
    Ok(YData { data, kind })
}

/// The batch to read: `requested` rounded up to a multiple of every fixed batch.
fn batch_size(
    requested: usize,
    n: usize,
    model: &Runner,
    reference: Option<&Runner>,
) -> Result<usize> {
    let mut k = 1;
    for r in std::iter::once(model).chain(reference) {
        if let Some(fixed) = r.fixed_batch() {
            if !n.is_multiple_of(fixed) {
                bail!(
                    "{}: {} has a fixed batch of {fixed}; {n} samples do not divide into it (use --limit)",
                    r.path.display(),
                    r.describe_input()
                );
            }
            k = lcm(k, fixed);
        }
    }
    Ok(requested.div_ceil(k) * k)
}

fn lcm(a: usize, b: usize) -> usize {
    fn gcd(a: usize, b: usize) -> usize {
        if b == 0 {
            a
        } else {
            gcd(b, a % b)
        }
    }
    a / gcd(a, b) * b
}

/// What one batch is checked against, for messages.
struct Ctx<'a> {
    model: &'a Runner,
    reference: Option<&'a Runner>,
    y: Option<&'a YData>,
}

/// The figures being accumulated; each is `Some` once it applies.
#[derive(Default)]
struct Measure {
    accuracy: Option<Accuracy>,
    mse: Option<Mse>,
    agreement: Option<Agreement>,
    /// Per output, against the reference.
    fidelity: Option<Vec<Fidelity>>,
    /// Set after the first batch's shape checks.
    checked: bool,
    /// Whether output 0 and the reference's are class scores (for agreement).
    classes: Option<usize>,
}

impl Measure {
    fn add(
        &mut self,
        cx: &Ctx,
        out: &[Tensor],
        y: Option<&Tensor>,
        reference: Option<&[Tensor]>,
        first_sample: usize,
    ) -> Result<()> {
        if !self.checked {
            self.check_first(cx, out, y, reference)?;
            self.checked = true;
        }
        let out0 = &out[0];
        if let (Some(acc), Some(y)) = (&mut self.accuracy, y) {
            acc.add(out0, y, first_sample)
                .with_context(|| format!("{}: `{}`", cx.model.path.display(), y_name(cx)))?;
        }
        if let (Some(mse), Some(y)) = (&mut self.mse, y) {
            mse.add(out0, y);
        }
        if let Some(r) = reference {
            if let (Some(ag), Some(c)) = (&mut self.agreement, self.classes) {
                ag.add(out0, &r[0], c);
            }
            if let Some(fid) = &mut self.fidelity {
                for ((f, o), r) in fid.iter_mut().zip(out).zip(r) {
                    f.add(o, r);
                }
            }
        }
        Ok(())
    }

    /// Decides which figures apply from the first batch's shapes, and checks
    /// them once with messages naming both sides.
    fn check_first(
        &mut self,
        cx: &Ctx,
        out: &[Tensor],
        y: Option<&Tensor>,
        reference: Option<&[Tensor]>,
    ) -> Result<()> {
        let model = cx.model;
        let Some(out0) = out.first() else {
            bail!("{}: the model has no outputs", model.path.display());
        };
        let out0_desc = || {
            format!(
                "output 0 `{}` of {}",
                model.output_name(0),
                model.path.display()
            )
        };
        if let (Some(yd), Some(y)) = (cx.y, y) {
            match yd.kind {
                Targets::Labels => {
                    if classes_of(out0.shape()).is_none() {
                        bail!(
                            "integer labels `{}` need class scores [batch, classes] from {}, which gives samples of shape {:?}; for MSE give float targets of that shape",
                            yd.data.name(),
                            out0_desc(),
                            &out0.shape()[1..]
                        );
                    }
                    self.accuracy = Some(Accuracy::default());
                }
                Targets::Floats => {
                    if y.shape() != out0.shape() {
                        bail!(
                            "targets `{}` have samples of shape {:?}, but {} gives samples of shape {:?}",
                            yd.data.name(),
                            &y.shape()[1..],
                            out0_desc(),
                            &out0.shape()[1..]
                        );
                    }
                    self.mse = Some(Mse::default());
                }
            }
        }
        if let (Some(r), Some(rout)) = (cx.reference, reference) {
            if rout.len() != out.len() {
                bail!(
                    "{} has {} outputs but the reference {} has {}",
                    model.path.display(),
                    out.len(),
                    r.path.display(),
                    rout.len()
                );
            }
            for (i, (o, ro)) in out.iter().zip(rout).enumerate() {
                if o.shape() != ro.shape() {
                    bail!(
                        "output {i} `{}` of {} gives samples of shape {:?} but the reference's `{}` gives {:?}",
                        model.output_name(i),
                        model.path.display(),
                        &o.shape()[1..],
                        r.output_name(i),
                        &ro.shape()[1..]
                    );
                }
            }
            self.fidelity = Some(vec![Fidelity::default(); out.len()]);
            self.classes = classes_of(out0.shape());
            if self.classes.is_some() {
                self.agreement = Some(Agreement::default());
            }
        }
        Ok(())
    }

    fn overall(&self) -> Option<Fidelity> {
        self.fidelity.as_ref().map(|fs| {
            let mut all = Fidelity::default();
            for f in fs {
                all.merge(f);
            }
            all
        })
    }

    /// One flat object with the keys that apply. JSON has no infinity: an
    /// infinite SQNR is `null`, with `sqnr_db_note` saying why.
    fn to_json(&self, n: usize) -> Value {
        let mut o = Map::new();
        o.insert("n".into(), json!(n));
        if let Some(a) = &self.accuracy {
            o.insert("accuracy".into(), json!(a.value()));
        }
        if let Some(m) = &self.mse {
            o.insert("mse".into(), json!(m.value()));
        }
        if let Some(a) = &self.agreement {
            o.insert("agreement".into(), json!(a.value()));
        }
        if let Some(all) = self.overall() {
            let s = all.sqnr_db();
            if s.is_finite() {
                o.insert("sqnr_db".into(), json!(s));
            } else {
                o.insert("sqnr_db".into(), Value::Null);
                let why = if s == f64::INFINITY {
                    "infinite: the outputs equal the reference's exactly"
                } else if s.is_nan() {
                    "not a number: an output is NaN"
                } else {
                    "minus infinity: the reference's outputs are all zero"
                };
                o.insert("sqnr_db_note".into(), json!(why));
            }
            // serde_json writes a NaN as null.
            o.insert("max_abs_error".into(), json!(all.max_abs));
        }
        Value::Object(o)
    }
}

fn y_name<'a>(cx: &'a Ctx) -> &'a str {
    cx.y.map_or("", |y| y.data.name())
}

/// A number for the terminal: fixed point unless tiny, `inf` spelled out.
fn num(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else if !x.is_finite() {
        format!("{x}")
    } else if x.abs() >= 1e-3 {
        format!("{x:.6}")
    } else {
        format!("{x:.3e}")
    }
}

fn write_text(
    out: &mut impl Write,
    m: &Measure,
    model: &Runner,
    reference: Option<&Runner>,
    data: &str,
    y: Option<&YData>,
    n: usize,
) -> Result<()> {
    writeln!(out, "model       {}", model.path.display())?;
    writeln!(out, "data        {data}")?;
    if let Some(y) = y {
        writeln!(out, "targets     {}", y.data.name())?;
    }
    if let Some(r) = reference {
        writeln!(out, "reference   {}", r.path.display())?;
    }
    writeln!(out)?;
    writeln!(out, "{:<16}value", "metric")?;
    writeln!(out, "{:<16}{n}", "n")?;
    if let Some(a) = &m.accuracy {
        writeln!(
            out,
            "{:<16}{:.4} ({} of {} correct)",
            "accuracy",
            a.value(),
            a.correct,
            a.n
        )?;
    }
    if let Some(mse) = &m.mse {
        writeln!(out, "{:<16}{}", "mse", num(mse.value()))?;
    }
    if let Some(a) = &m.agreement {
        writeln!(
            out,
            "{:<16}{:.4} ({} of {} top-1 equal)",
            "agreement",
            a.value(),
            a.same,
            a.n
        )?;
    }
    if let (Some(fs), Some(all), Some(r)) = (&m.fidelity, m.overall(), reference) {
        writeln!(out)?;
        writeln!(
            out,
            "{:<24}{:<14}max_abs_error",
            "output vs reference", "sqnr_db"
        )?;
        for (i, f) in fs.iter().enumerate() {
            let name = format!("{} / {}", model.output_name(i), r.output_name(i));
            writeln!(out, "{name:<24}{:<14}{}", num(f.sqnr_db()), num(f.max_abs))?;
        }
        if fs.len() > 1 {
            writeln!(
                out,
                "{:<24}{:<14}{}",
                "all outputs",
                num(all.sqnr_db()),
                num(all.max_abs)
            )?;
        }
    }
    Ok(())
}
