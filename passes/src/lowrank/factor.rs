//! Truncated factorizations of a weight W [K, N] (input × output) into
//! A [K, r]·B [r, N]: plain SVD (the least weight error) and data-aware SVD
//! (the least output error on calibration inputs X: with the input Gram
//! matrix XᵀX = L·Lᵀ, the SVD of Lᵀ·W truncated and mapped back by L⁻ᵀ, as
//! SVD-LLM and ASVD do). Both give their singular values, from which ranks are
//! chosen, and both errors are measured for the report.

use faer::linalg::solvers::Solve;
use faer::Mat;

/// One factorization, ready to truncate at any rank.
#[derive(Debug)]
pub struct Factorization {
    /// U·diag(σ) columns mapped back to W's space: W ≈ Σᵢ left[:, i]·right[i, :].
    left: Mat<f64>,
    /// Vᵀ rows.
    right: Mat<f64>,
    /// Singular values, descending.
    pub sigma: Vec<f64>,
}

impl Factorization {
    /// A [K, r] and B [r, N] with W ≈ A·B, σ split evenly (√σ on each side) so
    /// both factors have similar ranges for quantization.
    pub fn factors(&self, r: usize) -> (Mat<f64>, Mat<f64>) {
        let k = self.left.nrows();
        let n = self.right.ncols();
        let root = |j: usize| self.sigma[j].max(0.0).sqrt();
        let a = Mat::from_fn(k, r, |i, j| {
            if root(j) > 0.0 {
                self.left[(i, j)] / root(j)
            } else {
                0.0
            }
        });
        let b = Mat::from_fn(r, n, |i, j| self.right[(i, j)] * root(i));
        (a, b)
    }

    /// The rank-r approximation of W.
    pub fn approx(&self, r: usize) -> Mat<f64> {
        let (a, b) = self.factors(r);
        &a * &b
    }
}

fn to_mat(w: &[f64], k: usize, n: usize) -> Mat<f64> {
    Mat::from_fn(k, n, |i, j| w[i * n + j])
}

/// Plain truncated SVD of W [K, N] (row-major).
pub fn plain(w: &[f64], k: usize, n: usize) -> Option<Factorization> {
    let m = to_mat(w, k, n);
    let svd = m.thin_svd().ok()?;
    let s = svd.S().column_vector();
    let r = s.nrows();
    let sigma: Vec<f64> = (0..r).map(|i| s[i]).collect();
    let u = svd.U();
    let v = svd.V();
    Some(Factorization {
        left: Mat::from_fn(k, r, |i, j| u[(i, j)] * sigma[j]),
        right: Mat::from_fn(r, n, |i, j| v[(j, i)]),
        sigma,
    })
}

/// The Cholesky factor L of the input Gram matrix (with a small ridge), or
/// None when it is not positive definite even then.
pub fn whitener(gram: &Mat<f64>) -> Option<Mat<f64>> {
    let k = gram.nrows();
    let mean_diag = (0..k).map(|i| gram[(i, i)]).sum::<f64>() / k.max(1) as f64;
    let mut reg = gram.clone();
    for i in 0..k {
        reg[(i, i)] += 1e-6 * mean_diag.max(1e-12);
    }
    let llt = reg.llt(faer::Side::Lower).ok()?;
    Some(llt.L().to_owned())
}

/// Data-aware truncated SVD: minimizes ‖L ᵀ(W − W')‖, the output error on the
/// inputs whose Gram matrix is L·Lᵀ.
pub fn data_aware(w: &[f64], k: usize, n: usize, l: &Mat<f64>) -> Option<Factorization> {
    let m = to_mat(w, k, n);
    let lt_w = l.transpose() * &m;
    let svd = lt_w.thin_svd().ok()?;
    let s = svd.S().column_vector();
    let r = s.nrows();
    let sigma: Vec<f64> = (0..r).map(|i| s[i]).collect();
    let u = svd.U();
    let v = svd.V();
    // left = L⁻ᵀ·U·Σ: solve Lᵀ·X = U·Σ.
    let us = Mat::from_fn(k, r, |i, j| u[(i, j)] * sigma[j]);
    let llt_t =
        faer::linalg::solvers::Llt::new((l * l.transpose()).as_ref(), faer::Side::Lower).ok()?;
    // (L·Lᵀ)⁻¹·L·(U·Σ) = L⁻ᵀ·(U·Σ).
    let left = llt_t.solve(&(l * &us));
    Some(Factorization {
        left,
        right: Mat::from_fn(r, n, |i, j| v[(j, i)]),
        sigma,
    })
}

/// ‖W − W'‖²_F / ‖W‖²_F.
pub fn weight_error(w: &[f64], k: usize, n: usize, approx: &Mat<f64>) -> f64 {
    let (mut num, mut den) = (0.0, 0.0);
    for i in 0..k {
        for j in 0..n {
            let d = w[i * n + j] - approx[(i, j)];
            num += d * d;
            den += w[i * n + j] * w[i * n + j];
        }
    }
    num / den.max(1e-300)
}

/// ‖Lᵀ(W − W')‖²_F / ‖LᵀW‖²_F: the relative output error on the calibration
/// inputs (without the bias, which factorization leaves alone).
pub fn output_error(w: &[f64], k: usize, n: usize, approx: &Mat<f64>, l: &Mat<f64>) -> f64 {
    let m = to_mat(w, k, n);
    let d = &m - approx;
    let num = (l.transpose() * &d).norm_l2().powi(2);
    let den = (l.transpose() * &m).norm_l2().powi(2);
    num / den.max(1e-300)
}
