//! The figures `pare eval` measures, accumulated batch by batch in f64 so that
//! no more than one batch of outputs is ever held.

use anyhow::{bail, Result};
use pare_ir::Tensor;

/// Index of the largest value in each row of `row_len` values; the first
/// maximum wins (NaN never beats a number).
pub fn argmax_rows(v: &[f64], row_len: usize) -> Vec<usize> {
    v.chunks(row_len)
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

/// Top-1 accuracy against integer labels.
#[derive(Default)]
pub struct Accuracy {
    pub correct: usize,
    pub n: usize,
}

impl Accuracy {
    /// `out` is output 0, `[b, C]`-like; `labels` are `[b]` integers.
    pub fn add(&mut self, out: &Tensor, labels: &Tensor, first_sample: usize) -> Result<()> {
        let Some(c) = classes_of(out.shape()) else {
            bail!("no class scores");
        };
        let preds = argmax_rows(&out.to_f64_vec(), c);
        for (i, (&p, &y)) in preds.iter().zip(&labels.to_i64_vec()).enumerate() {
            if y < 0 || y as u64 >= c as u64 {
                bail!(
                    "label {y} of sample {} is outside the model's {c} classes",
                    first_sample + i
                );
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
#[derive(Default)]
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

/// Error of one output against the reference's.
#[derive(Default, Clone)]
pub struct Fidelity {
    /// Σ ref².
    pub signal: f64,
    /// Σ (ref − out)².
    pub noise: f64,
    pub max_abs: f64,
}

impl Fidelity {
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

    pub fn merge(&mut self, other: &Fidelity) {
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
#[derive(Default)]
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
        let mut f = Fidelity::default();
        f.add(&o, &r);
        // signal 25, noise 1.
        assert!((f.sqnr_db() - 10.0 * 25f64.log10()).abs() < 1e-12);
        assert_eq!(f.max_abs, 1.0);
        let mut same = Fidelity::default();
        same.add(&r, &r);
        assert_eq!(same.sqnr_db(), f64::INFINITY);
    }
}
