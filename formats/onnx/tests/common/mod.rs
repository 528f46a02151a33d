//! Shared test helpers: locating the fixture models and counting ops and parameters.
#![allow(dead_code)]

pub mod build;
pub mod oracle;

use pare_ir::Graph;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// `shared/fixtures`: `$PARE_FIXTURES` if set, else the first ancestor of this crate
/// holding `shared/fixtures` (works from the main checkout and from worktrees).
pub fn fixtures_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("PARE_FIXTURES") {
        return PathBuf::from(p);
    }
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for dir in here.ancestors() {
        let candidate = dir.join("shared").join("fixtures");
        if candidate.is_dir() {
            return candidate;
        }
    }
    panic!(
        "no shared/fixtures above {}; set PARE_FIXTURES to the fixtures directory",
        here.display()
    );
}

pub fn fixture(name: &str) -> PathBuf {
    let p = fixtures_dir().join(name);
    assert!(p.is_file(), "missing fixture {}", p.display());
    p
}

/// How many live nodes of each op (textual-IR name) the graph has.
pub fn op_counts(g: &Graph) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for (_, n) in g.nodes() {
        *m.entry(n.op.name()).or_insert(0) += 1;
    }
    m
}

/// Total elements of the weights that live nodes or outputs use.
pub fn param_count(g: &Graph) -> u64 {
    let mut g = g.clone();
    g.compact();
    g.weights()
        .map(|(_, w)| w.ty.num_elements().unwrap_or(0))
        .sum()
}
