//! Runs every `filetests/**/*.pir` case against its snapshot, plus tests of the
//! harness itself (a wrong expectation must fail) and of the coverage rule
//! (every registered pass has a folder with a `; run:` case).

use pare_ir::verify::Rule;
use pare_tests::{
    assert_snapshot_beside, check_case, check_run, find_cases, parse_header, run_case, Check,
    InputSpec, Run, RunDirective,
};
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
    assert_eq!(h.run, Some(Run::Passes("remove-identity, dce".into())));
    assert_eq!(h.options, vec![("fold_size_limit".into(), "8".into())]);
    assert!(h.checks.is_empty());
    let h = parse_header("t", "; pipeline: cleanup\n").unwrap();
    assert_eq!(h.run, Some(Run::Pipeline("cleanup".into())));
    // Run lines may follow the graph, like Cranelift's.
    let h = parse_header(
        "t",
        "; pass: dce\n; run: equivalent tol=1e-3 N=3 seed=7\ngraph @g() -> () {\n}\n; run: within 0.05 ints=-2..2 floats=0..4\n",
    )
    .unwrap();
    let d = &h.checks;
    assert_eq!(d.len(), 2);
    assert_eq!(d[0].check, Check::Equivalent { tol: 1e-3 });
    assert_eq!(d[0].inputs.seed, 7);
    assert_eq!(d[0].inputs.dims, vec![("N".to_string(), 3)]);
    assert_eq!(d[1].check, Check::Within { tol: 0.05 });
    assert_eq!(d[1].inputs.ints, (-2, 2));
    assert_eq!(d[1].inputs.floats, (0.0, 4.0));
    let h = parse_header("t", "; verify-error: arity\ngraph").unwrap();
    assert_eq!((h.run, h.verify_error), (None, Some(Rule::Arity)));
}

