//! Runs every `filetests/**/*.pir` case against its snapshot, plus tests of the
//! harness itself (a wrong expectation must fail).

use pare_tests::{assert_snapshot_beside, check_case, find_cases, parse_header, run_case, Run};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

fn root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("filetests")
}

/// All cases run; the failures are listed together at the end.
#[test]
fn filetests() {
    let cases = find_cases(&root()).expect("filetests folder is readable");
    assert!(
        !cases.is_empty(),
        "no .pir cases under {}",
        root().display()
    );
    let mut failures = Vec::new();
    for case in &cases {
        match catch_unwind(AssertUnwindSafe(|| check_case(case))) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failures.push(format!("{e}")),
            Err(_) => failures.push(format!("{}: snapshot mismatch (see above)", case.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} filetests failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn header_forms_parse() {
    let h = parse_header(
        "t",
        "; passes: remove-identity, dce\n; set: fold_size_limit=8\ngraph",
    )
    .unwrap();
    assert_eq!(
        h.run,
        Run::Passes(vec!["remove-identity".into(), "dce".into()])
    );
    assert_eq!(h.options, vec![("fold_size_limit".into(), "8".into())]);
    let h = parse_header("t", "; pipeline: cleanup\n").unwrap();
    assert_eq!(h.run, Run::Pipeline("cleanup".into()));
}

#[test]
fn bad_headers_are_errors() {
    for src in [
        "graph @g() -> () {}\n",
        "; pass: no-such-pass\ngraph @g() -> () {}\n",
        "; pipeline: no-such-pipeline\ngraph @g() -> () {}\n",
        "; pass: dce\n; pipeline: cleanup\n",
        "; pass: dce\n; set: bogus=1\n",
    ] {
        let err = run_case("bad.pir", src).expect_err(src);
        assert!(err.to_string().starts_with("bad.pir: "), "{err}");
    }
}

/// Snapshot assertions under CI settings, run in a child process so that the
/// developer's own `INSTA_UPDATE` (e.g. `always` while blessing) cannot make a
/// wrong expectation pass: a matching snapshot passes, a different or a missing
/// one fails.
#[test]
fn wrong_or_missing_expectation_fails() {
    let dir = std::env::temp_dir().join(format!("pare-filetest-neg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("neg.snap"),
        "---\nsource: filetests.rs\n---\nexpected text\n",
    )
    .unwrap();
    let run = |case: &str| {
        std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--ignored", "--exact", "snapshot_child", "--test-threads=1"])
            .env("CI", "true")
            .env("INSTA_UPDATE", "no")
            .env_remove("INSTA_FORCE_PASS")
            .env("PARE_NEG_DIR", &dir)
            .env("PARE_NEG_CASE", case)
            .output()
            .unwrap()
            .status
            .success()
    };
    let (matched, mismatched, missing) = (run("match"), run("mismatch"), run("missing"));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(matched, "a matching snapshot must pass");
    assert!(!mismatched, "a different snapshot must fail");
    assert!(!missing, "a missing snapshot must fail under CI=true");
}

/// The child of `wrong_or_missing_expectation_fails`; ignored in normal runs.
#[test]
#[ignore]
fn snapshot_child() {
    let dir = std::path::PathBuf::from(std::env::var_os("PARE_NEG_DIR").unwrap());
    match std::env::var("PARE_NEG_CASE").unwrap().as_str() {
        "match" => assert_snapshot_beside(&dir.join("neg.pir"), "expected text\n"),
        "mismatch" => assert_snapshot_beside(&dir.join("neg.pir"), "other text\n"),
        _ => assert_snapshot_beside(&dir.join("absent.pir"), "expected text\n"),
    }
}
