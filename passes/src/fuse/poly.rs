//! Element-wise arithmetic read as a sum of products: the form the fusion
//! passes compare written-out patterns in, whatever order an exporter wrote
//! the factors in (`0.5·x·(1+t)`, `x·(1+t)·0.5`, `(x·0.5)·(t+1)` all read as
//! `0.5·x + 0.5·x·t`).
//!
//! A value is expanded through `Add`, `Sub`, `Neg`, `Mul`, `Div` and
//! `Reciprocal` (by a single product), and `Pow` by a constant 2 or 3; every
//! other value is a leaf: a stop value the caller names (the pattern's input),
//! a non-arithmetic op's output (`Tanh`, `Sqrt`, `ReduceMean`, …), a graph
//! input, or a constant tensor that is not one repeated number. Constants that
//! are one repeated number become coefficients. Only f32 values without
//! quantization are expanded, and the walk is bounded, so a large graph costs
//! no more than a small one.

use pare_ir::{DType, Graph, NodeId, Op, ValueId};
use std::collections::{BTreeMap, BTreeSet};

/// Most terms a sum may have before the expansion gives up.
const MAX_TERMS: usize = 16;
/// Most nodes one expansion may walk.
const MAX_NODES: usize = 64;

/// `coef · Π leaf^exponent`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Term {
    pub coef: f64,
    pub factors: BTreeMap<ValueId, i32>,
}

impl Term {
    /// The exponent of `v` in this term (0 when absent).
    pub fn exponent(&self, v: ValueId) -> i32 {
        self.factors.get(&v).copied().unwrap_or(0)
    }
}

/// A sum of terms with like terms merged.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Poly {
    pub terms: Vec<Term>,
}

impl Poly {
    fn constant(c: f64) -> Poly {
        Poly {
            terms: vec![Term {
                coef: c,
                factors: BTreeMap::new(),
            }],
        }
    }

    fn leaf(v: ValueId) -> Poly {
        Poly {
            terms: vec![Term {
                coef: 1.0,
                factors: BTreeMap::from([(v, 1)]),
            }],
        }
    }

    fn scaled(mut self, c: f64) -> Poly {
        for t in &mut self.terms {
            t.coef *= c;
        }
        self
    }

    fn plus(mut self, other: Poly) -> Option<Poly> {
        self.terms.extend(other.terms);
        self.merged()
    }

    fn times(&self, other: &Poly) -> Option<Poly> {
        if self.terms.len() * other.terms.len() > MAX_TERMS * MAX_TERMS {
            return None;
        }
        let mut terms = Vec::new();
        for a in &self.terms {
            for b in &other.terms {
                let mut factors = a.factors.clone();
                for (&v, &e) in &b.factors {
                    *factors.entry(v).or_insert(0) += e;
                }
                factors.retain(|_, e| *e != 0);
                terms.push(Term {
                    coef: a.coef * b.coef,
                    factors,
                });
            }
        }
        Poly { terms }.merged()
    }

    /// `1 / self` for a single product; `None` for a sum or a zero.
    fn inverse(&self) -> Option<Poly> {
        let [t] = &self.terms[..] else {
            return None;
        };
        if t.coef == 0.0 || !t.coef.is_finite() {
            return None;
        }
        Some(Poly {
            terms: vec![Term {
                coef: 1.0 / t.coef,
                factors: t.factors.iter().map(|(&v, &e)| (v, -e)).collect(),
            }],
        })
    }

    /// Like terms summed, zero terms dropped, terms in a canonical order.
    fn merged(self) -> Option<Poly> {
        let mut by: BTreeMap<Vec<(ValueId, i32)>, f64> = BTreeMap::new();
        for t in self.terms {
            let key: Vec<(ValueId, i32)> = t.factors.into_iter().collect();
            *by.entry(key).or_insert(0.0) += t.coef;
        }
        let terms: Vec<Term> = by
            .into_iter()
            .filter(|(_, c)| *c != 0.0)
            .map(|(k, coef)| Term {
                coef,
                factors: k.into_iter().collect(),
            })
            .collect();
        (terms.len() <= MAX_TERMS).then_some(Poly { terms })
    }
}

