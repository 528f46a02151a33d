//! Recurrent ops: LSTM (peepholes, input_forget), GRU (linear_before_reset) and RNN,
//! with directions, layouts, sequence_lens, initial states, clip and custom
//! activation lists. Small matrices, so plain loops in f64.

use super::util::{count, float_dtype, from_f64, opt, req, same_dtype, Res};
use crate::interp::InterpError;
use crate::ops::Direction;
use crate::{Op, Tensor};

/// An activation function from the `activations` attribute.
#[derive(Clone, Copy, Debug)]
enum Act {
    Relu,
    Tanh,
    Sigmoid,
    Affine(f64, f64),
    LeakyRelu(f64),
    ThresholdedRelu(f64),
    ScaledTanh(f64, f64),
    HardSigmoid(f64, f64),
    Elu(f64),
    Softsign,
    Softplus,
}

impl Act {
    fn apply(self, x: f64) -> f64 {
        match self {
            Act::Relu => x.max(0.0),
            Act::Tanh => x.tanh(),
            Act::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Act::Affine(a, b) => a * x + b,
            Act::LeakyRelu(a) => {
                if x >= 0.0 {
                    x
                } else {
                    a * x
                }
            }
            Act::ThresholdedRelu(a) => {
                if x > a {
                    x
                } else {
                    0.0
                }
            }
            Act::ScaledTanh(a, b) => a * (b * x).tanh(),
            Act::HardSigmoid(a, b) => (a * x + b).clamp(0.0, 1.0),
            Act::Elu(a) => {
                if x >= 0.0 {
                    x
                } else {
                    a * (x.exp() - 1.0)
                }
            }
            Act::Softsign => x / (1.0 + x.abs()),
            Act::Softplus => (1.0 + x.exp()).ln(),
        }
    }
}

/// Parses `activations` (defaults when empty), consuming `alpha`/`beta` in order by
/// the activations that take them.
fn parse_acts(
    op: &Op,
    names: &[String],
    alpha: &[f32],
    beta: &[f32],
    defaults: &[&str],
    dirs: usize,
) -> Res<Vec<Act>> {
    let want = defaults.len() * dirs;
    let names: Vec<String> = if names.is_empty() {
        (0..dirs)
            .flat_map(|_| defaults.iter().map(|s| s.to_string()))
            .collect()
    } else {
        names.to_vec()
    };
    if names.len() != want {
        return Err(InterpError::op(
            op,
            format!(
                "expected {want} activations ({} per direction), got {names:?}",
                defaults.len()
            ),
        ));
    }
    let (mut ai, mut bi) = (0, 0);
    let next = |v: &[f32], i: &mut usize, d: f64| {
        let r = v.get(*i).map_or(d, |&x| x as f64);
        *i += 1;
        r
    };
    names
        .iter()
        .map(|n| {
            Ok(match n.to_ascii_lowercase().as_str() {
                "relu" => Act::Relu,
                "tanh" => Act::Tanh,
                "sigmoid" => Act::Sigmoid,
                "affine" => Act::Affine(next(alpha, &mut ai, 1.0), next(beta, &mut bi, 0.0)),
                "leakyrelu" => Act::LeakyRelu(next(alpha, &mut ai, 0.01)),
                "thresholdedrelu" => Act::ThresholdedRelu(next(alpha, &mut ai, 1.0)),
                "scaledtanh" => {
                    Act::ScaledTanh(next(alpha, &mut ai, 1.0), next(beta, &mut bi, 1.0))
                }
                "hardsigmoid" => {
                    Act::HardSigmoid(next(alpha, &mut ai, 0.2), next(beta, &mut bi, 0.5))
                }
                "elu" => Act::Elu(next(alpha, &mut ai, 1.0)),
                "softsign" => Act::Softsign,
                "softplus" => Act::Softplus,
                _ => return Err(InterpError::op(op, format!("unknown activation `{n}`"))),
            })
        })
        .collect()
}

/// Which recurrent cell.
#[derive(Clone, Copy, PartialEq)]
enum Cell {
    Lstm { input_forget: bool },
    Gru { linear_before_reset: bool },
    Rnn,
}

