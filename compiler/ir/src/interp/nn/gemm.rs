//! Safe wrappers over `matrixmultiply`'s `sgemm`/`dgemm`: every matrix view is
//! bounds-checked before the raw-pointer call, so no caller can reach out of bounds.
#![allow(unsafe_code)]

/// A read-only strided matrix view: element (i, j) is `data[i * rs + j * cs]`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Mat<'a, T> {
    pub data: &'a [T],
    pub rs: usize,
    pub cs: usize,
}

impl<'a, T> Mat<'a, T> {
    /// A contiguous row-major matrix with `cols` columns.
    pub fn rows(data: &'a [T], cols: usize) -> Mat<'a, T> {
        Mat {
            data,
            rs: cols,
            cs: 1,
        }
    }
    /// The transpose of a contiguous row-major matrix with `cols` columns.
    pub fn transposed(data: &'a [T], cols: usize) -> Mat<'a, T> {
        Mat {
            data,
            rs: 1,
            cs: cols,
        }
    }
    /// Whether a `r` x `c` view fits in `data` (and strides fit `isize`).
    fn fits(&self, r: usize, c: usize) -> bool {
        if r == 0 || c == 0 {
            return true;
        }
        let last = (r - 1)
            .checked_mul(self.rs)
            .and_then(|x| (c - 1).checked_mul(self.cs).and_then(|y| x.checked_add(y)));
        matches!(last, Some(l) if l < self.data.len())
            && isize::try_from(self.rs).is_ok()
            && isize::try_from(self.cs).is_ok()
    }
}

macro_rules! gemm_fn {
    ($name:ident, $t:ty, $mm:path) => {
        /// `c[i * rsc + j] = alpha * sum_p a(i, p) b(p, j) + beta * c[..]` for an
        /// `m` x `k` by `k` x `n` product. Panics only on views that do not fit, which
        /// is a bug in the calling kernel (kernels size every buffer from the shapes).
        #[allow(clippy::too_many_arguments)]
        pub(crate) fn $name(
            m: usize,
            k: usize,
            n: usize,
            alpha: $t,
            a: Mat<'_, $t>,
            b: Mat<'_, $t>,
            beta: $t,
            c: &mut [$t],
            rsc: usize,
        ) {
            if m == 0 || n == 0 {
                return;
            }
            let c_fits = (m - 1)
                .checked_mul(rsc)
                .and_then(|x| x.checked_add(n - 1))
                .is_some_and(|l| l < c.len())
                && isize::try_from(rsc).is_ok();
            assert!(
                a.fits(m, k) && b.fits(k, n) && c_fits,
                "gemm view out of bounds"
            );
            if k == 0 {
                for i in 0..m {
                    for v in &mut c[i * rsc..i * rsc + n] {
                        *v = if beta == 0.0 { 0.0 } else { beta * *v };
                    }
                }
                return;
            }
            // SAFETY: the checks above prove every index the routine touches,
            // (m-1)*rs + (k-1)*cs for a, (k-1)*rs + (n-1)*cs for b and
            // (m-1)*rsc + n-1 for c, lies inside the respective slice, and strides fit isize.
            unsafe {
                $mm(
                    m,
                    k,
                    n,
                    alpha,
                    a.data.as_ptr(),
                    a.rs as isize,
                    a.cs as isize,
                    b.data.as_ptr(),
                    b.rs as isize,
                    b.cs as isize,
                    beta,
                    c.as_mut_ptr(),
                    rsc as isize,
                    1,
                )
            }
        }
    };
}

gemm_fn!(sgemm, f32, matrixmultiply::sgemm);
gemm_fn!(dgemm, f64, matrixmultiply::dgemm);
