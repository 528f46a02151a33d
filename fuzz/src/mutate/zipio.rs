//! Zip archives (`.pt2`, `.npz`) as a list of named entries, for mutations that edit
//! one entry and write the archive again.

use std::io::{Cursor, Read, Write};
use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

/// Entries larger than this are not unpacked for editing (the byte mutator still
/// reaches them).
const MAX_ENTRY: u64 = 64 << 20;

/// The archive's entries in order; `None` if it does not read as a zip.
pub fn read_entries(bytes: &[u8]) -> Option<Vec<(String, Vec<u8>)>> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    let mut out = Vec::with_capacity(zip.len());
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).ok()?;
        if entry.size() > MAX_ENTRY {
            return None;
        }
        let name = entry.name().ok()?.into_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).ok()?;
        out.push((name, data));
    }
    Some(out)
}

/// Writes entries as a new archive: stored or deflated, and with ZIP64 records when
/// `zip64` (torch writes those for large exports).
pub fn write_entries(entries: &[(String, Vec<u8>)], deflate: bool, zip64: bool) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let method = if deflate {
        CompressionMethod::Deflated
    } else {
        CompressionMethod::Stored
    };
    let opts = SimpleFileOptions::default()
        .compression_method(method)
        .large_file(zip64);
    for (name, data) in entries {
        // A duplicate or otherwise refused name is skipped: the mutation still
        // produced an archive, just one entry shorter.
        if w.start_file(name.as_str(), opts).is_ok() {
            let _ = w.write_all(data);
        }
    }
    w.finish().map(|c| c.into_inner()).unwrap_or_default()
}
