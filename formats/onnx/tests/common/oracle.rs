//! What the Python `onnx` package reads from each fixture (`tests/oracle/data/fixtures/
//! <stem>.json`, written by `tests/oracle/gen_fixture_refs.py`), for comparing pare's
//! import against the file itself rather than against one exporter's totals.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// One graph input or output as the file declares it.
#[derive(Debug, Deserialize)]
pub struct DeclaredValue {
    pub name: String,
    /// A dim is its size, its `dim_param` name, or `null` when the file leaves it unnamed.
    pub shape: Vec<DeclaredDim>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum DeclaredDim {
    Fixed(u64),
    Named(String),
    Unnamed(()),
}

/// The structure of one ONNX file, per the `onnx` package.
#[derive(Debug, Deserialize)]
pub struct Structure {
    pub producer_name: String,
    pub ir_version: i64,
    /// Default-domain opset.
    pub opset: i64,
    pub inputs: Vec<DeclaredValue>,
    pub outputs: Vec<DeclaredValue>,
    /// Nodes per `op_type`, `Constant` left out.
    pub op_counts: BTreeMap<String, usize>,
    /// Elements of the initializers that a node or graph output uses.
    pub initializer_elements: u64,
    /// Elements of the `Constant` values that a node or graph output uses.
    pub constant_elements: u64,
    /// Elements of `axes` int-list attributes, per `op_type`.
    pub axes_attribute_elements: BTreeMap<String, u64>,
}

/// The oracle's structure of fixture `stem`. Fails loudly when the oracle data has not
/// been generated: a structural test never passes without its reference.
pub fn structure(stem: &str) -> Structure {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = root.join("tests/oracle/data/fixtures");
    let path = dir.join(format!("{stem}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "oracle structure {} is unreadable ({e}): run `bash scripts/setup-tests.sh` \
             (installs onnx/onnxruntime into .venv and generates it)",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