#[test]
fn bad_headers_are_errors() {
    for src in [
        "graph @g() -> () {}\n",
        "; pass: no-such-pass\ngraph @g() -> () {}\n",
        "; pipeline: no-such-pipeline\ngraph @g() -> () {}\n",
        "; pass: dce\n; pipeline: cleanup\n",
        "; pass: dce\n; set: bogus=1\n",
        "; pass: dce\n; run: same\n",
        "; pass: dce\n; run: within\n",
        "; pass: dce\n; run: within -1\n",
        "; pass: dce\n; run: equivalent tol=abc\n",
        "; pass: dce\n; run: equivalent N=0\n",
        "; pass: dce\n; run: equivalent ints=3..1\n",
        "; pass: dce\n; runs: equivalent\n",
        "; verify-error: no-such-rule\n",
        "; verify-error: arity\n; pass: dce\n",
        "; verify-error: arity\n; run: equivalent\n",
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

/// Two graphs computing `x * w` with different weights.
fn scaled(w: &str, ty: &str) -> pare_ir::Graph {
    pare_ir::text::parse(&format!(
        "graph @g(%x \"x\": {ty}) -> ({ty}) {{\n  $w \"w\": {ty} = [{w}]\n  %y \"y\": {ty} = mul(%x, $w)\n  return %y\n}}\n"
    ))
    .unwrap()
}

fn directive(check: Check) -> RunDirective {
    RunDirective {
        check,
        inputs: InputSpec::default(),
    }
}

#[test]
fn run_equivalent_fails_on_a_different_result() {
    let before = scaled("1.0, 2.0", "f32[2]");
    let eq = directive(Check::Equivalent { tol: 1e-5 });
    check_run(&before, &before.clone(), &eq).unwrap();
    // Within the default tolerance: a change in the 7th digit passes ...
    check_run(&before, &scaled("1.0, 2.000001", "f32[2]"), &eq).unwrap();
    // ... one in the 3rd fails, naming the output and the element.
    let err = check_run(&before, &scaled("1.0, 2.01", "f32[2]"), &eq).unwrap_err();
    assert!(
        err.contains("output 0 `y`") && err.contains("element 1"),
        "{err}"
    );
    // tol=0 means bit-exact for floats too.
    let exact = directive(Check::Equivalent { tol: 0.0 });
    check_run(&before, &scaled("1.0, 2.000001", "f32[2]"), &exact).unwrap_err();
}

#[test]
fn run_equivalent_is_bit_exact_on_integers_and_types_must_match() {
    // Nonzero inputs, so a changed weight shows in the product.
    let eq = RunDirective {
        check: Check::Equivalent { tol: 1.0 },
        inputs: InputSpec {
            ints: (1, 3),
            ..InputSpec::default()
        },
    };
    let before = scaled("1, 2", "i32[2]");
    check_run(&before, &before.clone(), &eq).unwrap();
    // A huge float tolerance does not excuse an integer difference.
    let err = check_run(&before, &scaled("1, 3", "i32[2]"), &eq).unwrap_err();
    assert!(err.contains("not bit-exact"), "{err}");
    let err = check_run(
        &scaled("1.0, 2.0", "f32[2]"),
        &scaled("1.0, 2.0", "f64[2]"),
        &eq,
    )
    .unwrap_err();
    assert!(err.contains("inputs"), "{err}");
}

#[test]
fn run_equivalent_on_quantized_graphs_compares_codes() {
    let q = |scale: f32, zp: i32| {
        let out = format!("i8[4] !q(bits=8, signed=true, scale=[{scale}], zp=[{zp}])");
        pare_ir::text::parse(&format!("graph @q(%x \"x\": i8[4] !q(bits=8, signed=true, scale=[0.5], zp=[0])) -> ({out}) {{\n  %y \"y\": {out} = relu(%x)\n  return %y\n}}\n")).unwrap()
    };
    let before = q(0.25, 0);
    let eq = directive(Check::Equivalent { tol: 1e-5 });
    check_run(&before, &before.clone(), &eq).unwrap();
    // Other codes for the same real values: not equivalent, but `within` (which
    // dequantizes) sees no error at all.
    let err = check_run(&before, &q(0.25, 1), &eq).unwrap_err();
    assert!(err.contains("type changed"), "{err}");
    let within = |tol| directive(Check::Within { tol });
    check_run(&before, &q(0.25, 1), &within(0.0)).unwrap();
    // A coarser output scale rounds the real values: `within` measures it.
    let err = check_run(&before, &q(1.0, 0), &within(1e-3)).unwrap_err();
    assert!(err.contains("max|after-before|/max|before| = "), "{err}");
    check_run(&before, &q(1.0, 0), &within(2.0)).unwrap();
}

#[test]
fn run_within_prints_the_measured_error() {
    let before = scaled("1.0, 2.0", "f32[2]");
    let after = scaled("1.0, 2.2", "f32[2]");
    // The error is 0.2·|x1| against max(|x0|, 2|x1|): about 10% of the largest.
    let err = check_run(&before, &after, &directive(Check::Within { tol: 0.01 })).unwrap_err();
    assert!(err.contains("exceeds 1e-2"), "{err}");
    let measured: f64 = err
        .split("= ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no figure in: {err}"));
    assert!(measured > 0.01 && measured <= 0.1 + 1e-6, "{err}");
    check_run(
        &before,
        &after,
        &directive(Check::Within { tol: 0.1 + 1e-6 }),
    )
    .unwrap();
}

#[test]
fn random_inputs_are_deterministic_and_follow_the_spec() {
    let ty = |s: &str| {
        let g = pare_ir::text::parse(&format!("graph @g(%x: {s}) -> ({s}) {{\n  return %x\n}}\n"))
            .unwrap();
        g.ty(g.inputs[0]).clone()
    };
    let (f, i) = (ty("f32[N,3]"), ty("i64[5]"));
    let mut spec = InputSpec::default();
    let a = pare_tests::run_check::random_inputs(&[&f, &i], &spec).unwrap();
    let b = pare_tests::run_check::random_inputs(&[&f, &i], &spec).unwrap();
    assert_eq!(a, b);
    assert_eq!(a[0].shape(), [2, 3]);
    assert!(a[0].to_f64_vec().iter().all(|x| (-1.0..1.0).contains(x)));
    assert!(a[1].to_i64_vec().iter().all(|x| (0..=3).contains(x)));
    spec.dims.push(("N".into(), 4));
    spec.seed += 1;
    let c = pare_tests::run_check::random_inputs(&[&f], &spec).unwrap();
    assert_eq!(c[0].shape(), [4, 3]);
    spec.dims.push(("n".into(), 4));
    let err = pare_tests::run_check::random_inputs(&[&f], &spec).unwrap_err();
    assert!(err.contains("`n=` binds no symbolic dim"), "{err}");
}

#[test]
fn verify_error_cases_fail_on_a_wrong_expectation() {
    let broken = "; verify-error: RULE\ngraph @g(%x \"x\": f32[2]) -> (f32[3]) {\n  %y \"y\": f32[3] = relu(%x)\n  return %y\n}\n";
    let out = run_case("v.pir", &broken.replace("RULE", "types")).unwrap();
    assert!(out.starts_with("[types] node"), "{out}");
    let err = run_case("v.pir", &broken.replace("RULE", "arity")).unwrap_err();
    assert!(err.to_string().contains("it reported:\n[types]"), "{err}");
    let fine = broken.replace("f32[3]", "f32[2]").replace("RULE", "types");
    let err = run_case("v.pir", &fine).unwrap_err();
    assert!(err.to_string().contains("but the graph verifies"), "{err}");
}

/// Every rule the textual IR can express has a `verifier/<rule>.pir` case that
/// names it; the rules it cannot (names resolve, so ids, defs, uniqueness,
/// order and outputs are right by construction) are covered in
/// `compiler/ir/tests/verify_rules.rs`.
#[test]
fn every_expressible_verifier_rule_has_a_case() {
    let unspellable = [
        Rule::Ids,
        Rule::Def,
        Rule::Unique,
        Rule::Dominance,
        Rule::Outputs,
    ];
    for rule in Rule::ALL.into_iter().filter(|r| !unspellable.contains(r)) {
        let case = root().join("verifier").join(format!("{}.pir", rule.id()));
        let src =
            std::fs::read_to_string(&case).unwrap_or_else(|e| panic!("{}: {e}", case.display()));
        let h = parse_header("case", &src).unwrap();
        assert_eq!(h.verify_error, Some(rule), "{}", case.display());
    }
}

/// Whether a case's pass line runs `name`: the pipeline of that name, or a pass
/// list naming it (a pass may carry options in braces: `name{k=v,...}`).
fn names_pass(run: &Run, name: &str) -> bool {
    match run {
        Run::Pipeline(p) => p == name,
        Run::Passes(spec) => spec
            .split(',')
            .any(|piece| piece.split('{').next().map(str::trim) == Some(name)),
    }
}

/// The coverage rule: each registered pass and pipeline has a folder
/// `filetests/<name>/` holding at least one case with a `; run:` check that
/// runs it.
#[test]
fn every_registered_pass_has_a_run_case() {
    let names = pare_passes::pass_names()
        .iter()
        .chain(pare_passes::pipeline_names());
    let mut missing = Vec::new();
    for name in names {
        let dir = root().join(name);
        let has_run = find_cases(&dir).unwrap_or_default().iter().any(|case| {
            std::fs::read_to_string(case)
                .ok()
                .and_then(|src| parse_header("case", &src).ok())
                .is_some_and(|h| {
                    !h.checks.is_empty() && h.run.as_ref().is_some_and(|r| names_pass(r, name))
                })
        });
        if !has_run {
            missing.push(format!(
                "{} (no case with `; run:` in {})",
                name,
                dir.display()
            ));
        }
    }
    assert!(
        missing.is_empty(),
        "passes without a `; run:` filetest:\n{}",
        missing.join("\n")
    );
}

/// End to end through `run_case`: raising the QDQ gemm moves a few outputs by
/// one quantization step (fixed-point requantization rounds ties differently
/// from QuantizeLinear of the float result), so `equivalent` and a too tight
/// `within` must fail on the real pass, printing what they measured.
#[test]
fn run_checks_fail_the_case_when_the_pass_changes_numbers() {
    let path = root().join("raise-qdq").join("gemm.pir");
    let src = std::fs::read_to_string(&path).unwrap();
    let directive = "; run: within 0.02 N=512";
    assert!(src.contains(directive), "{} changed", path.display());
    run_case("gemm.pir", &src).unwrap();
    let err = run_case(
        "gemm.pir",
        &src.replace(directive, "; run: equivalent N=512"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("gemm.pir: `; run: equivalent") && err.contains("not equivalent"),
        "{err}"
    );
    let err = run_case(
        "gemm.pir",
        &src.replace(directive, "; run: within 0.001 N=512"),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("max|after-before|/max|before| = 1.4"), "{err}");
}
