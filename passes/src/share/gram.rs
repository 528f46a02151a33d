//! The Gram matrix H = Σ x·xᵀ of each layer's input patches on calibration data,
//! in the element order of one output row of its weight: Δwᵀ·H·Δw is then the
//! squared output error a change Δw of that row causes, which is what
//! error-feedback assignment ([`super::gptq`]) minimizes instead of the weight
//! error. Covers Gemm/MatMul with a 2-D weight and ungrouped Conv and
//! ConvTranspose; other layers get no Gram (and plain nearest assignment).

use faer::Mat;
use pare_ir::interp::window_geometry;
use pare_ir::{Graph, NodeId, Op, Tensor, ValueId};
use std::collections::HashMap;

/// Widest patch a Gram is built for: H takes cols² f64 and the assignment
/// cols² work per output row.
pub const MAX_COLS: usize = 2304;
/// Input rows per input a Gram needs before error feedback trusts it.
pub const MIN_ROWS_PER_INPUT: usize = 2;
/// Patch rows sampled per layer over all batches (evenly strided beyond it).
const MAX_ROWS: usize = 1 << 15;
/// Rows multiplied at once into H.
const BLOCK: usize = 256;

/// How one output row of a weight is laid out in its flat storage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowView {
    /// `[rows, cols]`, row-major (Gemm with trans_b, Conv `[O, I·kk]`).
    Rows { rows: usize, cols: usize },
    /// `[cols, rows]`: an output row is a column (Gemm without trans_b, MatMul).
    Columns { rows: usize, cols: usize },
    /// ConvTranspose `[I, O, kk]`: output channel o holds `(i, o, t)` for every i, t.
    Transposed {
        inputs: usize,
        rows: usize,
        taps: usize,
    },
}

impl RowView {
    /// The view of `op`'s weight of shape `shape`, None where no Gram is built.
    pub fn of(op: &Op, shape: &[usize]) -> Option<RowView> {
        let taps: usize = shape.iter().skip(2).product();
        match op {
            Op::Gemm {
                trans_a: false,
                trans_b: true,
                ..
            } if shape.len() == 2 => Some(RowView::Rows {
                rows: shape[0],
                cols: shape[1],
            }),
            Op::Gemm {
                trans_a: false,
                trans_b: false,
                ..
            }
            | Op::MatMul {}
                if shape.len() == 2 =>
            {
                Some(RowView::Columns {
                    rows: shape[1],
                    cols: shape[0],
                })
            }
            Op::Conv { group: 1, .. } if shape.len() >= 3 => Some(RowView::Rows {
                rows: shape[0],
                cols: shape[1] * taps,
            }),
            Op::ConvTranspose { group: 1, .. } if shape.len() >= 3 => Some(RowView::Transposed {
                inputs: shape[0],
                rows: shape[1],
                taps,
            }),
            _ => None,
        }
        .filter(|v| v.cols() > 0 && v.cols() <= MAX_COLS && v.rows() > 0)
    }

    pub fn rows(self) -> usize {
        match self {
            RowView::Rows { rows, .. } | RowView::Columns { rows, .. } => rows,
            RowView::Transposed { rows, .. } => rows,
        }
    }

    pub fn cols(self) -> usize {
        match self {
            RowView::Rows { cols, .. } | RowView::Columns { cols, .. } => cols,
            RowView::Transposed { inputs, taps, .. } => inputs * taps,
        }
    }

    /// The flat index of element `j` of output row `o`.
    pub fn index(self, o: usize, j: usize) -> usize {
        match self {
            RowView::Rows { cols, .. } => o * cols + j,
            RowView::Columns { rows, .. } => j * rows + o,
            RowView::Transposed { rows, taps, .. } => ((j / taps) * rows + o) * taps + j % taps,
        }
    }
}

/// A layer whose Gram is wanted: the node, its input and its weight's view.
#[derive(Clone, Copy, Debug)]
pub struct Wanted {
    pub node: NodeId,
    pub view: RowView,
}

