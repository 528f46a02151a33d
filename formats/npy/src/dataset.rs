//! Datasets streamed in batches: samples along axis 0 of an `.npz` array or a
//! `.npy` file, or a folder of `.npy` files. Opening reads headers only; each
//! [`Dataset::batches`] call opens the files afresh and holds one batch in memory
//! at a time, so a dataset can be streamed any number of times (calibration reads
//! it twice) whatever its size.

use crate::error::{array_location, io_err, ErrorKind, NpyError};
use crate::header::Header;
use crate::source::{open_npy, open_npz_entry, ArrayStream};
use crate::spec::DataSpec;
use pare_ir::{DType, Tensor};
use std::io::Read;
use std::path::{Path, PathBuf};

/// How to open a dataset.
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    /// The rank of one sample (the model input's rank less the batch dim). Only
    /// folders use it: a file of this rank is one sample, a file of one more
    /// rank holds samples along axis 0 (so `[1, ...]` is a batch of one). Without
    /// it every file is one sample. `.npz` and `.npy` data always has its samples
    /// along axis 0; with a rank given, other ranks are an error.
    pub sample_rank: Option<usize>,
}

/// A dataset whose samples are read in batches; see the module docs.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// The files, in order, and how many samples each holds.
    parts: Vec<Part>,
    dtype: DType,
    sample_shape: Vec<usize>,
    len: usize,
    /// The dataset as the user named it, for messages.
    name: String,
}

#[derive(Clone, Debug)]
struct Part {
    source: PartSource,
    /// The header seen at open; a file that changes between opens is an error.
    header: Header,
    samples: usize,
}

#[derive(Clone, Debug)]
enum PartSource {
    Npz { path: PathBuf, key: String },
    Npy { path: PathBuf },
}

impl PartSource {
    fn location(&self) -> String {
        match self {
            PartSource::Npz { path, key } => array_location(path, key),
            PartSource::Npy { path } => path.display().to_string(),
        }
    }

    fn open(&self) -> Result<ArrayStream, NpyError> {
        match self {
            PartSource::Npz { path, key } => open_npz_entry(path, key),
            PartSource::Npy { path } => open_npy(path),
        }
        .map_err(|k| k.at(self.location()))
    }
}

fn to_usize(d: u64, header: &Header) -> Result<usize, ErrorKind> {
    usize::try_from(d).map_err(|_| ErrorKind::Header(format!("shape {:?} too large", header.shape)))
}

impl Dataset {
    /// Opens a dataset with default options (each folder file is one sample).
    pub fn open(spec: &DataSpec) -> Result<Dataset, NpyError> {
        Dataset::open_with(spec, &OpenOptions::default())
    }

    /// Opens a dataset, reading only headers: nothing of the data is read yet.
    pub fn open_with(spec: &DataSpec, opts: &OpenOptions) -> Result<Dataset, NpyError> {
        match spec {
            DataSpec::Npz { path, key } => {
                let key = match key {
                    Some(k) => k.clone(),
                    None => only_key(path)?,
                };
                let source = PartSource::Npz {
                    path: path.clone(),
                    key,
                };
                Dataset::of_array(source, spec.to_string(), opts)
            }
            DataSpec::Npy { path } => Dataset::of_array(
                PartSource::Npy { path: path.clone() },
                spec.to_string(),
                opts,
            ),
            DataSpec::Dir { path } => Dataset::of_dir(path, opts, None),
        }
    }

    /// A folder of `.npz` files in file-name order, taking array `key` of each
    /// (one sample, or a batch along axis 0, as for `.npy` folders): one model
    /// input of per-sample archives that hold every input by name. Only headers
    /// are read here.
    pub fn open_npz_dir(dir: &Path, key: &str, opts: &OpenOptions) -> Result<Dataset, NpyError> {
        let mut ds = Dataset::of_dir(dir, opts, Some(key))?;
        ds.name = format!("{}: array `{key}`", dir.display());
        Ok(ds)
    }

    /// One array whose samples lie along axis 0.
    fn of_array(source: PartSource, name: String, opts: &OpenOptions) -> Result<Dataset, NpyError> {
        let header = source.open()?.header;
        let at = |k: ErrorKind| k.at(source.location());
        let Some((&rows, rest)) = header.shape.split_first() else {
            return Err(at(ErrorKind::Shape(
                "a scalar array has no samples (samples lie along axis 0)".into(),
            )));
        };
        if let Some(r) = opts.sample_rank {
            if rest.len() != r {
                return Err(at(ErrorKind::Shape(format!(
                    "shape {:?} has rank {}; expected rank {} (samples of rank {r} along axis 0)",
                    header.shape,
                    header.shape.len(),
                    r + 1
                ))));
            }
        }
        let sample_shape = rest
            .iter()
            .map(|&d| to_usize(d, &header))
            .collect::<Result<Vec<_>, _>>()
            .map_err(at)?;
        let len = to_usize(rows, &header).map_err(at)?;
        Ok(Dataset {
            dtype: header.dtype,
            sample_shape,
            len,
            name,
            parts: vec![Part {
                source,
                header,
                samples: len,
            }],
        })
    }

