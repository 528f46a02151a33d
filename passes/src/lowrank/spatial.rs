//! Spatial separation of a kh×kw conv weight W [O, I, kh, kw] into a kh×1
//! conv (I → r channels) followed by a 1×kw conv (r → O): the truncated SVD
//! of W rearranged as M [(i, y), (o, x)] = W[o, i, y, x] gives the vertical
//! filters A [I·kh, r] and the horizontal ones B [r, O·kw]. At full rank the
//! two convs are exactly the original one. The data-aware variant fits A and
//! B to the output error on calibration inputs (see [`Spatial::data_aware`]).

use super::bilinear::{fit_left, fit_right, orthonormal, rel_error};
use super::factor::{self, Factorization};
use faer::Mat;

/// The SVD of the rearranged weight, ready to truncate.
#[derive(Debug)]
pub struct Spatial {
    o: usize,
    i: usize,
    kh: usize,
    kw: usize,
    m: Vec<f64>,
    svd: Factorization,
}

/// The two filters at some rank r: A [I·kh, r], B [r, O·kw].
#[derive(Debug)]
pub struct SpatialFactors {
    pub a: Mat<f64>,
    pub b: Mat<f64>,
}

impl SpatialFactors {
    pub fn rank(&self) -> usize {
        self.a.ncols()
    }
}

/// The SVD of `w` [O, I, kh, kw] (row-major) rearranged.
pub fn separate(w: &[f64], o: usize, i: usize, kh: usize, kw: usize) -> Option<Spatial> {
    let (rows, cols) = (i * kh, o * kw);
    let mut m = vec![0.0; rows * cols];
    for oo in 0..o {
        for ii in 0..i {
            for y in 0..kh {
                for x in 0..kw {
                    m[(ii * kh + y) * cols + oo * kw + x] = w[((oo * i + ii) * kh + y) * kw + x];
                }
            }
        }
    }
    let svd = factor::plain(&m, rows, cols)?;
    Some(Spatial {
        o,
        i,
        kh,
        kw,
        m,
        svd,
    })
}

impl Spatial {
    pub fn sigma(&self) -> &[f64] {
        &self.svd.sigma
    }

    /// The highest rank there is: min(I·kh, O·kw).
    pub fn max_rank(&self) -> usize {
        self.svd.sigma.len()
    }

    /// The plain (least weight error) filters at rank r.
    pub fn plain(&self, r: usize) -> SpatialFactors {
        let (a, b) = self.svd.factors(r.min(self.max_rank()));
        SpatialFactors { a, b }
    }

    /// W' = A·B laid out as W [O, I·kh·kw].
    pub fn approx(&self, f: &SpatialFactors) -> Mat<f64> {
        let (kh, kw) = (self.kh, self.kw);
        let ab = &f.a * &f.b;
        Mat::from_fn(self.o, self.i * kh * kw, |oo, c| {
            let (iy, x) = (c / kw, c % kw);
            ab[(iy, oo * kw + x)]
        })
    }

    /// The best horizontal filters for vertical ones `a`, under `g`.
    fn fit_b(&self, wm: &Mat<f64>, g: &Mat<f64>, a: Mat<f64>) -> Option<SpatialFactors> {
        let kw = self.kw;
        let (z, _) = fit_right(wm, g, &a, kw)?;
        let r = a.ncols();
        let b = Mat::from_fn(r, self.o * kw, |c, ox| z[(c * kw + ox % kw, ox / kw)]);
        Some(SpatialFactors { a, b })
    }

    /// Filters at rank r minimizing the output error under the im2col Gram
    /// matrix `g` [I·kh·kw, I·kh·kw] of `wm` = W [O, I·kh·kw]. The vertical
    /// filters start as the better (after the least-squares horizontal ones)
    /// of the plain SVD's and those of the SVD whitened by the Gram matrix of
    /// the kh×1 input columns (G averaged over the kw column offsets, which
    /// ignores their cross-correlation); ALS rounds then alternate the
    /// least-squares A and B, keeping the best. Starting from the plain A,
    /// the result is never worse than the plain filters on calib.
    pub fn data_aware(
        &self,
        wm: &Mat<f64>,
        g: &Mat<f64>,
        r: usize,
        rounds: usize,
        max_unknowns: usize,
    ) -> Option<SpatialFactors> {
        let (i, kh, kw, o) = (self.i, self.kh, self.kw, self.o);
        let r = r.min(self.max_rank());
        let ihk = i * kh;
        let col_gram = Mat::from_fn(ihk, ihk, |p, q| {
            (0..kw).map(|x| g[(p * kw + x, q * kw + x)]).sum::<f64>() / kw as f64
        });
        let whitened = factor::whitener(&col_gram)
            .and_then(|l| factor::data_aware(&self.m, ihk, o * kw, &l))
            .map(|f| f.factors(r).0);
        let score = |f: &SpatialFactors| rel_error(wm, &self.approx(f), Some(g));
        let mut best: Option<(f64, SpatialFactors)> = None;
        for a in [Some(self.plain(r).a), whitened].into_iter().flatten() {
            if let Some(f) = self.fit_b(wm, g, a) {
                let err = score(&f);
                if best.as_ref().is_none_or(|(e, _)| err < *e) {
                    best = Some((err, f));
                }
            }
        }
        for _ in 1..rounds {
            let Some((err, cur)) = &best else { break };
            if ihk * r > max_unknowns {
                break;
            }
            // Y [O, r·kw] from B [r, O·kw].
            let y = Mat::from_fn(o, r * kw, |oo, cx| cur.b[(cx / kw, oo * kw + cx % kw)]);
            let Some(f) =
                fit_left(wm, g, &y, ihk, kw).and_then(|a| self.fit_b(wm, g, orthonormal(&a)))
            else {
                break;
            };
            let e = score(&f);
            if e >= *err {
                break;
            }
            best = Some((e, f));
        }
        best.map(|(_, f)| f)
    }
}
