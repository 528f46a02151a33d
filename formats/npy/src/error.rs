//! Errors of `.npy`/`.npz` reading: each names the file (and the array inside an
//! archive), then what was wrong and what was expected.

use pare_ir::IrError;

/// A failure reading or writing one file or array.
#[derive(Debug, thiserror::Error)]
#[error("{location}: {kind}")]
pub struct NpyError {
    /// The file, and for an `.npz` the array: ``data.npz: array `x_test` ``.
    pub location: String,
    pub kind: ErrorKind,
}

/// What went wrong, without the location.
#[derive(Debug, thiserror::Error)]
pub enum ErrorKind {
    #[error("cannot read: {0}")]
    Io(String),
    #[error("not a valid .npz (zip) archive: {0}")]
    Zip(String),
    #[error("no array `{key}` (arrays: {})", list(.available))]
    MissingKey { key: String, available: Vec<String> },
    #[error("holds {} arrays; name one as FILE.npz:KEY (arrays: {})", .available.len(), list(.available))]
    AmbiguousKey { available: Vec<String> },
    #[error("the archive holds no arrays")]
    EmptyArchive,
    #[error("entry uses compression {0}; .npz entries are stored or deflated")]
    Compression(String),
    #[error("bad .npy header: {0}")]
    Header(String),
    #[error("unsupported .npy dtype `{0}` (expected little-endian float, int, uint or bool)")]
    Dtype(String),
    #[error("Fortran-order arrays are not supported (save with numpy.ascontiguousarray)")]
    FortranOrder,
    #[error(
        "header declares shape {shape:?} of {descr} ({expected} data bytes) but the {container} holds {actual} data bytes"
    )]
    SizeMismatch {
        shape: Vec<u64>,
        descr: String,
        expected: u64,
        actual: u64,
        /// `file` or `archive entry`.
        container: &'static str,
    },
    #[error("truncated or corrupt data after {rows_read} of {rows} rows: {msg}")]
    Data {
        rows_read: u64,
        rows: u64,
        msg: String,
    },
    #[error("{0}")]
    Shape(String),
    #[error("{0}")]
    Spec(String),
    #[error("holds no .npy files")]
    EmptyDir,
    #[error("batch size must be at least 1")]
    ZeroBatch,
    #[error(transparent)]
    Ir(#[from] IrError),
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

impl ErrorKind {
    /// Attaches the location.
    pub fn at(self, location: impl Into<String>) -> NpyError {
        NpyError {
            location: location.into(),
            kind: self,
        }
    }
}

/// The location string for an array inside an archive.
pub(crate) fn array_location(path: &std::path::Path, key: &str) -> String {
    format!("{}: array `{key}`", path.display())
}

pub(crate) fn io_err(e: std::io::Error) -> ErrorKind {
    ErrorKind::Io(e.to_string())
}