    /// A folder: every `*.npy` file (with `npz_key`, array `npz_key` of every
    /// `*.npz` file) in file-name order (other files and subfolders are
    /// ignored); all must agree on dtype and sample shape.
    fn of_dir(dir: &Path, opts: &OpenOptions, npz_key: Option<&str>) -> Result<Dataset, NpyError> {
        let dir_at = |k: ErrorKind| k.at(dir.display().to_string());
        let ext = if npz_key.is_some() { "npz" } else { "npy" };
        let files = files_with_ext(dir, ext)?;
        let mut parts = Vec::with_capacity(files.len());
        let mut first: Option<(DType, Vec<usize>, PathBuf)> = None;
        let mut len = 0usize;
        for path in files {
            let source = match npz_key {
                Some(key) => PartSource::Npz {
                    path: path.clone(),
                    key: key.to_string(),
                },
                None => PartSource::Npy { path: path.clone() },
            };
            let header = source.open()?.header;
            let at = |k: ErrorKind| k.at(source.location());
            let shape = header
                .shape
                .iter()
                .map(|&d| to_usize(d, &header))
                .collect::<Result<Vec<_>, _>>()
                .map_err(at)?;
            let sample_rank = opts.sample_rank.unwrap_or(shape.len());
            let (samples, sample_shape) = if shape.len() == sample_rank {
                (1, shape)
            } else if shape.len() == sample_rank + 1 {
                (shape[0], shape[1..].to_vec())
            } else {
                return Err(at(ErrorKind::Shape(format!(
                    "shape {shape:?} has rank {}; expected one sample of rank {sample_rank} or a batch of rank {}",
                    shape.len(),
                    sample_rank + 1
                ))));
            };
            match &first {
                None => first = Some((header.dtype, sample_shape, path.clone())),
                Some((dtype, s, p)) => {
                    if *dtype != header.dtype || *s != sample_shape {
                        return Err(at(ErrorKind::Shape(format!(
                            "samples of {} {sample_shape:?} differ from {}'s {} {s:?}",
                            header.dtype.name(),
                            p.display(),
                            dtype.name()
                        ))));
                    }
                }
            }
            len = len
                .checked_add(samples)
                .ok_or_else(|| at(ErrorKind::Shape("too many samples".into())))?;
            parts.push(Part {
                source,
                header,
                samples,
            });
        }
        let Some((dtype, sample_shape, _)) = first else {
            return Err(dir_at(if npz_key.is_some() {
                ErrorKind::Shape("holds no .npz files".into())
            } else {
                ErrorKind::EmptyDir
            }));
        };
        Ok(Dataset {
            parts,
            dtype,
            sample_shape,
            len,
            name: dir.display().to_string(),
        })
    }

    /// Number of samples (from the headers).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Shape of one sample (without the batch dim).
    pub fn sample_shape(&self) -> &[usize] {
        &self.sample_shape
    }

    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The dataset as named when opened (`data.npz:x_test`, `dir/`), for messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Streams the first `limit` samples (all without one) as `[b, ...sample_shape]`
    /// tensors of `batch` samples each, the last one possibly smaller. After an
    /// error the iterator ends.
    pub fn batches(&self, batch: usize, limit: Option<usize>) -> Batches<'_> {
        Batches {
            ds: self,
            batch,
            remaining: limit.map_or(self.len, |l| l.min(self.len)),
            next_part: 0,
            cur: None,
            done: false,
        }
    }
}

/// The files of `dir` whose extension is `ext` (any case), sorted by the
/// name's bytes: the same order on every machine.
pub fn files_with_ext(dir: &Path, ext: &str) -> Result<Vec<PathBuf>, NpyError> {
    let dir_at = |k: ErrorKind| k.at(dir.display().to_string());
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| dir_at(io_err(e)))? {
        let entry = entry.map_err(|e| dir_at(io_err(e)))?;
        let path = entry.path();
        let matches = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case(ext));
        if matches && path.is_file() {
            files.push((entry.file_name(), path));
        }
    }
    files.sort();
    Ok(files.into_iter().map(|(_, p)| p).collect())
}

/// The arrays of an `.npz` archive, in archive order (names as `numpy.load`
/// gives them).
pub fn npz_keys(path: &Path) -> Result<Vec<String>, NpyError> {
    crate::source::npz_keys(path).map_err(|k| k.at(path.display().to_string()))
}

