//! Post-training quantization: calibration of activation ranges (more to come:
//! scheme selection, graph rewriting, mixed precision).

pub mod calibrate;
