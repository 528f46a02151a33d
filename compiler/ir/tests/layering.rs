//! The module layering inside pare-ir (see the crate docs): a module never names a
//! module above it, so there are no cycles. Checked on the source text, because
//! Rust allows cycles between modules of one crate and the compiler would not object.

use std::path::{Path, PathBuf};

/// (module folder under `src/`, modules its code must not name).
const RULES: &[(&str, &[&str])] = &[
    // Shape inference evaluates its constants itself (`infer::const_eval`); the
    // interpreter asks inference for signatures, not the other way round.
    ("infer", &["interp"]),
    // Quantization arithmetic and lookup tables serve the interpreter; their float
    // functions come from the op table (`Op::scalar_fn`), not from its kernels.
    ("quant", &["interp"]),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// Lines of `text` whose code (comments dropped) names one of `forbidden` as an
/// identifier: `crate::interp::x`, `super::super::interp`, `use crate::{interp, ..}`.
fn offending_lines(text: &str, forbidden: &[&str]) -> Vec<(usize, String)> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| {
            let code = line.split("//").next().unwrap_or("");
            code.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .any(|ident| forbidden.contains(&ident))
        })
        .map(|(i, line)| (i + 1, line.trim().to_string()))
        .collect()
}

#[test]
fn modules_do_not_name_modules_above_them() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut problems = Vec::new();
    for (module, forbidden) in RULES {
        let mut files = Vec::new();
        rust_files(&src.join(module), &mut files);
        assert!(!files.is_empty(), "no sources under src/{module}");
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for (line, code) in offending_lines(&text, forbidden) {
                problems.push(format!("{}:{line}: {code}", f.display()));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "module layering broken (a lower module names a higher one):\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_check_sees_every_way_of_naming_a_module() {
    let bad = "use crate::interp::eval_op;\nuse crate::{interp, Op};\nlet x = super::super::interp::run(g);";
    assert_eq!(offending_lines(bad, &["interp"]).len(), 3);
    let fine = "// the interpreter: crate::interp\nlet interpreter = 1; /// interp::x";
    assert!(offending_lines(fine, &["interp"]).is_empty());
}