/// The key of an archive's only array.
fn only_key(path: &Path) -> Result<String, NpyError> {
    let at = |k: ErrorKind| k.at(path.display().to_string());
    let mut keys = crate::source::npz_keys(path).map_err(at)?;
    match keys.len() {
        0 => Err(at(ErrorKind::EmptyArchive)),
        1 => Ok(keys.remove(0)),
        _ => Err(at(ErrorKind::AmbiguousKey { available: keys })),
    }
}

/// Checks that a stream holds nothing past what was read; reaching its end also
/// runs the CRC check of archive entries.
pub(crate) fn expect_end(r: &mut dyn Read) -> Result<(), String> {
    let mut probe = [0u8; 1];
    match r.read(&mut probe) {
        Ok(0) => Ok(()),
        Ok(_) => Err("data continues past the declared rows".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// Iterator of batches; see [`Dataset::batches`].
pub struct Batches<'a> {
    ds: &'a Dataset,
    batch: usize,
    /// Samples still to yield.
    remaining: usize,
    next_part: usize,
    cur: Option<OpenPart>,
    done: bool,
}

impl std::fmt::Debug for Batches<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batches")
            .field("dataset", &self.ds.name)
            .field("batch", &self.batch)
            .field("remaining", &self.remaining)
            .finish()
    }
}

/// A part being read.
struct OpenPart {
    stream: ArrayStream,
    location: String,
    rows: usize,
    rows_read: usize,
}

impl OpenPart {
    fn data_err(&self, msg: String) -> NpyError {
        ErrorKind::Data {
            rows_read: self.rows_read as u64,
            rows: self.rows as u64,
            msg,
        }
        .at(self.location.clone())
    }
}

impl Batches<'_> {
    fn next_batch(&mut self) -> Result<Tensor, NpyError> {
        let ds = self.ds;
        if self.batch == 0 {
            return Err(ErrorKind::ZeroBatch.at(ds.name.clone()));
        }
        let want = self.batch.min(self.remaining);
        let mut shape = Vec::with_capacity(ds.sample_shape.len() + 1);
        shape.push(want);
        shape.extend_from_slice(&ds.sample_shape);
        // One batch is the only allocation that grows with the data.
        let count =
            pare_ir::checked_count(&shape).map_err(|e| ErrorKind::from(e).at(ds.name.clone()))?;
        let row_bytes = pare_ir::checked_count(&ds.sample_shape)
            .map_err(|e| ErrorKind::from(e).at(ds.name.clone()))?
            * ds.dtype.size_bytes();
        let mut data = vec![0u8; count * ds.dtype.size_bytes()];
        let mut got = 0;
        while got < want {
            let part = match &mut self.cur {
                Some(p) if p.rows_read < p.rows => p,
                _ => {
                    self.cur = Some(self.open_next()?);
                    continue;
                }
            };
            let take = (want - got).min(part.rows - part.rows_read);
            let dst = &mut data[got * row_bytes..(got + take) * row_bytes];
            part.stream
                .reader
                .read_exact(dst)
                .map_err(|e| part.data_err(e.to_string()))?;
            part.rows_read += take;
            got += take;
            // A part read to its end is checked for trailing bytes and CRC now,
            // so a damaged file fails even when it is the last one read.
            if part.rows_read == part.rows {
                expect_end(&mut part.stream.reader).map_err(|m| part.data_err(m))?;
            }
        }
        self.remaining -= want;
        Tensor::from_le_bytes(ds.dtype, shape, &data)
            .map_err(|e| ErrorKind::from(e).at(ds.name.clone()))
    }

    fn open_next(&mut self) -> Result<OpenPart, NpyError> {
        let ds = self.ds;
        let part = ds.parts.get(self.next_part).ok_or_else(|| {
            ErrorKind::Shape(format!("ran out of data before {} samples", ds.len))
                .at(ds.name.clone())
        })?;
        self.next_part += 1;
        let location = part.source.location();
        let stream = part.source.open()?;
        if stream.header != part.header {
            return Err(
                ErrorKind::Shape("the file changed since the dataset was opened".into())
                    .at(location),
            );
        }
        Ok(OpenPart {
            stream,
            location,
            rows: part.samples,
            rows_read: 0,
        })
    }
}

impl Iterator for Batches<'_> {
    type Item = Result<Tensor, NpyError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.remaining == 0 {
            return None;
        }
        let r = self.next_batch();
        if r.is_err() {
            self.done = true;
        }
        Some(r)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.done || self.batch == 0 {
            // A zero batch yields its one error, then ends.
            let n = usize::from(!self.done && self.remaining > 0);
            return (n, Some(n));
        }
        let n = self.remaining.div_ceil(self.batch);
        (n, Some(n))
    }
}
