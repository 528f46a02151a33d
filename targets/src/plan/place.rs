//! Placement: an offset in one arena for each buffer, such that buffers live at
//! the same step never overlap, with the arena as small as we can find.
//!
//! The heuristic is the one of TFLite Micro's greedy memory planner, widened:
//! take the buffers one by one in some order; put each into the lowest-cost gap
//! between the already placed buffers whose lifetimes intersect its own, or on
//! top of them. Which order and which gap work best depends on the graph, so
//! several fixed (order, fit) strategies run and the smallest arena wins (the
//! earliest strategy on a tie). The search stops as soon as a strategy reaches
//! the lower bound, which no placement can beat. If none does, a bounded local
//! search perturbs the best order (one buffer moved earlier at a time, kept if
//! the arena does not grow), with a fixed seed so results stay deterministic.
//! Each greedy pass costs O(n²) for n buffers; graphs for microcontrollers have
//! tens to hundreds, and the search budget shrinks with n².
//!
//! The bound is not always reachable (it ignores how buffers must nest over
//! time), but every compacted packing is the first-fit result of taking its
//! buffers in order of offset, so searching orders can find any optimum.

use super::PlanError;

/// A buffer to place: lifetime `[first, last]` and footprint (its size rounded
/// up to the alignment; every offset is a multiple of it too, so aligned
/// footprints that do not overlap leave aligned gaps).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Item {
    pub first: usize,
    pub last: usize,
    pub size: u64,
}

impl Item {
    fn meets(&self, o: &Item) -> bool {
        self.first <= o.last && o.first <= self.last && self.size > 0 && o.size > 0
    }
}

/// Which gap a buffer goes into.
#[derive(Clone, Copy, Debug)]
enum Fit {
    /// The lowest gap that fits (TFLite Micro's choice).
    First,
    /// The smallest gap that fits (lowest on a tie): keeps big gaps for big buffers.
    Best,
}

/// The orders tried, most often best first. Keys sort ascending; every key ends
/// with the item's index so orders are total.
type OrderKey = fn(&Item, u64) -> (u64, u64, u64);

const ORDERS: [(&str, OrderKey); 5] = [
    // Buffers live at a fuller step first: the peak step's buffers stack
    // tightly, which is what the lower bound assumes.
    ("congestion", |it, congestion| {
        (u64::MAX - congestion, u64::MAX - it.size, it.first as u64)
    }),
    ("size", |it, _| (u64::MAX - it.size, it.first as u64, 0)),
    ("length", |it, _| {
        let len = (it.last - it.first) as u64;
        (u64::MAX - len, u64::MAX - it.size, it.first as u64)
    }),
    ("area", |it, _| {
        let area = it.size.saturating_mul((it.last - it.first + 1) as u64);
        (u64::MAX - area, u64::MAX - it.size, it.first as u64)
    }),
    ("chronological", |it, _| {
        (it.first as u64, u64::MAX - it.size, 0)
    }),
];

/// Offsets for `items` and the arena size (the highest footprint end), the
/// best over all strategies; `lower_bound` lets the search stop early.
pub(crate) fn place(items: &[Item], lower_bound: u64) -> Result<(Vec<u64>, u64), PlanError> {
    let congestion = congestion(items);
    let mut best: Option<(Vec<u64>, u64, Vec<usize>, Fit)> = None;
    for (_, key) in ORDERS {
        let mut order: Vec<usize> = (0..items.len()).collect();
        order.sort_by_key(|&i| (key(&items[i], congestion[i]), i));
        for fit in [Fit::Best, Fit::First] {
            let (offsets, arena) = greedy(items, &order, fit)?;
            if best.as_ref().is_none_or(|b| arena < b.1) {
                best = Some((offsets, arena, order.clone(), fit));
            }
            if arena <= lower_bound {
                return Ok(best.map(|b| (b.0, b.1)).unwrap_or_default());
            }
        }
    }
    let Some((mut offsets, mut arena, mut order, fit)) = best else {
        return Ok((Vec::new(), 0));
    };
    // Local search from the best order: move one buffer earlier, keep the
    // order if the arena does not grow (equal moves let the search drift).
    let mut rng = fastrand::Rng::with_seed(0x9e37_79b9_7f4a_7c15);
    let n = items.len();
    let tries = if n < 2 {
        0
    } else {
        (SEARCH_WORK / (n * n)).min(SEARCH_TRIES)
    };
    for _ in 0..tries {
        let (i, j) = (rng.usize(..n), rng.usize(..n));
        let (lo, hi) = (i.min(j), i.max(j));
        let mut cand = order.clone();
        cand[lo..=hi].rotate_right(1);
        for f in [fit, other(fit)] {
            let (o, a) = greedy(items, &cand, f)?;
            if a <= arena {
                (offsets, arena, order) = (o, a, cand.clone());
                break;
            }
        }
        if arena <= lower_bound {
            break;
        }
    }
    Ok((offsets, arena))
}

fn other(fit: Fit) -> Fit {
    match fit {
        Fit::Best => Fit::First,
        Fit::First => Fit::Best,
    }
}

/// Budget of the local search: at most this many reorderings, and about this
/// many buffer-pair visits in all (each greedy pass is O(n²)).
const SEARCH_TRIES: usize = 2000;
const SEARCH_WORK: usize = 40_000_000;

/// For each item, the most bytes live at any step of its lifetime.
fn congestion(items: &[Item]) -> Vec<u64> {
    let steps = items.iter().map(|it| it.last + 1).max().unwrap_or(0);
    let mut at = vec![0u64; steps];
    for it in items {
        for slot in &mut at[it.first..=it.last] {
            *slot = slot.saturating_add(it.size);
        }
    }
    items
        .iter()
        .map(|it| at[it.first..=it.last].iter().copied().max().unwrap_or(0))
        .collect()
}

/// Places items in `order`, each into a gap chosen by `fit` among the placed
/// items it meets in time.
fn greedy(items: &[Item], order: &[usize], fit: Fit) -> Result<(Vec<u64>, u64), PlanError> {
    let mut offsets = vec![0u64; items.len()];
    let mut placed: Vec<usize> = Vec::with_capacity(items.len());
    let mut arena = 0u64;
    for &i in order {
        let it = items[i];
        if it.size == 0 {
            continue;
        }
        let mut busy: Vec<(u64, u64)> = placed
            .iter()
            .filter(|&&j| items[j].meets(&it))
            .map(|&j| (offsets[j], offsets[j] + items[j].size))
            .collect();
        busy.sort_unstable();
        let mut top = 0u64;
        let mut chosen: Option<(u64, u64)> = None; // (gap, offset)
        for (lo, hi) in busy {
            if lo >= top && lo - top >= it.size {
                let gap = lo - top;
                let better = match (fit, chosen) {
                    (_, None) => true,
                    (Fit::First, Some(_)) => false,
                    (Fit::Best, Some((g, _))) => gap < g,
                };
                if better {
                    chosen = Some((gap, top));
                }
            }
            top = top.max(hi);
        }
        let offset = chosen.map_or(top, |(_, off)| off);
        let end = offset
            .checked_add(it.size)
            .ok_or(PlanError::ArenaOverflow)?;
        offsets[i] = offset;
        arena = arena.max(end);
        placed.push(i);
    }
    Ok((offsets, arena))
}
