//! Glue between a weight as `share` holds it (stored codes or floats, flat, one
//! codebook per group of axis-0 rows) and error-feedback assignment
//! ([`super::gptq`]), which works on output rows in real units: assign, refit
//! the codebooks to the output error, assign again, and keep whichever of the
//! nearest, first and refitted assignments has the least output error.

use super::gptq::{self, Layer};
use super::gram::RowView;
use faer::Mat;
use pare_ir::DType;

/// One weight's setting for the assignment.
#[derive(Debug)]
pub struct Feedback<'a> {
    pub view: RowView,
    pub h: &'a Mat<f64>,
    /// The stored value of a real zero (the zero point; 0 for floats).
    pub zp: f64,
    /// Stored elements per codebook.
    pub per_group: usize,
    pub dtype: DType,
    /// The stored values' range (integer centroids are clamped to it).
    pub lo: f64,
    pub hi: f64,
}

/// Stored values of every element and the codebooks they use.
pub type Assigned = (Vec<f64>, Vec<Vec<f64>>);

impl Feedback<'_> {
    /// `vals`: stored values; `scales`: real units per stored unit; `books`:
    /// codebooks in stored units, ascending; `fixed`: a centroid per codebook
    /// that must stay; `nearest`: the nearest-centroid assignment (stored values).
    /// None when H does not factor; else the assignment and a note with the
    /// output errors.
    pub fn run(
        &self,
        vals: &[f64],
        scales: &[f64],
        books: &[Vec<f64>],
        fixed: &[Option<f64>],
        nearest: &[f64],
    ) -> Option<(Assigned, String)> {
        let (rows, cols) = (self.view.rows(), self.view.cols());
        if rows * cols != vals.len() {
            return None;
        }
        let idx: Vec<usize> = (0..rows * cols)
            .map(|k| self.view.index(k / cols, k % cols))
            .collect();
        let real = |stored: &[f64]| -> Vec<f64> {
            idx.iter()
                .map(|&e| (stored[e] - self.zp) * scales[e])
                .collect()
        };
        let w = real(vals);
        let scale: Vec<f64> = idx.iter().map(|&e| scales[e]).collect();
        let book: Vec<usize> = idx.iter().map(|&e| e / self.per_group.max(1)).collect();
        let layer = Layer {
            rows,
            cols,
            w: &w,
            scale: &scale,
            book: &book,
        };
        let centred = |bs: &[Vec<f64>]| -> Vec<Vec<f64>> {
            bs.iter()
                .map(|b| b.iter().map(|c| c - self.zp).collect())
                .collect()
        };
        let inv = gptq::inverse(self.h)?;
        let near_err = gptq::output_error(&layer, &real(nearest), self.h);
        let first = gptq::assign(&layer, &centred(books), &inv);
        let first_err = gptq::output_error(&layer, &first, self.h);
        let mut best = (first, books.to_vec(), first_err);
        // Refit the codebooks with the first assignment fixed, then assign again.
        let slots = self.slots(&layer, &best.0, &centred(books));
        let fixed_c: Vec<Option<f64>> = fixed.iter().map(|f| f.map(|z| z - self.zp)).collect();
        if let Some(new) = gptq::refit(&layer, &centred(books), &slots, &fixed_c, self.h) {
            let new_books: Vec<Vec<f64>> = new
                .iter()
                .map(|b| {
                    let mut c: Vec<f64> = b
                        .iter()
                        .map(|&c| super::representable(self.dtype, c + self.zp, self.lo, self.hi))
                        .collect();
                    c.sort_by(f64::total_cmp);
                    c.dedup();
                    c
                })
                .collect();
            let again = gptq::assign(&layer, &centred(&new_books), &inv);
            let err = gptq::output_error(&layer, &again, self.h);
            if err < best.2 {
                best = (again, new_books, err);
            }
        }
        let mut note = format!(
            "relative output error on calib {near_err:.3e} (nearest centroid) -> {:.3e} (error feedback{})",
            best.2,
            if best.1 != books { ", codebook refit" } else { "" }
        );
        if best.2 >= near_err {
            note = format!("relative output error on calib {near_err:.3e} (nearest centroid; error feedback gave {:.3e})", best.2);
            return Some(((nearest.to_vec(), books.to_vec()), note));
        }
        // Back to stored values, snapped exactly onto the codebooks.
        let mut out = vec![0.0; vals.len()];
        for (k, &e) in idx.iter().enumerate() {
            let b = &best.1[book[k]];
            out[e] = if scale[k] == 0.0 {
                super::kmeans::nearest(b, self.zp)
            } else {
                super::kmeans::nearest(b, best.0[k] / scale[k] + self.zp)
            };
        }
        Some(((out, best.1), note))
    }

    /// Each element's index in its codebook (`books` centred, real = c · scale).
    fn slots(&self, layer: &Layer, assigned: &[f64], books: &[Vec<f64>]) -> Vec<usize> {
        (0..assigned.len())
            .map(|k| {
                let b = &books[layer.book[k]];
                let s = layer.scale[k];
                let v = if s == 0.0 { 0.0 } else { assigned[k] / s };
                let c = super::kmeans::nearest(b, v);
                b.iter().position(|&x| x == c).unwrap_or(0)
            })
            .collect()
    }
}