impl Cell {
    fn gates(self) -> usize {
        match self {
            Cell::Lstm { .. } => 4,
            Cell::Gru { .. } => 3,
            Cell::Rnn => 1,
        }
    }
}

/// Common attributes of the three ops.
struct Attrs<'a> {
    direction: Direction,
    hidden_size: i64,
    activations: &'a [String],
    alpha: &'a [f32],
    beta: &'a [f32],
    clip: Option<f32>,
    layout: i64,
}

/// Checks that `t` has exactly `shape`.
fn expect_shape(op: &Op, t: &Tensor, shape: &[usize], name: &str) -> Res<()> {
    if t.shape() != shape {
        return Err(InterpError::op(
            op,
            format!("{name} must have shape {shape:?}, got {:?}", t.shape()),
        ));
    }
    Ok(())
}

fn run(
    op: &Op,
    inputs: &[Option<&Tensor>],
    num_outputs: usize,
    cell: Cell,
    a: &Attrs<'_>,
) -> Res<Vec<Tensor>> {
    let is_lstm = matches!(cell, Cell::Lstm { .. });
    let x = req(op, inputs, 0, "x")?;
    let dt = float_dtype(op, x, "x")?;
    if x.rank() != 3 {
        return Err(InterpError::op(
            op,
            format!("x must have rank 3, got shape {:?}", x.shape()),
        ));
    }
    if !matches!(a.layout, 0 | 1) {
        return Err(InterpError::op(
            op,
            format!("layout must be 0 or 1, got {}", a.layout),
        ));
    }
    let batch_first = a.layout == 1;
    let (seq, batch, isz) = if batch_first {
        (x.shape()[1], x.shape()[0], x.shape()[2])
    } else {
        (x.shape()[0], x.shape()[1], x.shape()[2])
    };
    let dirs = if a.direction == Direction::Bidirectional {
        2
    } else {
        1
    };
    let h = usize::try_from(a.hidden_size)
        .ok()
        .filter(|&h| h > 0)
        .ok_or_else(|| {
            InterpError::op(
                op,
                format!("hidden_size must be positive, got {}", a.hidden_size),
            )
        })?;
    let g = cell.gates();
    let gh = g * h;
    count(op, &[dirs, gh, isz.max(h)])?;
    let w = req(op, inputs, 1, "w")?;
    let r = req(op, inputs, 2, "r")?;
    same_dtype(op, w, dt, "w")?;
    same_dtype(op, r, dt, "r")?;
    expect_shape(op, w, &[dirs, gh, isz], "w")?;
    expect_shape(op, r, &[dirs, gh, h], "r")?;
    let b = match opt(inputs, 3) {
        Some(b) => {
            same_dtype(op, b, dt, "b")?;
            expect_shape(op, b, &[dirs, 2 * gh], "b")?;
            b.to_f64_vec()
        }
        None => vec![0.0; dirs * 2 * gh],
    };
    let lens: Vec<usize> = match opt(inputs, 4) {
        Some(l) => {
            expect_shape(op, l, &[batch], "sequence_lens")?;
            if l.dtype().is_float() {
                return Err(InterpError::op(
                    op,
                    "sequence_lens must be an integer tensor",
                ));
            }
            l.to_i64_vec()
                .into_iter()
                .map(|v| {
                    usize::try_from(v)
                        .ok()
                        .filter(|&v| v <= seq)
                        .ok_or_else(|| {
                            InterpError::op(
                                op,
                                format!("sequence_lens entry {v} is outside [0, {seq}]"),
                            )
                        })
                })
                .collect::<Res<_>>()?
        }
        None => vec![seq; batch],
    };
    let state_shape = if batch_first {
        [batch, dirs, h]
    } else {
        [dirs, batch, h]
    };
    // States are kept as [dir][batch][h] internally.
    let load_state = |i: usize, name: &str| -> Res<Vec<f64>> {
        match opt(inputs, i) {
            Some(t) => {
                same_dtype(op, t, dt, name)?;
                expect_shape(op, t, &state_shape, name)?;
                let v = t.to_f64_vec();
                if !batch_first {
                    return Ok(v);
                }
                let mut o = vec![0.0; v.len()];
                for bi in 0..batch {
                    for d in 0..dirs {
                        for j in 0..h {
                            o[(d * batch + bi) * h + j] = v[(bi * dirs + d) * h + j];
                        }
                    }
                }
                Ok(o)
            }
            None => Ok(vec![0.0; dirs * batch * h]),
        }
    };
    let mut hs = load_state(5, "initial_h")?;
    let mut cs = if is_lstm {
        load_state(6, "initial_c")?
    } else {
        Vec::new()
    };
    let p = match (is_lstm, opt(inputs, 7)) {
        (true, Some(p)) => {
            same_dtype(op, p, dt, "p")?;
            expect_shape(op, p, &[dirs, 3 * h], "p")?;
            p.to_f64_vec()
        }
        _ => vec![0.0; dirs * 3 * h],
    };
    let defaults: &[&str] = match cell {
        Cell::Lstm { .. } => &["Sigmoid", "Tanh", "Tanh"],
        Cell::Gru { .. } => &["Sigmoid", "Tanh"],
        Cell::Rnn => &["Tanh"],
    };
    let acts = parse_acts(op, a.activations, a.alpha, a.beta, defaults, dirs)?;
    let clip = a.clip.map(|c| c as f64);
    let cl = |v: f64| clip.map_or(v, |c| v.clamp(-c, c));
    let (xv, wv, rv) = (x.to_f64_vec(), w.to_f64_vec(), r.to_f64_vec());
    let y_len = count(op, &[seq, dirs, batch, h])?;
    let mut y = vec![0.0; y_len]; // [seq][dir][batch][h]
    let mut xw = vec![0.0; gh];
    let mut hr = vec![0.0; gh];
    for d in 0..dirs {
        let reverse = a.direction == Direction::Reverse || d == 1;
        let na = defaults.len();
        let (f, gact, hact) = (
            acts[d * na],
            acts[d * na + na.min(2) - 1],
            acts[d * na + na - 1],
        );
        let wd = &wv[d * gh * isz..(d + 1) * gh * isz];
        let rd = &rv[d * gh * h..(d + 1) * gh * h];
        let (wb, rb) = (
            &b[d * 2 * gh..d * 2 * gh + gh],
            &b[d * 2 * gh + gh..(d + 1) * 2 * gh],
        );
        let pd = &p[d * 3 * h..(d + 1) * 3 * h];
        for bi in 0..batch {
            let len = lens[bi];
            let hst = &mut hs[(d * batch + bi) * h..(d * batch + bi + 1) * h];
            for step in 0..len {
                let t = if reverse { len - 1 - step } else { step };
                let xt = if batch_first {
                    &xv[(bi * seq + t) * isz..(bi * seq + t + 1) * isz]
                } else {
                    &xv[(t * batch + bi) * isz..(t * batch + bi + 1) * isz]
                };
                for j in 0..gh {
                    xw[j] = wb[j]
                        + xt.iter()
                            .zip(&wd[j * isz..(j + 1) * isz])
                            .map(|(a, b)| a * b)
                            .sum::<f64>();
                    hr[j] = rb[j]
                        + hst
                            .iter()
                            .zip(&rd[j * h..(j + 1) * h])
                            .map(|(a, b)| a * b)
                            .sum::<f64>();
                }
                match cell {
                    Cell::Rnn => {
                        for j in 0..h {
                            hst[j] = f.apply(cl(xw[j] + hr[j]));
                        }
                    }
                    Cell::Gru {
                        linear_before_reset,
                    } => {
                        let z: Vec<f64> = (0..h).map(|j| f.apply(cl(xw[j] + hr[j]))).collect();
                        let rg: Vec<f64> =
                            (0..h).map(|j| f.apply(cl(xw[h + j] + hr[h + j]))).collect();
                        let mut newh = vec![0.0; h];
                        for j in 0..h {
                            let cand = if linear_before_reset {
                                xw[2 * h + j] + rg[j] * hr[2 * h + j]
                            } else {
                                // (r ⊙ H) · Rhᵀ + Rbh: the reset applies before the product.
                                let rrow = &rd[(2 * h + j) * h..(2 * h + j + 1) * h];
                                let s: f64 = (0..h).map(|k| rg[k] * hst[k] * rrow[k]).sum();
                                xw[2 * h + j] + s + rb[2 * h + j]
                            };
                            let ht = gact.apply(cl(cand));
                            newh[j] = (1.0 - z[j]) * ht + z[j] * hst[j];
                        }
                        hst.copy_from_slice(&newh);
                    }
                    Cell::Lstm { input_forget } => {
                        let cst = &mut cs[(d * batch + bi) * h..(d * batch + bi + 1) * h];
                        for j in 0..h {
                            let pre = |gi: usize| xw[gi * h + j] + hr[gi * h + j];
                            let i = f.apply(cl(pre(0) + pd[j] * cst[j]));
                            let fg = if input_forget {
                                1.0 - i
                            } else {
                                f.apply(cl(pre(2) + pd[2 * h + j] * cst[j]))
                            };
                            let c = gact.apply(cl(pre(3)));
                            let cn = fg * cst[j] + i * c;
                            let o = f.apply(cl(pre(1) + pd[h + j] * cn));
                            cst[j] = cn;
                            hst[j] = o * hact.apply(cn);
                        }
                    }
                }
                let at = ((t * dirs + d) * batch + bi) * h;
                y[at..at + h].copy_from_slice(hst);
            }
        }
    }
    // Reorder to the requested layout.
    let (y_shape, yv) = if batch_first {
        let mut o = vec![0.0; y.len()];
        for t in 0..seq {
            for d in 0..dirs {
                for bi in 0..batch {
                    let src = ((t * dirs + d) * batch + bi) * h;
                    let dst = ((bi * seq + t) * dirs + d) * h;
                    o[dst..dst + h].copy_from_slice(&y[src..src + h]);
                }
            }
        }
        (vec![batch, seq, dirs, h], o)
    } else {
        (vec![seq, dirs, batch, h], y)
    };
    let state_out = |v: Vec<f64>| -> Vec<f64> {
        if !batch_first {
            return v;
        }
        let mut o = vec![0.0; v.len()];
        for d in 0..dirs {
            for bi in 0..batch {
                let (s, t) = ((d * batch + bi) * h, (bi * dirs + d) * h);
                o[t..t + h].copy_from_slice(&v[s..s + h]);
            }
        }
        o
    };
    let mut out = vec![from_f64(op, dt, y_shape, yv)?];
    if num_outputs >= 2 {
        out.push(from_f64(op, dt, state_shape.to_vec(), state_out(hs))?);
    }
    if num_outputs >= 3 && is_lstm {
        out.push(from_f64(op, dt, state_shape.to_vec(), state_out(cs))?);
    }
    Ok(out)
}

