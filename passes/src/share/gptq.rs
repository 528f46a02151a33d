//! Error-feedback assignment to a palette (GPTQ, Frantar et al. 2022, on a
//! non-uniform grid) and the codebook refit that goes with it.
//!
//! Nearest-centroid assignment minimizes the weight error; what matters is the
//! layer's output error Σ_o Δw_oᵀ·H·Δw_o (H: the input Gram, see
//! [`super::gram`]). Assigning the columns one at a time and pushing each one's
//! rounding error onto the columns not yet assigned, through the Cholesky factor
//! of H⁻¹, lets later columns compensate for earlier ones. The refit then moves
//! each centroid to where the output error, with the assignment fixed, is least
//! (a k-unknown least-squares problem per codebook).

use faer::linalg::solvers::Solve;
use faer::Mat;

/// Ridge added to H, relative to its mean diagonal (GPTQ's default damping).
const DAMP: f64 = 0.01;
/// Refits solve one system over every codebook's centroids: bounded.
pub const MAX_REFIT_UNKNOWNS: usize = 4096;

/// One layer's weight as the assignment sees it: `rows × cols` real values
/// (`w[o * cols + j]`), each element's scale (real = code · scale) and which
/// codebook it draws from.
#[derive(Debug)]
pub struct Layer<'a> {
    pub rows: usize,
    pub cols: usize,
    /// Real values, `rows × cols`.
    pub w: &'a [f64],
    /// Per element: real units per code unit.
    pub scale: &'a [f64],
    /// Per element: its codebook.
    pub book: &'a [usize],
}

/// The damped H, the column order (largest diagonal first) and the upper
/// Cholesky factor U of the permuted H⁻¹ (H⁻¹ = Uᵀ·U), or None when H does not
/// factor even damped.
pub struct Inverse {
    order: Vec<usize>,
    /// U row-major, `n × n`, in the permuted order.
    u: Vec<f64>,
}

impl std::fmt::Debug for Inverse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Inverse({} columns)", self.order.len())
    }
}

/// The damped H (dead inputs, never non-zero on the data, get a unit diagonal).
pub fn damped(h: &Mat<f64>) -> Mat<f64> {
    let n = h.nrows();
    let mean = (0..n).map(|i| h[(i, i)]).sum::<f64>() / n.max(1) as f64;
    let mut d = h.clone();
    for i in 0..n {
        if d[(i, i)] <= 0.0 {
            d[(i, i)] = mean.max(1e-12);
        }
        d[(i, i)] += DAMP * mean.max(1e-12);
    }
    d
}

pub fn inverse(h: &Mat<f64>) -> Option<Inverse> {
    let n = h.nrows();
    let d = damped(h);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| d[(b, b)].total_cmp(&d[(a, a)]).then(a.cmp(&b)));
    let p = Mat::from_fn(n, n, |i, j| d[(order[i], order[j])]);
    let inv = p
        .llt(faer::Side::Lower)
        .ok()?
        .solve(Mat::<f64>::identity(n, n));
    let sym = Mat::from_fn(n, n, |i, j| 0.5 * (inv[(i, j)] + inv[(j, i)]));
    let l = sym.llt(faer::Side::Lower).ok()?.L().to_owned();
    // H⁻¹ = L·Lᵀ = Uᵀ·U with U = Lᵀ.
    let u = (0..n * n).map(|k| l[(k % n, k / n)]).collect();
    Some(Inverse { order, u })
}

/// The nearest of `grid` (ascending, in code units) to `v / scale`, in real units.
fn nearest_real(grid: &[f64], v: f64, scale: f64) -> f64 {
    if scale == 0.0 {
        return 0.0;
    }
    super::kmeans::nearest(grid, v / scale) * scale
}

