//! What one case goes through, in the worker: the format's reader, then for graphs
//! the verifier, shape inference and — when the graph is small enough — the reference
//! interpreter on deterministic inputs; for arrays, whole-file decoding and batch
//! streaming. Errors anywhere are the expected answer to a broken file; only panics,
//! hangs, over-cap allocations, crashes and graphs a reader accepted but the verifier
//! rejects are findings.

use crate::format::Format;
use crate::protocol::Outcome;
use pare_ir::{DType, Graph, Tensor};
use std::path::Path;

/// Graphs with more multiply-accumulates than this (symbols bound to 1) are not
/// interpreted: a mutated MobileNet would cost seconds a case, and the interpreter's
/// kernels are exercised as well by the small fixtures.
pub const MAX_INTERP_MACS: u64 = 20_000_000;

/// Graphs with a value of more elements than this are not interpreted either.
pub const MAX_INTERP_ELEMENTS: u64 = 1 << 22;

/// Samples read from a mutated dataset, and the batch size they are read in.
const DATASET_SAMPLES: usize = 64;
const DATASET_BATCH: usize = 5;

/// One case's outcome and its detail (the error message, or what ran).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CaseResult {
    pub outcome: Outcome,
    pub detail: String,
}

impl CaseResult {
    fn new(outcome: Outcome, detail: impl Into<String>) -> CaseResult {
        CaseResult {
            outcome,
            detail: detail.into(),
        }
    }

    fn error(e: impl std::fmt::Display) -> CaseResult {
        CaseResult::new(Outcome::CleanError, e.to_string())
    }
}

/// Runs one case in this process. `scratch` is a private folder for formats whose
/// readers take paths (datasets). Panics propagate: the caller catches them.
pub fn run_case(format: Format, bytes: &[u8], scratch: &Path) -> CaseResult {
    match format {
        Format::Onnx => match pare_onnx::import_bytes(bytes, None, "case.onnx") {
            Ok(g) => check_graph(g, true),
            Err(e) => CaseResult::error(e),
        },
        Format::Pt2 => match pare_pt2::import_bytes(bytes, "case.pt2") {
            Ok(g) => check_graph(g, true),
            Err(e) => CaseResult::error(e),
        },
        Format::Pir => {
            let src = String::from_utf8_lossy(bytes);
            match pare_ir::text::parse(&src) {
                // The parser keeps what is written, broken graphs included (the
                // verifier's own tests are written in it), so a verifier error is a
                // clean one here.
                Ok(g) => check_graph(g, false),
                Err(e) => CaseResult::error(e),
            }
        }
        Format::Npy => run_arrays(bytes, scratch),
    }
}

/// Verifier, shape inference, then the interpreter when the graph is small enough.
/// `reader_validates`: the reader promises verified graphs, so a verifier error is a
/// finding.
fn check_graph(mut g: Graph, reader_validates: bool) -> CaseResult {
    if let Err(e) = pare_ir::verify::verify(&g) {
        return if reader_validates {
            CaseResult::new(Outcome::Invalid, format!("accepted, then: {e}"))
        } else {
            CaseResult::error(e)
        };
    }
    if let Err(e) = pare_ir::infer::infer_graph(&mut g) {
        return CaseResult::error(e);
    }
    let bound = match pare_ir::analysis::with_symbols_bound(&g, 1) {
        Ok(b) => b,
        Err(e) => return CaseResult::error(e),
    };
    if let Some(why) = too_large(&bound) {
        return CaseResult::new(Outcome::Checked, why);
    }
    let inputs = match inputs_for(&bound) {
        Ok(i) => i,
        Err(e) => return CaseResult::error(e),
    };
    match pare_ir::interp::run(&bound, &inputs) {
        Ok(outs) => CaseResult::new(Outcome::Ran, format!("{} outputs", outs.len())),
        Err(e) => CaseResult::error(e),
    }
}

