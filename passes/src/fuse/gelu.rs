//! `fuse-gelu`: GELU written out in elementary ops becomes one `gelu`.
//!
//! The erf form `x·0.5·(1 + erf(x/√2))` (`Div` by 1.4142… or `Mul` by
//! 0.7071…) becomes `gelu {approximate=none}`; the tanh form
//! `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))` (`Pow(x, 3)` or `x·x·x`)
//! becomes `gelu {approximate=tanh}`. Both sides are read as sums of products
//! ([`super::poly`]), so any order of the factors matches: the argument of
//! the `erf`/`tanh` must be `x/√2`, or `√(2/π)·x + √(2/π)·0.044715·x³`, and
//! the output `0.5·x + 0.5·x·erf(…)`, each constant to within
//! [`super::common::CONST_TOL`].

use super::common::{close, downstream, fuse_all, is_arithmetic, is_plain_f32, is_private};
use super::common::{FusedInput, Fusion};
use super::poly::{Flattener, Poly};
use crate::{Changed, Pass, PassCx, PassError};
use pare_ir::ops::GeluApprox;
use pare_ir::{Graph, Op, ValueId};
use std::f64::consts::{FRAC_1_SQRT_2, FRAC_2_PI};

#[derive(Debug, Default)]
pub struct FuseGelu;

impl Pass for FuseGelu {
    fn name(&self) -> &'static str {
        "fuse-gelu"
    }

    fn run(&mut self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        fuse_all(g, cx, self.name(), &find).map(Changed::from_bool)
    }
}

fn find(g: &Graph) -> Option<Fusion> {
    let uses = g.uses();
    for &e in g.order() {
        let approximate = match g.node(e).op {
            Op::Erf {} => GeluApprox::None,
            Op::Tanh {} => GeluApprox::Tanh,
            _ => continue,
        };
        let Some(a) = g.node(e).input(0) else {
            continue;
        };
        // The argument's input is the value it reads more than once.
        let mut fa = Flattener::stopping_at_shared(g, &uses);
        let Some(pa) = fa.flatten(a) else {
            continue;
        };
        let Some(x) = argument_input(g, &pa, approximate) else {
            continue;
        };
        let t = g.node(e).outputs[0];
        for root in downstream(g, &uses, t, &is_arithmetic, 8) {
            let y = g.node(root).outputs[0];
            if !is_plain_f32(g, y) || g.ty(y).shape != g.ty(x).shape {
                continue;
            }
            let mut fr = Flattener::new(g, &[x]);
            let Some(pr) = fr.flatten(y) else {
                continue;
            };
            if !is_half_x_one_plus(&pr, x, t) {
                continue;
            }
            let mut matched = fr.nodes;
            matched.extend(fa.nodes.iter().copied());
            matched.insert(e);
            matched.insert(root);
            if is_private(g, &uses, &matched, root) {
                return Some(Fusion {
                    root,
                    matched,
                    op: Op::Gelu { approximate },
                    inputs: vec![FusedInput::Value(x)],
                    perm: None,
                });
            }
        }
    }
    None
}

/// The `x` of an erf argument `x/√2`, or of a tanh argument
/// `√(2/π)·(x + 0.044715·x³)`.
fn argument_input(g: &Graph, p: &Poly, approximate: GeluApprox) -> Option<ValueId> {
    let power = |t: &super::poly::Term| -> Option<(ValueId, i32)> {
        let [(&v, &e)] = t.factors.iter().collect::<Vec<_>>()[..] else {
            return None;
        };
        Some((v, e))
    };
    let x = match (approximate, &p.terms[..]) {
        (GeluApprox::None, [t]) => {
            let (x, e) = power(t)?;
            (e == 1 && close(t.coef, FRAC_1_SQRT_2)).then_some(x)?
        }
        (GeluApprox::Tanh, [t1, t3]) => {
            let k = FRAC_2_PI.sqrt();
            let ((x, e1), (x3, e3)) = (power(t1)?, power(t3)?);
            let ok =
                x == x3 && e1 == 1 && e3 == 3 && close(t1.coef, k) && close(t3.coef, k * 0.044715);
            ok.then_some(x)?
        }
        _ => return None,
    };
    (is_plain_f32(g, x) && g.weight_of(x).is_none()).then_some(x)
}

/// Whether `p` is `0.5·x + 0.5·x·t`.
fn is_half_x_one_plus(p: &Poly, x: ValueId, t: ValueId) -> bool {
    let [a, b] = &p.terms[..] else {
        return false;
    };
    let is = |term: &super::poly::Term, with_t: bool| {
        close(term.coef, 0.5)
            && term.exponent(x) == 1
            && term.exponent(t) == i32::from(with_t)
            && term.factors.len() == 1 + usize::from(with_t)
    };
    (is(a, false) && is(b, true)) || (is(b, false) && is(a, true))
}