/// Expands values into [`Poly`]s, remembering the nodes it expanded.
pub(crate) struct Flattener<'g> {
    g: &'g Graph,
    stops: BTreeSet<ValueId>,
    /// When set, a value read by more than one node is a leaf too.
    shared: Option<&'g [Vec<(NodeId, usize)>]>,
    /// Every node expanded so far (the leaves' producers are not in it).
    pub nodes: BTreeSet<NodeId>,
    walked: usize,
}

impl<'g> Flattener<'g> {
    /// A flattener that treats `stops` as leaves.
    pub fn new(g: &'g Graph, stops: &[ValueId]) -> Flattener<'g> {
        Flattener {
            g,
            stops: stops.iter().copied().collect(),
            shared: None,
            nodes: BTreeSet::new(),
            walked: 0,
        }
    }

    /// A flattener that also stops at every value more than one node reads
    /// (`uses` from [`Graph::uses`]): how a pattern's input is found before
    /// it is known (GELU's `x` is read by the `erf` branch and the product).
    pub fn stopping_at_shared(g: &'g Graph, uses: &'g [Vec<(NodeId, usize)>]) -> Flattener<'g> {
        Flattener {
            shared: Some(uses),
            ..Flattener::new(g, &[])
        }
    }

    /// `v` as a sum of products of leaves, or `None` when it is too large.
    pub fn flatten(&mut self, v: ValueId) -> Option<Poly> {
        self.walked += 1;
        if self.walked > MAX_NODES {
            return None;
        }
        if let Some(c) = scalar_constant(self.g, v) {
            return Some(Poly::constant(c));
        }
        let g = self.g;
        let is_f32 = |v: ValueId| g.ty(v).dtype == DType::F32 && g.ty(v).quant.is_none();
        let Some(p) = g.producer(v) else {
            return Some(Poly::leaf(v));
        };
        let shared = self.shared.is_some_and(|u| u[v.index()].len() > 1);
        if self.stops.contains(&v) || shared || !is_f32(v) {
            return Some(Poly::leaf(v));
        }
        let n = g.node(p);
        let operands: Vec<ValueId> = n.present_inputs().collect();
        if operands.len() != n.inputs.len() || !operands.iter().all(|&i| is_f32(i)) {
            // Pow's exponent may be any numeric type; it is read as a constant.
            if !matches!(n.op, Op::Pow {}) {
                return Some(Poly::leaf(v));
            }
        }
        let out = match (&n.op, &operands[..]) {
            (Op::Add {}, &[a, b]) => self.flatten(a)?.plus(self.flatten(b)?)?,
            (Op::Sub {}, &[a, b]) => self.flatten(a)?.plus(self.flatten(b)?.scaled(-1.0))?,
            (Op::Neg {}, &[a]) => self.flatten(a)?.scaled(-1.0),
            (Op::Mul {}, &[a, b]) => self.flatten(a)?.times(&self.flatten(b)?)?,
            (Op::Div {}, &[a, b]) => {
                let inv = self.flatten(b)?.inverse()?;
                self.flatten(a)?.times(&inv)?
            }
            (Op::Reciprocal {}, &[a]) => self.flatten(a)?.inverse()?,
            (Op::Pow {}, &[a, e]) if is_f32(a) => match scalar_constant(g, e) {
                Some(k) if k == 2.0 || k == 3.0 => {
                    let base = self.flatten(a)?;
                    let mut acc = base.clone();
                    for _ in 1..k as usize {
                        acc = acc.times(&base)?;
                    }
                    acc
                }
                _ => return Some(Poly::leaf(v)),
            },
            _ => return Some(Poly::leaf(v)),
        };
        self.nodes.insert(p);
        Some(out)
    }
}

