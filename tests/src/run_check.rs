//! `; run:` checks: the reference interpreter runs the graph before and after the
//! passes on the same seeded random inputs, and the outputs are compared.
//!
//! **Inputs.** One [`fastrand`] generator seeded with `seed` (default
//! [`DEFAULT_SEED`]) fills the graph inputs in order. Symbolic dims take the size
//! bound by `SYM=n` (an error when no input has that symbol), else
//! [`DEFAULT_SYM_SIZE`]. Float inputs are uniform in
//! `floats` (default `-1..1`); integer inputs uniform in `ints` (default `0..3`,
//! valid as indices and axes in small graphs); bool inputs are fair coins;
//! quantized inputs are codes uniform over their parameters' full code range.
//!
//! **`; run: equivalent [tol=T]`** (default `T` = [`DEFAULT_EQUIVALENT_TOL`]):
//! every output keeps its type (dtype, shape, quantization). Integer, bool and
//! quantized outputs must be bit-exact. Float outputs must satisfy, element by
//! element, `|after − before| <= T · max(1, |before|)`; NaN must meet NaN.
//!
//! **`; run: within TOL`**, for passes that change numerics on purpose
//! (quantization): quantized outputs are dequantized, then for each output
//! `max|after − before| / max|before|` (the largest error relative to the
//! reference's largest magnitude; plain `max|after − before|` when the reference
//! is all zeros) must be `<= TOL`. Shapes must agree; a NaN or infinity on either
//! side fails. Failures print the measured figure.
//!
//! Quantized graphs run on the integer kernels (the interpreter's default,
//! gemmlowp rounding), the reference the targets match.

use pare_ir::interp::{self, InterpError};
use pare_ir::quant::{dequantize_tensor, qrange};
use pare_ir::{DType, Dim, Graph, Tensor, TensorType};

/// The seed when a `; run:` line gives none.
pub const DEFAULT_SEED: u64 = 0x5EED_F11E;
/// The size of a symbolic dim not bound on the `; run:` line.
pub const DEFAULT_SYM_SIZE: u64 = 2;
/// `equivalent`'s float tolerance, relative to `max(1, |reference|)`.
pub const DEFAULT_EQUIVALENT_TOL: f64 = 1e-5;

/// One `; run:` line.
#[derive(Clone, PartialEq, Debug)]
pub struct RunDirective {
    pub check: Check,
    pub inputs: InputSpec,
}

#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Check {
    Equivalent { tol: f64 },
    Within { tol: f64 },
}

impl std::fmt::Display for RunDirective {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.check {
            Check::Equivalent { tol } => write!(f, "equivalent tol={tol:e}")?,
            Check::Within { tol } => write!(f, "within {tol}")?,
        }
        let i = &self.inputs;
        write!(
            f,
            " seed={} ints={}..{} floats={}..{}",
            i.seed, i.ints.0, i.ints.1, i.floats.0, i.floats.1
        )?;
        for (sym, n) in &i.dims {
            write!(f, " {sym}={n}")?;
        }
        Ok(())
    }
}

/// How the random inputs are made.
#[derive(Clone, PartialEq, Debug)]
pub struct InputSpec {
    pub seed: u64,
    pub ints: (i64, i64),
    pub floats: (f64, f64),
    /// Sizes of symbolic dims by name.
    pub dims: Vec<(String, u64)>,
}

impl Default for InputSpec {
    fn default() -> InputSpec {
        InputSpec {
            seed: DEFAULT_SEED,
            ints: (0, 3),
            floats: (-1.0, 1.0),
            dims: Vec::new(),
        }
    }
}

/// Runs `before` and `after` on the inputs `d` describes and applies its check.
/// The error says which output differs, where, and by how much.
pub fn check_run(before: &Graph, after: &Graph, d: &RunDirective) -> Result<(), String> {
    let types: Vec<&TensorType> = before.inputs.iter().map(|&v| before.ty(v)).collect();
    let after_types: Vec<&TensorType> = after.inputs.iter().map(|&v| after.ty(v)).collect();
    if types != after_types {
        return Err(format!(
            "the passes changed the graph's inputs from ({}) to ({})",
            list(&types),
            list(&after_types)
        ));
    }
    let inputs = random_inputs(&types, &d.inputs)?;
    let run = |g: &Graph, when: &str| {
        interp::run(g, &inputs)
            .map_err(|e: InterpError| format!("interpreter {when} the passes: {e}"))
    };
    let (want, got) = (run(before, "before")?, run(after, "after")?);
    if want.len() != got.len() {
        return Err(format!(
            "{} outputs before the passes, {} after",
            want.len(),
            got.len()
        ));
    }
    for (k, (w, g)) in want.iter().zip(&got).enumerate() {
        let (tw, tg) = (before.ty(before.outputs[k]), after.ty(after.outputs[k]));
        let name = &before.value(before.outputs[k]).name;
        let result = match d.check {
            Check::Equivalent { tol } => equivalent(w, tw, g, tg, tol),
            Check::Within { tol } => within(w, tw, g, tg, tol),
        };
        result.map_err(|m| format!("output {k} `{name}`: {m}"))?;
    }
    Ok(())
}

