//! Reading one node's named arguments (the schema's `Argument` unions) with
//! defaults for arguments the exporter left out.

use super::error::LowerError;
use crate::schema::NodeDef;
use crate::translate::single_key;
use serde_json::Value as Json;

/// One node being lowered: its name, op and argument accessors.
#[derive(Debug)]
pub(crate) struct NodeCtx<'n> {
    pub node: &'n NodeDef,
    pub name: String,
    /// Target without the `torch.ops.` prefix, e.g. `aten.conv2d.default`.
    pub op: String,
}

impl<'n> NodeCtx<'n> {
    pub fn new(node: &'n NodeDef, name: &str, op: &str) -> NodeCtx<'n> {
        NodeCtx {
            node,
            name: name.to_string(),
            op: op.to_string(),
        }
    }

    /// The argument union for `name`, if given and not `as_none`.
    pub fn arg(&self, name: &str) -> Option<(&'n str, &'n Json)> {
        let a = self.node.inputs.iter().find(|a| a.name == name)?;
        let (k, v) = single_key(&a.arg)?;
        (k != "as_none").then_some((k, v))
    }

    fn bad(&self, name: &str, want: &'static str) -> LowerError {
        match self.node.inputs.iter().find(|a| a.name == name) {
            Some(a) => LowerError::BadArg {
                arg: name.to_string(),
                want,
                got: a.arg.to_string(),
            },
            None => LowerError::MissingArg {
                arg: name.to_string(),
                want,
            },
        }
    }

    /// Name of a tensor argument (required).
    pub fn tensor(&self, name: &str) -> Result<&'n str, LowerError> {
        self.opt_tensor(name)?
            .ok_or_else(|| self.bad(name, "a tensor"))
    }

    pub fn opt_tensor(&self, name: &str) -> Result<Option<&'n str>, LowerError> {
        match self.arg(name) {
            None => Ok(None),
            Some(("as_tensor", v)) => v
                .get("name")
                .and_then(Json::as_str)
                .map(Some)
                .ok_or_else(|| self.bad(name, "a named tensor")),
            Some(_) => Err(self.bad(name, "a tensor")),
        }
    }

    pub fn tensors(&self, name: &str) -> Result<Vec<&'n str>, LowerError> {
        match self.arg(name) {
            Some(("as_tensors", Json::Array(list))) => list
                .iter()
                .map(|t| {
                    t.get("name")
                        .and_then(Json::as_str)
                        .ok_or_else(|| self.bad(name, "named tensors"))
                })
                .collect(),
            _ => Err(self.bad(name, "a list of tensors")),
        }
    }

    pub fn int(&self, name: &str, default: Option<i64>) -> Result<i64, LowerError> {
        match self.arg(name) {
            None => default.ok_or_else(|| self.bad(name, "an int")),
            Some(("as_int", v)) => v.as_i64().ok_or_else(|| self.bad(name, "an int")),
            Some(("as_sym_int", v)) => v
                .get("as_int")
                .and_then(Json::as_i64)
                .ok_or_else(|| self.bad(name, "a concrete int")),
            Some(_) => Err(self.bad(name, "an int")),
        }
    }

    pub fn opt_int(&self, name: &str) -> Result<Option<i64>, LowerError> {
        match self.arg(name) {
            None => Ok(None),
            Some(_) => self.int(name, None).map(Some),
        }
    }

    pub fn ints(&self, name: &str, default: Option<&[i64]>) -> Result<Vec<i64>, LowerError> {
        let list = match self.arg(name) {
            None => {
                return default
                    .map(<[i64]>::to_vec)
                    .ok_or_else(|| self.bad(name, "ints"))
            }
            Some(("as_int", v)) => {
                return v
                    .as_i64()
                    .map(|n| vec![n])
                    .ok_or_else(|| self.bad(name, "ints"))
            }
            Some(("as_ints", Json::Array(l))) => {
                l.iter().map(Json::as_i64).collect::<Option<Vec<_>>>()
            }
            Some(("as_sym_ints", Json::Array(l))) => l
                .iter()
                .map(|j| j.get("as_int").and_then(Json::as_i64))
                .collect::<Option<Vec<_>>>(),
            Some(_) => None,
        };
        list.ok_or_else(|| self.bad(name, "concrete ints"))
    }

    pub fn float(&self, name: &str, default: Option<f64>) -> Result<f64, LowerError> {
        match self.arg(name) {
            None => default.ok_or_else(|| self.bad(name, "a float")),
            Some(("as_float" | "as_int", v)) => {
                json_f64(v).ok_or_else(|| self.bad(name, "a float"))
            }
            Some(("as_sym_float" | "as_sym_int", v)) => v
                .get("as_float")
                .or_else(|| v.get("as_int"))
                .and_then(json_f64)
                .ok_or_else(|| self.bad(name, "a concrete number")),
            Some(_) => Err(self.bad(name, "a float")),
        }
    }

    pub fn opt_float(&self, name: &str) -> Result<Option<f64>, LowerError> {
        match self.arg(name) {
            None => Ok(None),
            Some(_) => self.float(name, None).map(Some),
        }
    }

    pub fn bool(&self, name: &str, default: bool) -> Result<bool, LowerError> {
        match self.arg(name) {
            None => Ok(default),
            Some(("as_bool", v)) => v.as_bool().ok_or_else(|| self.bad(name, "a bool")),
            Some(_) => Err(self.bad(name, "a bool")),
        }
    }

    pub fn string(&self, name: &str, default: &str) -> Result<String, LowerError> {
        match self.arg(name) {
            None => Ok(default.to_string()),
            Some(("as_string", Json::String(s))) => Ok(s.clone()),
            Some(_) => Err(self.bad(name, "a string")),
        }
    }

    /// Names of all output tensors, flattening `as_tensors` lists; `None` for
    /// outputs the exporter left unnamed (`as_none`, non-tensor results).
    pub fn outs(&self) -> Vec<Option<&'n str>> {
        let mut names = Vec::new();
        for o in &self.node.outputs {
            match single_key(o) {
                Some(("as_tensor", t)) => names.push(t.get("name").and_then(Json::as_str)),
                Some(("as_tensors", Json::Array(l))) => {
                    names.extend(l.iter().map(|t| t.get("name").and_then(Json::as_str)))
                }
                _ => names.push(None),
            }
        }
        names
    }

    /// Name of output tensor `i` (flattening `as_tensors` lists).
    pub fn out(&self, i: usize) -> Result<&'n str, LowerError> {
        self.outs()
            .get(i)
            .copied()
            .flatten()
            .ok_or(LowerError::UnnamedOutput(i))
    }
}

/// A JSON number, or the strings torch writes for non-finite floats.
pub(crate) fn json_f64(v: &Json) -> Option<f64> {
    match v {
        Json::Number(n) => n.as_f64(),
        Json::String(s) => match s.as_str() {
            "Infinity" | "inf" => Some(f64::INFINITY),
            "-Infinity" | "-inf" => Some(f64::NEG_INFINITY),
            "NaN" | "nan" => Some(f64::NAN),
            _ => None,
        },
        _ => None,
    }
}