/// The real value of each element of `t`, the value `v` of `g` (quantized
/// activations are dequantized with their per-tensor parameters).
pub fn real_values(g: &Graph, v: ValueId, t: &Tensor) -> Vec<f64> {
    let (scale, zp) = match &g.ty(v).quant {
        Some(q) if q.axis.is_none() => (
            f64::from(q.scale.first().copied().unwrap_or(1.0)),
            f64::from(q.zero_point.first().copied().unwrap_or(0)),
        ),
        _ => (1.0, 0.0),
    };
    t.to_f64_vec()
        .into_iter()
        .map(|x| (x - zp) * scale)
        .collect()
}

/// For a Conv or ConvTranspose on an input of shape `x`, the input offset (within
/// one sample) each `(output position, channel·tap)` reads, or None for padding
/// and for taps a transposed conv's stride skips. Rows are output positions.
struct Patches {
    positions: usize,
    cols: usize,
    /// `positions × cols` entries: `Some(offset)` into one sample.
    at: Vec<Option<u32>>,
}

fn patches(op: &Op, x: &[usize], w: &[usize]) -> Option<Patches> {
    let geo = window_geometry(op, x, Some(w)).ok()?;
    let transposed = matches!(op, Op::ConvTranspose { .. });
    let channels = x[1];
    let spatial = &x[2..];
    let taps: usize = geo.kernel.iter().product();
    let positions: usize = geo.out.iter().product();
    let cols = channels * taps;
    let sample: usize = x[1..].iter().product();
    if positions.checked_mul(cols)? > 1 << 26 || sample > u32::MAX as usize {
        return None;
    }
    let rank = spatial.len();
    let mut at = Vec::with_capacity(positions * cols);
    let mut out_ix = vec![0usize; rank];
    let mut tap_ix = vec![0usize; rank];
    for p in 0..positions {
        unravel(p, &geo.out, &mut out_ix);
        for c in 0..channels {
            for t in 0..taps {
                unravel(t, &geo.kernel, &mut tap_ix);
                let mut off = c;
                let mut inside = true;
                for d in 0..rank {
                    let (o, k) = (out_ix[d] as i64, tap_ix[d] as i64);
                    let (s, dil) = (geo.strides[d] as i64, geo.dilations[d] as i64);
                    let i = if transposed {
                        // i·s + k·dil = o + pad: only taps the stride lands on.
                        let num = o + geo.pad_begin[d] - k * dil;
                        if num < 0 || num % s != 0 {
                            inside = false;
                            break;
                        }
                        num / s
                    } else {
                        o * s + k * dil - geo.pad_begin[d]
                    };
                    if i < 0 || i >= spatial[d] as i64 {
                        inside = false;
                        break;
                    }
                    off = off * spatial[d] + i as usize;
                }
                at.push(inside.then_some(off as u32));
            }
        }
    }
    Some(Patches {
        positions,
        cols,
        at,
    })
}

/// Row-major multi-index of `flat` in `dims`.
fn unravel(mut flat: usize, dims: &[usize], out: &mut [usize]) {
    for d in (0..dims.len()).rev() {
        out[d] = flat % dims[d].max(1);
        flat /= dims[d].max(1);
    }
}

/// Accumulates rows into H a block at a time.
struct Accumulator {
    h: Mat<f64>,
    block: Vec<f64>,
    cols: usize,
    rows: usize,
}

impl Accumulator {
    fn new(cols: usize) -> Accumulator {
        Accumulator {
            h: Mat::zeros(cols, cols),
            block: Vec::with_capacity(BLOCK * cols),
            cols,
            rows: 0,
        }
    }

    fn push(&mut self, row: impl Iterator<Item = f64>) {
        self.block.extend(row);
        if self.block.len() >= BLOCK * self.cols {
            self.flush();
        }
    }

