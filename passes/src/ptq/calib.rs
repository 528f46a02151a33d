//! What the quantization passes share: their data options (declared once,
//! listed by every pass that reads data) and calibration on a [`DataSource`].

use crate::quantize::bindings::FixedInputs;
use crate::quantize::calibrate::{
    calibrate, CalibError, CalibMethod, CalibOptions, Calibration, Phase, Progress,
};
use crate::quantize::data::{DataSource, OpenedData};
use crate::registry::{OptionSpec, OptionType, Options};
use crate::PassError;
use pare_ir::Graph;

pub const CALIB: OptionSpec = OptionSpec {
    name: "calib",
    ty: OptionType::Data,
    default: None,
    help: "calibration data: FILE.npz (arrays bound to inputs by name), FILE.npz:IN=ARRAY;IN2=ARRAY2 (renamed), FILE.npz:KEY, FILE.npy, DIR/ (.npy files, or per-sample .npz by name), or random:N:SEED[:uniform|normal]",
};

pub const CALIB_FIXED: OptionSpec = OptionSpec {
    name: "calib-fixed",
    ty: OptionType::Fixed,
    default: None,
    help: "inputs held fixed while reading data (recurrent state): IN=zeros;IN2=ones|NUMBER|FILE.npz[:KEY]|FILE.npy",
};

pub const SAMPLES: OptionSpec = OptionSpec {
    name: "samples",
    ty: OptionType::Int,
    default: None,
    help: "read at most this many samples of the data (default: all)",
};

pub const METHOD: OptionSpec = OptionSpec {
    name: "method",
    ty: OptionType::Choice(&["minmax", "percentile", "mse", "entropy", "auto"]),
    default: Some("minmax"),
    help: "how each activation's range is chosen from its statistics",
};

pub const PERCENTILE: OptionSpec = OptionSpec {
    name: "percentile",
    ty: OptionType::Float,
    default: Some("99.99"),
    help: "the percentile of method=percentile",
};

pub const BATCH: OptionSpec = OptionSpec {
    name: "batch",
    ty: OptionType::Int,
    default: Some("32"),
    help: "samples per batch when the model's batch dim is symbolic",
};

pub const ROUNDING: OptionSpec = OptionSpec {
    name: "rounding",
    ty: OptionType::Choice(&["gemmlowp", "single"]),
    default: Some("gemmlowp"),
    help: "requantization rounding of the integer kernels the graph is measured with",
};

/// Where and how much data a pass reads.
#[derive(Clone, Debug, PartialEq)]
pub struct DataOptions {
    pub source: DataSource,
    /// Inputs held at fixed values (no data read for them).
    pub fixed: FixedInputs,
    pub samples: Option<usize>,
    pub batch: usize,
}

impl DataOptions {
    /// The `calib`, `samples` and `batch` options; `None` when `calib` is unset.
    pub fn from_options(o: &Options) -> Result<Option<DataOptions>, PassError> {
        let Some(spec) = o.text(CALIB.name) else {
            return Ok(None);
        };
        // Options::parse has checked the syntax already.
        let source = DataSource::parse(spec).map_err(|e| PassError::BadOption {
            pass: o.pass().into(),
            option: CALIB.name.into(),
            value: spec.into(),
            expected: e.to_string(),
        })?;
        let fixed = match o.text(CALIB_FIXED.name) {
            None => FixedInputs::default(),
            Some(f) => FixedInputs::parse(f).map_err(|e| PassError::BadOption {
                pass: o.pass().into(),
                option: CALIB_FIXED.name.into(),
                value: f.into(),
                expected: e.to_string(),
            })?,
        };
        Ok(Some(DataOptions {
            source,
            fixed,
            samples: match o.int_opt(SAMPLES.name) {
                Some(_) => Some(o.count(SAMPLES.name)?),
                None => None,
            },
            batch: o.count(BATCH.name)?.max(1),
        }))
    }

    /// The source with its fixed inputs, for reports.
    pub fn describe(&self) -> String {
        if self.fixed.is_empty() {
            self.source.to_string()
        } else {
            format!("{} (fixed: {})", self.source, self.fixed)
        }
    }

