//! How close the compiled graph is to the float model on calibration samples:
//! top-1 agreement (class outputs) and SQNR, measured by running both with
//! pare's interpreters (the quantized one in integer arithmetic).

use anyhow::{Context, Result};
use pare_ir::interp::{run, run_with, QuantExec, RunOptions};
use pare_ir::quant::Rounding;
use pare_ir::{Graph, Tensor};

/// Samples the fidelity figures are measured on (the first of the calibration set).
pub const SAMPLES: usize = 256;

#[derive(Clone, Debug)]
pub struct Fidelity {
    pub samples: usize,
    pub agreement: Option<f64>,
    pub sqnr_db: f64,
    pub max_abs_error: f64,
}

pub fn measure(float: &Graph, compiled: &Graph, batches: &[Vec<Tensor>], r: Rounding) -> Result<Fidelity> {
    let opts = RunOptions {
        quant: QuantExec::Integer(r),
    };
    let (mut signal, mut noise, mut max_err) = (0f64, 0f64, 0f64);
    let (mut agree, mut rows, mut samples) = (0usize, 0usize, 0usize);
    let mut class_output = true;
    for x in batches {
        let want = run(float, x).context("running the float model")?;
        let got = run_with(compiled, x, &opts, &mut |_, _| {}).context("running the compiled model")?;
        samples += x.first().map_or(1, |t| t.shape().first().copied().unwrap_or(1));
        for (w, o) in want.iter().zip(&got) {
            let (w, o) = (w.to_f64_vec(), o.to_f64_vec());
            for (a, b) in w.iter().zip(&o) {
                signal += a * a;
                noise += (a - b) * (a - b);
                max_err = max_err.max((a - b).abs());
            }
        }
        match want.first().map(|t| t.shape().to_vec()) {
            Some(s) if s.len() == 2 && s[1] >= 2 => {
                let c = s[1];
                let (w, o) = (want[0].to_f64_vec(), got[0].to_f64_vec());
                for (rw, ro) in w.chunks(c).zip(o.chunks(c)) {
                    agree += usize::from(argmax(rw) == argmax(ro));
                    rows += 1;
                }
            }
            _ => class_output = false,
        }
    }
    Ok(Fidelity {
        samples,
        agreement: (class_output && rows > 0).then(|| agree as f64 / rows as f64),
        sqnr_db: 10.0 * (signal / noise).log10(),
        max_abs_error: max_err,
    })
}

fn argmax(v: &[f64]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}