    fn flush(&mut self) {
        let n = self.block.len() / self.cols.max(1);
        if n == 0 {
            return;
        }
        self.rows += n;
        let a = Mat::from_fn(n, self.cols, |r, c| self.block[r * self.cols + c]);
        self.h += a.transpose() * &a;
        self.block.clear();
    }
}

/// A layer's input Gram and the patch rows it sums.
#[derive(Debug)]
pub struct Gram {
    pub h: Mat<f64>,
    pub rows: usize,
}

/// The Gram of each wanted layer's input over the batches (real units).
pub fn grams(
    g: &Graph,
    wanted: &[Wanted],
    batches: &[Vec<Tensor>],
    pass: &'static str,
) -> Result<HashMap<NodeId, Gram>, crate::PassError> {
    let mut by_x: HashMap<ValueId, Vec<Wanted>> = HashMap::new();
    for w in wanted {
        if let Some(x) = g.node(w.node).input(0) {
            by_x.entry(x).or_default().push(*w);
        }
    }
    let samples: usize = batches
        .iter()
        .map(|b| {
            b.first()
                .map_or(0, |t| t.shape().first().copied().unwrap_or(1))
        })
        .sum();
    let mut acc: HashMap<NodeId, (Accumulator, usize)> = HashMap::new();
    let mut patch_cache: HashMap<(NodeId, Vec<usize>), Option<Patches>> = HashMap::new();
    crate::lowrank::observe_all_for(g, batches, pass, &mut |v, t| {
        let Some(list) = by_x.get(&v) else { return };
        let shape = t.shape().to_vec();
        let x = real_values(g, v, t);
        for w in list {
            let node = g.node(w.node);
            let cols = w.view.cols();
            let (a, seen) = acc
                .entry(w.node)
                .or_insert_with(|| (Accumulator::new(cols), 0));
            match &node.op {
                Op::Gemm { .. } | Op::MatMul {} => {
                    if shape.last() != Some(&cols) {
                        continue;
                    }
                    let rows = x.len() / cols;
                    let step = (rows * batches.len()).div_ceil(MAX_ROWS).max(1);
                    for r in 0..rows {
                        if (*seen + r) % step == 0 {
                            a.push(x[r * cols..(r + 1) * cols].iter().copied());
                        }
                    }
                    *seen += rows;
                }
                _ => {
                    let Some(wshape) = node
                        .input(1)
                        .and_then(|wv| g.ty(wv).fixed_shape())
                        .map(|s| s.iter().map(|&d| d as usize).collect::<Vec<_>>())
                    else {
                        continue;
                    };
                    let p = patch_cache
                        .entry((w.node, shape.clone()))
                        .or_insert_with(|| patches(&node.op, &shape, &wshape));
                    let Some(p) = p.as_ref().filter(|p| p.cols == cols) else {
                        continue;
                    };
                    let n = shape[0];
                    let sample: usize = shape[1..].iter().product();
                    let step = (p.positions * samples.max(n)).div_ceil(MAX_ROWS).max(1);
                    for b in 0..n {
                        let xs = &x[b * sample..(b + 1) * sample];
                        for pos in 0..p.positions {
                            if (*seen + pos) % step == 0 {
                                let row = &p.at[pos * cols..(pos + 1) * cols];
                                a.push(row.iter().map(|o| o.map_or(0.0, |o| xs[o as usize])));
                            }
                        }
                        *seen += p.positions;
                    }
                }
            }
        }
    })?;
    Ok(acc
        .into_iter()
        .map(|(n, (mut a, _))| {
            a.flush();
            (
                n,
                Gram {
                    h: a.h,
                    rows: a.rows,
                },
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = fastrand::Rng::with_seed(seed);
        (0..n).map(|_| rng.f32() * 2.0 - 1.0).collect()
    }

    fn list(v: &[f32]) -> String {
        v.iter()
            .map(|x| format!("{x}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// wₒᵀ·H·wₒ must equal Σ yₒ² (the bias-free output energy of output row o)
    /// on the same batch: the Gram's patches and the row view agree with the
    /// interpreter's own arithmetic.
    fn check(x_shape: &[usize], w_shape: &[usize], y_shape: &[usize], op: &str) {
        let w = values(w_shape.iter().product(), 1);
        let dims = |s: &[usize]| s.iter().map(usize::to_string).collect::<Vec<_>>().join(",");
        let src = format!(
            "graph @t(%x \"x\": f32[{}]) -> (f32[{}]) {{\n  $w \"w\": f32[{}] = [{}]\n  %y \"y\": f32[{}] = {op}\n  return %y\n}}\n",
            dims(x_shape),
            dims(y_shape),
            dims(w_shape),
            list(&w),
            dims(y_shape)
        );
        let mut g = pare_ir::text::parse(&src).unwrap_or_else(|e| panic!("{e}\n{src}"));
        pare_ir::infer::infer_graph(&mut g).expect("shapes");
        let x = Tensor::from_vec(x_shape.to_vec(), values(x_shape.iter().product(), 2)).unwrap();
        let y = pare_ir::interp::run(&g, std::slice::from_ref(&x))
            .unwrap()
            .remove(0);
        let node = g.order()[0];
        let wd: Vec<usize> = w_shape.to_vec();
        let view = RowView::of(&g.node(node).op, &wd).expect("a view");
        let grams = grams(&g, &[Wanted { node, view }], &[vec![x]], "test").unwrap();
        let h = &grams[&node].h;
        let yv = y.to_f64_vec();
        let ys = y.shape();
        let (rows, per_row) = match view {
            RowView::Columns { rows, .. } => (rows, 0),
            _ => (ys[1], ys[2..].iter().product::<usize>()),
        };
        for o in 0..rows {
            let wo: Vec<f64> = (0..view.cols())
                .map(|j| f64::from(w[view.index(o, j)]))
                .collect();
            let mut quad = 0.0;
            for i in 0..wo.len() {
                for j in 0..wo.len() {
                    quad += wo[i] * h[(i, j)] * wo[j];
                }
            }
            let energy: f64 = if per_row == 0 {
                yv.iter().skip(o).step_by(rows).map(|v| v * v).sum()
            } else {
                (0..ys[0])
                    .flat_map(|n| yv[(n * rows + o) * per_row..(n * rows + o + 1) * per_row].iter())
                    .map(|v| v * v)
                    .sum()
            };
            assert!(
                (quad - energy).abs() <= 1e-6 * energy.max(1.0),
                "{op} row {o}: {quad} vs {energy}"
            );
        }
    }

    #[test]
    fn gram_matches_conv_output_energy() {
        check(
            &[2, 3, 5, 6],
            &[4, 3, 3, 2],
            &[2, 4, 3, 5],
            "conv(%x, $w) {auto_pad=\"NOTSET\", kernel_shape=[3,2], strides=[2,1], pads=[1,0,1,1], dilations=[1,2], group=1}",
        );
    }

    #[test]
    fn gram_matches_conv_transpose_output_energy() {
        check(
            &[2, 3, 3, 4],
            &[3, 2, 4, 3],
            &[2, 2, 7, 8],
            "conv_transpose(%x, $w, _) {auto_pad=\"NOTSET\", kernel_shape=[4,3], strides=[2,2], pads=[1,1,1,0], dilations=[1,1], group=1, output_padding=[1,0], output_shape=[]}",
        );
    }

    #[test]
    fn gram_matches_gemm_output_energy() {
        check(
            &[5, 4],
            &[4, 3],
            &[5, 3],
            "gemm(%x, $w, _) {alpha=1.0, beta=1.0, trans_a=false, trans_b=false}",
        );
        check(
            &[5, 4],
            &[3, 4],
            &[5, 3],
            "gemm(%x, $w, _) {alpha=1.0, beta=1.0, trans_a=false, trans_b=true}",
        );
    }
}
