//! PyTorch front end: reads the `.pt2` archives `torch.export.save` writes (torch ≥ 2.9
//! layout: JSON graph plus raw weight files) and translates the exported ATen graph
//! into pare's IR, with no Python or libtorch involved.
//!
//! Both the pre-dispatch graphs `torch.export.export` gives and the core ATen forms
//! `ep.run_decompositions()` leaves are read (see [`SUPPORTED_OPS`] and
//! [`CORE_ATEN_OPS`]). Multi-output
//! nodes (`max_pool2d_with_indices`, `native_dropout`, `split*`) bind every named
//! output, as the serializer names the `getitem` results directly in the node's
//! `outputs` (`as_tensor` per tuple element or one `as_tensors` list).
//!
//! Dynamic-shape exports work: symbolic input sizes keep torch's symbol names
//! (`s0`, ...), and the symbolic integers the graph computes (`aten.sym_size.int`,
//! `_operator.{add,sub,mul,floordiv}` on them, `as_sym_ints` size lists of
//! `view`/`reshape`/`expand`, sym-int `slice` bounds) become `[1]`-shaped i64 values
//! (`Shape`, arithmetic, `Concat`) that shape inference follows and `cleanup` folds.

mod archive;
mod error;
mod schema;
mod translate;
mod weights;

pub use error::{ErrorKind, Pt2Error};
pub use translate::{is_supported, LowerError, CORE_ATEN_OPS, SUPPORTED_OPS};

use pare_ir::Graph;
use std::path::Path;

/// Reads a `.pt2` archive from disk and translates its exported program.
pub fn import_file(path: &Path) -> Result<Graph, Pt2Error> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| ErrorKind::Io(e.to_string()).at(&name))?;
    import_bytes(&bytes, &name)
}

/// Reads a `.pt2` archive held in memory; `source_name` names it in errors.
pub fn import_bytes(bytes: &[u8], source_name: &str) -> Result<Graph, Pt2Error> {
    import_inner(bytes).map_err(|k| k.at(source_name))
}

fn import_inner(bytes: &[u8]) -> Result<Graph, ErrorKind> {
    let mut ar = archive::Archive::open(bytes)?;
    let program = ar.program()?;
    translate::translate(&program)
}
