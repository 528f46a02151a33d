//! The one set of figures that compare outputs: top-1 accuracy against
//! labels, MSE against targets, and against a reference model's outputs SQNR,
//! max abs error and top-1 agreement. `pare eval` and `pare compile` (its
//! fidelity figures and the variant search) both use these, accumulated batch
//! by batch in f64 so no more than one batch of outputs is held.

use crate::quantize::calibrate::{BoxError, CalibData};
use pare_ir::interp::{run, run_with, InterpError, QuantExec, RunOptions};
use pare_ir::quant::Rounding;
use pare_ir::{Graph, Tensor};

/// Index of the largest value in each row of `row_len` values; the first
/// maximum wins (NaN never beats a number).
pub fn argmax_rows(v: &[f64], row_len: usize) -> Vec<usize> {
    v.chunks(row_len.max(1))
        .map(|row| {
            let mut best = 0;
            for (i, &x) in row.iter().enumerate() {
                if x > row[best] || (row[best].is_nan() && !x.is_nan()) {
                    best = i;
                }
            }
            best
        })
        .collect()
}

/// The class count when `shape` (batch first) holds one score vector per
/// sample: `[b, C]` or `[b, 1, ..., 1, C]` with `C >= 2`.
pub fn classes_of(shape: &[usize]) -> Option<usize> {
    let (&c, middle) = shape.get(1..)?.split_last()?;
    (c >= 2 && middle.iter().all(|&d| d == 1)).then_some(c)
}

/// A label that cannot be scored.
#[derive(Debug, thiserror::Error)]
pub enum MetricError {
    #[error("the output of shape {0:?} holds no class scores")]
    NoClasses(Vec<usize>),
    #[error("label {label} of sample {sample} is outside the model's {classes} classes")]
    LabelOutOfRange {
        label: i64,
        sample: usize,
        classes: usize,
    },
}

/// Top-1 accuracy against integer labels.
#[derive(Clone, Debug, Default)]
pub struct Accuracy {
    pub correct: usize,
    pub n: usize,
}

impl Accuracy {
    /// `out` is output 0, `[b, C]`-like; `labels` are `[b]` integers.
    pub fn add(
        &mut self,
        out: &Tensor,
        labels: &Tensor,
        first_sample: usize,
    ) -> Result<(), MetricError> {
        let c =
            classes_of(out.shape()).ok_or_else(|| MetricError::NoClasses(out.shape().to_vec()))?;
        let preds = argmax_rows(&out.to_f64_vec(), c);
        for (i, (&p, &y)) in preds.iter().zip(&labels.to_i64_vec()).enumerate() {
            if y < 0 || y as u64 >= c as u64 {
                return Err(MetricError::LabelOutOfRange {
                    label: y,
                    sample: first_sample + i,
                    classes: c,
                });
            }
            self.correct += usize::from(p as i64 == y);
        }
        self.n += preds.len();
        Ok(())
    }

    pub fn value(&self) -> f64 {
        self.correct as f64 / self.n as f64
    }
}

/// Mean squared error against float targets of the output's shape.
#[derive(Clone, Debug, Default)]
pub struct Mse {
    sum: f64,
    count: u64,
}

impl Mse {
    pub fn add(&mut self, out: &Tensor, target: &Tensor) {
        for (a, b) in out.to_f64_vec().iter().zip(target.to_f64_vec()) {
            self.sum += (a - b) * (a - b);
        }
        self.count += out.len() as u64;
    }

    pub fn value(&self) -> f64 {
        self.sum / self.count as f64
    }
}

/// Error of outputs against the reference's: SQNR and max abs error.
#[derive(Clone, Debug, Default)]
pub struct ErrorStats {
    /// Σ ref².
    pub signal: f64,
    /// Σ (ref − out)².
    pub noise: f64,
    pub max_abs: f64,
}

impl ErrorStats {
    pub fn add(&mut self, out: &Tensor, reference: &Tensor) {
        for (o, r) in out.to_f64_vec().iter().zip(reference.to_f64_vec()) {
            let d = r - o;
            self.signal += r * r;
            self.noise += d * d;
            // NaN propagates (f64::max would drop it): a NaN output must show.
            let a = d.abs();
            if a > self.max_abs || a.is_nan() {
                self.max_abs = a;
            }
        }
    }

    pub fn merge(&mut self, other: &ErrorStats) {
        self.signal += other.signal;
        self.noise += other.noise;
        if other.max_abs > self.max_abs || other.max_abs.is_nan() {
            self.max_abs = other.max_abs;
        }
    }

    /// 10·log10(Σref² / Σ(ref−out)²): `+inf` when the outputs are identical,
    /// `-inf` when the reference is all zeros and the output is not.
    pub fn sqnr_db(&self) -> f64 {
        if self.noise == 0.0 {
            f64::INFINITY
        } else {
            10.0 * (self.signal / self.noise).log10()
        }
    }
}

/// Top-1 agreement of output 0 with the reference's.
#[derive(Clone, Debug, Default)]
pub struct Agreement {
    pub same: usize,
    pub n: usize,
}

impl Agreement {
    pub fn add(&mut self, out: &Tensor, reference: &Tensor, classes: usize) {
        let a = argmax_rows(&out.to_f64_vec(), classes);
        let b = argmax_rows(&reference.to_f64_vec(), classes);
        self.same += a.iter().zip(&b).filter(|(x, y)| x == y).count();
        self.n += a.len();
    }

