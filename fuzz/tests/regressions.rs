//! Replays every committed regression case (`tests/fuzz_regressions/<format>/`) through
//! the campaign's pipeline in capped workers: each must now give a result or a clean
//! error.

use pare_fuzz::{format_of, seeds, Caps};
use std::path::PathBuf;
use std::time::Duration;

#[test]
fn committed_regression_cases_end_cleanly() {
    let dir = seeds::regressions_dir();
    let files = seeds::files_with(&dir, &["onnx", "pt2", "pir", "npy", "npz"], true)
        .expect("tests/fuzz_regressions is readable");
    assert!(
        !files.is_empty(),
        "no regression cases under {}",
        dir.display()
    );
    // Each case sits in the folder of its format.
    for f in &files {
        let folder = f
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str());
        assert_eq!(
            folder,
            format_of(f).map(|fmt| fmt.name()),
            "{} is not in its format's folder",
            f.display()
        );
    }
    let caps = Caps {
        time: Duration::from_secs(20),
        mem_mb: 1024,
    };
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_pare-fuzz"));
    let results = pare_fuzz::replay_files(&files, 2, &exe, caps).expect("replay runs");
    assert_eq!(results.len(), files.len());
    let failing: Vec<String> = results
        .iter()
        .filter_map(|(p, v)| {
            v.finding()
                .map(|k| format!("{k}: {}: {}", p.display(), v.detail()))
        })
        .collect();
    assert!(
        failing.is_empty(),
        "regression cases fail:\n{}",
        failing.join("\n")
    );
}
