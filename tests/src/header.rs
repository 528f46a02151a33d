//! Reading a case's directives: the `;` comment lines that say what to run on
//! the graph and what to check.

use crate::run_check::{Check, InputSpec, RunDirective, DEFAULT_EQUIVALENT_TOL};
use crate::CaseError;
use pare_ir::verify::Rule;

/// What a case asks for.
#[derive(Clone, PartialEq, Debug)]
pub struct Header {
    /// The passes to run; `None` only for `; verify-error:` cases.
    pub run: Option<Run>,
    pub options: Vec<(String, String)>,
    pub elided: bool,
    /// `; run:` checks of the interpreter's results before and after the passes.
    pub checks: Vec<RunDirective>,
    /// `; verify-error: RULE`: the graph must fail the verifier with this rule.
    pub verify_error: Option<Rule>,
}

#[derive(Clone, PartialEq, Debug)]
pub enum Run {
    /// The text after `; pass:` / `; passes:`, as written: [`crate::pipeline_for`]
    /// alone splits and interprets it.
    Passes(String),
    Pipeline(String),
}

/// Reads the directives of a case. They are whole-line `;` comments: `pass`,
/// `passes`, `pipeline`, `set` and `print` in the leading comment block, `run`
/// and `verify-error` anywhere (Cranelift puts run lines after the function).
/// Other comments are free text, but a `run…`/`verify…` key that is not a
/// directive is an error, so a typo cannot silently skip a check.
pub fn parse_header(path: &str, src: &str) -> Result<Header, CaseError> {
    let err = |msg: String| CaseError::Header {
        path: path.to_string(),
        msg,
    };
    let mut run = None;
    let mut options = Vec::new();
    let mut elided = false;
    let mut checks = Vec::new();
    let mut verify_error = None;
    let mut leading = true;
    for line in src.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Some(comment) = line.strip_prefix(';') else {
            leading = false;
            continue;
        };
        let Some((key, value)) = comment.split_once(':') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        let new_run = match key {
            "run" => {
                checks.push(parse_run(value).map_err(|m| err(format!("`; run: {value}`: {m}")))?);
                None
            }
            "verify-error" => {
                let rule = Rule::from_id(value).ok_or_else(|| {
                    let known: Vec<&str> = Rule::ALL.iter().map(|r| r.id()).collect();
                    err(format!(
                        "`; verify-error: {value}`: unknown rule (known: {})",
                        known.join(", ")
                    ))
                })?;
                if verify_error.replace(rule).is_some() {
                    return Err(err("more than one `; verify-error:` line".into()));
                }
                None
            }
            k if k.starts_with("run") || k.starts_with("verify") => {
                return Err(err(format!(
                    "`; {k}:` is not a directive (did you mean `run` or `verify-error`?)"
                )))
            }
            _ if !leading => None,
            "pass" | "passes" => Some(Run::Passes(value.to_string())),
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
    match (&run, verify_error) {
        (None, None) => Err(err(
            "missing header: `; pass: NAME`, `; passes: A,B`, `; pipeline: NAME` or `; verify-error: RULE`"
                .into(),
        )),
        (Some(_), Some(_)) => Err(err(
            "`; verify-error:` cases check the graph as written; they take no pass or pipeline"
                .into(),
        )),
        (None, Some(_)) if !checks.is_empty() => Err(err(
            "`; run:` needs passes to compare against; a `; verify-error:` case has none".into(),
        )),
        _ => Ok(Header {
            run,
            options,
            elided,
            checks,
            verify_error,
        }),
    }
}

/// `equivalent [tol=T]` or `within TOL`, then optional `key=value` input
/// settings: `seed=S`, `ints=LO..HI`, `floats=LO..HI`, and `SYM=n` binding a
/// symbolic dim.
fn parse_run(value: &str) -> Result<RunDirective, String> {
    let mut words = value.split_whitespace();
    let mut check = match words.next() {
        Some("equivalent") => Check::Equivalent {
            tol: DEFAULT_EQUIVALENT_TOL,
        },
        Some("within") => {
            let tol = words
                .next()
                .ok_or("`within` needs a tolerance, e.g. `within 0.02`")?;
            Check::Within {
                tol: parse_tol(tol)?,
            }
        }
        Some(other) => {
            return Err(format!(
                "unknown check `{other}` (expected equivalent or within)"
            ))
        }
        None => return Err("empty (expected `equivalent` or `within TOL`)".into()),
    };
    let mut inputs = InputSpec::default();
    for word in words {
        let (k, v) = word
            .split_once('=')
            .ok_or_else(|| format!("`{word}` is not `key=value`"))?;
        match k {
            "tol" => match &mut check {
                Check::Equivalent { tol } => *tol = parse_tol(v)?,
                Check::Within { .. } => return Err("`within` takes its tolerance first".into()),
            },
            "seed" => inputs.seed = v.parse().map_err(|_| format!("seed `{v}` is not a u64"))?,
            "ints" => inputs.ints = parse_range(v, |s| s.parse::<i64>().ok())?,
            "floats" => inputs.floats = parse_range(v, |s| s.parse::<f64>().ok())?,
            sym => {
                let n = v
                    .parse::<u64>()
                    .ok()
                    .filter(|&n| (1..=4096).contains(&n))
                    .ok_or_else(|| format!("dim `{sym}={v}`: expected a size in 1..=4096"))?;
                inputs.dims.push((sym.to_string(), n));
            }
        }
    }
    Ok(RunDirective { check, inputs })
}

fn parse_tol(s: &str) -> Result<f64, String> {
    s.parse::<f64>()
        .ok()
        .filter(|t| t.is_finite() && *t >= 0.0)
        .ok_or_else(|| format!("tolerance `{s}` is not a finite number >= 0"))
}

fn parse_range<T: PartialOrd + Copy>(
    s: &str,
    num: impl Fn(&str) -> Option<T>,
) -> Result<(T, T), String> {
    s.split_once("..")
        .and_then(|(a, b)| Some((num(a)?, num(b)?)))
        .filter(|(a, b)| a <= b)
        .ok_or_else(|| format!("range `{s}` is not `LO..HI` with LO <= HI"))
}
