//! The files a campaign starts from: the shared fixtures of the format, the filetests'
//! textual IR (and the fixtures printed as textual IR), and files generated here.
//! Seeds over [`LARGE_SEED`] bytes (the MobileNets) are picked rarely: one case of
//! them costs as much as hundreds of small ones.

use crate::format::Format;
use crate::generate;
use std::path::{Path, PathBuf};

/// Seeds larger than this are picked for [`LARGE_SHARE`] of the cases only.
pub const LARGE_SEED: usize = 1 << 20;
/// The share of cases that start from a large seed, when there is one.
pub const LARGE_SHARE: f32 = 0.02;

/// Generated seeds added to the fixtures of a format that has a generator.
const GENERATED_SEEDS: usize = 48;

/// One seed file.
#[derive(Clone, Debug)]
pub struct Seed {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// The seeds of one format.
#[derive(Clone, Debug, Default)]
pub struct SeedPool {
    pub small: Vec<Seed>,
    pub large: Vec<Seed>,
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("cannot read seed folder or file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("seed {path} does not import, so it cannot be printed as textual IR: {msg}")]
    Import { path: PathBuf, msg: String },
    #[error("no {format} seeds found (fixtures: {fixtures})")]
    Empty { format: Format, fixtures: PathBuf },
}

impl SeedPool {
    fn add(&mut self, name: String, bytes: Vec<u8>) {
        let seed = Seed { name, bytes };
        if seed.bytes.len() > LARGE_SEED {
            self.large.push(seed);
        } else {
            self.small.push(seed);
        }
    }

    pub fn len(&self) -> usize {
        self.small.len() + self.large.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A seed: a large one for [`LARGE_SHARE`] of the picks.
    pub fn pick(&self, rng: &mut fastrand::Rng) -> &Seed {
        let use_large =
            !self.large.is_empty() && (self.small.is_empty() || rng.f32() < LARGE_SHARE);
        let list = if use_large { &self.large } else { &self.small };
        &list[rng.usize(0..list.len())]
    }
}

/// Loads the seeds of `format` from `fixtures` (the shared fixtures folder) and
/// `filetests` (the folder of `.pir` cases).
pub fn load(format: Format, fixtures: &Path, filetests: &Path) -> Result<SeedPool, SeedError> {
    let mut pool = SeedPool::default();
    let mut gen = fastrand::Rng::with_seed(0x5eed_0000 + format.code() as u64);
    match format {
        Format::Onnx => {
            for p in files_with(fixtures, &["onnx"], false)? {
                pool.add(p.display().to_string(), read(&p)?);
            }
            for i in 0..GENERATED_SEEDS {
                pool.add(
                    format!("generated-{i}.onnx"),
                    generate::onnx_model(&mut gen),
                );
            }
        }
        Format::Pt2 => {
            for p in files_with(fixtures, &["pt2"], false)? {
                pool.add(p.display().to_string(), read(&p)?);
            }
        }
        Format::Pir => {
            for p in files_with(filetests, &["pir"], true)? {
                pool.add(p.display().to_string(), read(&p)?);
            }
            for name in [
                "micro_cnn.onnx",
                "digits_cnn.onnx",
                "digits_transformer.onnx",
                "digits_vae.onnx",
            ] {
                let p = fixtures.join(name);
                if !p.exists() {
                    continue;
                }
                let g = pare_onnx::import_file(&p).map_err(|e| SeedError::Import {
                    path: p.clone(),
                    msg: e.to_string(),
                })?;
                pool.add(
                    format!("{}.pir", p.display()),
                    pare_ir::text::print(&g).into_bytes(),
                );
            }
        }
        Format::Npy => {
            for p in files_with(fixtures, &["npy", "npz"], false)? {
                pool.add(p.display().to_string(), read(&p)?);
            }
            for i in 0..GENERATED_SEEDS {
                let bytes = if i % 2 == 0 {
                    generate::npy_array(&mut gen)
                } else {
                    generate::npz_archive(&mut gen)
                };
                pool.add(format!("generated-{i}.np"), bytes);
            }
        }
    }
    if pool.is_empty() {
        return Err(SeedError::Empty {
            format,
            fixtures: fixtures.to_path_buf(),
        });
    }
    Ok(pool)
}

fn read(p: &Path) -> Result<Vec<u8>, SeedError> {
    std::fs::read(p).map_err(|source| SeedError::Io {
        path: p.to_path_buf(),
        source,
    })
}

/// Files under `dir` with one of `exts`, sorted (so seed order, and with it every
/// case, is the same on every machine); subfolders too when `recursive`.
pub fn files_with(dir: &Path, exts: &[&str], recursive: bool) -> Result<Vec<PathBuf>, SeedError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|source| SeedError::Io {
            path: d.clone(),
            source,
        })?;
        for e in entries {
            let p = e
                .map_err(|source| SeedError::Io {
                    path: d.clone(),
                    source,
                })?
                .path();
            if p.is_dir() {
                if recursive {
                    stack.push(p);
                }
            } else if p
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| exts.contains(&e))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The source tree pare-fuzz was built from (the workspace root).
pub fn source_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The filetests' textual IR cases of the source tree.
pub fn filetests_dir() -> PathBuf {
    source_root().join("tests/filetests")
}

/// The committed regression cases, one folder per format.
pub fn regressions_dir() -> PathBuf {
    source_root().join("tests/fuzz_regressions")
}

/// `$PARE_FIXTURES`, or the nearest `shared/fixtures` above the current folder or the
/// source tree.
pub fn fixtures_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PARE_FIXTURES") {
        return Some(PathBuf::from(dir));
    }
    let cwd = std::env::current_dir().ok()?;
    let root = source_root();
    cwd.ancestors()
        .chain(root.ancestors())
        .map(|d| d.join("shared/fixtures"))
        .find(|d| d.join("README.md").exists())
}
