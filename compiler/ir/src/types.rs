//! Tensor types: dtype, shape with symbolic dims, and quantization parameters.

use crate::DType;
use std::fmt;

/// One dimension of a shape: a known extent or a named symbol (`N`, `batch`).
///
/// Symbols stand for a size fixed at run time; two dims with the same symbol are
/// equal. Shape inference invents fresh symbols (`_u3`) for sizes it cannot know
/// statically (data-dependent shapes), so a shape always has a known rank.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum Dim {
    Fixed(u64),
    Sym(String),
}

impl Dim {
    pub fn fixed(self: &Dim) -> Option<u64> {
        match self {
            Dim::Fixed(n) => Some(*n),
            Dim::Sym(_) => None,
        }
    }

    pub fn is_sym(&self) -> bool {
        matches!(self, Dim::Sym(_))
    }
}

impl From<u64> for Dim {
    fn from(n: u64) -> Dim {
        Dim::Fixed(n)
    }
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dim::Fixed(n) => write!(f, "{n}"),
            Dim::Sym(s) => f.write_str(s),
        }
    }
}

/// Quantization parameters carried in a tensor's type: `real = scale * (q - zero_point)`.
///
/// Per-tensor when `axis` is `None` (one scale and zero point), per-channel along
/// `axis` otherwise (one per channel).
#[derive(Clone, PartialEq, Debug)]
pub struct QParams {
    pub bits: u8,
    pub signed: bool,
    pub scale: Vec<f32>,
    pub zero_point: Vec<i32>,
    pub axis: Option<usize>,
}

/// The static type of a value: element type, shape and optional quantization.
#[derive(Clone, PartialEq, Debug)]
pub struct TensorType {
    pub dtype: DType,
    pub shape: Vec<Dim>,
    pub quant: Option<QParams>,
}

impl TensorType {
    pub fn new(dtype: DType, shape: Vec<Dim>) -> TensorType {
        TensorType {
            dtype,
            shape,
            quant: None,
        }
    }

    /// A type with every dim known.
    pub fn fixed(dtype: DType, shape: &[u64]) -> TensorType {
        TensorType::new(dtype, shape.iter().map(|&n| Dim::Fixed(n)).collect())
    }

    /// A scalar (rank 0) of `dtype`.
    pub fn scalar(dtype: DType) -> TensorType {
        TensorType::new(dtype, Vec::new())
    }

    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// The shape as plain sizes, or `None` if any dim is symbolic.
    pub fn fixed_shape(&self) -> Option<Vec<u64>> {
        self.shape.iter().map(Dim::fixed).collect()
    }

    /// Element count when the shape is fully known (saturating: a type is not data).
    pub fn num_elements(&self) -> Option<u64> {
        self.fixed_shape()
            .map(|s| s.iter().fold(1u64, |a, &d| a.saturating_mul(d)))
    }
}

impl fmt::Display for TensorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[", self.dtype)?;
        for (i, d) in self.shape.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{d}")?;
        }
        f.write_str("]")
    }
}
