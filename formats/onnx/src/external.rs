//! ONNX external data: tensors whose bytes live in a separate file beside the model.
//! Each referenced file is memory-mapped once and weights are windows into it.

use crate::error::ErrorKind;
use crate::proto::StringStringEntryProto;
use pare_ir::WeightBytes;
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

/// The files external data may come from: everything relative to `base`.
#[derive(Debug)]
pub(crate) struct ExternalFiles {
    base: Option<PathBuf>,
    maps: BTreeMap<PathBuf, Arc<memmap2::Mmap>>,
}

/// Where one tensor's bytes are, as its `external_data` entries say.
#[derive(Debug, PartialEq)]
pub(crate) struct Location {
    pub file: String,
    pub offset: usize,
    pub length: Option<usize>,
}

/// Parses and checks a tensor's `external_data` key/value list.
pub(crate) fn parse_location(
    tensor: &str,
    entries: &[StringStringEntryProto],
) -> Result<Location, ErrorKind> {
    let mut file = None;
    let mut offset = 0usize;
    let mut length = None;
    for e in entries {
        let key = e.key.as_deref().unwrap_or("");
        let value = e.value.as_deref().unwrap_or("");
        let number = || {
            value.parse::<usize>().map_err(|_| {
                ErrorKind::external(tensor, format!("`{key}` is `{value}`, not a byte count"))
            })
        };
        match key {
            "location" => file = Some(value.to_string()),
            "offset" => offset = number()?,
            "length" => length = Some(number()?),
            // A SHA-1 of the bytes; optional in the spec and not verified here.
            "checksum" => {}
            other => {
                return Err(ErrorKind::external(
                    tensor,
                    format!("unknown key `{other}` (expected location, offset, length, checksum)"),
                ))
            }
        }
    }
    let file = file.ok_or_else(|| ErrorKind::external(tensor, "no `location` key"))?;
    check_relative(tensor, &file)?;
    Ok(Location {
        file,
        offset,
        length,
    })
}

/// External data must stay inside the model's directory: no absolute paths, no
/// drive prefixes and no `..` anywhere (checked on both separators so a Windows-style
/// path cannot slip through on Unix).
fn check_relative(tensor: &str, loc: &str) -> Result<(), ErrorKind> {
    if loc.is_empty() {
        return Err(ErrorKind::external(tensor, "empty location"));
    }
    let p = Path::new(loc);
    let bad_component = p
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir));
    let dotdot = loc.split(['/', '\\']).any(|s| s == "..");
    let rooted = loc.starts_with(['/', '\\']) || loc.contains(':');
    if p.is_absolute() || bad_component || dotdot || rooted {
        return Err(ErrorKind::external(
            tensor,
            format!("location `{loc}` must be a relative path inside the model's directory (no `..`, no absolute path)"),
        ));
    }
    Ok(())
}

impl ExternalFiles {
    pub fn new(base: Option<&Path>) -> ExternalFiles {
        ExternalFiles {
            base: base.map(Path::to_path_buf),
            maps: BTreeMap::new(),
        }
    }

    /// The bytes of one tensor: a window of the mapped file, checked against the file
    /// size and against the `want` bytes the tensor's dims and dtype declare.
    pub fn bytes(
        &mut self,
        tensor: &str,
        loc: &Location,
        want: usize,
    ) -> Result<WeightBytes, ErrorKind> {
        let base = self.base.as_ref().ok_or_else(|| {
            ErrorKind::external(
                tensor,
                "the model was read from memory without a base directory; external data cannot be located",
            )
        })?;
        let path = base.join(&loc.file);
        let map = match self.maps.get(&path) {
            Some(m) => m.clone(),
            None => {
                let m = Arc::new(map_file(&path).map_err(|e| {
                    ErrorKind::external(tensor, format!("cannot map `{}`: {e}", path.display()))
                })?);
                self.maps.insert(path.clone(), m.clone());
                m
            }
        };
        let len = match loc.length {
            Some(l) => l,
            None => map.len().saturating_sub(loc.offset),
        };
        if len != want {
            return Err(ErrorKind::external(
                tensor,
                format!("length is {len} bytes but the tensor's dims and type need {want}"),
            ));
        }
        WeightBytes::mapped(map, loc.offset, len)
            .map_err(|e| ErrorKind::external(tensor, format!("`{}`: {e}", path.display())))
    }
}

/// Maps `path` read-only.
///
/// Sound enough for pare: the file is opened read-only, the map is only ever read
/// through `&[u8]` and never handed out mutably. The remaining hazard of any file
/// mapping, another process truncating or rewriting the file while it is mapped, is
/// the documented contract of external data (the files are immutable model assets).
#[allow(unsafe_code)]
fn map_file(path: &Path) -> std::io::Result<memmap2::Mmap> {
    let file = std::fs::File::open(path)?;
    // SAFETY: see the function docs; the map is immutable and outlives every window
    // through the `Arc` that `WeightBytes::Mapped` holds.
    unsafe { memmap2::Mmap::map(&file) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(k: &str, v: &str) -> StringStringEntryProto {
        StringStringEntryProto {
            key: Some(k.into()),
            value: Some(v.into()),
        }
    }

    #[test]
    fn rejects_escaping_locations() {
        for loc in [
            "../w.bin",
            "a/../../w.bin",
            "/etc/passwd",
            "..\\w.bin",
            "C:\\w.bin",
            "",
        ] {
            assert!(
                parse_location("t", &[entry("location", loc)]).is_err(),
                "{loc}"
            );
        }
        let ok = parse_location(
            "t",
            &[
                entry("location", "sub/w.bin"),
                entry("offset", "64"),
                entry("length", "8"),
            ],
        );
        assert_eq!(
            ok.ok(),
            Some(Location {
                file: "sub/w.bin".into(),
                offset: 64,
                length: Some(8)
            })
        );
        assert!(parse_location("t", &[entry("location", "w"), entry("offset", "-1")]).is_err());
        assert!(parse_location("t", &[entry("location", "w"), entry("bogus", "1")]).is_err());
    }
}
