//! Which classes go: the least important `ratio` of each group's classes (or
//! of all prunable classes, ranked globally after normalizing each group by
//! its mean), with the kept count rounded up to a multiple for target kernels.

use super::groups::Group;
use std::collections::{BTreeMap, BTreeSet};

/// Per-group or global ranking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Group,
    Global,
}

/// How many of `n` classes to keep when `remove` were asked to go: at least
/// one, and a multiple of `multiple` where the group is that large (rounding
/// keeps more, never fewer, than asked).
pub fn kept_count(n: usize, remove: usize, multiple: usize) -> usize {
    let keep = n.saturating_sub(remove).max(1);
    if multiple <= 1 || n < multiple {
        return keep;
    }
    keep.div_ceil(multiple).saturating_mul(multiple).min(n)
}

/// Classes sorted by importance, least first (ties: lower id first).
fn ranked(classes: impl Iterator<Item = u32>, score: &BTreeMap<u32, f64>) -> Vec<u32> {
    let mut v: Vec<u32> = classes.collect();
    v.sort_by(|a, b| {
        let (sa, sb) = (
            score.get(a).copied().unwrap_or(0.0),
            score.get(b).copied().unwrap_or(0.0),
        );
        sa.total_cmp(&sb).then(a.cmp(b))
    });
    v
}

/// The classes to remove.
pub fn select(
    groups: &[Group],
    score: &BTreeMap<u32, f64>,
    ratio: f64,
    multiple: usize,
    scope: Scope,
) -> BTreeSet<u32> {
    let mut out = BTreeSet::new();
    match scope {
        Scope::Group => {
            for g in groups {
                let n = g.classes.len();
                let prunable = ranked(g.prunable(), score);
                // Keep ⌊(1−R)·n⌋, as Torch-Pruning does, so the same ratio
                // gives the same channel counts (and MACs) in both.
                let want = n - ((1.0 - ratio) * n as f64 + 1e-9).floor() as usize;
                let remove = n - kept_count(n, want, multiple);
                out.extend(prunable.into_iter().take(remove));
            }
        }
        Scope::Global => {
            // Normalize each group by its mean so large and small layers compare.
            let mut all: Vec<(f64, u32, usize)> = Vec::new();
            let mut total = 0;
            for (gi, g) in groups.iter().enumerate() {
                total += g.prunable().count();
                let scores: Vec<f64> = g
                    .classes
                    .iter()
                    .map(|c| score.get(c).copied().unwrap_or(0.0))
                    .collect();
                let mean = scores.iter().sum::<f64>() / scores.len().max(1) as f64;
                for c in g.prunable() {
                    let s = score.get(&c).copied().unwrap_or(0.0);
                    all.push((if mean > 0.0 { s / mean } else { s }, c, gi));
                }
            }
            all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let want = (total as f64 * ratio).floor() as usize;
            let mut per_group: Vec<Vec<u32>> = vec![Vec::new(); groups.len()];
            for &(_, c, gi) in all.iter().take(want) {
                per_group[gi].push(c);
            }
            for (gi, g) in groups.iter().enumerate() {
                let n = g.classes.len();
                let remove = n - kept_count(n, per_group[gi].len(), multiple);
                out.extend(per_group[gi].iter().take(remove).copied());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_counts_round_up_to_the_multiple() {
        assert_eq!(kept_count(16, 4, 1), 12);
        assert_eq!(kept_count(16, 5, 4), 12);
        assert_eq!(kept_count(16, 16, 1), 1);
        assert_eq!(kept_count(16, 15, 8), 8);
        assert_eq!(kept_count(3, 1, 8), 2);
    }
}