/// LSTM, GRU or RNN.
pub(crate) fn recurrent(
    op: &Op,
    inputs: &[Option<&Tensor>],
    num_outputs: usize,
) -> Res<Vec<Tensor>> {
    let (cell, a) = match op {
        Op::Lstm {
            direction,
            hidden_size,
            activations,
            activation_alpha,
            activation_beta,
            clip,
            input_forget,
            layout,
        } => (
            Cell::Lstm {
                input_forget: *input_forget,
            },
            Attrs {
                direction: *direction,
                hidden_size: *hidden_size,
                activations,
                alpha: activation_alpha,
                beta: activation_beta,
                clip: *clip,
                layout: *layout,
            },
        ),
        Op::Gru {
            direction,
            hidden_size,
            activations,
            activation_alpha,
            activation_beta,
            clip,
            linear_before_reset,
            layout,
        } => (
            Cell::Gru {
                linear_before_reset: *linear_before_reset,
            },
            Attrs {
                direction: *direction,
                hidden_size: *hidden_size,
                activations,
                alpha: activation_alpha,
                beta: activation_beta,
                clip: *clip,
                layout: *layout,
            },
        ),
        Op::Rnn {
            direction,
            hidden_size,
            activations,
            activation_alpha,
            activation_beta,
            clip,
            layout,
        } => (
            Cell::Rnn,
            Attrs {
                direction: *direction,
                hidden_size: *hidden_size,
                activations,
                alpha: activation_alpha,
                beta: activation_beta,
                clip: *clip,
                layout: *layout,
            },
        ),
        _ => return Err(InterpError::op(op, "not a recurrent op")),
    };
    run(op, inputs, num_outputs, cell, &a)
}
