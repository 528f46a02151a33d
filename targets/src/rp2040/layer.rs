//! One generated layer: a `static const` params struct of named constants, the
//! kernel call that uses it, and the context a kernel builder reads a node from
//! (operand types and places, constant inputs, the data file to add arrays to).

use super::data::{CType, ConstData, DataKind};
use super::kernels::WeightStorage;
use super::lower::int8_params;
use super::storage::Storage;
use super::Rp2040Error;
use pare_ir::quant::Rounding;
use pare_ir::{Graph, Node, NodeId, Tensor, ValueId};
use std::fmt::Write;

/// A params struct initializer: `rows` of `.field = value` pairs, one row a line.
#[derive(Clone, Debug)]
pub(crate) struct Params {
    pub ctype: &'static str,
    pub rows: Vec<Vec<(&'static str, String)>>,
}

impl Params {
    pub fn new(ctype: &'static str) -> Params {
        Params {
            ctype,
            rows: Vec::new(),
        }
    }

    /// Adds a row of fields (printed on one line).
    pub fn row<V: ToString>(mut self, fields: &[(&'static str, V)]) -> Params {
        self.rows
            .push(fields.iter().map(|(k, v)| (*k, v.to_string())).collect());
        self
    }

    /// `static const T name = { .a = 1, ... };`
    pub fn definition(&self, name: &str) -> String {
        let mut s = format!("static const {} {name} = {{\n", self.ctype);
        for row in &self.rows {
            let fields: Vec<String> = row.iter().map(|(k, v)| format!(".{k} = {v},")).collect();
            let _ = writeln!(s, "    {}", fields.join(" "));
        }
        s.push_str("};\n");
        s
    }
}

/// What a builder produces for one node.
#[derive(Clone, Debug)]
pub(crate) struct Layer {
    /// The C function called (or `memcpy`, or `none` for an aliased view).
    pub kernel: &'static str,
    /// The layer's params structs, by name (most layers have one).
    pub params: Vec<(String, Params)>,
    /// The statement(s) of the invoke function, without indentation.
    pub call: Vec<String>,
}

/// A node being turned into a layer.
pub(crate) struct NodeCx<'a> {
    pub g: &'a Graph,
    pub node: &'a Node,
    pub node_id: NodeId,
    /// The layer's number in the schedule.
    pub index: usize,
    /// The model's C name (every identifier starts with it).
    pub model: &'a str,
    pub rounding: Rounding,
    pub storage: &'a Storage,
    pub data: &'a mut ConstData,
    /// How a product layer stored its weights (set by its builder), for the report.
    pub weight_storage: Option<WeightStorage>,
    /// Take the palette form of a palette weight even where it is larger.
    pub force_palette: bool,
}

impl NodeCx<'_> {
    pub fn err(&self, msg: impl Into<String>) -> Rp2040Error {
        Rp2040Error::node(self.node, msg)
    }

    /// The params struct's name: `model_l3`.
    pub fn params_name(&self) -> String {
        format!("{}_l{}", self.model, self.index)
    }

    /// `PARE_ROUNDING_GEMMLOWP` or `PARE_ROUNDING_SINGLE`.
    pub fn rounding_macro(&self) -> &'static str {
        match self.rounding {
            Rounding::Gemmlowp => "PARE_ROUNDING_GEMMLOWP",
            Rounding::Single => "PARE_ROUNDING_SINGLE",
        }
    }

    pub fn input(&self, i: usize) -> Result<ValueId, Rp2040Error> {
        self.node
            .input(i)
            .ok_or_else(|| self.err(format!("input {i} is missing")))
    }

    pub fn output(&self, j: usize) -> Result<ValueId, Rp2040Error> {
        self.node
            .outputs
            .get(j)
            .copied()
            .ok_or_else(|| self.err(format!("output {j} is missing")))
    }

    fn shape_of(&self, v: ValueId) -> Result<Vec<usize>, Rp2040Error> {
        self.g
            .ty(v)
            .fixed_shape()
            .map(|s| s.into_iter().map(|d| d as usize).collect())
            .ok_or_else(|| {
                self.err(format!(
                    "`{}` has the symbolic type {}",
                    self.g.value(v).name,
                    self.g.ty(v)
                ))
            })
    }

    pub fn in_shape(&self, i: usize) -> Result<Vec<usize>, Rp2040Error> {
        self.shape_of(self.input(i)?)
    }

    pub fn out_shape(&self, j: usize) -> Result<Vec<usize>, Rp2040Error> {
        self.shape_of(self.output(j)?)
    }

    fn act_of(&self, v: ValueId, what: &str) -> Result<(f32, i32), Rp2040Error> {
        int8_params(self.g.ty(v)).ok_or_else(|| {
            self.err(format!(
                "{what} `{}` must be int8 with one scale and zero point, got {}",
                self.g.value(v).name,
                self.g.ty(v)
            ))
        })
    }

    /// Input `i`'s per-tensor (scale, zero point).
    pub fn act_in(&self, i: usize) -> Result<(f32, i32), Rp2040Error> {
        self.act_of(self.input(i)?, &format!("input {i}"))
    }

