//! `DATA[:KEY]` arguments: which array (or folder of arrays) a dataset is.

use crate::error::{ErrorKind, NpyError};
use std::fmt;
use std::path::{Path, PathBuf};

/// Where a dataset's samples come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DataSpec {
    /// An array of an `.npz` archive, samples along axis 0. Without a key the
    /// archive must hold exactly one array.
    Npz { path: PathBuf, key: Option<String> },
    /// One `.npy` file, samples along axis 0.
    Npy { path: PathBuf },
    /// A folder of `.npy` files taken in file-name order, each one sample or one
    /// batch of samples (see [`crate::OpenOptions::sample_rank`]).
    Dir { path: PathBuf },
}

impl DataSpec {
    /// Parses `FILE.npz:KEY`, `FILE.npz`, `FILE.npy` or `DIR/` (a path ending in
    /// `/`, or naming an existing directory).
    ///
    /// The key follows the first `.npz:` (extension matched case-insensitively),
    /// so keys may contain `:`.
    pub fn parse(s: &str) -> Result<DataSpec, NpyError> {
        let bad = |why: &str| ErrorKind::Spec(why.to_string()).at(format!("`{s}`"));
        if s.is_empty() {
            return Err(bad("empty data path"));
        }
        if s.ends_with('/') || s.ends_with(std::path::MAIN_SEPARATOR) || Path::new(s).is_dir() {
            return Ok(DataSpec::Dir { path: s.into() });
        }
        let lower = s.to_ascii_lowercase();
        if lower.ends_with(".npz") {
            return Ok(DataSpec::Npz {
                path: s.into(),
                key: None,
            });
        }
        if lower.ends_with(".npy") {
            return Ok(DataSpec::Npy { path: s.into() });
        }
        if let Some(i) = lower.find(".npz:") {
            let (path, key) = (&s[..i + 4], &s[i + 5..]);
            return Ok(DataSpec::Npz {
                path: path.into(),
                key: Some(key.to_string()),
            });
        }
        Err(bad(
            "expected FILE.npz, FILE.npz:KEY, FILE.npy or a directory of .npy files",
        ))
    }

    /// The file or folder.
    pub fn path(&self) -> &Path {
        match self {
            DataSpec::Npz { path, .. } | DataSpec::Npy { path } | DataSpec::Dir { path } => path,
        }
    }
}

impl fmt::Display for DataSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataSpec::Npz { path, key: Some(k) } => write!(f, "{}:{k}", path.display()),
            other => write!(f, "{}", other.path().display()),
        }
    }
}
