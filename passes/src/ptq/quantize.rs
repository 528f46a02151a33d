//! `quantize{scheme=...}`: post-training quantization as one pass. The integer
//! schemes calibrate on `calib` data and rewrite to TFLite's full-integer form
//! (`int4`: 4-bit weights); `fp16` and the weight-only schemes need no data.

use super::calib::{self, DataOptions};
use crate::quantize::calibrate::CalibMethod;
use crate::quantize::{self as q, IntOptions};
use crate::registry::{OptionSpec, OptionType, Options};
use crate::{Changed, Pass, PassCx, PassError};
use pare_ir::Graph;

const PASS: &str = "quantize";

/// The quantization schemes of the `quantize` pass.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// int8 weights (per channel) and activations.
    Int8,
    /// int4 weights (per channel, packed) and int8 activations.
    Int4,
    /// fp16 weights, f32 arithmetic.
    Fp16,
    /// int8 weights widened before float ops.
    Int8Weights,
    /// int4 weights widened before float ops.
    Int4Weights,
}

impl Scheme {
    pub const NAMES: &'static [&'static str] =
        &["int8", "int4", "fp16", "int8-weights", "int4-weights"];

    pub fn name(self) -> &'static str {
        match self {
            Scheme::Int8 => "int8",
            Scheme::Int4 => "int4",
            Scheme::Fp16 => "fp16",
            Scheme::Int8Weights => "int8-weights",
            Scheme::Int4Weights => "int4-weights",
        }
    }

    pub fn parse(s: &str) -> Option<Scheme> {
        Some(match s {
            "int8" => Scheme::Int8,
            "int4" => Scheme::Int4,
            "fp16" => Scheme::Fp16,
            "int8-weights" => Scheme::Int8Weights,
            "int4-weights" => Scheme::Int4Weights,
            _ => return None,
        })
    }
}

pub const OPTIONS: &[OptionSpec] = &[
    OptionSpec {
        name: "scheme",
        ty: OptionType::Choice(Scheme::NAMES),
        default: Some("int8"),
        help:
            "int8 | int4 (4-bit weights, int8 activations) | fp16 weights | int8/int4 weights only",
    },
    calib::CALIB,
    calib::CALIB_FIXED,
    calib::SAMPLES,
    calib::METHOD,
    calib::PERCENTILE,
    calib::BATCH,
];

/// See the module docs.
#[derive(Clone, Debug)]
pub struct Quantize {
    pub scheme: Scheme,
    pub data: Option<DataOptions>,
    pub method: CalibMethod,
}

impl Quantize {
    pub fn from_options(o: &Options) -> Result<Quantize, PassError> {
        Ok(Quantize {
            scheme: Scheme::parse(o.word("scheme")?).unwrap_or(Scheme::Int8),
            data: DataOptions::from_options(o)?,
            method: calib::method_of(o)?,
        })
    }
}

impl Pass for Quantize {
    fn name(&self) -> &'static str {
        PASS
    }

    fn run(&mut self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        calib::check_float(g, PASS)?;
        let records = match self.scheme {
            Scheme::Fp16 => q::quantize_fp16(g)?,
            Scheme::Int8Weights => q::quantize_weights(g, 8)?,
            Scheme::Int4Weights => q::quantize_weights(g, 4)?,
            Scheme::Int8 | Scheme::Int4 => {
                let why = if self.scheme == Scheme::Int8 {
                    "scheme=int8"
                } else {
                    "scheme=int4"
                };
                let data = calib::needs_data(&self.data, PASS, why)?;
                let cal = calib::calibrate_on(g, data, self.method, PASS, cx)?;
                let float = g.clone();
                let opts = IntOptions {
                    weight_bits: if self.scheme == Scheme::Int4 { 4 } else { 8 },
                    ..IntOptions::default()
                };
                let records = q::quantize_int(g, &cal, &opts)?;
                cx.quant.float = Some(float);
                cx.quant.calibration = Some((data.describe(), cal));
                records
            }
        };
        let rewritten = records
            .iter()
            // A float recurrent op whose weights became int8 was rewritten too.
            .filter(|r| !matches!(r.status, q::LayerStatus::Float(_)) || r.weight_bits.is_some())
            .count();
        let changed = rewritten > 0;
        cx.note(
            PASS,
            format!(
                "{rewritten} of {} layers rewritten ({})",
                records.len(),
                self.scheme.name()
            ),
        );
        cx.quant.records = records;
        Ok(Changed::from_bool(changed))
    }
}