/// Assigns every element to a centroid of its codebook (`books[book[e]]`, code
/// units, ascending), column by column with error feedback. Returns the
/// assigned real values, `rows × cols`.
pub fn assign(layer: &Layer, books: &[Vec<f64>], inv: &Inverse) -> Vec<f64> {
    let (rows, cols) = (layer.rows, layer.cols);
    let order = &inv.order;
    let mut out = vec![0.0; rows * cols];
    // One row at a time, its columns in the permuted order, so each update is a
    // contiguous axpy with a row of U.
    let mut work = vec![0.0; cols];
    for o in 0..rows {
        for (pi, &j) in order.iter().enumerate() {
            work[pi] = layer.w[o * cols + j];
        }
        for (pi, &j) in order.iter().enumerate() {
            let e = o * cols + j;
            let q = nearest_real(&books[layer.book[e]], work[pi], layer.scale[e]);
            out[e] = q;
            let err = (work[pi] - q) / inv.u[pi * cols + pi];
            if err != 0.0 {
                let u = &inv.u[pi * cols + pi + 1..(pi + 1) * cols];
                for (x, &uv) in work[pi + 1..].iter_mut().zip(u) {
                    *x -= err * uv;
                }
            }
        }
    }
    out
}

/// Σ_o Δ_oᵀ·H·Δ_o / Σ_o w_oᵀ·H·w_o: the relative output error of `approx`.
pub fn output_error(layer: &Layer, approx: &[f64], h: &Mat<f64>) -> f64 {
    let (rows, cols) = (layer.rows, layer.cols);
    let quad = |v: &dyn Fn(usize) -> f64| {
        let m = Mat::from_fn(cols, rows, |j, o| v(o * cols + j));
        let hm = h * &m;
        let mut s = 0.0;
        for o in 0..rows {
            for j in 0..cols {
                s += m[(j, o)] * hm[(j, o)];
            }
        }
        s
    };
    let num = quad(&|e| layer.w[e] - approx[e]);
    let den = quad(&|e| layer.w[e]);
    if den > 0.0 {
        num / den
    } else {
        0.0
    }
}