/// The number a constant holds when every element of it is that number (a
/// scalar, or a tensor of one repeated value), as f64.
pub(crate) fn scalar_constant(g: &Graph, v: ValueId) -> Option<f64> {
    let w = g.weight_of(v)?;
    // A large tensor is a layer's weight, never an exporter's constant.
    if w.ty.num_elements().is_none_or(|n| n > 4096)
        || w.ty.quant.is_some()
        || !w.ty.dtype.is_float() && !w.ty.dtype.is_int()
    {
        return None;
    }
    let t = w.tensor().ok()?;
    let vals = t.to_f64_vec();
    let first = *vals.first()?;
    vals.iter().all(|&x| x == first).then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Graph {
        let src = format!(
            "graph @g(%x \"x\": f32[4], %t \"t\": f32[4]) -> (f32[4]) {{\n  $half \"half\": f32[] = [0.5]\n  $one \"one\": f32[] = [1.0]\n  $two \"two\": f32[] = [2.0]\n  $zero \"zero\": f32[] = [0.0]\n{body}  return %y\n}}\n"
        );
        pare_ir::text::parse(&src).unwrap_or_else(|e| panic!("{e}\n{src}"))
    }

    fn named(g: &Graph, name: &str) -> ValueId {
        g.values().find(|(_, v)| v.name == name).expect(name).0
    }

    /// `p` with the leaves renamed to their value names, for comparing graphs.
    fn show(g: &Graph, p: &Poly) -> Vec<(String, Vec<(String, i32)>)> {
        p.terms
            .iter()
            .map(|t| {
                let mut f: Vec<(String, i32)> = t
                    .factors
                    .iter()
                    .map(|(&v, &e)| (g.value(v).name.clone(), e))
                    .collect();
                f.sort();
                (format!("{:.6}", t.coef), f)
            })
            .collect()
    }

    #[test]
    fn factor_orders_read_the_same() {
        let a = parse("  %p \"p\": f32[4] = add(%t, $one)\n  %m \"m\": f32[4] = mul(%x, %p)\n  %y \"y\": f32[4] = mul(%m, $half)\n");
        let b = parse("  %h \"h\": f32[4] = mul($half, %x)\n  %p \"p\": f32[4] = add($one, %t)\n  %y \"y\": f32[4] = mul(%h, %p)\n");
        let c = parse("  %p \"p\": f32[4] = add(%t, $one)\n  %d \"d\": f32[4] = div(%p, $two)\n  %y \"y\": f32[4] = mul(%d, %x)\n");
        let read = |g: &Graph| {
            let mut f = Flattener::new(g, &[]);
            show(g, &f.flatten(named(g, "y")).expect("expands"))
        };
        let want = vec![
            (
                "0.500000".to_string(),
                vec![("t".to_string(), 1), ("x".to_string(), 1)],
            ),
            ("0.500000".to_string(), vec![("x".to_string(), 1)]),
        ];
        let mut got = read(&a);
        got.sort();
        let mut want = want;
        want.sort();
        assert_eq!(got, want);
        let (mut gb, mut gc) = (read(&b), read(&c));
        gb.sort();
        gc.sort();
        assert_eq!(gb, want);
        assert_eq!(gc, want);
    }

    #[test]
    fn stops_division_by_zero_and_sums_in_denominators_are_leaves_or_refusals() {
        let g = parse("  %p \"p\": f32[4] = add(%t, $one)\n  %y \"y\": f32[4] = div(%x, %p)\n");
        // x / (t + 1): a sum cannot be inverted.
        assert!(Flattener::new(&g, &[]).flatten(named(&g, "y")).is_none());
        let g = parse("  %y \"y\": f32[4] = div(%x, $zero)\n");
        assert!(Flattener::new(&g, &[]).flatten(named(&g, "y")).is_none());
        // A stop value is a leaf even when it is arithmetic.
        let g = parse("  %s \"s\": f32[4] = add(%x, %t)\n  %y \"y\": f32[4] = mul(%s, $two)\n");
        let s = named(&g, "s");
        let p = Flattener::new(&g, &[s])
            .flatten(named(&g, "y"))
            .expect("expands");
        assert_eq!(
            show(&g, &p),
            vec![("2.000000".to_string(), vec![("s".to_string(), 1)])]
        );
    }

    #[test]
    fn long_chains_are_refused_not_walked() {
        let mut body = String::from("  %v0 \"v0\": f32[4] = add(%x, %t)\n");
        for i in 1..200 {
            body.push_str(&format!(
                "  %v{i} \"v{i}\": f32[4] = add(%v{}, %t)\n",
                i - 1
            ));
        }
        body.push_str("  %y \"y\": f32[4] = add(%v199, %x)\n");
        let g = parse(&body);
        assert!(Flattener::new(&g, &[]).flatten(named(&g, "y")).is_none());
    }
}
