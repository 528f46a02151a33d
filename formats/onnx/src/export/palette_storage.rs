//! What a written ONNX file stores for each palette weight, read back from the
//! file's own bytes (for the compile report, so its figures are the artifact's):
//! the index initializer's type, shape and bytes, and the codebook's bytes.

use super::palette::{CODEBOOK_SUFFIX, INDICES_SUFFIX};
use crate::proto::{tensor_proto::DataType, ModelProto, TensorProto};
use crate::{ErrorKind, OnnxError};
use prost::Message;

/// One palette weight as the file stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaletteStored {
    /// The weight's name (the initializers add their suffixes to it).
    pub weight: String,
    /// The index initializer's ONNX type: `UINT4`, or `UINT8` (one index a byte,
    /// or pare's packed rows unpacked by the decode subgraph).
    pub index_type: String,
    pub index_dims: Vec<i64>,
    pub index_bytes: u64,
    pub codebook_bytes: u64,
}

/// Bytes of a tensor's data, inline or in external data.
fn data_bytes(t: &TensorProto) -> u64 {
    if let Some(len) = t
        .external_data
        .iter()
        .find(|e| e.key.as_deref() == Some("length"))
        .and_then(|e| e.value.as_deref()?.parse().ok())
    {
        return len;
    }
    t.raw_data.as_ref().map_or(0, |r| r.len() as u64)
}

/// The palette weights of the ONNX model in `bytes`, in initializer order.
pub fn palette_storage(bytes: &[u8]) -> Result<Vec<PaletteStored>, OnnxError> {
    let m = ModelProto::decode(bytes).map_err(|e| ErrorKind::from(e).at("the written model"))?;
    let Some(g) = m.graph else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for t in &g.initializer {
        let Some(weight) = t
            .name
            .as_deref()
            .and_then(|n| n.strip_suffix(INDICES_SUFFIX))
        else {
            continue;
        };
        let book = format!("{weight}{CODEBOOK_SUFFIX}");
        let codebook_bytes = g
            .initializer
            .iter()
            .find(|b| b.name.as_deref() == Some(book.as_str()))
            .map_or(0, data_bytes);
        let index_type = DataType::try_from(t.data_type.unwrap_or(0)).map_or_else(
            |_| format!("type {}", t.data_type.unwrap_or(0)),
            |d| d.as_str_name().to_string(),
        );
        out.push(PaletteStored {
            weight: weight.to_string(),
            index_type,
            index_dims: t.dims.clone(),
            index_bytes: data_bytes(t),
            codebook_bytes,
        });
    }
    Ok(out)
}
