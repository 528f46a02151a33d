//! The constant data of a model (weights, biases, requantization multipliers,
//! lookup tables, index maps), collected layer by layer and written as `const`
//! arrays into NAME_weights.c, where they stay in flash.

use super::cgen::{array_body, comment_text};
use std::fmt::Write;

/// Element type of a constant array.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CType {
    I8,
    /// Bytes of packed 4-bit codes.
    U8,
    I32,
    U32,
}

impl CType {
    pub fn name(self) -> &'static str {
        match self {
            CType::I8 => "int8_t",
            CType::U8 => "uint8_t",
            CType::I32 => "int32_t",
            CType::U32 => "uint32_t",
        }
    }

    pub fn bytes(self) -> u64 {
        match self {
            CType::I8 | CType::U8 => 1,
            CType::I32 | CType::U32 => 4,
        }
    }

    fn per_line(self) -> usize {
        match self {
            CType::I8 | CType::U8 => 16,
            CType::I32 | CType::U32 => 8,
        }
    }
}

/// What an array holds, for the report's flash breakdown.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum DataKind {
    /// The model's parameters: weights, biases (zero-point folded), constant operands.
    Weights,
    /// What pare derives at compile time: multipliers, shifts, lookup and
    /// exponential tables, index maps.
    Tables,
}

/// One `const` array of NAME_weights.c.
#[derive(Clone, Debug)]
pub struct ConstArray {
    pub name: String,
    pub ctype: CType,
    pub values: Vec<i64>,
    pub kind: DataKind,
    /// One line saying what it is (the source node and layout).
    pub comment: String,
}

impl ConstArray {
    /// Bytes the array occupies (C has no empty arrays: an empty one holds a 0).
    pub fn bytes(&self) -> u64 {
        self.values.len().max(1) as u64 * self.ctype.bytes()
    }

    /// `extern const T name[N];`
    pub fn declaration(&self) -> String {
        format!(
            "extern const {} {}[{}];",
            self.ctype.name(),
            self.name,
            self.values.len().max(1)
        )
    }

    /// The definition with its comment, aligned to 4 bytes.
    pub fn definition(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "/* {} */", comment_text(&self.comment));
        let _ = writeln!(
            s,
            "const {} {}[{}] PARE_ALIGNED(4) = {{",
            self.ctype.name(),
            self.name,
            self.values.len().max(1)
        );
        if self.values.is_empty() {
            s.push_str("    0,\n");
        } else {
            s.push_str(&array_body(&self.values, self.ctype.per_line()));
        }
        s.push_str("};\n");
        s
    }
}

/// Every constant array of a model, in emission order.
#[derive(Clone, Debug, Default)]
pub struct ConstData {
    pub arrays: Vec<ConstArray>,
}

impl ConstData {
    /// Adds an array; returns its name.
    pub fn push(
        &mut self,
        name: String,
        ctype: CType,
        values: Vec<i64>,
        kind: DataKind,
        comment: String,
    ) -> String {
        self.arrays.push(ConstArray {
            name: name.clone(),
            ctype,
            values,
            kind,
            comment,
        });
        name
    }

    /// Bytes of the arrays of `kind`.
    pub fn bytes(&self, kind: DataKind) -> u64 {
        self.arrays
            .iter()
            .filter(|a| a.kind == kind)
            .map(ConstArray::bytes)
            .sum()
    }
}
