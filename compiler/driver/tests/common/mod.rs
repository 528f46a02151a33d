//! Helpers the driver's CLI tests share: running the binary, finding the shared
//! fixtures, scratch directories, reading JSON output.
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn pare(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pare"))
        .args(args)
        .output()
        .expect("run pare")
}

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A shared fixture's path, as a string for argument lists.
pub fn fixture(name: &str) -> String {
    fixture_path(name).to_string_lossy().into_owned()
}

/// The shared fixtures (`$PARE_FIXTURES`, or the nearest `shared/fixtures` above).
pub fn fixture_path(name: &str) -> PathBuf {
    let dir = std::env::var_os("PARE_FIXTURES")
        .map(PathBuf::from)
        .or_else(|| {
            root()
                .canonicalize()
                .ok()?
                .ancestors()
                .map(|d| d.join("shared/fixtures"))
                .find(|d| d.join("README.md").exists())
        })
        .expect("no shared/fixtures above the checkout (set PARE_FIXTURES)");
    dir.join(name)
}

/// A fresh, empty directory under the target dir for test `name`.
pub fn scratch(name: &str) -> PathBuf {
    let d = root().join("target/test-scratch/driver").join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create scratch dir");
    d
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Runs pare expecting success; returns stdout parsed as JSON.
pub fn json_of(args: &[&str]) -> Value {
    let o = pare(args);
    assert!(o.status.success(), "pare {args:?} failed: {}", stderr(&o));
    serde_json::from_slice(&o.stdout).expect("one JSON object on stdout")
}

/// The oracle Python (`.venv/bin/python`, or `$PARE_PYTHON`); fails loudly when
/// missing (`bash scripts/setup-tests.sh` installs it).
pub fn python() -> PathBuf {
    let py = std::env::var_os("PARE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv/bin/python"));
    assert!(
        py.exists(),
        "oracle Python {} is missing: run `bash scripts/setup-tests.sh`",
        py.display()
    );
    py
}