    /// Output `j`'s per-tensor (scale, zero point).
    pub fn act_out(&self, j: usize) -> Result<(f32, i32), Rp2040Error> {
        self.act_of(self.output(j)?, &format!("output {j}"))
    }

    /// Whether input `i` is a constant (a weight).
    pub fn is_const(&self, i: usize) -> bool {
        self.node
            .input(i)
            .is_some_and(|v| self.g.weight_of(v).is_some())
    }

    /// Constant input `i` as a tensor (4-bit weights unpacked to one code a byte).
    pub fn constant(&self, i: usize) -> Result<Tensor, Rp2040Error> {
        let v = self.input(i)?;
        let w = self.g.weight_of(v).ok_or_else(|| {
            self.err(format!(
                "input {i} (`{}`) must be a constant for the C kernel",
                self.g.value(v).name
            ))
        })?;
        Ok(w.tensor()?)
    }

    /// Constant input `i`, if present.
    pub fn opt_constant(&self, i: usize) -> Result<Option<Tensor>, Rp2040Error> {
        match self.node.input(i) {
            None => Ok(None),
            Some(_) => self.constant(i).map(Some),
        }
    }

    /// A data input as a C expression: its place for an activation, or a new
    /// `const int8_t` array for a constant (quantized per tensor like an
    /// activation).
    pub fn operand(&mut self, i: usize) -> Result<String, Rp2040Error> {
        let v = self.input(i)?;
        if self.g.weight_of(v).is_some() {
            self.act_in(i)?;
            let t = self.constant(i)?;
            let codes = int_values(&t)
                .ok_or_else(|| self.err(format!("constant input {i} must hold int8 codes")))?;
            let comment = format!(
                "{}: constant input {i} `{}` {}",
                self.what(),
                self.g.value(v).name,
                super::cgen::shape_text(t.shape())
            );
            return Ok(self.array(
                &format!("in{i}"),
                CType::I8,
                codes,
                DataKind::Weights,
                comment,
            ));
        }
        self.storage.expr(v).ok_or_else(|| {
            self.err(format!(
                "input {i} (`{}`) has no place in memory",
                self.g.value(v).name
            ))
        })
    }

    /// Output `j` as a C expression.
    pub fn out_ptr(&self, j: usize) -> Result<String, Rp2040Error> {
        let v = self.output(j)?;
        self.storage.expr(v).ok_or_else(|| {
            self.err(format!(
                "output {j} (`{}`) has no place in memory",
                self.g.value(v).name
            ))
        })
    }

    /// The usual layer: one params struct and the call
    /// `kernel(&params, operands..., output 0[, after])`.
    pub fn single_call(
        &self,
        kernel: &'static str,
        params: Params,
        operands: Vec<String>,
        after: Option<String>,
    ) -> Result<Layer, Rp2040Error> {
        let name = self.params_name();
        let mut args = vec![format!("&{name}")];
        args.extend(operands);
        args.push(self.out_ptr(0)?);
        args.extend(after);
        Ok(Layer {
            kernel,
            params: vec![(name, params)],
            call: vec![format!("{kernel}({});", args.join(", "))],
        })
    }

    /// Adds the constant array `model_l3_what`; returns its name.
    pub fn array(
        &mut self,
        what: &str,
        ctype: CType,
        values: Vec<i64>,
        kind: DataKind,
        comment: String,
    ) -> String {
        let name = format!("{}_l{}_{what}", self.model, self.index);
        self.data.push(name, ctype, values, kind, comment)
    }

    /// Per-channel `(multiplier, shift)` pairs as two arrays; returns their names.
    pub fn requant_arrays(&mut self, mult: &[(i32, i32)], what: &str) -> (String, String) {
        let m = mult.iter().map(|&(m, _)| i64::from(m)).collect();
        let s = mult.iter().map(|&(_, s)| i64::from(s)).collect();
        let node = self.what();
        let mn = self.array(
            "multiplier",
            CType::I32,
            m,
            DataKind::Tables,
            format!("{node}: requantization multipliers ({what})"),
        );
        let sn = self.array(
            "shift",
            CType::I32,
            s,
            DataKind::Tables,
            format!("{node}: requantization shifts ({what})"),
        );
        (mn, sn)
    }

    /// `layer 3, conv "/c1/Conv"` for comments.
    pub fn what(&self) -> String {
        format!(
            "layer {}, {} `{}`",
            self.index,
            self.node.op.name(),
            self.node.name
        )
    }
}

/// An integer tensor's values as i64 (`None` for floats).
pub(crate) fn int_values(t: &Tensor) -> Option<Vec<i64>> {
    t.dtype().is_int().then(|| t.to_i64_vec())
}

/// Sizes as C ints, or an error naming what overflowed (kernels index with
/// 32-bit ints).
pub(crate) fn c_int(cx: &NodeCx, v: usize, what: &str) -> Result<i64, Rp2040Error> {
    if v > i32::MAX as usize / 2 {
        return Err(cx.err(format!("{what} = {v} is too large for 32-bit indexing")));
    }
    Ok(v as i64)
}
