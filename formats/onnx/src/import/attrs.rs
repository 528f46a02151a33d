//! Typed, checked access to a node's ONNX attributes. Every attribute must be taken
//! by the op's converter; leftovers are reported as unknown.

use crate::error::ErrorKind;
use crate::proto::attribute_proto::AttributeType;
use crate::proto::{AttributeProto, NodeProto, TensorProto};
use std::collections::BTreeMap;

/// The attributes of one node, consumed as the converter reads them.
#[derive(Debug)]
pub(crate) struct Attrs<'a> {
    node: String,
    op: String,
    map: BTreeMap<String, &'a AttributeProto>,
}

impl<'a> Attrs<'a> {
    pub fn new(n: &'a NodeProto) -> Result<Attrs<'a>, ErrorKind> {
        let mut a = Attrs {
            node: n.name.clone().unwrap_or_default(),
            op: n.op_type.clone().unwrap_or_default(),
            map: BTreeMap::new(),
        };
        for attr in &n.attribute {
            let name = attr.name.clone().unwrap_or_default();
            if attr.ref_attr_name.as_deref().is_some_and(|r| !r.is_empty()) {
                return Err(a.err(
                    &name,
                    "refers to a function attribute; only model graphs are supported",
                ));
            }
            if a.map.insert(name.clone(), attr).is_some() {
                return Err(a.err(&name, "given twice"));
            }
        }
        Ok(a)
    }

    pub fn err(&self, attr: &str, msg: impl Into<String>) -> ErrorKind {
        ErrorKind::Attribute {
            node: self.node.clone(),
            op: self.op.clone(),
            attr: attr.to_string(),
            msg: msg.into(),
        }
    }

    /// An error about the node itself (not one attribute).
    pub fn node_err(&self, msg: impl Into<String>) -> ErrorKind {
        ErrorKind::Node {
            node: self.node.clone(),
            op: self.op.clone(),
            msg: msg.into(),
        }
    }

    pub fn has(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// Removes `name`, checking that it is of type `want`. An attribute written
    /// without a type (very old writers) is accepted when the matching field is set.
    fn take(
        &mut self,
        name: &str,
        want: AttributeType,
        field_set: impl Fn(&AttributeProto) -> bool,
    ) -> Result<Option<&'a AttributeProto>, ErrorKind> {
        let Some(a) = self.map.remove(name) else {
            return Ok(None);
        };
        let ty = a.r#type.unwrap_or(0);
        let ok = ty == want as i32 || (ty == AttributeType::Undefined as i32 && field_set(a));
        if !ok {
            let got = AttributeType::try_from(ty)
                .map(|t| t.as_str_name().to_string())
                .unwrap_or_else(|_| format!("type code {ty}"));
            return Err(self.err(name, format!("expected {}, got {got}", want.as_str_name())));
        }
        Ok(Some(a))
    }

    pub fn int(&mut self, name: &str) -> Result<Option<i64>, ErrorKind> {
        Ok(self
            .take(name, AttributeType::Int, |a| a.i.is_some())?
            .map(|a| a.i.unwrap_or(0)))
    }

    pub fn int_or(&mut self, name: &str, default: i64) -> Result<i64, ErrorKind> {
        Ok(self.int(name)?.unwrap_or(default))
    }

    pub fn req_int(&mut self, name: &str) -> Result<i64, ErrorKind> {
        self.int(name)?
            .ok_or_else(|| self.err(name, "required but missing"))
    }

    /// An int attribute that must be 0 or 1.
    pub fn bool_or(&mut self, name: &str, default: bool) -> Result<bool, ErrorKind> {
        match self.int(name)? {
            None => Ok(default),
            Some(0) => Ok(false),
            Some(1) => Ok(true),
            Some(v) => Err(self.err(name, format!("expected 0 or 1, got {v}"))),
        }
    }

    pub fn float(&mut self, name: &str) -> Result<Option<f32>, ErrorKind> {
        Ok(self
            .take(name, AttributeType::Float, |a| a.f.is_some())?
            .map(|a| a.f.unwrap_or(0.0)))
    }

    pub fn float_or(&mut self, name: &str, default: f32) -> Result<f32, ErrorKind> {
        Ok(self.float(name)?.unwrap_or(default))
    }

    pub fn ints(&mut self, name: &str) -> Result<Option<Vec<i64>>, ErrorKind> {
        Ok(self
            .take(name, AttributeType::Ints, |a| !a.ints.is_empty())?
            .map(|a| a.ints.clone()))
    }

    pub fn floats(&mut self, name: &str) -> Result<Option<Vec<f32>>, ErrorKind> {
        Ok(self
            .take(name, AttributeType::Floats, |a| !a.floats.is_empty())?
            .map(|a| a.floats.clone()))
    }

    pub fn string(&mut self, name: &str) -> Result<Option<String>, ErrorKind> {
        let Some(a) = self.take(name, AttributeType::String, |a| a.s.is_some())? else {
            return Ok(None);
        };
        let bytes = a.s.clone().unwrap_or_default();
        String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| self.err(name, "not valid UTF-8"))
    }

    pub fn strings(&mut self, name: &str) -> Result<Option<Vec<String>>, ErrorKind> {
        let Some(a) = self.take(name, AttributeType::Strings, |a| !a.strings.is_empty())? else {
            return Ok(None);
        };
        a.strings
            .iter()
            .map(|s| String::from_utf8(s.clone()).map_err(|_| self.err(name, "not valid UTF-8")))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    pub fn tensor(&mut self, name: &str) -> Result<Option<&'a TensorProto>, ErrorKind> {
        Ok(self
            .take(name, AttributeType::Tensor, |a| a.t.is_some())?
            .and_then(|a| a.t.as_ref()))
    }

    /// A string attribute parsed by one of the IR's string enums.
    pub fn enum_or<T: Copy>(
        &mut self,
        name: &str,
        default: T,
        parse: fn(&str) -> Option<T>,
        names: &[&str],
    ) -> Result<T, ErrorKind> {
        match self.string(name)? {
            None => Ok(default),
            Some(s) => parse(&s)
                .ok_or_else(|| self.err(name, format!("`{s}` is not one of {}", names.join(", ")))),
        }
    }

    /// Takes an attribute whose value pare does not need (e.g. a training-only
    /// `momentum`), still checking it is of the right type.
    pub fn ignore(&mut self, name: &str, ty: AttributeType) -> Result<(), ErrorKind> {
        self.take(name, ty, |_| true).map(|_| ())
    }

    /// Fails if any attribute was not taken.
    pub fn finish(self) -> Result<(), ErrorKind> {
        match self.map.keys().next() {
            None => Ok(()),
            Some(k) => Err(self.err(k, "unknown attribute for this op")),
        }
    }
}
