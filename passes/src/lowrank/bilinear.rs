//! Least-squares steps for conv factorizations that minimize the output error
//! on calibration data. The weight W [O, P·Q] (input index p-major) is
//! approximated as W'[o, (p, q)] = Σ_b X[p, b]·Y[o, (b, q)], and the error is
//! tr((W − W')·G·(W − W')ᵀ) with G the im2col Gram matrix [P·Q, P·Q].
//! Tucker-2 (p: input channel, q: kernel tap; X = U_in, Y = U_out·core) and
//! spatial separation (p: channel×row, q: column; X = the kh×1 filters, Y =
//! the 1×kw ones) both have this form. With one side fixed the other is a
//! linear least-squares problem, solved here by Cholesky; alternating them
//! (ALS) can only lower the error.

use faer::linalg::solvers::Solve;
use faer::{Mat, Side};

/// Ridge relative to the mean diagonal, as [`super::factor::whitener`] uses:
/// keeps directions the data never excites at zero instead of singular.
const RIDGE: f64 = 1e-6;

/// Solves (H + ridge)·Z = R, or None when H is not positive semi-definite.
pub fn solve_ridge(h: &Mat<f64>, rhs: &Mat<f64>) -> Option<Mat<f64>> {
    let n = h.nrows();
    let mean_diag = (0..n).map(|i| h[(i, i)]).sum::<f64>() / n.max(1) as f64;
    let mut reg = h.clone();
    for i in 0..n {
        reg[(i, i)] += RIDGE * mean_diag.max(1e-12);
    }
    let llt = reg.llt(Side::Lower).ok()?;
    Some(llt.solve(rhs))
}

/// X ⊗ I_q: [P·Q, B·Q], mapping Y's (b, q) columns to W's (p, q) ones.
fn kron_eye(x: &Mat<f64>, q: usize) -> Mat<f64> {
    Mat::from_fn(x.nrows() * q, x.ncols() * q, |r, c| {
        if r % q == c % q {
            x[(r / q, c / q)]
        } else {
            0.0
        }
    })
}

/// The best Y for a fixed X [P, B], as Ẑ = Yᵀ [B·Q, O], with the Gram matrix
/// H = (X⊗I)ᵀ·G·(X⊗I) [B·Q, B·Q] of the reduced inputs (a rank-limited Y is
/// then a data-aware SVD of Ẑ under H).
pub fn fit_right(
    w: &Mat<f64>,
    g: &Mat<f64>,
    x: &Mat<f64>,
    q: usize,
) -> Option<(Mat<f64>, Mat<f64>)> {
    let p = kron_eye(x, q);
    let gp = g * &p;
    let h = p.transpose() * &gp;
    let rhs = gp.transpose() * w.transpose();
    let z = solve_ridge(&h, &rhs)?;
    Some((z, h))
}

/// The best X [P, B] for a fixed Y [O, B·Q] (P·B unknowns: the solve takes
/// (P·B)³/3 steps, so callers bound P·B): vec(X) solves
/// Σ_{q,q'} (G_{qq'} ⊗ E_{qq'})·vec(X) = rhs with E = YᵀY.
pub fn fit_left(w: &Mat<f64>, g: &Mat<f64>, y: &Mat<f64>, np: usize, q: usize) -> Option<Mat<f64>> {
    let nb = y.ncols() / q;
    let e = y.transpose() * y;
    let f = y.transpose() * (w * g);
    // N[(p, b), (p', b')] = Σ_{q,q'} G[(p, q), (p', q')]·E[(b, q), (b', q')]:
    // one matrix product of G laid out [(p, p'), (q, q')] by E laid out
    // [(q, q'), (b, b')] (this runs unoptimized in tests; a product is fast).
    let gr = Mat::from_fn(np * np, q * q, |pp, qq| {
        g[((pp / np) * q + qq / q, (pp % np) * q + qq % q)]
    });
    let er = Mat::from_fn(q * q, nb * nb, |qq, bb| {
        e[((bb / nb) * q + qq / q, (bb % nb) * q + qq % q)]
    });
    let prod = &gr * &er;
    let n = np * nb;
    let normal = Mat::from_fn(n, n, |row, col| {
        let (pi, b, pj, b2) = (row / nb, row % nb, col / nb, col % nb);
        prod[(pi * np + pj, b * nb + b2)]
    });
    let rhs = Mat::from_fn(n, 1, |row, _| {
        let (pi, b) = (row / nb, row % nb);
        (0..q).map(|t| f[(b * q + t, pi * q + t)]).sum()
    });
    let v = solve_ridge(&normal, &rhs)?;
    Some(Mat::from_fn(np, nb, |pi, b| v[(pi * nb + b, 0)]))
}