    pub fn value(&self) -> f64 {
        self.same as f64 / self.n as f64
    }
}

/// How close a compiled graph is to its float model on some samples.
#[derive(Clone, Debug, PartialEq)]
pub struct Fidelity {
    pub samples: usize,
    /// Top-1 agreement, when output 0 holds class scores.
    pub agreement: Option<f64>,
    pub sqnr_db: f64,
    pub max_abs_error: f64,
}

/// Accumulates [`Fidelity`] batch by batch (no batch is kept): both graphs run
/// in pare's interpreter, the compiled one in integer arithmetic.
#[derive(Clone, Debug, Default)]
pub struct FidelityMeter {
    error: ErrorStats,
    agreement: Agreement,
    samples: usize,
    not_classes: bool,
}

impl FidelityMeter {
    /// Runs both graphs on batch `x` and adds the comparison.
    pub fn add(
        &mut self,
        float: &Graph,
        compiled: &Graph,
        x: &[Tensor],
        rounding: Rounding,
    ) -> Result<(), InterpError> {
        let opts = RunOptions {
            quant: QuantExec::Integer(rounding),
        };
        let want = run(float, x)?;
        let got = run_with(compiled, x, &opts, &mut |_, _| {})?;
        self.add_outputs(&got, &want, crate::quantize::calibrate::batch_samples(x));
        Ok(())
    }

    /// Adds outputs `got` of `samples` samples against the reference's `want`.
    pub fn add_outputs(&mut self, got: &[Tensor], want: &[Tensor], samples: usize) {
        self.samples += samples;
        for (w, o) in want.iter().zip(got) {
            self.error.add(o, w);
        }
        match want.first().map(|t| classes_of(t.shape())) {
            Some(Some(c)) => self.agreement.add(&got[0], &want[0], c),
            _ => self.not_classes = true,
        }
    }

    pub fn finish(&self) -> Fidelity {
        Fidelity {
            samples: self.samples,
            agreement: (!self.not_classes && self.agreement.n > 0).then(|| self.agreement.value()),
            sqnr_db: self.error.sqnr_db(),
            max_abs_error: self.error.max_abs,
        }
    }
}

/// Samples fidelity is measured on by default (the first of the data).
pub const FIDELITY_SAMPLES: usize = 256;

/// [`Fidelity`] of `compiled` against `float` over every batch of `data`.
pub fn fidelity_on<D: CalibData + ?Sized>(
    float: &Graph,
    compiled: &Graph,
    data: &mut D,
    rounding: Rounding,
) -> Result<Fidelity, BoxError> {
    let mut meter = FidelityMeter::default();
    for batch in data.open().map_err(Into::into)? {
        let x = batch.map_err(Into::into)?;
        meter.add(float, compiled, &x, rounding)?;
    }
    Ok(meter.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_first_max_wins() {
        assert_eq!(argmax_rows(&[1.0, 3.0, 3.0, 0.0, f64::NAN, 2.0], 3), [1, 2]);
        assert_eq!(argmax_rows(&[f64::NAN, 1.0, 1.0], 3), [1]);
    }

    #[test]
    fn class_shapes() {
        assert_eq!(classes_of(&[4, 10]), Some(10));
        assert_eq!(classes_of(&[4, 1, 10]), Some(10));
        assert_eq!(classes_of(&[4, 1, 8, 8]), None);
        assert_eq!(classes_of(&[4, 1]), None);
        assert_eq!(classes_of(&[4]), None);
    }

    #[test]
    fn sqnr_of_known_noise() {
        let r = Tensor::from_vec(vec![2], vec![3.0f32, 4.0]).unwrap();
        let o = Tensor::from_vec(vec![2], vec![3.0f32, 3.0]).unwrap();
        let mut f = ErrorStats::default();
        f.add(&o, &r);
        // signal 25, noise 1.
        assert!((f.sqnr_db() - 10.0 * 25f64.log10()).abs() < 1e-12);
        assert_eq!(f.max_abs, 1.0);
        let mut same = ErrorStats::default();
        same.add(&r, &r);
        assert_eq!(same.sqnr_db(), f64::INFINITY);
    }

    #[test]
    fn fidelity_counts_agreement_only_for_class_scores() {
        let want = Tensor::from_vec(vec![2, 3], vec![1.0f32, 2.0, 0.0, 5.0, 1.0, 0.0]).unwrap();
        let got = Tensor::from_vec(vec![2, 3], vec![1.0f32, 2.5, 0.0, 0.0, 1.0, 0.0]).unwrap();
        let mut m = FidelityMeter::default();
        m.add_outputs(std::slice::from_ref(&got), std::slice::from_ref(&want), 2);
        let f = m.finish();
        assert_eq!((f.samples, f.agreement), (2, Some(0.5)));
        assert_eq!(f.max_abs_error, 5.0);
        let mut m = FidelityMeter::default();
        let plane = Tensor::from_vec(vec![1, 1, 2, 2], vec![1.0f32; 4]).unwrap();
        m.add_outputs(
            std::slice::from_ref(&plane),
            std::slice::from_ref(&plane),
            1,
        );
        assert_eq!(m.finish().agreement, None);
        assert_eq!(m.finish().sqnr_db, f64::INFINITY);
    }
}