fn list(types: &[&TensorType]) -> String {
    types
        .iter()
        .map(|t| t.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Seeded random tensors of the given types.
pub fn random_inputs(types: &[&TensorType], spec: &InputSpec) -> Result<Vec<Tensor>, String> {
    // A binding no input uses is a typo that would silently test the default size.
    for (sym, _) in &spec.dims {
        let used = types
            .iter()
            .any(|t| t.shape.iter().any(|d| matches!(d, Dim::Sym(s) if s == sym)));
        if !used {
            return Err(format!(
                "`{sym}=` binds no symbolic dim of the inputs ({})",
                list(types)
            ));
        }
    }
    let mut rng = fastrand::Rng::with_seed(spec.seed);
    types
        .iter()
        .map(|t| random_tensor(&mut rng, t, spec))
        .collect()
}

fn random_tensor(
    rng: &mut fastrand::Rng,
    t: &TensorType,
    spec: &InputSpec,
) -> Result<Tensor, String> {
    let shape: Vec<usize> = t
        .shape
        .iter()
        .map(|d| match d {
            Dim::Fixed(n) => *n,
            Dim::Sym(s) => spec
                .dims
                .iter()
                .find(|(name, _)| name == s)
                .map_or(DEFAULT_SYM_SIZE, |&(_, n)| n),
        })
        .map(|n| usize::try_from(n).map_err(|_| format!("dim {n} of {t} is too large")))
        .collect::<Result<_, _>>()?;
    let count = pare_ir::checked_count(&shape).map_err(|e| format!("input of type {t}: {e}"))?;
    if count > 1 << 20 {
        return Err(format!(
            "input of type {t} has {count} elements; keep filetests small"
        ));
    }
    let ints = |rng: &mut fastrand::Rng, lo: i64, hi: i64| -> Vec<i64> {
        (0..count).map(|_| rng.i64(lo..=hi)).collect()
    };
    let tensor = if let Some(q) = &t.quant {
        let (lo, hi) = qrange(q);
        Tensor::from_vec(shape, ints(rng, lo.into(), hi.into())).map(|x| x.cast(t.dtype))
    } else if t.dtype.is_float() {
        let (lo, hi) = spec.floats;
        let v: Vec<f32> = (0..count)
            .map(|_| (lo + (hi - lo) * rng.f64()) as f32)
            .collect();
        Tensor::from_vec(shape, v).map(|x| x.cast(t.dtype))
    } else if t.dtype == DType::Bool {
        Tensor::from_vec(shape, ints(rng, 0, 1)).map(|x| x.cast(DType::Bool))
    } else {
        Tensor::from_vec(shape, ints(rng, spec.ints.0, spec.ints.1)).map(|x| x.cast(t.dtype))
    };
    tensor.map_err(|e| format!("input of type {t}: {e}"))
}

/// Same type; exact for integer, bool and quantized data, `tol` for floats.
fn equivalent(
    want: &Tensor,
    tw: &TensorType,
    got: &Tensor,
    tg: &TensorType,
    tol: f64,
) -> Result<(), String> {
    if tw != tg {
        return Err(format!("type changed from {tw} to {tg}"));
    }
    if want.shape() != got.shape() {
        return Err(format!(
            "shape {:?} before, {:?} after",
            want.shape(),
            got.shape()
        ));
    }
    if !want.dtype().is_float() || tw.quant.is_some() {
        let (a, b) = (want.to_i64_vec(), got.to_i64_vec());
        return match a.iter().zip(&b).position(|(x, y)| x != y) {
            None => Ok(()),
            Some(i) => Err(format!(
                "not bit-exact: element {i} is {} before, {} after ({} of {} elements differ)",
                a[i],
                b[i],
                a.iter().zip(&b).filter(|(x, y)| x != y).count(),
                a.len()
            )),
        };
    }
    let (a, b) = (want.to_f64_vec(), got.to_f64_vec());
    let mut worst: Option<(usize, f64)> = None;
    for (i, (&x, &y)) in a.iter().zip(&b).enumerate() {
        let excess = if x.is_nan() || y.is_nan() {
            if x.is_nan() && y.is_nan() {
                continue;
            }
            f64::INFINITY
        } else if x == y {
            continue;
        } else {
            (x - y).abs() / x.abs().max(1.0)
        };
        if excess > tol && worst.is_none_or(|(_, e)| excess > e) {
            worst = Some((i, excess));
        }
    }
    match worst {
        None => Ok(()),
        Some((i, e)) => Err(format!(
            "not equivalent: element {i} is {} before, {} after; |a-b|/max(1,|a|) = {e:.3e} > tol {tol:e}",
            a[i], b[i]
        )),
    }
}

/// Dequantized values, for `within`.
fn real_values(t: &Tensor, ty: &TensorType) -> Result<Vec<f64>, String> {
    match &ty.quant {
        Some(q) => dequantize_tensor(t, q)
            .map(|d| d.to_f64_vec())
            .map_err(|e| format!("cannot dequantize ({ty}): {e}")),
        None => Ok(t.to_f64_vec()),
    }
}

/// The relative error metric of the module docs, measured and returned.
pub fn relative_error(want: &[f64], got: &[f64]) -> f64 {
    let mut max_err = 0.0f64;
    let mut max_ref = 0.0f64;
    for (&x, &y) in want.iter().zip(got) {
        if !x.is_finite() || !y.is_finite() {
            return f64::INFINITY;
        }
        max_err = max_err.max((x - y).abs());
        max_ref = max_ref.max(x.abs());
    }
    if max_ref > 0.0 {
        max_err / max_ref
    } else {
        max_err
    }
}

fn within(
    want: &Tensor,
    tw: &TensorType,
    got: &Tensor,
    tg: &TensorType,
    tol: f64,
) -> Result<(), String> {
    if want.shape() != got.shape() {
        return Err(format!(
            "shape {:?} before, {:?} after",
            want.shape(),
            got.shape()
        ));
    }
    let err = relative_error(&real_values(want, tw)?, &real_values(got, tg)?);
    if err <= tol {
        Ok(())
    } else {
        Err(format!(
            "max|after-before|/max|before| = {err:.4e} exceeds {tol:e} ({tw} before, {tg} after)"
        ))
    }
}
