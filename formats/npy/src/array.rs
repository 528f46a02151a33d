//! Whole arrays: `.npy` files and every array of an `.npz`, read into tensors
//! (for `pare run`'s inputs), and tensors written as `.npy`.
//!
//! Sizes are checked against the header before anything is allocated, and each
//! array is capped at [`pare_ir::MAX_ELEMENTS`]; large datasets are streamed
//! instead (see [`crate::Dataset`]).

use crate::error::{array_location, io_err, ErrorKind, NpyError};
use crate::header::{read_header, write_header, Header};
use pare_ir::{DType, Tensor};
use std::io::{Cursor, Read};
use std::path::Path;

/// Reads one `.npy` file.
pub fn read_npy(path: &Path) -> Result<Tensor, NpyError> {
    let at = |k: ErrorKind| k.at(path.display().to_string());
    let mut s = crate::source::open_npy(path).map_err(at)?;
    read_body(&s.header, &mut s.reader).map_err(at)
}

/// Decodes an `.npy` file held in memory; `name` names it in errors.
pub fn decode_npy(bytes: &[u8], name: &str) -> Result<Tensor, NpyError> {
    read_stream(&mut Cursor::new(bytes), bytes.len() as u64, "file").map_err(|k| k.at(name))
}

/// Reads every array of an `.npz` archive, in archive order, keyed by name
/// (without the `.npy` suffix).
pub fn read_npz(path: &Path) -> Result<Vec<(String, Tensor)>, NpyError> {
    let file_at = |k: ErrorKind| k.at(path.display().to_string());
    let file = std::fs::File::open(path).map_err(|e| file_at(io_err(e)))?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|e| file_at(ErrorKind::Zip(e.to_string())))?;
    let mut out = Vec::with_capacity(zip.len());
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .map_err(|e| file_at(ErrorKind::Zip(format!("entry {i}: {e}"))))?;
        let raw = String::from_utf8_lossy(entry.name_raw()).into_owned();
        let name = raw.strip_suffix(".npy").unwrap_or(&raw).to_string();
        let size = entry.size();
        let t = read_stream(&mut entry, size, "archive entry")
            .map_err(|k| k.at(array_location(path, &name)))?;
        out.push((name, t));
    }
    Ok(out)
}

/// Reads a header, checks it against the `total` bytes of its container, then
/// reads the data.
fn read_stream(
    mut r: &mut dyn Read,
    total: u64,
    container: &'static str,
) -> Result<Tensor, ErrorKind> {
    let header = read_header(&mut r)?;
    header.check_size(total, container)?;
    read_body(&header, r)
}

/// Reads the data block a header declares and checks that the stream ends there
/// (which also runs the archive's CRC check for `.npz` entries).
fn read_body(header: &Header, r: &mut dyn Read) -> Result<Tensor, ErrorKind> {
    let shape = header
        .shape
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<Result<Vec<usize>, _>>()
        .map_err(|_| ErrorKind::Header(format!("shape {:?} too large", header.shape)))?;
    let n = pare_ir::checked_count(&shape)?;
    let mut data = vec![0u8; n * header.dtype.size_bytes()];
    let rows = shape.first().copied().unwrap_or(1) as u64;
    let data_err = |e: std::io::Error| ErrorKind::Data {
        rows_read: 0,
        rows,
        msg: e.to_string(),
    };
    r.read_exact(&mut data).map_err(data_err)?;
    crate::dataset::expect_end(r).map_err(|msg| ErrorKind::Data {
        rows_read: rows,
        rows,
        msg,
    })?;
    Ok(Tensor::from_le_bytes(header.dtype, shape, &data)?)
}

/// The header of a `.npy` file holding a C-order array of `dtype` and `shape`
/// (for writers that stream the data after it).
pub fn encode_header(dtype: DType, shape: &[usize]) -> Result<Vec<u8>, NpyError> {
    write_header(dtype, shape).map_err(|k| k.at(format!("{dtype}{shape:?}")))
}

/// Encodes a tensor as a `.npy` file (little-endian, C order).
pub fn encode_npy(t: &Tensor) -> Result<Vec<u8>, NpyError> {
    let mut out = encode_header(t.dtype(), t.shape())?;
    // The data block is the tensor's raw little-endian bytes, which is exactly
    // what every descriptor `write_header` emits denotes.
    out.extend_from_slice(&t.to_le_bytes());
    Ok(out)
}
