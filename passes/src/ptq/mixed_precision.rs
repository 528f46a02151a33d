//! `mixed-precision{budget=BYTES}`: int8 or int4 weights per layer, chosen by
//! measured sensitivity so the budgeted size fits (by default the graph's
//! weight bytes as stored; a target supplies its own measure and which layers
//! it can store in 4 bits). Calibrates on `calib` data like `quantize`.

use super::calib::{self, DataOptions};
use crate::quantize::calibrate::{BoxError, CalibMethod};
use crate::quantize::mixed_fit::{self, Measure, Sized};
use crate::registry::{OptionSpec, OptionType, Options};
use crate::{Changed, Pass, PassCx, PassError};
use pare_ir::{Graph, Node};

const PASS: &str = "mixed-precision";

pub const OPTIONS: &[OptionSpec] = &[
    OptionSpec {
        name: "budget",
        ty: OptionType::Int,
        default: None,
        help: "bytes the weights may take (with a target's measure: what it counts)",
    },
    OptionSpec {
        name: "sensitivity-samples",
        ty: OptionType::Int,
        default: Some("16"),
        help: "samples each layer's sensitivity is measured on (as pare compile --sensitivity-samples)",
    },
    calib::CALIB,
    calib::CALIB_FIXED,
    calib::SAMPLES,
    calib::METHOD,
    calib::PERCENTILE,
    calib::BATCH,
];

/// A target's budgeted size of a quantized graph.
pub type SizeFn = Box<dyn Fn(&Graph) -> Result<Sized, BoxError>>;
/// A target's reason a layer cannot keep 4-bit weights.
pub type NoInt4Fn = Box<dyn Fn(&Graph, &Node) -> Option<String>>;

/// What the budget is measured on: by default the graph's weight bytes, every
/// layer allowed 4 bits.
pub struct TargetMeasure {
    pub size: SizeFn,
    pub what: String,
    pub no_int4: NoInt4Fn,
}

impl Default for TargetMeasure {
    fn default() -> TargetMeasure {
        TargetMeasure {
            size: Box::new(mixed_fit::weight_bytes),
            what: "the weights".into(),
            no_int4: Box::new(mixed_fit::any_int4),
        }
    }
}

impl std::fmt::Debug for TargetMeasure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TargetMeasure")
            .field("what", &self.what)
            .finish()
    }
}

/// See the module docs.
#[derive(Debug)]
pub struct MixedPrecision {
    pub budget: u64,
    pub sensitivity_samples: usize,
    pub data: Option<DataOptions>,
    pub method: CalibMethod,
    pub measure: TargetMeasure,
}

impl MixedPrecision {
    pub fn from_options(o: &Options) -> Result<MixedPrecision, PassError> {
        Ok(MixedPrecision {
            budget: o.int("budget")?,
            sensitivity_samples: o.count("sensitivity-samples")?.max(1),
            data: DataOptions::from_options(o)?,
            method: calib::method_of(o)?,
            measure: TargetMeasure::default(),
        })
    }
}

impl Pass for MixedPrecision {
    fn name(&self) -> &'static str {
        PASS
    }

    fn run(&mut self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        calib::check_float(g, PASS)?;
        let data = calib::needs_data(&self.data, PASS, "mixed precision")?;
        let cal = calib::calibrate_on(g, data, self.method, PASS, cx)?;
        let samples = data
            .open(g, PASS)?
            .take(self.sensitivity_samples)
            .map_err(|source| PassError::Analysis { pass: PASS, source })?;
        let m = Measure {
            size: &*self.measure.size,
            what: &self.measure.what,
            no_int4: &*self.measure.no_int4,
        };
        let chosen = mixed_fit::fit(g, &cal, &samples, self.budget, &m)?;
        let float = std::mem::replace(g, chosen.graph);
        let four = chosen
            .records
            .iter()
            .filter(|r| r.weight_bits == Some(4))
            .count();
        cx.note(
            PASS,
            format!(
                "{four} of {} layers at 4 bits; {} {} bytes, budget {}",
                chosen.records.len(),
                self.measure.what,
                chosen.size,
                self.budget
            ),
        );
        cx.quant.float = Some(float);
        cx.quant.calibration = Some((data.describe(), cal));
        cx.quant.records = chosen.records;
        cx.quant.sensitivity = chosen.sensitivity;
        cx.quant.int8_only = chosen.int8_only;
        cx.quant.artifact = chosen.bytes;
        Ok(Changed::Yes)
    }
}
