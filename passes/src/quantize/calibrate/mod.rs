//! Calibration for post-training quantization: streams a data set through the
//! float graph and chooses a clipping range for every float value.
//!
//! Memory stays bounded whatever the number of samples: each value has an
//! [`Observer`] of fixed size (count, min, max, exact zeros, a histogram of
//! [`CalibOptions::bins`] bins) and no activation is kept. The histogram needs
//! a fixed interval, so the data is read twice ([`CalibData::open`] once per
//! pass): pass 1 finds each value's `[min, max]`, pass 2 fills a histogram over
//! it. Min-max needs pass 1 only.
//!
//! Ranges are chosen from the statistics by [`select_range`] with a
//! [`CalibMethod`]; every range contains 0 (asymmetric activations). Weights
//! are calibrated without data: [`weight_scale`], [`weight_scales`].
//! Everything is deterministic: counts are integers, min/max are independent of
//! batch boundaries, maps are ordered by value id.

mod calibration;
mod error;
mod histogram;
mod method;
mod observer;
mod options;
mod run;
mod select;
mod source;
mod weights;

pub use calibration::Calibration;
pub use error::{BoxError, CalibError};
pub use histogram::Histogram;
pub use method::{CalibMethod, ParseMethodError, WeightMethod};
pub use observer::Observer;
pub use options::{CalibOptions, Phase, Progress};
pub use run::calibrate;
pub use select::{
    asymmetric_params, minmax, select_range, simulated_mse, symmetric_entropy, symmetric_mse,
    Selected,
};
pub(crate) use source::take_samples;
pub use source::{batch_samples, Batches, CalibData, FnData, InMemory};
pub use weights::{weight_scale, weight_scales};
