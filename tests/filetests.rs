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

/// A snapshot that disagrees with the output must fail the assertion.
#[test]
fn wrong_expectation_fails() {
    let dir = std::env::temp_dir().join(format!("pare-filetest-neg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let case = dir.join("neg.pir");
    std::fs::write(
        dir.join("neg.snap"),
        "---\nsource: filetests.rs\n---\nexpected text\n",
    )
    .unwrap();
    let matched = catch_unwind(|| assert_snapshot_beside(&case, "expected text\n"));
    let mismatched = catch_unwind(|| assert_snapshot_beside(&case, "other text\n"));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(matched.is_ok(), "matching snapshot must pass");
    assert!(mismatched.is_err(), "mismatching snapshot must fail");
}
