//! Byte streams over one array: a `.npy` file, or one entry of an `.npz` archive
//! read straight from the file (stored, or inflated on the fly), so that a large
//! array is never read whole.
//!
//! The `zip` crate's entry reader borrows its archive, which an iterator cannot
//! keep next to the archive it borrows from. So the archive is opened only to read
//! the central directory and locate the entry; the stream then owns a plain file
//! handle positioned at the entry's data, and checks the CRC-32 itself.

use crate::error::{io_err, ErrorKind};
use crate::header::{read_header, Header};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use zip::CompressionMethod;

/// An open array: its header, and a reader at the first data byte.
pub(crate) struct ArrayStream {
    pub header: Header,
    pub reader: Box<dyn Read + Send>,
}

/// Opens a `.npy` file, reads its header and checks the file's size against it.
pub(crate) fn open_npy(path: &Path) -> Result<ArrayStream, ErrorKind> {
    let file = File::open(path).map_err(io_err)?;
    let total = file.metadata().map_err(io_err)?.len();
    let mut reader = BufReader::new(file);
    let header = read_header(&mut reader)?;
    header.check_size(total, "file")?;
    Ok(ArrayStream {
        header,
        reader: Box::new(reader),
    })
}

fn zip_err(e: zip::result::ZipError) -> ErrorKind {
    ErrorKind::Zip(e.to_string())
}

fn open_archive(path: &Path) -> Result<zip::ZipArchive<BufReader<File>>, ErrorKind> {
    let file = File::open(path).map_err(io_err)?;
    zip::ZipArchive::new(BufReader::new(file)).map_err(zip_err)
}

/// The arrays of an `.npz` archive in archive order: entry names with `.npy`
/// dropped, as `numpy.load` names them.
pub(crate) fn npz_keys(path: &Path) -> Result<Vec<String>, ErrorKind> {
    let zip = open_archive(path)?;
    Ok(keys_of(&zip))
}

fn keys_of<R: Read + Seek>(zip: &zip::ZipArchive<R>) -> Vec<String> {
    zip.file_names_raw()
        .map(|raw| {
            let name = String::from_utf8_lossy(raw);
            name.strip_suffix(".npy").unwrap_or(&name).to_string()
        })
        .collect()
}

/// Where an entry's bytes lie in the archive file, from the central directory.
struct EntryInfo {
    method: CompressionMethod,
    data_start: u64,
    compressed_size: u64,
    size: u64,
    crc32: u32,
}

/// Opens array `key` of an `.npz` as a stream and checks the entry's declared
/// (uncompressed) size against the header before any data is read.
pub(crate) fn open_npz_entry(path: &Path, key: &str) -> Result<ArrayStream, ErrorKind> {
    let info = {
        let mut zip = open_archive(path)?;
        let index = zip
            .index_for_name(&format!("{key}.npy"))
            .or_else(|| zip.index_for_name(key))
            .ok_or_else(|| ErrorKind::MissingKey {
                key: key.to_string(),
                available: keys_of(&zip),
            })?;
        // The raw reader locates the data (it parses the local header) without
        // setting up a decompressor.
        let entry = zip.by_index_raw(index).map_err(zip_err)?;
        if entry.encrypted() {
            return Err(ErrorKind::Zip("the entry is encrypted".into()));
        }
        EntryInfo {
            method: entry.compression(),
            data_start: entry
                .data_start()
                .ok_or_else(|| ErrorKind::Zip("the entry's data offset is unknown".into()))?,
            compressed_size: entry.compressed_size(),
            size: entry.size(),
            crc32: entry.crc32(),
        }
    };
    let mut file = File::open(path).map_err(io_err)?;
    file.seek(SeekFrom::Start(info.data_start))
        .map_err(io_err)?;
    let raw = BufReader::new(file).take(info.compressed_size);
    let body: Box<dyn Read + Send> = match info.method {
        CompressionMethod::Stored => {
            if info.compressed_size != info.size {
                return Err(ErrorKind::Zip(format!(
                    "stored entry with compressed size {} but size {}",
                    info.compressed_size, info.size
                )));
            }
            Box::new(raw)
        }
        CompressionMethod::Deflated => Box::new(flate2::read::DeflateDecoder::new(raw)),
        other => return Err(ErrorKind::Compression(format!("{other:?}"))),
    };
    let mut reader = CrcReader {
        inner: body,
        hasher: crc32fast::Hasher::new(),
        expected: info.crc32,
        size: info.size,
        seen: 0,
    };
    let header = read_header(&mut reader)?;
    header.check_size(info.size, "archive entry")?;
    Ok(ArrayStream {
        header,
        reader: Box::new(reader),
    })
}

/// Hashes what passes through and, at the end of the stream, fails unless the
/// entry had its declared size and the CRC-32 matches the archive's: a damaged
/// entry is caught when read whole.
struct CrcReader {
    inner: Box<dyn Read + Send>,
    hasher: crc32fast::Hasher,
    expected: u32,
    /// Declared uncompressed size, and bytes seen so far.
    size: u64,
    seen: u64,
}

impl Read for CrcReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            if self.seen != self.size {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!(
                        "the entry's data ends after {} of its {} bytes",
                        self.seen, self.size
                    ),
                ));
            }
            let got = self.hasher.clone().finalize();
            if got != self.expected {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "CRC-32 mismatch (archive says {:08x}, data gives {got:08x})",
                        self.expected
                    ),
                ));
            }
        }
        self.hasher.update(&buf[..n]);
        self.seen += n as u64;
        Ok(n)
    }
}
