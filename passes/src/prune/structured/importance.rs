//! How much each channel class matters: the magnitude of the weights its
//! removal deletes (L1 or L2 norm of every weight slice it touches, averaged
//! over those slices, as Torch-Pruning's group magnitude importance does;
//! biases are left out).

use super::analyze::Analysis;
use super::tags::NONE;
use pare_ir::{Graph, Tensor};
use std::collections::BTreeMap;

/// The norm a magnitude criterion uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Norm {
    L1,
    L2,
}

/// Sum of |w|^p over each index along `axis`.
fn slice_norms(t: &Tensor, axis: usize, norm: Norm) -> Vec<f64> {
    let shape = t.shape();
    let d = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    let mut acc = vec![0.0f64; d];
    for (e, x) in t.to_f64_vec().into_iter().enumerate() {
        let i = (e / inner) % d;
        acc[i] += match norm {
            Norm::L1 => x.abs(),
            Norm::L2 => x * x,
        };
    }
    if norm == Norm::L2 {
        for a in &mut acc {
            *a = a.sqrt();
        }
    }
    acc
}

/// Sum of w² over each index along `axis`.
pub fn slice_norms_sq(t: &Tensor, axis: usize) -> Vec<f64> {
    slice_norms(t, axis, Norm::L2)
        .into_iter()
        .map(|n| n * n)
        .collect()
}

/// The mean slice norm of each class over every weight slice it removes.
pub fn magnitude(
    g: &Graph,
    an: &Analysis,
    norm: Norm,
) -> Result<BTreeMap<u32, f64>, pare_ir::IrError> {
    let mut sum: BTreeMap<u32, (f64, usize)> = BTreeMap::new();
    for cut in &an.cuts {
        // Weights only: a bias says where a channel sits, not what it carries.
        if cut.slot != 1 {
            continue;
        }
        let Some(w) = g
            .node(cut.node)
            .input(cut.slot)
            .and_then(|v| g.weight_of(v))
        else {
            continue;
        };
        let t = w.tensor()?;
        for (axis, ids) in &cut.axes {
            let norms = slice_norms(&t, *axis, norm);
            for (i, &id) in ids.iter().enumerate() {
                if id == NONE {
                    continue;
                }
                let e = sum.entry(an.class(id)).or_insert((0.0, 0));
                e.0 += norms[i];
                e.1 += 1;
            }
        }
    }
    Ok(sum
        .into_iter()
        .map(|(c, (s, n))| (c, s / n.max(1) as f64))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_norms_per_row_and_column() {
        let t = Tensor::from_vec(vec![2, 2], vec![3.0f32, 4.0, -1.0, 0.0]).unwrap();
        assert_eq!(slice_norms(&t, 0, Norm::L2), vec![5.0, 1.0]);
        assert_eq!(slice_norms(&t, 1, Norm::L1), vec![4.0, 4.0]);
    }
}
