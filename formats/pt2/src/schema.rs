//! The subset of torch.export's JSON schema (`torch/_export/serde/schema.py`) pare
//! reads: the exported program in `models/<model>.json` and the weight/constant
//! configs. Argument unions stay `serde_json::Value` so that unknown variants become
//! clear per-node errors instead of whole-file parse failures.

use serde::Deserialize;
use serde_json::Value as Json;
use std::collections::BTreeMap;

#[derive(Deserialize, Debug)]
pub struct Model {
    pub schema_version: SchemaVersion,
    pub graph_module: GraphModule,
    #[serde(default)]
    pub torch_version: Option<String>,
}

#[derive(Deserialize, Debug)]
pub struct SchemaVersion {
    pub major: i64,
    pub minor: i64,
}

#[derive(Deserialize, Debug)]
pub struct GraphModule {
    pub graph: GraphDef,
    pub signature: Signature,
}

#[derive(Deserialize, Debug)]
pub struct GraphDef {
    pub nodes: Vec<NodeDef>,
    #[serde(default)]
    pub tensor_values: BTreeMap<String, TensorMeta>,
}

#[derive(Deserialize, Debug)]
pub struct NodeDef {
    pub target: String,
    pub inputs: Vec<NamedArg>,
    pub outputs: Vec<Json>,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Deserialize, Debug)]
pub struct NamedArg {
    pub name: String,
    pub arg: Json,
}

#[derive(Deserialize, Debug, Clone)]
pub struct TensorMeta {
    pub dtype: i64,
    pub sizes: Vec<Json>,
    #[serde(default)]
    pub strides: Vec<Json>,
    #[serde(default)]
    pub storage_offset: Option<Json>,
}

#[derive(Deserialize, Debug)]
pub struct Signature {
    pub input_specs: Vec<Json>,
    pub output_specs: Vec<Json>,
}

/// `data/weights/<model>_weights_config.json` and the constants twin.
#[derive(Deserialize, Debug)]
pub struct PayloadConfig {
    pub config: BTreeMap<String, PayloadEntry>,
}

#[derive(Deserialize, Debug)]
pub struct PayloadEntry {
    pub path_name: String,
    #[serde(default)]
    pub use_pickle: bool,
    pub tensor_meta: TensorMeta,
}

/// A symbolic or concrete size (`SymInt`): `{"as_int": n}` or `{"as_expr": {...}}`.
#[derive(Clone, Debug, PartialEq)]
pub enum SymSize {
    Int(i64),
    Expr(String),
}

/// Decodes one `SymInt` union; `None` for anything else.
pub fn sym_size(j: &Json) -> Option<SymSize> {
    if let Some(n) = j.get("as_int").and_then(Json::as_i64) {
        return Some(SymSize::Int(n));
    }
    let e = j.get("as_expr")?;
    let s = e
        .get("expr_str")
        .and_then(Json::as_str)
        .or_else(|| e.as_str())?;
    Some(SymSize::Expr(s.to_string()))
}

/// torch's `ScalarType` codes as the schema numbers them.
pub fn dtype_of_code(code: i64) -> Option<pare_ir::DType> {
    use pare_ir::DType::*;
    Some(match code {
        1 => U8,
        2 => I8,
        3 => I16,
        4 => I32,
        5 => I64,
        6 => F16,
        7 => F32,
        8 => F64,
        12 => Bool,
        28 => U16,
        _ => return None,
    })
}

/// A readable name for a dtype code in errors.
pub fn dtype_code_name(code: i64) -> String {
    match code {
        9..=11 => "complex".into(),
        13 => "bfloat16".into(),
        c => format!("ScalarType code {c}"),
    }
}
