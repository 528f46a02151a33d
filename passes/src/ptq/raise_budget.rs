//! How much measuring the fidelity floor does on one model: a count of
//! interpreter runs scaled by what one run costs, so a small classifier gets
//! the full search and a 3-GMAC detector a bounded one. Counts, not seconds:
//! the same model and options always make the same choices (a wall-clock
//! budget would make the artifact depend on the machine's load).

/// Samples each candidate island is measured on, at most (a small model).
pub const MAX_SAMPLES: usize = 32;

/// Samples each candidate island is measured on, at least (a large model):
/// fewer would rank islands by noise more than by their effect.
pub const MIN_SAMPLES: usize = 4;

/// MACs one candidate's measurement may spend: 32 samples up to 125 MMAC a
/// sample, 4 from 1 GMAC a sample up (the integer interpreter runs about
/// 0.5–1 GMAC a second a core).
const MACS_PER_CANDIDATE: u64 = 4_000_000_000;

/// Candidates measured per round on a model up to [`LARGE_MODEL_MACS`].
const CANDIDATES: usize = 8;

/// Candidates measured per round on a larger model.
const LARGE_MODEL_CANDIDATES: usize = 4;

/// MACs a sample from which a model counts as large.
const LARGE_MODEL_MACS: u64 = 500_000_000;

/// The measuring the floor may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RaiseBudget {
    /// Samples each candidate is measured on.
    pub samples: usize,
    /// Candidates measured per round (those where the noise jumps most).
    pub candidates: usize,
}

impl RaiseBudget {
    /// The budget for a model of `macs` multiply-accumulates a run (`None`:
    /// not countable, e.g. symbolic dims; it gets the small-model budget).
    pub fn for_macs(macs: Option<u64>) -> RaiseBudget {
        let macs = macs.unwrap_or(0).max(1);
        let samples = (MACS_PER_CANDIDATE / macs).clamp(MIN_SAMPLES as u64, MAX_SAMPLES as u64);
        RaiseBudget {
            samples: samples as usize,
            candidates: if macs > LARGE_MODEL_MACS {
                LARGE_MODEL_CANDIDATES
            } else {
                CANDIDATES
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_models_get_the_full_search_and_large_ones_a_bounded_one() {
        let small = RaiseBudget::for_macs(Some(20_000_000));
        assert_eq!((small.samples, small.candidates), (MAX_SAMPLES, CANDIDATES));
        let unknown = RaiseBudget::for_macs(None);
        assert_eq!(unknown, small);
        let mid = RaiseBudget::for_macs(Some(400_000_000));
        assert_eq!((mid.samples, mid.candidates), (10, CANDIDATES));
        let large = RaiseBudget::for_macs(Some(3_300_000_000));
        assert_eq!(
            (large.samples, large.candidates),
            (MIN_SAMPLES, LARGE_MODEL_CANDIDATES)
        );
    }
}
