//! The two ways a k×k conv is factorized, side by side: their ranks (by
//! energy, or scanned for a size or error target), their params and MACs, and
//! their fits (plain, or data-aware under the im2col Gram matrix).

use super::spatial::{Spatial, SpatialFactors};
use super::tucker::{energy_rank, Factors, Hosvd};
use super::RankBy;
use faer::Mat;
use pare_ir::{NodeId, ValueId};

/// ALS rounds of the data-aware fits, and the most unknowns one input-side
/// solve may have (beyond it only the output side is refitted): bounds the
/// pass's time on wide convs.
const ALS_ROUNDS: usize = 4;
const ALS_MAX_UNKNOWNS: usize = 512;

/// A conv to factorize: its weight [O, I, kh, kw] (row-major) and the sizes
/// its MACs depend on.
pub(super) struct ConvTarget {
    pub(super) node: NodeId,
    pub(super) x: ValueId,
    pub(super) w: Vec<f64>,
    pub(super) o: usize,
    pub(super) i: usize,
    pub(super) kh: usize,
    pub(super) kw: usize,
    /// Input and output pixels per sample (MACs of the 1×1 convs).
    pub(super) in_px: usize,
    pub(super) out_px: usize,
    /// Input width and output height (MACs of the kh×1 conv).
    pub(super) in_w: usize,
    pub(super) out_h: usize,
}

/// The ranks of one method.
#[derive(Clone, Copy, Debug)]
pub(super) enum Ranks {
    Tucker { out: usize, inp: usize },
    Spatial(usize),
}

impl Ranks {
    pub(super) fn params(self, t: &ConvTarget) -> usize {
        match self {
            Ranks::Tucker { out, inp } => t.i * inp + out * inp * t.kh * t.kw + out * t.o,
            Ranks::Spatial(r) => r * (t.i * t.kh + t.o * t.kw),
        }
    }

    pub(super) fn macs(self, t: &ConvTarget) -> usize {
        match self {
            Ranks::Tucker { out, inp } => {
                t.in_px * t.i * inp + t.out_px * (out * inp * t.kh * t.kw + t.o * out)
            }
            Ranks::Spatial(r) => t.out_h * t.in_w * r * t.i * t.kh + t.out_px * t.o * r * t.kw,
        }
    }

    pub(super) fn describe(self, t: &ConvTarget) -> String {
        match self {
            Ranks::Tucker { out, inp } => format!(
                "Tucker-2 ranks (in {inp}, out {out}) (1x1 -> {}x{} core -> 1x1)",
                t.kh, t.kw
            ),
            Ranks::Spatial(r) => format!("spatial rank {r} ({}x1 then 1x{})", t.kh, t.kw),
        }
    }
}

/// A decomposition, ready to truncate and fit.
pub(super) enum Decomp {
    Tucker(Hosvd),
    Spatial(Spatial),
}

/// Fitted factors of either method.
pub(super) enum Fitted {
    Tucker(Factors),
    Spatial(SpatialFactors),
}

impl Decomp {
    /// The largest step of the size and error scans.
    pub(super) fn max_step(&self, t: &ConvTarget) -> usize {
        match self {
            Decomp::Tucker(_) => t.o.max(t.i),
            Decomp::Spatial(s) => s.max_rank(),
        }
    }

    /// The ranks at scan step r (each Tucker side capped by its own size: at
    /// the last step the factors reproduce W).
    pub(super) fn at(&self, t: &ConvTarget, r: usize) -> Ranks {
        let kk = t.kh * t.kw;
        match self {
            Decomp::Tucker(_) => Ranks::Tucker {
                out: r.min(t.o).min(t.i * kk),
                inp: r.min(t.i).min(t.o * kk),
            },
            Decomp::Spatial(s) => Ranks::Spatial(r.min(s.max_rank())),
        }
    }

    pub(super) fn by_energy(&self, t: &ConvTarget, e: f64) -> Ranks {
        match self {
            Decomp::Tucker(h) => Ranks::Tucker {
                out: energy_rank(&h.sigma_out, e).min(t.o),
                inp: energy_rank(&h.sigma_in, e).min(t.i),
            },
            Decomp::Spatial(s) => Ranks::Spatial(energy_rank(s.sigma(), e)),
        }
    }

    /// The factors at `ranks`: data-aware under `gm` when given, else plain;
    /// with W' [O, I·kk].
    pub(super) fn fit(
        &self,
        t: &ConvTarget,
        wm: &Mat<f64>,
        ranks: Ranks,
        gm: Option<&Mat<f64>>,
    ) -> Option<(Fitted, Mat<f64>)> {
        let wide =
            |v: Vec<f64>| Mat::from_fn(t.o, v.len() / t.o, |a, b| v[a * (v.len() / t.o) + b]);
        match (self, ranks) {
            (Decomp::Tucker(h), Ranks::Tucker { out, inp }) => {
                let f = match gm {
                    Some(g) => h.data_aware(wm, g, out, inp, ALS_ROUNDS, ALS_MAX_UNKNOWNS)?,
                    None => h.factors(&t.w, out, inp),
                };
                let approx = wide(h.approx(&f));
                Some((Fitted::Tucker(f), approx))
            }
            (Decomp::Spatial(s), Ranks::Spatial(r)) => {
                let f = match gm {
                    Some(g) => s.data_aware(wm, g, r, ALS_ROUNDS, ALS_MAX_UNKNOWNS)?,
                    None => s.plain(r),
                };
                let approx = s.approx(&f);
                Some((Fitted::Spatial(f), approx))
            }
            _ => None,
        }
    }
}

/// The ranks `by` asks for. `err` measures a rank's relative error for
/// `Error`, searched by bisection (the error falls as the rank grows).
pub(super) fn choose(d: &Decomp, t: &ConvTarget, by: RankBy, err: &dyn Fn(Ranks) -> f64) -> Ranks {
    let max = d.max_step(t);
    match by {
        RankBy::Energy(e) => d.by_energy(t, e),
        RankBy::Size(s) => {
            let budget = s * (t.o * t.i * t.kh * t.kw) as f64;
            let r = (1..=max)
                .rev()
                .find(|&r| d.at(t, r).params(t) as f64 <= budget)
                .unwrap_or(1);
            d.at(t, r)
        }
        RankBy::Error(e) => {
            let (mut lo, mut hi) = (1, max);
            while lo < hi {
                let mid = (lo + hi) / 2;
                if err(d.at(t, mid)) <= e {
                    hi = mid;
                } else {
                    lo = mid + 1;
                }
            }
            d.at(t, lo)
        }
    }
}
