//! Channel tags: for every element of a tensor, which prunable channel it
//! carries (0: none), and the two questions structured pruning asks of them —
//! how a constant operand lines up with a broadcast result, and whether a set
//! of removed elements is a union of whole slices along axes (so that what
//! remains is still a rectangular tensor).

use pare_ir::Tensor;

/// No channel: an element that came from no prunable layer.
pub const NONE: u32 = 0;

/// A tensor of channel ids, row-major, with a fully known shape.
#[derive(Clone, Debug, PartialEq)]
pub struct Tags {
    pub shape: Vec<usize>,
    pub ids: Vec<u32>,
}

impl Tags {
    pub fn none(shape: &[usize]) -> Tags {
        Tags {
            shape: shape.to_vec(),
            ids: vec![NONE; shape.iter().product()],
        }
    }

    pub fn any(&self) -> bool {
        self.ids.iter().any(|&t| t != NONE)
    }

    /// As an i64 tensor, so the interpreter's data-movement kernels can move
    /// the ids exactly as they move the data (padding fills with 0 = NONE).
    pub fn to_tensor(&self) -> Tensor {
        let v: Vec<i64> = self.ids.iter().map(|&t| i64::from(t)).collect();
        Tensor::from_vec(self.shape.clone(), v).expect("tags match their shape")
    }

    pub fn from_tensor(t: &Tensor) -> Option<Tags> {
        let ids = t
            .to_i64_vec()
            .into_iter()
            .map(|v| u32::try_from(v).ok())
            .collect::<Option<Vec<u32>>>()?;
        Some(Tags {
            shape: t.shape().to_vec(),
            ids,
        })
    }
}

/// Row-major strides of `shape`.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// For each element of `out_shape`, the index of the element of an operand
/// of shape `operand` (numpy broadcasting, aligned right) it reads.
pub fn broadcast_map(operand: &[usize], out_shape: &[usize]) -> Vec<usize> {
    let rank = out_shape.len();
    let pad = rank - operand.len().min(rank);
    let ost = strides(operand);
    // Stride of each output axis in the operand (0 where broadcast).
    let st: Vec<usize> = (0..rank)
        .map(|a| {
            if a < pad {
                0
            } else {
                let k = a - pad;
                if operand[k] == 1 {
                    0
                } else {
                    ost[k]
                }
            }
        })
        .collect();
    let n: usize = out_shape.iter().product();
    let mut map = Vec::with_capacity(n);
    let mut idx = vec![0usize; rank];
    for _ in 0..n {
        map.push(idx.iter().zip(&st).map(|(i, s)| i * s).sum());
        for a in (0..rank).rev() {
            idx[a] += 1;
            if idx[a] < out_shape[a] {
                break;
            }
            idx[a] = 0;
        }
    }
    map
}

/// Which whole slices along each axis `removed` consists of, or `None` when
/// the removed elements are not a union of whole slices (removing them would
/// leave a ragged tensor). `result[a]` lists the removed indices along axis
/// `a`, ascending.
pub fn removed_slices(shape: &[usize], removed: &[bool]) -> Option<Vec<Vec<usize>>> {
    let rank = shape.len();
    let st = strides(shape);
    // An index i along axis a is removed when every element of its slice is.
    let mut out = Vec::with_capacity(rank);
    for a in 0..rank {
        let mut full = vec![true; shape[a]];
        for (e, &r) in removed.iter().enumerate() {
            if !r {
                full[(e / st[a]) % shape[a]] = false;
            }
        }
        out.push(
            full.iter()
                .enumerate()
                .filter(|(_, &f)| f)
                .map(|(i, _)| i)
                .collect::<Vec<_>>(),
        );
    }
    // Every removed element must lie in one of those slices.
    let mut member: Vec<Vec<bool>> = shape.iter().map(|&d| vec![false; d]).collect();
    for (a, idx) in out.iter().enumerate() {
        for &i in idx {
            member[a][i] = true;
        }
    }
    for (e, &r) in removed.iter().enumerate() {
        if r && !(0..rank).any(|a| member[a][(e / st[a]) % shape[a]]) {
            return None;
        }
    }
    Some(out)
}

/// The kept indices of an axis of size `n` once `removed` (ascending) go.
pub fn kept(n: usize, removed: &[usize]) -> Vec<usize> {
    let mut r = removed.iter().peekable();
    (0..n)
        .filter(|i| {
            if r.peek() == Some(&i) {
                r.next();
                false
            } else {
                true
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_map_aligns_right_and_repeats_unit_axes() {
        // [2,1] against [2,3]: each row reads its one element.
        assert_eq!(broadcast_map(&[2, 1], &[2, 3]), vec![0, 0, 0, 1, 1, 1]);
        // [3] against [2,3]: each row reads the whole vector.
        assert_eq!(broadcast_map(&[3], &[2, 3]), vec![0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn removed_slices_finds_rows_and_columns() {
        // 3x3, remove row 1 and column 2.
        let r: Vec<bool> = (0..9).map(|e| e / 3 == 1 || e % 3 == 2).collect();
        assert_eq!(removed_slices(&[3, 3], &r), Some(vec![vec![1], vec![2]]));
    }

    #[test]
    fn a_lone_element_is_not_a_slice() {
        let mut r = vec![false; 4];
        r[0] = true;
        assert_eq!(removed_slices(&[2, 2], &r), None);
    }

    #[test]
    fn kept_skips_the_removed() {
        assert_eq!(kept(5, &[1, 3]), vec![0, 2, 4]);
        assert_eq!(kept(3, &[]), vec![0, 1, 2]);
    }
}
