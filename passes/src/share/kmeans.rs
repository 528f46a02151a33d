//! Weighted one-dimensional k-means: k-means++ seeding from a fixed seed, then
//! Lloyd iterations, over the distinct values of a weight group (each with the
//! summed importance of its elements). In one dimension a cluster is a run of
//! sorted values, so each iteration is a binary search per boundary plus prefix
//! sums, and the whole fit costs O(n log n) for the sort.

/// A fitted codebook: the centroids, ascending.
#[derive(Clone, Debug, PartialEq)]
pub struct Fit {
    pub centroids: Vec<f64>,
    /// Σ importance · (value − centroid)² over the points.
    pub cost: f64,
}

/// Distinct values with their summed importance, ascending.
#[derive(Debug)]
pub struct Points {
    pub values: Vec<f64>,
    pub weights: Vec<f64>,
}

impl Points {
    /// Merges equal values of `(value, importance)` pairs; importances must be > 0.
    pub fn new(mut pairs: Vec<(f64, f64)>) -> Points {
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut values: Vec<f64> = Vec::new();
        let mut weights: Vec<f64> = Vec::new();
        for (v, w) in pairs {
            if values.last() == Some(&v) {
                *weights.last_mut().expect("pushed together") += w;
            } else {
                values.push(v);
                weights.push(w);
            }
        }
        Points { values, weights }
    }
}

const ITERATIONS: usize = 100;
/// k-means++ seedings tried; the one that ends with the least cost wins.
const RESTARTS: u64 = 3;

/// Fits `k` centroids to `p`. `fixed` (e.g. an exact zero that pruned weights
/// must keep) is always one of them and never moves. With at most `k` distinct
/// values the codebook is the values themselves (no error).
pub fn fit(p: &Points, k: usize, fixed: Option<f64>, seed: u64) -> Fit {
    let n = p.values.len();
    if n <= k {
        let mut c = p.values.clone();
        if let Some(f) = fixed {
            if !c.contains(&f) && c.len() < k {
                c.push(f);
                c.sort_by(f64::total_cmp);
            }
        }
        return Fit {
            centroids: c,
            cost: 0.0,
        };
    }
    let prefix = Prefix::new(p);
    (0..RESTARTS)
        .map(|r| lloyd(p, &prefix, seed_plus_plus(p, k, fixed, seed ^ r), fixed))
        .min_by(|a, b| a.cost.total_cmp(&b.cost))
        .expect("at least one restart")
}

/// k-means++: each next centroid drawn with probability ∝ importance · D².
fn seed_plus_plus(p: &Points, k: usize, fixed: Option<f64>, seed: u64) -> Vec<f64> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut c: Vec<f64> = Vec::with_capacity(k);
    let mut d2: Vec<f64> = vec![f64::INFINITY; p.values.len()];
    let push = |c: &mut Vec<f64>, x: f64, d2: &mut Vec<f64>| {
        c.push(x);
        for (d, &v) in d2.iter_mut().zip(&p.values) {
            *d = d.min((v - x) * (v - x));
        }
    };
    match fixed {
        Some(f) => push(&mut c, f, &mut d2),
        None => {
            let total: f64 = p.weights.iter().sum();
            let at = pick(&p.weights, rng.f64() * total);
            push(&mut c, p.values[at], &mut d2);
        }
    }
    while c.len() < k {
        let mass: Vec<f64> = d2.iter().zip(&p.weights).map(|(d, w)| d * w).collect();
        let total: f64 = mass.iter().sum();
        if total <= 0.0 {
            break; // every point already sits on a centroid
        }
        let at = pick(&mass, rng.f64() * total);
        push(&mut c, p.values[at], &mut d2);
    }
    c.sort_by(f64::total_cmp);
    c.dedup();
    c
}

/// The first index where the running sum of `mass` passes `target`.
fn pick(mass: &[f64], target: f64) -> usize {
    let mut acc = 0.0;
    for (i, m) in mass.iter().enumerate() {
        acc += m;
        if acc > target && *m > 0.0 {
            return i;
        }
    }
    mass.iter().rposition(|&m| m > 0.0).unwrap_or(0)
}

/// Prefix sums of w, w·v and w·v² over the sorted points.
struct Prefix {
    w: Vec<f64>,
    wv: Vec<f64>,
    wvv: Vec<f64>,
}

impl Prefix {
    fn new(p: &Points) -> Prefix {
        let mut s = Prefix {
            w: vec![0.0],
            wv: vec![0.0],
            wvv: vec![0.0],
        };
        for (&v, &w) in p.values.iter().zip(&p.weights) {
            s.w.push(s.w.last().unwrap() + w);
            s.wv.push(s.wv.last().unwrap() + w * v);
            s.wvv.push(s.wvv.last().unwrap() + w * v * v);
        }
        s
    }

