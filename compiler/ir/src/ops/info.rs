//! What one row of the op table says about its op, and the `const` builders the
//! table's rows are written with.
//!
//! Every layer reads its facts about an op from here rather than keeping a list of
//! its own: shape inference (uniform element-wise rules, [`Signature`]), the
//! interpreter (float scalar kernels), quantization (lookup-table ops), the ONNX
//! importer and exporter ([`OnnxForm`]) and the torch.export translator (`aten`).

use super::Op;
use crate::DType;

/// The op's family; uniform families get their shape rule from here.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Category {
    /// Element-wise, one input whose dtype is in the class; same type out.
    Unary(Accepts),
    /// Element-wise test of one input whose dtype is in the class; bool out.
    UnaryTest(Accepts),
    /// All inputs of one dtype in the class, broadcast together; same dtype out.
    Broadcast(Accepts),
    /// As [`Category::Broadcast`], bool out.
    Compare(Accepts),
    /// Element-wise with a shape rule of its own (Cast, Clip, Pow, Where, ...).
    Elementwise,
    LinearAlgebra,
    Normalization,
    Pooling,
    Softmax,
    Reduction,
    DataMovement,
    Generator,
    Recurrent,
    Quantization,
}

/// A class of element types an element-wise op accepts.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Accepts {
    Any,
    /// Everything but bool.
    Numeric,
    Float,
    Int,
    Unsigned,
    Bool,
}

impl Accepts {
    pub fn admits(self, d: DType) -> bool {
        match self {
            Accepts::Any => true,
            Accepts::Numeric => d != DType::Bool,
            Accepts::Float => d.is_float(),
            Accepts::Int => d.is_int(),
            Accepts::Unsigned => matches!(d, DType::U8 | DType::U16 | DType::U32 | DType::U64),
            Accepts::Bool => d == DType::Bool,
        }
    }

    /// The class in words, for error messages ("a float type").
    pub fn describe(self) -> &'static str {
        match self {
            Accepts::Any => "any type",
            Accepts::Numeric => "a numeric type",
            Accepts::Float => "a float type",
            Accepts::Int => "an integer type",
            Accepts::Unsigned => "an unsigned integer type",
            Accepts::Bool => "bool",
        }
    }
}

/// A real function of one variable, ready to apply.
pub type ScalarFn = Box<dyn Fn(f64) -> f64 + Send + Sync>;

/// An element-wise op's float function. It works in f64 so that one rounding to the
/// element type (f16, f32) gives the correctly rounded image of the exact function,
/// and the interpreter's kernel and the quantized lookup tables agree code for code.
#[derive(Clone, Copy)]
pub enum Scalar {
    /// `x ↦ f(x)`.
    Plain(fn(f64) -> f64),
    /// A function chosen by the op's attributes and by the values of its constant
    /// scalar extra inputs (Clip's bounds; `None` where absent). `None` when the op
    /// given is not this row's variant.
    Parametric(fn(&Op, &[Option<f64>]) -> Option<ScalarFn>),
}

impl std::fmt::Debug for Scalar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Scalar::Plain(_) => "Plain(..)",
            Scalar::Parametric(_) => "Parametric(..)",
        })
    }
}

/// The ONNX (default domain) operator an op imports from and exports to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct OnnxForm {
    /// Operator type, e.g. `HardSwish`.
    pub name: &'static str,
    /// The first opset from which pare imports the operator: the version of its
    /// definition in force at opset 11 (the oldest opset whose forms the importer
    /// translates; newer versions' changes it handles), or its introduction when
    /// that is later. A model declaring an older opset uses an older definition
    /// of the operator, and its nodes of this operator are rejected.
    pub since: i64,
}

/// Inputs and outputs an op accepts.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Signature {
    /// Input names in ONNX order (used in error messages). For a variadic op the
    /// last name stands for every further input.
    pub inputs: &'static [&'static str],
    /// Inputs that must be present (the first `min_inputs` slots).
    pub min_inputs: usize,
    /// Accepts any number of inputs `>= min_inputs`.
    pub variadic: bool,
    pub min_outputs: usize,
    /// `None` means unbounded (`Split`).
    pub max_outputs: Option<usize>,
}

