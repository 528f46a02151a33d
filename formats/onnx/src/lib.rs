//! ONNX import and export for pare: protobuf types generated from `proto/onnx.proto`,
//! the importer (opsets 11–21 normalized to pare's op conventions) and the exporter
//! (always opset 21).

mod error;
mod export;
mod external;
mod import;
mod palette_decode;
mod tensor;
mod tensorrt_rules;
mod types;

/// Types generated from `proto/onnx.proto` by prost (in OUT_DIR).
#[allow(missing_debug_implementations, clippy::all)]
pub mod proto {
    include!(concat!(env!("OUT_DIR"), "/onnx.rs"));
}

pub use error::{ErrorKind, OnnxError, UnsupportedNode};
pub use export::{
    export_file, export_model, palette_storage, ExportOptions, ExternalDataOptions, PaletteStored,
    EXPORT_IR_VERSION, EXPORT_OPSET,
};
pub use import::{
    import_bytes, import_file, read_tensor_pb, tensor_from_bytes, IR_VERSIONS, OPSETS,
};
pub use tensorrt_rules::{check_tensorrt, RuleReport, Violation};
