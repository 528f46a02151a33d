//! `fp16`: float weights stored as f16, arithmetic in f32 (`quantize{scheme=fp16}`
//! under its own name).

use crate::quantize::quantize_fp16;
use crate::{Changed, Pass, PassCx, PassError};
use pare_ir::Graph;

const PASS: &str = "fp16";

/// See the module docs.
#[derive(Clone, Copy, Debug, Default)]
pub struct Fp16;

impl Pass for Fp16 {
    fn name(&self) -> &'static str {
        PASS
    }

    fn run(&mut self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        super::calib::check_float(g, PASS)?;
        let records = quantize_fp16(g)?;
        let stored = records
            .iter()
            .filter(|r| r.status == crate::quantize::LayerStatus::Fp16)
            .count();
        cx.note(PASS, format!("{stored} weights stored as f16"));
        cx.quant.records = records;
        Ok(Changed::from_bool(stored > 0))
    }
}
