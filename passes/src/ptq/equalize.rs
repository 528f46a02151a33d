//! `equalize`: cross-layer equalization of the float graph (exact in float up
//! to rounding), so per-channel int8 weights lose less.

use crate::quantize::equalize::{equalize, EqualizeOptions};
use crate::registry::{OptionSpec, OptionType, Options};
use crate::{Changed, Pass, PassCx, PassError};
use pare_ir::Graph;

const PASS: &str = "equalize";

pub const OPTIONS: &[OptionSpec] = &[
    OptionSpec {
        name: "max-sweeps",
        ty: OptionType::Int,
        default: Some("100"),
        help: "stop after this many sweeps over the layer pairs even if not converged",
    },
    OptionSpec {
        name: "tolerance",
        ty: OptionType::Float,
        default: Some("1e-4"),
        help: "converged when every scale of a sweep is within 1 ± tolerance",
    },
];

/// See the module docs.
#[derive(Clone, Debug, Default)]
pub struct Equalize {
    pub options: EqualizeOptions,
}

impl Equalize {
    pub fn from_options(o: &Options) -> Result<Equalize, PassError> {
        Ok(Equalize {
            options: EqualizeOptions {
                max_sweeps: o.count("max-sweeps")?,
                tolerance: o.float("tolerance")? as f32,
            },
        })
    }
}

impl Pass for Equalize {
    fn name(&self) -> &'static str {
        PASS
    }

    fn run(&mut self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        super::calib::check_float(g, PASS)?;
        let rec = equalize(g, &self.options)?;
        let changed = Changed::from_bool(!rec.pairs.is_empty());
        cx.note(
            PASS,
            format!(
                "{} pairs equalized in {} sweeps, {} skipped",
                rec.pairs.len(),
                rec.sweeps,
                rec.skipped.len()
            ),
        );
        cx.quant.equalization = Some(rec);
        Ok(changed)
    }
}