    /// Opens the data for `g`.
    pub fn open(&self, g: &Graph, pass: &'static str) -> Result<OpenedData, PassError> {
        self.source
            .open_with(g, &self.fixed, &[], self.batch, self.samples)
            .map_err(|e| PassError::Analysis {
                pass,
                source: Box::new(e),
            })
    }
}

/// The `method` and `percentile` options.
pub fn method_of(o: &Options) -> Result<CalibMethod, PassError> {
    Ok(match o.word(METHOD.name)? {
        "percentile" => CalibMethod::Percentile(o.float(PERCENTILE.name)?),
        "mse" => CalibMethod::Mse,
        "entropy" => CalibMethod::Entropy,
        "auto" => CalibMethod::Auto,
        _ => CalibMethod::MinMax,
    })
}

/// `data` or an error saying the pass needs `calib=`.
pub fn needs_data<'a>(
    data: &'a Option<DataOptions>,
    pass: &'static str,
    why: &str,
) -> Result<&'a DataOptions, PassError> {
    data.as_ref().ok_or_else(|| PassError::Config {
        pass,
        msg: format!(
            "{why} needs calibration data: add calib=FILE.npz[:KEY] (or calib=random:N:SEED)"
        ),
    })
}

/// Calibrates float graph `g` on `data`; records the wall time in `cx`.
pub fn calibrate_on(
    g: &Graph,
    data: &DataOptions,
    method: CalibMethod,
    pass: &'static str,
    cx: &mut crate::PassCx,
) -> Result<Calibration, PassError> {
    check_no_nan_weights(g, pass)?;
    let t = std::time::Instant::now();
    let mut opened = data.open(g, pass)?;
    let opts = CalibOptions {
        method,
        max_samples: data.samples,
        ..CalibOptions::default()
    };
    let progress = cx.progress.clone();
    let mut on_progress = |p: Progress| {
        if let Some(f) = &progress {
            let what = match p.phase {
                Phase::Range => "calibrating: ranges",
                Phase::Histogram => "calibrating: histograms",
                Phase::Select => "calibrating: choosing ranges",
            };
            f(what, p.done, p.total);
        }
    };
    let cal = calibrate(g, &mut opened, &opts, &mut on_progress).map_err(|e| match e {
        // Already a full sentence naming the value: no cause chain to repeat it.
        CalibError::NotANumber { .. } => PassError::Config {
            pass,
            msg: e.to_string(),
        },
        e => PassError::Analysis {
            pass,
            source: Box::new(e),
        },
    })?;
    cx.quant.calib_seconds = t.elapsed().as_secs_f64();
    for note in cal.range_notes(g) {
        cx.note(pass, note);
    }
    Ok(cal)
}

/// An error naming the first float constant of `g` that holds NaN, and a node
/// that reads it: calibrating would only report the NaN it spreads to, far
/// from its source. Infinities are allowed here (`-inf` masks are legitimate
/// constants); the quantizer refuses them only in the weights it quantizes.
pub fn check_no_nan_weights(g: &Graph, pass: &'static str) -> Result<(), PassError> {
    for (id, n) in g.nodes() {
        for v in n.present_inputs() {
            let Some(w) = g.weight_of(v).filter(|w| w.ty.dtype.is_float()) else {
                continue;
            };
            let Ok(t) = w.tensor() else { continue };
            if let Some(i) = t.to_f32_vec().iter().position(|x| x.is_nan()) {
                return Err(PassError::Config {
                    pass,
                    msg: format!(
                        "constant `{}` (read by node {}) holds NaN at element {i}: the model's weights must be numbers",
                        g.value(v).name,
                        crate::pass::node_label(g, id)
                    ),
                });
            }
        }
    }
    Ok(())
}

/// An error when `g` already holds quantized values (a second quantization
/// would stack scales on scales).
pub fn check_float(g: &Graph, pass: &'static str) -> Result<(), PassError> {
    for (_, n) in g.nodes() {
        if let Some(&v) = n.outputs.iter().find(|&&v| g.ty(v).quant.is_some()) {
            return Err(PassError::Config {
                pass,
                msg: format!(
                    "the graph is already quantized (value `{}` has quantization parameters)",
                    g.value(v).name
                ),
            });
        }
    }
    Ok(())
}