/// Why `g` is not interpreted, if it is not.
fn too_large(g: &Graph) -> Option<String> {
    match pare_ir::analysis::total_macs(g) {
        None => return Some("MACs unknown (symbolic dims in a product)".into()),
        Some(m) if m > MAX_INTERP_MACS => return Some(format!("{m} MACs")),
        Some(_) => {}
    }
    g.values().find_map(|(_, v)| {
        let n =
            v.ty.shape
                .iter()
                .map(|d| match d {
                    pare_ir::Dim::Fixed(n) => *n,
                    pare_ir::Dim::Sym(_) => 1,
                })
                .fold(1u64, |a, b| a.saturating_mul(b));
        (n > MAX_INTERP_ELEMENTS).then(|| format!("value `{}` has {n} elements", v.name))
    })
}

/// Deterministic inputs of the graph's (bound) input types: a small repeating ramp
/// for floats, zeros otherwise (zeros are valid indices for gathers).
fn inputs_for(g: &Graph) -> Result<Vec<Tensor>, pare_ir::IrError> {
    g.inputs
        .iter()
        .map(|&v| {
            let ty = g.ty(v);
            let shape: Vec<usize> = ty
                .shape
                .iter()
                .map(|d| match d {
                    pare_ir::Dim::Fixed(n) => usize::try_from(*n).unwrap_or(usize::MAX),
                    pare_ir::Dim::Sym(_) => 1,
                })
                .collect();
            if ty.dtype == DType::F32 {
                let n = pare_ir::checked_count(&shape)?;
                let ramp = (0..n).map(|i| ((i * 7) % 11) as f32 / 4.0 - 1.25).collect();
                Tensor::from_vec(shape, ramp)
            } else {
                Tensor::zeros(ty.dtype, shape)
            }
        })
        .collect()
}

/// `.npy` bytes are decoded whole; `.npz` archives (zip magic) are read whole and as
/// streamed datasets, every array in batches.
fn run_arrays(bytes: &[u8], scratch: &Path) -> CaseResult {
    let is_zip = bytes.starts_with(b"PK");
    let path = scratch.join(if is_zip { "case.npz" } else { "case.npy" });
    if let Err(e) = std::fs::write(&path, bytes) {
        // The scratch folder is ours: failing to write it is the harness's problem,
        // reported as an error so the case is not counted as a finding.
        return CaseResult::error(format!("harness: cannot write {}: {e}", path.display()));
    }
    let mut read = 0usize;
    let mut first_error = None;
    let mut note = |r: Result<usize, pare_npy::NpyError>| match r {
        Ok(n) => read += n,
        Err(e) => {
            first_error.get_or_insert(e.to_string());
        }
    };
    if is_zip {
        let keys = match pare_npy::read_npz(&path) {
            Ok(arrays) => {
                note(Ok(arrays.iter().map(|(_, t)| t.len()).sum()));
                arrays.into_iter().map(|(k, _)| Some(k)).collect()
            }
            Err(e) => {
                note(Err(e));
                vec![None]
            }
        };
        for key in keys {
            let spec = pare_npy::DataSpec::Npz {
                path: path.clone(),
                key,
            };
            note(stream(&spec));
        }
    } else {
        note(pare_npy::decode_npy(bytes, "case.npy").map(|t| t.len()));
        note(stream(&pare_npy::DataSpec::Npy { path: path.clone() }));
    }
    match first_error {
        Some(e) => CaseResult::error(e),
        None => CaseResult::new(Outcome::Ran, format!("{read} elements")),
    }
}

/// Streams the first samples of a dataset in batches; the elements read.
fn stream(spec: &pare_npy::DataSpec) -> Result<usize, pare_npy::NpyError> {
    let ds = pare_npy::Dataset::open(spec)?;
    let mut n = 0;
    for batch in ds.batches(DATASET_BATCH, Some(DATASET_SAMPLES)) {
        n += batch?.len();
    }
    Ok(n)
}
