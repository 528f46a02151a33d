//! Which weights magnitude pruning zeroes: the smallest |w| over all layers
//! (global), within each layer, or the smallest M−N of every M consecutive
//! elements along the reduction axis (N:M). Pure functions over f32 slices.
//!
//! Ties are broken by position so the result never depends on sort stability:
//! among equal magnitudes the earlier layer, then the earlier element, is pruned
//! first.

use std::cmp::Ordering;

/// How a weight's elements are laid out around the axis N:M groups run along:
/// element `(o, r, i)` sits at `(o * reduce + r) * inner + i`, and a group is M
/// consecutive `r` at fixed `o` and `i`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReductionView {
    pub outer: usize,
    pub reduce: usize,
    pub inner: usize,
}

/// Orders (magnitude, layer, element) ascending; magnitudes are finite here.
fn by_magnitude(a: (f32, usize, usize), b: (f32, usize, usize)) -> Ordering {
    a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2))
}

/// How many of `n` elements a ratio prunes (rounded like torch's pruning does).
pub fn prune_count(ratio: f64, n: usize) -> usize {
    ((ratio * n as f64).round() as usize).min(n)
}

/// Global magnitude pruning: one threshold over every layer's |w|. Returns, per
/// layer, which elements to zero, and the largest pruned magnitude (the
/// threshold), if any was pruned.
pub fn global_masks(layers: &[&[f32]], ratio: f64) -> (Vec<Vec<bool>>, Option<f32>) {
    let mut all: Vec<(f32, usize, usize)> = layers
        .iter()
        .enumerate()
        .flat_map(|(l, w)| w.iter().enumerate().map(move |(k, x)| (x.abs(), l, k)))
        .collect();
    let k = prune_count(ratio, all.len());
    let mut masks: Vec<Vec<bool>> = layers.iter().map(|w| vec![false; w.len()]).collect();
    if k == 0 {
        return (masks, None);
    }
    // Only the k smallest need ordering among themselves.
    all.select_nth_unstable_by(k - 1, |a, b| by_magnitude(*a, *b));
    let threshold = all[..k].iter().map(|e| e.0).fold(0.0f32, f32::max);
    for &(_, l, e) in &all[..k] {
        masks[l][e] = true;
    }
    (masks, Some(threshold))
}

/// Per-layer magnitude pruning: `ratio` of this layer's elements.
pub fn layer_mask(w: &[f32], ratio: f64) -> Vec<bool> {
    global_masks(&[w], ratio).0.remove(0)
}

/// N:M pruning: in every group of `m` consecutive elements along the reduction
/// axis keep the `n` largest |w| (a last, shorter group keeps `min(n, len)`).
pub fn nm_mask(w: &[f32], view: ReductionView, n: usize, m: usize) -> Vec<bool> {
    let mut mask = vec![false; w.len()];
    let mut group: Vec<(f32, usize, usize)> = Vec::with_capacity(m);
    for o in 0..view.outer {
        for i in 0..view.inner {
            let mut r0 = 0;
            while r0 < view.reduce {
                let len = m.min(view.reduce - r0);
                group.clear();
                group.extend((r0..r0 + len).map(|r| {
                    let at = (o * view.reduce + r) * view.inner + i;
                    (w[at].abs(), 0, at)
                }));
                group.sort_by(|a, b| by_magnitude(*a, *b));
                let drop = len - n.min(len);
                for &(_, _, at) in &group[..drop] {
                    mask[at] = true;
                }
                r0 += len;
            }
        }
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_uses_one_threshold_across_layers() {
        let a = [0.1f32, -5.0, 0.2, 3.0];
        let b = [-0.05f32, 4.0];
        let (m, t) = global_masks(&[&a, &b], 0.5);
        assert_eq!(m[0], vec![true, false, true, false]);
        assert_eq!(m[1], vec![true, false]);
        assert_eq!(t, Some(0.2));
    }

    #[test]
    fn ties_prune_earlier_elements_first() {
        let w = [1.0f32, -1.0, 1.0, 1.0];
        assert_eq!(layer_mask(&w, 0.5), vec![true, true, false, false]);
    }

    #[test]
    fn nm_keeps_the_largest_of_each_group_along_the_reduction() {
        // Two output rows of six: groups [0..4] and the short [4..6].
        let w = [
            4.0f32, -1.0, 3.0, 0.5, 9.0, 8.0, 1.0, 2.0, 3.0, 4.0, 0.0, -1.0,
        ];
        let v = ReductionView {
            outer: 2,
            reduce: 6,
            inner: 1,
        };
        let m = nm_mask(&w, v, 2, 4);
        let kept: Vec<bool> = m.iter().map(|p| !p).collect();
        assert_eq!(
            kept,
            vec![true, false, true, false, true, true, false, false, true, true, true, true]
        );
        // Along a strided axis: [K=4, N=2] with groups down each column.
        let w = [1.0f32, 8.0, 2.0, 7.0, 3.0, 6.0, 4.0, 5.0];
        let v = ReductionView {
            outer: 1,
            reduce: 4,
            inner: 2,
        };
        let m = nm_mask(&w, v, 2, 4);
        assert_eq!(m, vec![true, false, true, false, false, true, false, true]);
    }
}