    /// Σw, Σwv, Σwv² over points `lo..hi`.
    fn range(&self, lo: usize, hi: usize) -> (f64, f64, f64) {
        (
            self.w[hi] - self.w[lo],
            self.wv[hi] - self.wv[lo],
            self.wvv[hi] - self.wvv[lo],
        )
    }
}

/// Lloyd iterations from sorted centroids `c`: assign each point to its nearest
/// centroid (runs between midpoints), move each centroid to its run's weighted
/// mean, until nothing moves. Empty runs drop their centroid.
fn lloyd(p: &Points, s: &Prefix, mut c: Vec<f64>, fixed: Option<f64>) -> Fit {
    let bounds = |c: &[f64]| -> Vec<usize> {
        let mut b = vec![0];
        for w in c.windows(2) {
            let mid = 0.5 * (w[0] + w[1]);
            b.push(p.values.partition_point(|&v| v <= mid));
        }
        b.push(p.values.len());
        b
    };
    for _ in 0..ITERATIONS {
        let b = bounds(&c);
        let mut next = Vec::with_capacity(c.len());
        for (i, &ci) in c.iter().enumerate() {
            let (w, wv, _) = s.range(b[i], b[i + 1]);
            if Some(ci) == fixed {
                next.push(ci);
            } else if w > 0.0 {
                next.push(wv / w);
            }
        }
        next.sort_by(f64::total_cmp);
        next.dedup();
        if next == c {
            break;
        }
        c = next;
    }
    let b = bounds(&c);
    let cost = c
        .iter()
        .enumerate()
        .map(|(i, &ci)| {
            let (w, wv, wvv) = s.range(b[i], b[i + 1]);
            (wvv - 2.0 * ci * wv + ci * ci * w).max(0.0)
        })
        .sum();
    Fit { centroids: c, cost }
}

/// The centroid nearest `v` in sorted `c` (the lower one on a tie).
pub fn nearest(c: &[f64], v: f64) -> f64 {
    let at = c.partition_point(|&x| x < v);
    match (at.checked_sub(1).map(|i| c[i]), c.get(at)) {
        (Some(lo), Some(&hi)) => {
            if v - lo <= hi - v {
                lo
            } else {
                hi
            }
        }
        (Some(lo), None) => lo,
        (None, Some(&hi)) => hi,
        (None, None) => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(v: &[f64]) -> Points {
        Points::new(v.iter().map(|&x| (x, 1.0)).collect())
    }

    #[test]
    fn separated_clusters_are_found_exactly() {
        let v: Vec<f64> = [0.0, 0.1, 0.2, 5.0, 5.1, 5.2, -3.0, -3.1]
            .into_iter()
            .collect();
        let f = fit(&points(&v), 3, None, 7);
        let want = [-3.05, 0.1, 5.1];
        for (c, w) in f.centroids.iter().zip(want) {
            assert!((c - w).abs() < 1e-9, "{:?}", f.centroids);
        }
    }

    #[test]
    fn few_values_are_kept_and_fixed_zero_stays() {
        let f = fit(&points(&[1.0, 2.0]), 4, Some(0.0), 1);
        assert_eq!(f.centroids, vec![0.0, 1.0, 2.0]);
        let v: Vec<f64> = (0..100).map(|i| (i as f64 * 0.37).sin()).collect();
        let mut with_zero = v.clone();
        with_zero.extend([0.0; 10]);
        let f = fit(&points(&with_zero), 8, Some(0.0), 1);
        assert!(f.centroids.contains(&0.0));
        assert!(f.centroids.len() <= 8);
    }

    #[test]
    fn deterministic_and_better_with_more_clusters() {
        let v: Vec<f64> = (0..1000)
            .map(|i| ((i * 7919) % 1000) as f64 / 997.0)
            .collect();
        let p = points(&v);
        assert_eq!(fit(&p, 16, None, 3), fit(&p, 16, None, 3));
        let costs: Vec<f64> = [4, 16, 64]
            .iter()
            .map(|&k| fit(&p, k, None, 3).cost)
            .collect();
        assert!(costs[0] > costs[1] && costs[1] > costs[2], "{costs:?}");
    }

    #[test]
    fn importance_pulls_centroids() {
        let p = Points::new(vec![(0.0, 1.0), (1.0, 9.0)]);
        let f = lloyd(&p, &Prefix::new(&p), vec![0.5], None);
        assert!((f.centroids[0] - 0.9).abs() < 1e-12);
        assert_eq!(nearest(&[0.0, 1.0, 2.0], 1.5), 1.0);
        assert_eq!(nearest(&[0.0, 1.0, 2.0], 1.6), 2.0);
    }
}
