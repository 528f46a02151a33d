//! Post-training quantization as passes: `quantize{scheme=…}`, `equalize`,
//! `bias-correct`, `mixed-precision`, `fold-luts` and `fp16`, each with typed
//! options (see [`crate::registry`]). The algorithms live in
//! [`crate::quantize`]; these wrappers read options and data, run them, and
//! leave what they measured in [`crate::PassCx::quant`].

mod bias_correct;
pub mod calib;
mod equalize;
pub mod floor;
mod fold_luts;
mod fp16;
mod mixed_precision;
mod quantize;
pub mod raise;
mod raise_budget;
mod raise_islands;
mod raise_rank;
pub mod search;

pub use bias_correct::BiasCorrect;
pub use calib::DataOptions;
pub use equalize::Equalize;
pub use floor::FidelityFloor;
pub use fold_luts::FoldLuts;
pub use fp16::Fp16;
pub use mixed_precision::{MixedPrecision, NoInt4Fn, SizeFn, TargetMeasure};
pub use quantize::{Quantize, Scheme};
pub use search::{search, Mode, Outcome, SearchOptions, Summary, Trial};

pub(crate) mod options {
    pub use super::bias_correct::OPTIONS as BIAS_CORRECT;
    pub use super::equalize::OPTIONS as EQUALIZE;
    pub use super::mixed_precision::OPTIONS as MIXED_PRECISION;
    pub use super::quantize::OPTIONS as QUANTIZE;
}
