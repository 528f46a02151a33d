//! Shared helpers of pare-npy's tests: numpy-written files (made once per test
//! binary by the oracle Python, which must be installed) and byte-level file
//! surgery for the broken-file cases.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The oracle Python (`.venv/bin/python`, or `$PARE_PYTHON`) with numpy. A
/// missing one fails the test: numpy-backed tests never pass silently.
pub fn python() -> PathBuf {
    let py = std::env::var_os("PARE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".venv/bin/python"));
    assert!(
        py.exists(),
        "oracle Python {} is missing: run `bash scripts/setup-tests.sh`",
        py.display()
    );
    py
}

/// Runs `script` with the oracle Python in `dir`; panics with its stderr on failure.
pub fn run_python(script: &str, dir: &Path) -> String {
    let out = Command::new(python())
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .output()
        .expect("start the oracle Python");
    assert!(
        out.status.success(),
        "numpy script failed (is numpy installed in .venv? run `bash scripts/setup-tests.sh`):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A fresh empty directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("pare-npy")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Every dtype pare reads, with a shape each: `(name, numpy dtype, shape)`.
pub const ARRAYS: &[(&str, &str, &[usize])] = &[
    ("f32", "<f4", &[7, 2, 3]),
    ("f64", "<f8", &[5, 4]),
    ("f16", "<f2", &[6, 3]),
    ("i8", "|i1", &[9]),
    ("u8", "|u1", &[4, 2, 2]),
    ("i16", "<i2", &[3, 5]),
    ("i32", "<i4", &[8, 1]),
    ("i64", "<i8", &[11]),
    ("u16", "<u2", &[2, 2, 2, 2]),
    ("u32", "<u4", &[3]),
    ("u64", "<u8", &[4, 3]),
    ("bool", "|b1", &[13, 2]),
    ("empty", "<f4", &[0, 3]),
];

/// Writes, with numpy:
/// * `stored.npz` (`np.savez`) and `deflated.npz` (`np.savez_compressed`) holding
///   [`ARRAYS`], each also as `raw/NAME.raw` (numpy's `tofile`, C order);
/// * `one.npz` with one array `only` [5, 2] f32 and `only.npy`;
/// * `folder/`: f32 samples of shape [2, 3] as `s00.npy` [2,3] (a sample),
///   `s01.npy` [1,2,3], `s02.npy` [4,2,3] (batches), `s10.npy` [2,3], plus a
///   `notes.txt` to ignore; `folder.raw` is the 7 samples in file-name order;
/// * `same/`: three f32 [1,3] files; `fortran.npy`, `bigendian.npy`, `struct.npy`.
pub fn numpy_files() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = scratch("numpy");
        let arrays: Vec<String> = ARRAYS
            .iter()
            .map(|(n, d, s)| format!("('{n}', '{d}', {s:?})"))
            .collect();
        let script = format!(
            r#"
import numpy as np, os
arrays = [{}]
out = {{}}
os.makedirs('raw')
for name, dt, shape in arrays:
    n = int(np.prod(shape))
    dt = np.dtype(dt)
    if dt == np.bool_:
        a = (np.arange(n) % 3 == 0)
    elif dt.kind == 'f':
        a = np.arange(n) * 0.75 - 4.5
    elif dt.kind == 'i':
        a = (np.arange(n) * 37) % 200 - 100
    else:
        a = (np.arange(n) * 37) % 250
    a = a.astype(dt).reshape(shape)
    out[name] = a
    a.tofile('raw/' + name + '.raw')
np.savez('stored.npz', **out)
np.savez_compressed('deflated.npz', **out)
only = np.arange(10, dtype=np.float32).reshape(5, 2)
np.savez('one.npz', only=only)
np.save('only.npy', only)
os.makedirs('folder')
rng = np.random.default_rng(0)
parts = [('s00', (2, 3)), ('s01', (1, 2, 3)), ('s02', (4, 2, 3)), ('s10', (2, 3))]
raw = b''
for name, shape in parts:
    a = rng.standard_normal(shape).astype(np.float32)
    np.save('folder/' + name + '.npy', a)
    raw += a.tobytes()
open('folder.raw', 'wb').write(raw)
open('folder/notes.txt', 'w').write('not data')
os.makedirs('same')
for i in range(3):
    np.save('same/%d.npy' % i, np.full((1, 3), i, dtype=np.float32))
np.save('fortran.npy', np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))
np.save('bigendian.npy', np.arange(4, dtype='>f4'))
np.save('struct.npy', np.zeros(3, dtype=[('a', '<f4'), ('b', '<i4')]))
"#,
            arrays.join(", ")
        );
        run_python(&script, &dir);
        dir
    })
}
