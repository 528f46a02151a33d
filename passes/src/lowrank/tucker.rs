//! Tucker-2 of a k×k convolution weight W [O, I, kh, kw] (HOSVD): the leading
//! left singular vectors of its output-channel unfolding U_o [O, r_o] and of
//! its input-channel unfolding U_i [I, r_i], and the core
//! C = W ×₀ U_oᵀ ×₁ U_iᵀ [r_o, r_i, kh, kw]. The conv becomes a 1×1 conv to
//! r_i channels, the k×k core conv to r_o, and a 1×1 conv back to O.
//! The data-aware variant refines these factors by ALS on the output error
//! (see [`Hosvd::data_aware`]).

use super::bilinear::{fit_left, fit_right, orthonormal, rel_error};
use super::factor::{data_aware, whitener};
use faer::Mat;

/// Both unfoldings' singular vectors and values, ready to truncate.
#[derive(Debug)]
pub struct Hosvd {
    pub o: usize,
    pub i: usize,
    pub kk: usize,
    /// [O, O] and [I, I] (or fewer columns when the unfolding is wide).
    u_out: Mat<f64>,
    u_in: Mat<f64>,
    pub sigma_out: Vec<f64>,
    pub sigma_in: Vec<f64>,
}

fn left_svd(m: &Mat<f64>) -> Option<(Mat<f64>, Vec<f64>)> {
    let svd = m.thin_svd().ok()?;
    let s = svd.S().column_vector();
    let sigma = (0..s.nrows()).map(|i| s[i]).collect();
    Some((svd.U().to_owned(), sigma))
}

/// HOSVD of `w` [O, I, kk] (row-major, kk = kh·kw).
pub fn hosvd(w: &[f64], o: usize, i: usize, kk: usize) -> Option<Hosvd> {
    let w0 = Mat::from_fn(o, i * kk, |a, b| w[a * i * kk + b]);
    let w1 = Mat::from_fn(i, o * kk, |a, b| {
        let (oo, t) = (b / kk, b % kk);
        w[(oo * i + a) * kk + t]
    });
    let (u_out, sigma_out) = left_svd(&w0)?;
    let (u_in, sigma_in) = left_svd(&w1)?;
    Some(Hosvd {
        o,
        i,
        kk,
        u_out,
        u_in,
        sigma_out,
        sigma_in,
    })
}

/// The three factors at ranks (r_out, r_in): U_o [O, r_out], U_i [I, r_in],
/// core [r_out, r_in, kk] (row-major).
#[derive(Debug)]
pub struct Factors {
    pub u_out: Mat<f64>,
    pub u_in: Mat<f64>,
    pub core: Vec<f64>,
}

impl Hosvd {
    pub fn factors(&self, w: &[f64], r_out: usize, r_in: usize) -> Factors {
        let (o, i, kk) = (self.o, self.i, self.kk);
        let uo = Mat::from_fn(o, r_out, |a, b| self.u_out[(a, b)]);
        let ui = Mat::from_fn(i, r_in, |a, b| self.u_in[(a, b)]);
        let mut core = vec![0.0; r_out * r_in * kk];
        for t in 0..kk {
            let slice = Mat::from_fn(o, i, |a, b| w[(a * i + b) * kk + t]);
            let c = uo.transpose() * &slice * &ui;
            for a in 0..r_out {
                for b in 0..r_in {
                    core[(a * r_in + b) * kk + t] = c[(a, b)];
                }
            }
        }
        Factors {
            u_out: uo,
            u_in: ui,
            core,
        }
    }

    /// Tucker-2 factors at ranks (r_out, r_in) minimizing the output error
    /// under the im2col Gram matrix `g` [I·kk, I·kk] of `wm` [O, I·kk]. From
    /// the HOSVD input factor U_i, each round takes the best output factor
    /// and core for U_i (a reduced-rank regression: the data-aware SVD of the
    /// least-squares Y under the reduced inputs' Gram matrix) and then the
    /// least-squares U_i for them. The first round is already at most the
    /// plain factors' error (it is optimal for their U_i); the best round is
    /// kept. `max_unknowns` bounds the size of one U_i solve.
    pub fn data_aware(
        &self,
        wm: &Mat<f64>,
        g: &Mat<f64>,
        r_out: usize,
        r_in: usize,
        rounds: usize,
        max_unknowns: usize,
    ) -> Option<Factors> {
        let (o, i, kk) = (self.o, self.i, self.kk);
        let mut u_in = Mat::from_fn(i, r_in, |a, b| self.u_in[(a, b)]);
        let mut best: Option<(f64, Factors)> = None;
        for round in 0..rounds.max(1) {
            let (z, h) = fit_right(wm, g, &u_in, kk)?;
            let flat: Vec<f64> = (0..r_in * kk)
                .flat_map(|a| (0..o).map(move |b| (a, b)))
                .map(|(a, b)| z[(a, b)])
                .collect();
            let f = data_aware(&flat, r_in * kk, o, &whitener(&h)?)?;
            let r = r_out.min(f.sigma.len());
            let (a, b) = f.factors(r);
            // Y = (A·B)ᵀ [O, r_in·kk]; U_o = Bᵀ, core[c, (b, t)] = A[(b, t), c].
            let y = (&a * &b).transpose().to_owned();
            let mut core = vec![0.0; r * r_in * kk];
            for c in 0..r {
                for bt in 0..r_in * kk {
                    core[c * r_in * kk + bt] = a[(bt, c)];
                }
            }
            let factors = Factors {
                u_out: b.transpose().to_owned(),
                u_in: u_in.clone(),
                core,
            };
            let approx = Mat::from_fn(o, i * kk, |a, c| {
                (0..r_in)
                    .map(|b| u_in[(c / kk, b)] * y[(a, b * kk + c % kk)])
                    .sum()
            });
            let err = rel_error(wm, &approx, Some(g));
            if best.as_ref().is_none_or(|(e, _)| err < *e) {
                best = Some((err, factors));
            }
            if round + 1 == rounds || i * r_in > max_unknowns {
                break;
            }
            match fit_left(wm, g, &y, i, kk) {
                Some(x) => u_in = orthonormal(&x),
                None => break,
            }
        }
        best.map(|(_, f)| f)
    }

    /// W' = U_o·C·U_iᵀ, as [O, I·kk] (row-major).
    pub fn approx(&self, f: &Factors) -> Vec<f64> {
        let (o, i, kk) = (self.o, self.i, self.kk);
        let (r_out, r_in) = (f.u_out.ncols(), f.u_in.ncols());
        let mut out = vec![0.0; o * i * kk];
        for t in 0..kk {
            let c = Mat::from_fn(r_out, r_in, |a, b| f.core[(a * r_in + b) * kk + t]);
            let m = &f.u_out * &c * f.u_in.transpose();
            for a in 0..o {
                for b in 0..i {
                    out[(a * i + b) * kk + t] = m[(a, b)];
                }
            }
        }
        out
    }
}

/// The smallest rank keeping `e` of the squared singular values' sum.
pub fn energy_rank(sigma: &[f64], e: f64) -> usize {
    let total: f64 = sigma.iter().map(|s| s * s).sum();
    let mut acc = 0.0;
    for (k, s) in sigma.iter().enumerate() {
        acc += s * s;
        if acc >= e * total {
            return k + 1;
        }
    }
    sigma.len().max(1)
}
