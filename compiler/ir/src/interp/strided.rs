//! Strided iteration: multidirectional broadcasting and strided gathers (transpose,
//! slices with steps, expand), walking the output row by row so the inner loop is a
//! plain strided run with no per-element index arithmetic beyond one multiply-add.

/// ONNX multidirectional broadcast of two shapes; `None` if incompatible.
pub(crate) fn broadcast_shapes(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let r = a.len().max(b.len());
    let mut out = vec![0; r];
    for (i, o) in out.iter_mut().enumerate() {
        let da = if i + a.len() >= r {
            a[i + a.len() - r]
        } else {
            1
        };
        let db = if i + b.len() >= r {
            b[i + b.len() - r]
        } else {
            1
        };
        *o = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

/// Strides for reading a tensor of `shape` broadcast to `out` (right-aligned; 0 on
/// broadcast dims). The caller has checked `shape` broadcasts to `out`.
pub(super) fn broadcast_strides(shape: &[usize], out: &[usize]) -> Vec<isize> {
    let mut s = vec![0isize; out.len()];
    let off = out.len() - shape.len();
    let mut acc = 1isize;
    for i in (0..shape.len()).rev() {
        if shape[i] != 1 {
            s[i + off] = acc;
        }
        acc *= shape[i] as isize;
    }
    s
}

/// Calls `row(bases, inner_strides, len)` for every innermost row of a walk over
/// `shape`, where operand `k` starts at `start[k]` and moves by `strides[k][d]`
/// along dim `d`. A rank-0 shape is one row of length 1; an empty shape has none.
pub(super) fn for_each_row<const N: usize>(
    shape: &[usize],
    strides: [&[isize]; N],
    start: [isize; N],
    mut row: impl FnMut([isize; N], [isize; N], usize),
) {
    let r = shape.len();
    if r == 0 {
        row(start, [0; N], 1);
        return;
    }
    if shape.contains(&0) {
        return;
    }
    let len = shape[r - 1];
    let inner: [isize; N] = std::array::from_fn(|k| strides[k][r - 1]);
    let mut idx = vec![0usize; r - 1];
    let mut base = start;
    loop {
        row(base, inner, len);
        let mut d = r - 1;
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            idx[d] += 1;
            for k in 0..N {
                base[k] += strides[k][d];
            }
            if idx[d] < shape[d] {
                break;
            }
            for k in 0..N {
                base[k] -= strides[k][d] * shape[d] as isize;
            }
            idx[d] = 0;
        }
    }
}

/// Reads `data` along `strides` from `start` into a new row-major buffer of `shape`.
pub(super) fn gather_strided<T: Copy>(
    data: &[T],
    shape: &[usize],
    strides: &[isize],
    start: isize,
    n: usize,
) -> Vec<T> {
    let mut out = Vec::with_capacity(n);
    for_each_row(shape, [strides], [start], |[b], [s], len| {
        if s == 1 {
            out.extend_from_slice(&data[b as usize..b as usize + len]);
        } else {
            out.extend((0..len as isize).map(|j| data[(b + j * s) as usize]));
        }
    });
    out
}

/// `f` applied element-wise to `a` and `b` broadcast to `out` (`n` elements).
pub(super) fn map2<A: Copy, B: Copy, O>(
    (a, ash): (&[A], &[usize]),
    (b, bsh): (&[B], &[usize]),
    out: &[usize],
    n: usize,
    f: impl Fn(A, B) -> O,
) -> Vec<O> {
    if ash == out && bsh == out {
        return a.iter().zip(b).map(|(&x, &y)| f(x, y)).collect();
    }
    if ash == out && b.len() == 1 {
        let y = b[0];
        return a.iter().map(|&x| f(x, y)).collect();
    }
    if bsh == out && a.len() == 1 {
        let x = a[0];
        return b.iter().map(|&y| f(x, y)).collect();
    }
    let sa = broadcast_strides(ash, out);
    let sb = broadcast_strides(bsh, out);
    let mut res = Vec::with_capacity(n);
    for_each_row(out, [&sa, &sb], [0, 0], |[ba, bb], [ia, ib], len| {
        for j in 0..len as isize {
            res.push(f(a[(ba + j * ia) as usize], b[(bb + j * ib) as usize]));
        }
    });
    res
}

/// `f` applied element-wise to three operands broadcast to `out` (`n` elements).
pub(super) fn map3<A: Copy, B: Copy, C: Copy, O>(
    (a, ash): (&[A], &[usize]),
    (b, bsh): (&[B], &[usize]),
    (c, csh): (&[C], &[usize]),
    out: &[usize],
    n: usize,
    f: impl Fn(A, B, C) -> O,
) -> Vec<O> {
    let sa = broadcast_strides(ash, out);
    let sb = broadcast_strides(bsh, out);
    let sc = broadcast_strides(csh, out);
    let mut res = Vec::with_capacity(n);
    for_each_row(
        out,
        [&sa, &sb, &sc],
        [0, 0, 0],
        |[ba, bb, bc], [ia, ib, ic], len| {
            for j in 0..len as isize {
                res.push(f(
                    a[(ba + j * ia) as usize],
                    b[(bb + j * ib) as usize],
                    c[(bc + j * ic) as usize],
                ));
            }
        },
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_shape_rules() {
        assert_eq!(broadcast_shapes(&[2, 1, 3], &[4, 1]), Some(vec![2, 4, 3]));
        assert_eq!(broadcast_shapes(&[], &[3]), Some(vec![3]));
        assert_eq!(broadcast_shapes(&[0, 1], &[1, 5]), Some(vec![0, 5]));
        assert_eq!(broadcast_shapes(&[2], &[3]), None);
    }

    #[test]
    fn map2_broadcasts_both_ways() {
        let a = [1, 2, 3];
        let b = [10, 20];
        let out = map2((&a, &[1, 3]), (&b, &[2, 1]), &[2, 3], 6, |x, y| x + y);
        assert_eq!(out, vec![11, 12, 13, 21, 22, 23]);
    }

    #[test]
    fn gather_strided_transposes_and_reverses() {
        let d = [0, 1, 2, 3, 4, 5];
        assert_eq!(
            gather_strided(&d, &[3, 2], &[1, 3], 0, 6),
            vec![0, 3, 1, 4, 2, 5]
        );
        assert_eq!(gather_strided(&d, &[3], &[-2], 5, 3), vec![5, 3, 1]);
    }
}
