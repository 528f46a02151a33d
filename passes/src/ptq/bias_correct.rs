//! `bias-correct`: empirical bias correction of a graph an earlier `quantize`
//! pass made: each layer's mean output error against the float graph that
//! pass kept, measured on `calib` data, is subtracted from its int32 bias.

use super::calib::{self, DataOptions};
use crate::quantize::bias_correction::{correct_biases, BiasCorrectionOptions, Estimator};
use crate::quantize::bias_plan::bias_plan;
use crate::registry::{OptionSpec, OptionType, Options};
use crate::{Changed, Pass, PassCx, PassError};
use pare_ir::quant::Rounding;
use pare_ir::Graph;

const PASS: &str = "bias-correct";

pub const OPTIONS: &[OptionSpec] = &[
    calib::CALIB,
    calib::CALIB_FIXED,
    OptionSpec {
        name: "samples",
        ty: OptionType::Int,
        default: None,
        help: "samples each layer's mean error is measured on (default: as many as the graph's size allows, 16 to 256)",
    },
    OptionSpec {
        name: "estimator",
        ty: OptionType::Choice(&["auto", "sequential", "weight-error"]),
        default: Some("auto"),
        help: "sequential (layer by layer, exact) or weight-error (one float pass); auto picks by the graph's size",
    },
    calib::ROUNDING,
    calib::BATCH,
];

/// See the module docs.
#[derive(Clone, Debug)]
pub struct BiasCorrect {
    pub data: Option<DataOptions>,
    /// `None`: chosen by [`bias_plan`].
    pub estimator: Option<Estimator>,
    pub rounding: Rounding,
}

impl BiasCorrect {
    pub fn from_options(o: &Options) -> Result<BiasCorrect, PassError> {
        Ok(BiasCorrect {
            data: DataOptions::from_options(o)?,
            estimator: match o.word("estimator")? {
                "sequential" => Some(Estimator::Sequential),
                "weight-error" => Some(Estimator::WeightError),
                _ => None,
            },
            rounding: rounding_of(o)?,
        })
    }
}

/// The `rounding` option.
pub fn rounding_of(o: &Options) -> Result<Rounding, PassError> {
    let w = o.word(calib::ROUNDING.name)?;
    w.parse().map_err(
        |e: <Rounding as std::str::FromStr>::Err| PassError::BadOption {
            pass: PASS.into(),
            option: calib::ROUNDING.name.into(),
            value: w.into(),
            expected: e.to_string(),
        },
    )
}

impl Pass for BiasCorrect {
    fn name(&self) -> &'static str {
        PASS
    }

    fn run(&mut self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        let data = calib::needs_data(&self.data, PASS, "bias correction")?;
        let float = cx.quant.float.take().ok_or_else(|| PassError::Config {
            pass: PASS,
            msg: "it corrects a graph quantized by an earlier `quantize` (or `mixed-precision`) pass of the same pipeline, whose float graph it measures against; none ran".into(),
        })?;
        let (planned, planned_samples) = bias_plan(&float);
        let opts = BiasCorrectionOptions {
            max_samples: data.samples.unwrap_or(planned_samples),
            rounding: self.rounding,
            estimator: self.estimator.unwrap_or(planned),
        };
        let mut opened = data.open(&float, PASS)?;
        let progress = cx.progress.clone();
        let mut on_progress = |done: usize, total: usize| {
            if let Some(f) = &progress {
                f("bias correction", done, Some(total));
            }
        };
        let result = correct_biases(&float, g, &mut opened, &opts, &mut on_progress);
        cx.quant.float = Some(float);
        let rec = result?;
        cx.note(
            PASS,
            format!(
                "{} layers corrected ({} estimator, {} samples), {} skipped",
                rec.layers.len(),
                rec.estimator.name(),
                rec.samples,
                rec.skipped.len()
            ),
        );
        let changed = Changed::from_bool(!rec.layers.is_empty());
        cx.quant.correction = Some(rec);
        Ok(changed)
    }
}