/// One row of the op table (see [`Op::info`]).
#[derive(Clone, Copy, Debug)]
pub struct OpInfo {
    pub category: Category,
    pub signature: Signature,
    /// The float scalar function of an element-wise op, if it has one.
    pub scalar: Option<Scalar>,
    /// Runs as a lookup table on quantized data (needs `scalar`).
    pub lut: bool,
    pub onnx: Option<OnnxForm>,
    /// `torch.export` targets (without `torch.ops.`) that lower to this op alone,
    /// their tensor arguments in order becoming its inputs. Only attribute-free
    /// ops with one or two inputs list any.
    pub aten: &'static [&'static str],
}

/// The `const` builders the table's rows are written with:
/// `unary(Float).scalar(f64::exp).lut().onnx("Exp", 6).aten(&["aten.exp.default"])`.
pub(crate) mod build {
    pub use super::Accepts::*;
    use super::*;

    const X: &[&str] = &["x"];
    const AB: &[&str] = &["a", "b"];

    /// `inputs` names, the first `min_inputs` required, one output.
    pub const fn sig(inputs: &'static [&'static str], min_inputs: usize) -> Signature {
        Signature {
            inputs,
            min_inputs,
            variadic: false,
            min_outputs: 1,
            max_outputs: Some(1),
        }
    }

    /// At least `min_inputs` inputs, all called `name`, one output.
    pub const fn variadic(name: &'static [&'static str], min_inputs: usize) -> Signature {
        Signature {
            variadic: true,
            ..sig(name, min_inputs)
        }
    }

    const fn row(category: Category, signature: Signature) -> OpInfo {
        OpInfo {
            category,
            signature,
            scalar: None,
            lut: false,
            onnx: None,
            aten: &[],
        }
    }

    pub const fn unary(a: Accepts) -> OpInfo {
        row(Category::Unary(a), sig(X, 1))
    }
    pub const fn unary_test(a: Accepts) -> OpInfo {
        row(Category::UnaryTest(a), sig(X, 1))
    }
    pub const fn broadcast(a: Accepts) -> OpInfo {
        row(Category::Broadcast(a), sig(AB, 2))
    }
    pub const fn compare(a: Accepts) -> OpInfo {
        row(Category::Compare(a), sig(AB, 2))
    }
    /// A one-input, one-output op of category `c`; `.sig(..)` and `.outputs(..)` change it.
    pub const fn op(c: Category) -> OpInfo {
        row(c, sig(X, 1))
    }
    pub use Category::{
        DataMovement, Elementwise, Generator, LinearAlgebra, Normalization, Pooling, Quantization,
        Recurrent, Reduction, Softmax,
    };

    impl OpInfo {
        pub(crate) const fn sig(self, signature: Signature) -> OpInfo {
            OpInfo { signature, ..self }
        }
        pub(crate) const fn inputs(self, names: &'static [&'static str], min: usize) -> OpInfo {
            self.sig(Signature {
                inputs: names,
                min_inputs: min,
                ..self.signature
            })
        }
        /// Between `min` and `max` outputs (`None`: unbounded).
        pub(crate) const fn outputs(self, min: usize, max: Option<usize>) -> OpInfo {
            self.sig(Signature {
                min_outputs: min,
                max_outputs: max,
                ..self.signature
            })
        }
        pub(crate) const fn scalar(self, f: fn(f64) -> f64) -> OpInfo {
            OpInfo {
                scalar: Some(Scalar::Plain(f)),
                ..self
            }
        }
        pub(crate) const fn scalar_with(
            self,
            f: fn(&Op, &[Option<f64>]) -> Option<ScalarFn>,
        ) -> OpInfo {
            OpInfo {
                scalar: Some(Scalar::Parametric(f)),
                ..self
            }
        }
        pub(crate) const fn lut(self) -> OpInfo {
            OpInfo { lut: true, ..self }
        }
        pub(crate) const fn onnx(self, name: &'static str, since: i64) -> OpInfo {
            OpInfo {
                onnx: Some(OnnxForm { name, since }),
                ..self
            }
        }
        pub(crate) const fn aten(self, targets: &'static [&'static str]) -> OpInfo {
            OpInfo {
                aten: targets,
                ..self
            }
        }
    }
}
