//! The filetest harness: a `.pir` case names its passes in a header comment; the
//! harness parses it, runs them with the verifier on, prints the result and
//! compares it with an insta snapshot stored beside the case.
//!
//! Header lines (before the graph, each a `;` comment):
//! * `; pass: fold-constants`, `; passes: remove-identity,dce` (a pass spec,
//!   options included: `; passes: quantize{scheme=int8,calib=random:16:1}`) or
//!   `; pipeline: cleanup` (exactly one of them);
//! * optional `; set: fold_size_limit=64` to change a pass option;
//! * optional `; print: elided` to elide large weights in the output.
//!
//! Bless new or changed output with `INSTA_UPDATE=always cargo test -p pare-tests`
//! (or `cargo insta review`). With `CI=true` a missing or different snapshot fails.

use pare_passes::{PassCx, PassManager, PassOptions, Pipeline};
use std::path::{Path, PathBuf};

/// What a case header asks for.
#[derive(Clone, PartialEq, Debug)]
pub struct Header {
    /// The pipeline to run: `Pass`/`Passes` names, or a pipeline name.
    pub run: Run,
    pub options: Vec<(String, String)>,
    pub elided: bool,
}

#[derive(Clone, PartialEq, Debug)]
pub enum Run {
    Passes(Vec<String>),
    Pipeline(String),
}

/// A case that cannot be run.
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
        source: pare_passes::PassError,
    },
}

/// Reads the header comments at the top of a case.
pub fn parse_header(path: &str, src: &str) -> Result<Header, CaseError> {
    let err = |msg: String| CaseError::Header {
        path: path.to_string(),
        msg,
    };
    let mut run = None;
    let mut options = Vec::new();
    let mut elided = false;
    for line in src.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Some(comment) = line.strip_prefix(';') else {
            break;
        };
        let Some((key, value)) = comment.split_once(':') else {
            continue;
        };
        let value = value.trim();
        let new_run = match key.trim() {
            "pass" | "passes" => Some(Run::Passes(
                value.split(',').map(|s| s.trim().to_string()).collect(),
            )),
            "pipeline" => Some(Run::Pipeline(value.to_string())),
            "set" => {
                let (k, v) = value
                    .split_once('=')
                    .ok_or_else(|| err(format!("`; set: {value}` is not `name=value`")))?;
                options.push((k.trim().to_string(), v.trim().to_string()));
                None
            }
            "print" => {
                elided = match value {
                    "elided" => true,
                    "full" => false,
                    _ => return Err(err(format!("`; print: {value}`: expected elided or full"))),
                };
                None
            }
            _ => None,
        };
        if let Some(r) = new_run {
            if run.is_some() {
                return Err(err("more than one pass/passes/pipeline line".into()));
            }
            run = Some(r);
        }
    }
    let run = run.ok_or_else(|| {
        err("missing header: `; pass: NAME`, `; passes: A,B` or `; pipeline: NAME`".into())
    })?;
    Ok(Header {
        run,
        options,
        elided,
    })
}

fn build(path: &str, h: &Header) -> Result<(Pipeline, PassOptions), CaseError> {
    let header_err = |msg: String| CaseError::Header {
        path: path.to_string(),
        msg,
    };
    let pipeline = match &h.run {
        // The header was split at every comma; joined back it is the spec,
        // braces and all (`quantize{scheme=int8,calib=random:16:1}`).
        Run::Passes(names) => pare_passes::pipeline_from_spec(&names.join(","))
            .map_err(|e| header_err(e.to_string()))?,
        Run::Pipeline(name) => pare_passes::pipeline(name).ok_or_else(|| {
            header_err(format!(
                "unknown pipeline `{name}` (known: {})",
                pare_passes::pipeline_names().join(", ")
            ))
        })?,
    };
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
/// followed by the passes' log.
pub fn run_case(path: &str, src: &str) -> Result<String, CaseError> {
    let header = parse_header(path, src)?;
    let (mut pipeline, options) = build(path, &header)?;
    let mut g = pare_ir::text::parse(src).map_err(|e| CaseError::Parse {
        path: path.to_string(),
        source: Box::new(e),
    })?;
    let mut cx = PassCx::new(options);
    PassManager::new()
        .run(&mut pipeline, &mut g, &mut cx)
        .map_err(|source| CaseError::Pass {
            path: path.to_string(),
            source,
        })?;
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