/// Moves the centroids to minimize the output error with each element's
/// centroid fixed (`slot[e]`: its index in its codebook). Centroids in `fixed`
/// (per codebook, e.g. the zero pruned weights keep) do not move; a centroid no
/// element uses stays where it is. Returns the new codebooks in code units
/// (unrounded), or None when the system does not solve.
pub fn refit(
    layer: &Layer,
    books: &[Vec<f64>],
    slot: &[usize],
    fixed: &[Option<f64>],
    h: &Mat<f64>,
) -> Option<Vec<Vec<f64>>> {
    let (rows, cols) = (layer.rows, layer.cols);
    let mut base = Vec::with_capacity(books.len());
    let mut total = 0;
    for b in books {
        base.push(total);
        total += b.len();
    }
    if total == 0 || total > MAX_REFIT_UNKNOWNS {
        return None;
    }
    let unknown = |e: usize| base[layer.book[e]] + slot[e];
    let is_fixed = |e: usize| fixed[layer.book[e]] == Some(books[layer.book[e]][slot[e]]);
    let hr: Vec<f64> = (0..cols * cols).map(|k| h[(k / cols, k % cols)]).collect();
    let mut a = vec![0.0; total * total];
    let mut b = vec![0.0; total];
    let mut hw = vec![0.0; cols];
    for o in 0..rows {
        let r = o * cols;
        let wr = &layer.w[r..r + cols];
        for (i, v) in hw.iter_mut().enumerate() {
            *v = hr[i * cols..(i + 1) * cols]
                .iter()
                .zip(wr)
                .map(|(x, y)| x * y)
                .sum();
        }
        for i in 0..cols {
            let ei = r + i;
            if is_fixed(ei) {
                continue;
            }
            let (ui, si) = (unknown(ei), layer.scale[ei]);
            b[ui] += si * hw[i];
            for j in 0..cols {
                let ej = r + j;
                let hij = hr[i * cols + j];
                if hij == 0.0 {
                    continue;
                }
                if is_fixed(ej) {
                    // A fixed centroid's contribution moves to the right-hand side.
                    b[ui] -= si * hij * books[layer.book[ej]][slot[ej]] * layer.scale[ej];
                } else {
                    a[ui * total + unknown(ej)] += si * hij * layer.scale[ej];
                }
            }
        }
    }
    let mut a = Mat::from_fn(total, total, |i, j| a[i * total + j]);
    let mean = (0..total).map(|i| a[(i, i)]).sum::<f64>() / total as f64;
    let ridge = 1e-9 * mean.max(1e-300);
    let mut rhs = Mat::<f64>::zeros(total, 1);
    for (bi, book) in books.iter().enumerate() {
        for (k, &c) in book.iter().enumerate() {
            let u = base[bi] + k;
            // Unused and fixed centroids: a unit row pins them to their value.
            if a[(u, u)] == 0.0 {
                for v in 0..total {
                    a[(u, v)] = 0.0;
                    a[(v, u)] = 0.0;
                }
                a[(u, u)] = 1.0;
                rhs[(u, 0)] = c;
            } else {
                a[(u, u)] += ridge;
                rhs[(u, 0)] = b[u] + ridge * c;
            }
        }
    }
    let x = a.llt(faer::Side::Lower).ok()?.solve(&rhs);
    Some(
        books
            .iter()
            .enumerate()
            .map(|(bi, book)| (0..book.len()).map(|k| x[(base[bi] + k, 0)]).collect())
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Correlated inputs: error feedback beats nearest rounding on the output error.
    #[test]
    fn feedback_lowers_output_error() {
        let (rows, cols) = (6, 8);
        let mut rng = fastrand::Rng::with_seed(7);
        let xs: Vec<Vec<f64>> = (0..200)
            .map(|_| {
                let z = rng.f64() - 0.5;
                (0..cols).map(|_| z + 0.2 * (rng.f64() - 0.5)).collect()
            })
            .collect();
        let h = Mat::from_fn(cols, cols, |i, j| {
            xs.iter().map(|x| x[i] * x[j]).sum::<f64>()
        });
        let w: Vec<f64> = (0..rows * cols).map(|_| rng.f64() * 2.0 - 1.0).collect();
        let scale = vec![1.0; rows * cols];
        let book = vec![0; rows * cols];
        let layer = Layer {
            rows,
            cols,
            w: &w,
            scale: &scale,
            book: &book,
        };
        let books = vec![vec![-0.75, -0.25, 0.25, 0.75]];
        let near: Vec<f64> = w
            .iter()
            .map(|&v| super::super::kmeans::nearest(&books[0], v))
            .collect();
        let inv = inverse(&h).expect("positive definite");
        let fed = assign(&layer, &books, &inv);
        assert!(fed.iter().all(|v| books[0].contains(v)));
        let (e_near, e_fed) = (
            output_error(&layer, &near, &h),
            output_error(&layer, &fed, &h),
        );
        assert!(e_fed < 0.8 * e_near, "feedback {e_fed} vs nearest {e_near}");
    }

    /// With the assignment fixed, the refit never raises the output error and
    /// keeps a fixed centroid where it is.
    #[test]
    fn refit_lowers_error_and_keeps_fixed() {
        let (rows, cols) = (4, 5);
        let mut rng = fastrand::Rng::with_seed(3);
        let h = {
            let x = Mat::from_fn(50, cols, |_, _| rng.f64() - 0.5);
            x.transpose() * &x
        };
        let w: Vec<f64> = (0..rows * cols).map(|_| rng.f64() * 2.0 - 1.0).collect();
        let scale = vec![0.5; rows * cols];
        let book = vec![0; rows * cols];
        let layer = Layer {
            rows,
            cols,
            w: &w,
            scale: &scale,
            book: &book,
        };
        let books = vec![vec![-1.0, 0.0, 1.0]];
        let slot: Vec<usize> = w
            .iter()
            .map(|&v| {
                let q = super::super::kmeans::nearest(&books[0], v / 0.5);
                books[0].iter().position(|&c| c == q).unwrap()
            })
            .collect();
        let approx = |bk: &[f64]| -> Vec<f64> { slot.iter().map(|&s| bk[s] * 0.5).collect() };
        let new = refit(&layer, &books, &slot, &[Some(0.0)], &h).expect("solves");
        assert_eq!(new[0][1], 0.0);
        let before = output_error(&layer, &approx(&books[0]), &h);
        let after = output_error(&layer, &approx(&new[0]), &h);
        assert!(after <= before + 1e-12, "{after} > {before}");
    }
}
