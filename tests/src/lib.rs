//! The filetest harness: a `.pir` case names its passes in a header comment; the
//! harness parses it, runs them with the verifier on, prints the result and
//! compares it with an insta snapshot stored beside the case.
//!
//! Directives (whole-line `;` comments; see [`parse_header`]):
//! * `; pass: fold-constants`, `; passes: remove-identity,dce` (a pass spec,
//!   options included: `; passes: quantize{scheme=int8,calib=random:16:1}`) or
//!   `; pipeline: cleanup` (exactly one of them, unless the case is a
//!   `verify-error` case);
//! * optional `; set: fold_size_limit=64` to change a pass option;
//! * optional `; print: elided` to elide large weights in the output;
//! * `; run: equivalent [tol=T]` / `; run: within TOL`: the interpreter's outputs
//!   after the passes are checked against those before, on seeded random inputs
//!   (the inputs, tolerances and metric are defined in [`run_check`]);
//! * `; verify-error: RULE`: the graph as written must fail the verifier with
//!   that rule (`pare_ir::verify::Rule` ids); the snapshot holds the verifier's
//!   report.
//!
//! Every registered pass and pipeline has a folder `filetests/<name>/` with at
//! least one `; run:` case (checked by the `filetests` test binary).
//!
//! Bless new or changed output with `INSTA_UPDATE=always cargo test -p pare-tests`
//! (or `cargo insta review`). With `CI=true` a missing or different snapshot fails.

mod header;
pub mod run_check;

pub use header::{parse_header, Header, Run};
pub use run_check::{check_run, Check, InputSpec, RunDirective};

use pare_passes::{PassCx, PassManager, PassOptions, Pipeline};
use std::path::{Path, PathBuf};

/// A case that cannot be run, or whose expectation does not hold.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error("{path}: {msg}")]
    Header { path: String, msg: String },
    #[error("{path}: cannot read: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: parse error: {source}")]
    Parse {
        path: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("{path}: {source}")]
    Pass {
        path: String,
        #[source]
        // Boxed: the pass error is large, and every case result carries this type.
        source: Box<pare_passes::PassError>,
    },
    /// A `; run:` check failed.
    #[error("{path}: `; run: {directive}` failed: {msg}")]
    Run {
        path: String,
        directive: String,
        msg: String,
    },
    /// A `; verify-error:` expectation failed.
    #[error("{path}: {msg}")]
    Verify { path: String, msg: String },
}

/// The pipeline a case's `; pass:` / `; passes:` / `; pipeline:` line names. The
/// one place pass specs are interpreted, so a richer spec syntax (pass options
/// in braces) only changes this function.
pub fn pipeline_for(run: &Run) -> Result<Pipeline, String> {
    match run {
        Run::Passes(spec) => pare_passes::pipeline_from_spec(spec).map_err(|e| e.to_string()),
        Run::Pipeline(name) => pare_passes::pipeline(name).ok_or_else(|| {
            format!(
                "unknown pipeline `{name}` (known: {})",
                pare_passes::pipeline_names().join(", ")
            )
        }),
    }
}

fn build(path: &str, run: &Run, h: &Header) -> Result<(Pipeline, PassOptions), CaseError> {
    let header_err = |msg: String| CaseError::Header {
        path: path.to_string(),
        msg,
    };
    let pipeline = pipeline_for(run).map_err(header_err)?;
    // Filetests always verify, whatever the build profile.
    let mut options = PassOptions {
        verify: true,
        ..PassOptions::default()
    };
    for (k, v) in &h.options {
        let num = || {
            v.parse::<usize>()
                .map_err(|_| header_err(format!("option `{k}`: `{v}` is not a number")))
        };
        match k.as_str() {
            "fold_size_limit" => options.fold_size_limit = num()?,
            "max_iterations" => options.max_iterations = num()?,
            _ => return Err(header_err(format!("unknown option `{k}`"))),
        }
    }
    Ok((pipeline, options))
}

/// Runs the case in `src` and returns the text to snapshot: the printed graph
/// followed by the passes' log, or for a `verify-error` case the verifier's report.
/// Every `; run:` check must hold.
pub fn run_case(path: &str, src: &str) -> Result<String, CaseError> {
    let header = parse_header(path, src)?;
    let pipeline = match &header.run {
        Some(run) => Some(build(path, run, &header)?),
        None => None,
    };
    let mut g = pare_ir::text::parse(src).map_err(|e| CaseError::Parse {
        path: path.to_string(),
        source: Box::new(e),
    })?;
    // `parse_header` gives a case either passes or a verify-error rule.
    let (mut pipeline, options) = match (pipeline, header.verify_error) {
        (_, Some(rule)) => return expect_verify_error(path, &g, rule),
        (Some(p), None) => p,
        (None, None) => {
            return Err(CaseError::Header {
                path: path.to_string(),
                msg: "nothing to run".into(),
            })
        }
    };
    // The graph as written, kept only when a `; run:` check compares against it.
    let before = (!header.checks.is_empty()).then(|| g.clone());
    let mut cx = PassCx::new(options);
    PassManager::new()
        .run(&mut pipeline, &mut g, &mut cx)
        .map_err(|source| CaseError::Pass {
            path: path.to_string(),
            source: Box::new(source),
        })?;
    if let Some(before) = &before {
        for d in &header.checks {
            check_run(before, &g, d).map_err(|msg| CaseError::Run {
                path: path.to_string(),
                directive: d.to_string(),
                msg,
            })?;
        }
    }
    let mut out = if header.elided {
        pare_ir::text::print_elided(&g)
    } else {
        pare_ir::text::print(&g)
    };
    if !out.ends_with('\n') {
        out.push('\n');
    }
    for entry in &cx.log {
        out.push_str(&format!("; {}: {}\n", entry.pass, entry.message));
    }
    Ok(out)
}

/// The verifier must reject `g` with a violation of `rule`; returns its report.
fn expect_verify_error(
    path: &str,
    g: &pare_ir::Graph,
    rule: pare_ir::verify::Rule,
) -> Result<String, CaseError> {
    let fail = |msg: String| CaseError::Verify {
        path: path.to_string(),
        msg,
    };
    match pare_ir::verify::verify(g) {
        Ok(()) => Err(fail(format!(
            "expected the verifier to report rule `{rule}`, but the graph verifies"
        ))),
        Err(e) if !e.breaks(rule) => Err(fail(format!(
            "expected the verifier to report rule `{rule}`; it reported:\n{e}"
        ))),
        Err(e) => Ok(format!("{e}\n")),
    }
}

/// Runs the case at `path` and asserts its output against the snapshot
/// `<case>.snap` in the same folder. Panics (like any insta assertion) on a
/// mismatch; returns an error when the case cannot be run.
pub fn check_case(path: &Path) -> Result<(), CaseError> {
    let shown = path.display().to_string();
    let src = std::fs::read_to_string(path).map_err(|source| CaseError::Io {
        path: shown.clone(),
        source,
    })?;
    let out = run_case(&shown, &src)?;
    assert_snapshot_beside(path, &out);
    Ok(())
}

/// Asserts `out` against the snapshot named after `case` in `case`'s folder.
pub fn assert_snapshot_beside(case: &Path, out: &str) {
    let dir = case.parent().map(Path::to_path_buf).unwrap_or_default();
    let name = case
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(dir);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_input_file(case);
    settings.bind(|| insta::assert_snapshot!(name, out));
}

/// Every `.pir` case under `root`, sorted.
pub fn find_cases(root: &Path) -> Result<Vec<PathBuf>, std::io::Error> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let p = entry?.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "pir") {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}
