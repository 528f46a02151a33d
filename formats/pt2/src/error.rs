//! Errors of the `.pt2` front end: each names the archive, then the entry, weight or
//! node at fault and what was expected.

use pare_ir::IrError;

/// An import failure in one archive.
#[derive(Debug, thiserror::Error)]
#[error("{archive}: {kind}")]
pub struct Pt2Error {
    /// The archive's file name (or the name given to `import_bytes`).
    pub archive: String,
    pub kind: ErrorKind,
}

/// What went wrong, without the archive name.
#[derive(Debug, thiserror::Error)]
pub enum ErrorKind {
    #[error("cannot read the file: {0}")]
    Io(String),
    #[error("not a readable zip archive: {0}")]
    Zip(String),
    #[error("missing archive entry `{0}`")]
    Missing(String),
    #[error("archive entry `{entry}`: {msg}")]
    Entry { entry: String, msg: String },
    #[error("archive entry `{entry}`: invalid JSON for the torch.export schema: {msg}")]
    Json { entry: String, msg: String },
    #[error("{0}")]
    OldLayout(String),
    #[error("unsupported {what} `{got}` (pare reads {expected})")]
    Version {
        what: &'static str,
        got: String,
        expected: &'static str,
    },
    #[error("weight `{name}`: {msg}")]
    Weight { name: String, msg: String },
    #[error("node `{node}` ({target}): {source}")]
    Node {
        node: String,
        target: String,
        /// Boxed: the lowering error is larger than the other kinds.
        source: Box<crate::translate::LowerError>,
    },
    #[error("unsupported ATen ops: {0}")]
    Unsupported(String),
    #[error("graph: {0}")]
    Graph(String),
    #[error("shape inference failed on the translated graph: {0}")]
    Infer(String),
    #[error(transparent)]
    Ir(#[from] IrError),
}

impl ErrorKind {
    /// Attaches the archive name.
    pub fn at(self, archive: &str) -> Pt2Error {
        Pt2Error {
            archive: archive.to_string(),
            kind: self,
        }
    }
}
