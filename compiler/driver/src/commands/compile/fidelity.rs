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

/// Accumulates the figures batch by batch (no batch is kept).
#[derive(Default)]
pub struct Meter {
    signal: f64,
    noise: f64,
    max_err: f64,
    agree: usize,
    rows: usize,
    samples: usize,
    not_classes: bool,
}

impl Meter {
    /// Runs both graphs on batch `x` and adds the comparison.
    pub fn add(
        &mut self,
        float: &Graph,
        compiled: &Graph,
        x: &[Tensor],
        r: Rounding,
    ) -> Result<()> {
        let opts = RunOptions {
            quant: QuantExec::Integer(r),
        };
        let want = run(float, x).context("running the float model")?;
        let got =
            run_with(compiled, x, &opts, &mut |_, _| {}).context("running the compiled model")?;
        self.samples += x
            .first()
            .map_or(1, |t| t.shape().first().copied().unwrap_or(1));
        for (w, o) in want.iter().zip(&got) {
            for (a, b) in w.to_f64_vec().iter().zip(o.to_f64_vec()) {
                self.signal += a * a;
                self.noise += (a - b) * (a - b);
                self.max_err = self.max_err.max((a - b).abs());
            }
        }
        match want.first().map(|t| t.shape().to_vec()) {
            Some(s) if s.len() == 2 && s[1] >= 2 => {
                let c = s[1];
                let (w, o) = (want[0].to_f64_vec(), got[0].to_f64_vec());
                for (rw, ro) in w.chunks(c).zip(o.chunks(c)) {
                    self.agree += usize::from(argmax(rw) == argmax(ro));
                    self.rows += 1;
                }
            }
            _ => self.not_classes = true,
        }
        Ok(())
    }

    pub fn finish(&self) -> Fidelity {
        Fidelity {
            samples: self.samples,
            agreement: (!self.not_classes && self.rows > 0)
                .then(|| self.agree as f64 / self.rows as f64),
            sqnr_db: 10.0 * (self.signal / self.noise).log10(),
            max_abs_error: self.max_err,
        }
    }
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