/// An orthonormal basis of X's columns (the next [`fit_right`] absorbs the
/// change of basis, so the error is unchanged while the solve stays well
/// conditioned).
pub fn orthonormal(x: &Mat<f64>) -> Mat<f64> {
    x.qr().compute_thin_Q()
}

/// tr((W − W')·G·(W − W')ᵀ) / tr(W·G·Wᵀ), or the relative weight error
/// without G; W and W' are [O, P·Q].
pub fn rel_error(w: &Mat<f64>, approx: &Mat<f64>, g: Option<&Mat<f64>>) -> f64 {
    let d = w - approx;
    let (num, den) = match g {
        None => (d.norm_l2().powi(2), w.norm_l2().powi(2)),
        Some(g) => {
            let quad = |m: &Mat<f64>| {
                let mg = m * g;
                (0..m.nrows())
                    .map(|r| (0..m.ncols()).map(|c| mg[(r, c)] * m[(r, c)]).sum::<f64>())
                    .sum::<f64>()
            };
            (quad(&d), quad(w))
        }
    };
    num / den.max(1e-300)
}

#[cfg(test)]
mod tests {
    use super::super::spatial::separate;
    use super::super::tucker::hosvd;
    use super::*;

    /// A random weight [O, I·kk] and the Gram matrix of correlated random
    /// im2col rows (deterministic).
    fn problem(o: usize, ik: usize) -> (Vec<f64>, Mat<f64>) {
        let mut rng = fastrand::Rng::with_seed(14);
        let w: Vec<f64> = (0..o * ik).map(|_| rng.f64() * 2.0 - 1.0).collect();
        let mix = Mat::from_fn(ik, ik, |_, _| rng.f64() - 0.5);
        let rows = Mat::from_fn(200, ik, |_, _| rng.f64() * 2.0 - 1.0) * &mix;
        (w, rows.transpose() * &rows)
    }

    #[test]
    fn data_aware_tucker_has_less_output_error_than_hosvd() {
        let (o, i, kk) = (6, 5, 9);
        let (w, g) = problem(o, i * kk);
        let wm = Mat::from_fn(o, i * kk, |a, b| w[a * i * kk + b]);
        let h = hosvd(&w, o, i, kk).unwrap();
        let wide = |v: Vec<f64>| Mat::from_fn(o, i * kk, |a, b| v[a * i * kk + b]);
        let plain = rel_error(&wm, &wide(h.approx(&h.factors(&w, 3, 2))), Some(&g));
        let one = h.data_aware(&wm, &g, 3, 2, 1, usize::MAX).unwrap();
        let one = rel_error(&wm, &wide(h.approx(&one)), Some(&g));
        let als = h.data_aware(&wm, &g, 3, 2, 4, usize::MAX).unwrap();
        let als = rel_error(&wm, &wide(h.approx(&als)), Some(&g));
        assert!(
            one < plain && als <= one,
            "plain {plain}, 1 round {one}, 4 rounds {als}"
        );
    }

    #[test]
    fn spatial_separation_is_exact_at_full_rank_and_data_aware_beats_plain() {
        let (o, i, kh, kw) = (4, 3, 3, 2);
        let (w, g) = problem(o, i * kh * kw);
        let wm = Mat::from_fn(o, i * kh * kw, |a, b| w[a * i * kh * kw + b]);
        let s = separate(&w, o, i, kh, kw).unwrap();
        assert_eq!(s.max_rank(), 8);
        let full = rel_error(&wm, &s.approx(&s.plain(8)), None);
        assert!(full < 1e-24, "{full}");
        let plain = rel_error(&wm, &s.approx(&s.plain(3)), Some(&g));
        let data = s.data_aware(&wm, &g, 3, 4, usize::MAX).unwrap();
        let data = rel_error(&wm, &s.approx(&data), Some(&g));
        assert!(data < plain, "plain {plain}, data-aware {data}");
    }
}
