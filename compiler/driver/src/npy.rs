//! NumPy `.npy` / `.npz` input and output for `pare run`.
//!
//! Headers are parsed by `npyz`; the data block is checked against the header's
//! declared shape before anything is allocated, then decoded by
//! [`pare_ir::Tensor::from_le_bytes`]. `.npz` archives are read with `zip`.

use anyhow::{bail, Context, Result};
use npyz::WriterBuilder;
use pare_ir::{DType, Tensor};
use std::io::{Cursor, Read};
use std::path::Path;

/// Reads one `.npy` file.
pub fn read_npy(path: &Path) -> Result<Tensor> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    decode_npy(&bytes).with_context(|| format!("{}", path.display()))
}

/// Reads every array of an `.npz` archive, in archive order, keyed by name
/// (without the `.npy` suffix).
pub fn read_npz(path: &Path) -> Result<Vec<(String, Tensor)>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut zip = zip::ZipArchive::new(file)
        .with_context(|| format!("{}: not a valid .npz (zip) archive", path.display()))?;
    let mut out = Vec::new();
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .with_context(|| format!("{}: entry {i}", path.display()))?;
        let name = entry
            .name()
            .with_context(|| format!("{}: entry {i} has an invalid name", path.display()))?
            .trim_end_matches(".npy")
            .to_string();
        // The declared size bounds the read: a lying header cannot make us
        // allocate more than the archive entry claims, and that claim is capped.
        let size = entry.size();
        if size > pare_ir::MAX_ELEMENTS as u64 {
            bail!(
                "{}: array `{name}` is {size} bytes, over pare's limit",
                path.display()
            );
        }
        let mut bytes = Vec::with_capacity(size as usize);
        entry
            .read_to_end(&mut bytes)
            .with_context(|| format!("{}: reading `{name}`", path.display()))?;
        let t =
            decode_npy(&bytes).with_context(|| format!("{}: array `{name}`", path.display()))?;
        out.push((name, t));
    }
    Ok(out)
}

fn dtype_of(descr: &str) -> Result<DType> {
    // Little-endian or byte-order-free descriptors only.
    Ok(match descr {
        "<f4" => DType::F32,
        "<f2" => DType::F16,
        "<f8" => DType::F64,
        "|i1" | "<i1" => DType::I8,
        "<i2" => DType::I16,
        "<i4" => DType::I32,
        "<i8" => DType::I64,
        "|u1" | "<u1" => DType::U8,
        "<u2" => DType::U16,
        "<u4" => DType::U32,
        "<u8" => DType::U64,
        "|b1" => DType::Bool,
        other => bail!(
            "unsupported .npy dtype `{other}` (expected little-endian float, int, uint or bool)"
        ),
    })
}

/// Decodes an in-memory `.npy` file.
pub fn decode_npy(bytes: &[u8]) -> Result<Tensor> {
    let mut cursor = Cursor::new(bytes);
    let header = npyz::NpyHeader::from_reader(&mut cursor).context("bad .npy header")?;
    let descr = match header.dtype() {
        npyz::DType::Plain(ts) => ts.to_string(),
        other => bail!("unsupported .npy dtype {other:?} (structured arrays are not tensors)"),
    };
    let dtype = dtype_of(&descr)?;
    if header.order() == npyz::Order::Fortran {
        bail!("Fortran-order arrays are not supported (save with numpy.ascontiguousarray)");
    }
    let shape: Vec<usize> = header
        .shape()
        .iter()
        .map(|&d| usize::try_from(d).context("dimension too large"))
        .collect::<Result<_>>()?;
    let data = &bytes[cursor.position() as usize..];
    let n = pare_ir::checked_count(&shape).context("array too large")?;
    let want = n * dtype.size_bytes();
    if data.len() != want {
        bail!("header declares shape {shape:?} of {descr} ({want} bytes) but the file holds {} data bytes", data.len());
    }
    Ok(Tensor::from_le_bytes(dtype, shape, data)?)
}

/// Encodes a tensor as a `.npy` file (little-endian, C order).
pub fn encode_npy(t: &Tensor) -> Result<Vec<u8>> {
    let descr = match t.dtype() {
        DType::F32 => "<f4",
        DType::F16 => "<f2",
        DType::F64 => "<f8",
        DType::I8 => "|i1",
        DType::I16 => "<i2",
        DType::I32 => "<i4",
        DType::I64 => "<i8",
        DType::U8 => "|u1",
        DType::U16 => "<u2",
        DType::U32 => "<u4",
        DType::U64 => "<u8",
        DType::Bool => "|b1",
    };
    let shape: Vec<u64> = t.shape().iter().map(|&d| d as u64).collect();
    // npyz writes the header; the data block is the tensor's raw little-endian
    // bytes, which is exactly what every descriptor above denotes.
    let mut out = npyz::WriteOptions::new_header_only()
        .dtype(npyz::DType::Plain(
            descr.parse().context("dtype descriptor")?,
        ))
        .shape(&shape)
        .writer(Vec::new())
        .write_header_only()
        .context("writing .npy header")?;
    out.extend_from_slice(&t.to_le_bytes());
    Ok(out)
}
