//! Recurrent layers: `Lstm`, `Gru`, `Rnn` output shapes for layout 0 and 1.

use super::{dims, dt, Cx, R};
use crate::ops::Direction;
use crate::{Dim, Op, TensorType};

pub(super) fn infer(cx: &Cx) -> R<Vec<TensorType>> {
    let (direction, hidden_size, layout, gates) = match cx.op() {
        Op::Lstm {
            direction,
            hidden_size,
            layout,
            ..
        } => (direction, hidden_size, layout, 4),
        Op::Gru {
            direction,
            hidden_size,
            layout,
            ..
        } => (direction, hidden_size, layout, 3),
        Op::Rnn {
            direction,
            hidden_size,
            layout,
            ..
        } => (direction, hidden_size, layout, 1),
        other => return Err(cx.err(format!("no recurrent rule for `{}`", other.name()))),
    };
    let x = cx.input(0)?;
    cx.want_dtype(0, x, dt::float, "a float type")?;
    cx.want_rank(0, x, 3)?;
    let (w, rr) = (cx.input(1)?, cx.input(2)?);
    cx.same_dtype(0, x, 1, w)?;
    cx.same_dtype(0, x, 2, rr)?;
    cx.want_rank(1, w, 3)?;
    cx.want_rank(2, rr, 3)?;
    let dirs: u64 = if *direction == Direction::Bidirectional {
        2
    } else {
        1
    };
    if !(1..=dims::MAX_DIM as i64).contains(hidden_size) {
        return Err(cx.err(format!(
            "attribute `hidden_size` is {hidden_size}, expected >= 1"
        )));
    }
    let h = *hidden_size as u64;
    let (seq, batch, input) = match layout {
        0 => (&x.shape[0], &x.shape[1], &x.shape[2]),
        1 => (&x.shape[1], &x.shape[0], &x.shape[2]),
        l => return Err(cx.err(format!("attribute `layout` is {l}, expected 0 or 1"))),
    };
    let expect = |i: usize, t: &TensorType, want: [Dim; 3]| -> R<()> {
        for (k, (d, e)) in t.shape.iter().zip(&want).enumerate() {
            if dims::unify(d, e).is_none() {
                return Err(cx.in_err(
                    i,
                    format!(
                        "has {d} at dim {k}, expected {e} (shape {t}, want [{}, {}, {}])",
                        want[0], want[1], want[2]
                    ),
                ));
            }
        }
        Ok(())
    };
    let gh = Dim::Fixed(gates * h);
    expect(1, w, [Dim::Fixed(dirs), gh.clone(), input.clone()])?;
    expect(2, rr, [Dim::Fixed(dirs), gh, Dim::Fixed(h)])?;
    if let Some(b) = cx.opt_input(3)? {
        cx.want_rank(3, b, 2)?;
        let want = [Dim::Fixed(dirs), Dim::Fixed(2 * gates * h)];
        if b.shape
            .iter()
            .zip(&want)
            .any(|(d, e)| dims::unify(d, e).is_none())
        {
            return Err(cx.in_err(
                3,
                format!("has shape {b}, expected [{}, {}]", want[0], want[1]),
            ));
        }
    }
    let (hd, dd) = (Dim::Fixed(h), Dim::Fixed(dirs));
    let (y, state) = if *layout == 0 {
        (
            vec![seq.clone(), dd.clone(), batch.clone(), hd.clone()],
            vec![dd, batch.clone(), hd],
        )
    } else {
        (
            vec![batch.clone(), seq.clone(), dd.clone(), hd.clone()],
            vec![batch.clone(), dd, hd],
        )
    };
    let mut out = vec![TensorType::new(x.dtype, y)];
    for _ in 1..cx.n_outputs() {
        out.push(TensorType::new(x.dtype, state.clone()));
    }
    Ok(out)
}
