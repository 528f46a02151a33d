//! Runs the nn kernels on recorded cases: inputs and expected outputs computed once
//! with onnxruntime (opset 21; the ONNX reference where onnxruntime lacks a kernel)
//! or taken from the ONNX backend node tests (`onnx_*`), stored as text under
//! `tests/data/interp_nn`.
//!
//! Case format, one item per line: `op <name>`, `a <attr> <kind> <value...>`,
//! `in <dtype> <dims,comma,separated|-> <values...>` or `in none`, `nout <n>`,
//! `out <slot> <dtype> <dims> <values...>`.

use pare_ir::attrs::Attr;
use pare_ir::{interp::eval_op, DType, Op, Tensor};
use std::collections::BTreeMap;
use std::path::Path;

struct Case {
    op: Op,
    inputs: Vec<Option<Tensor>>,
    num_outputs: usize,
    expected: Vec<(usize, Tensor)>,
}

fn parse_tensor(toks: &[&str]) -> Result<Tensor, String> {
    let dt = DType::from_name(toks[0]).ok_or(format!("bad dtype {}", toks[0]))?;
    let shape: Vec<usize> = if toks[1] == "-" {
        Vec::new()
    } else {
        toks[1]
            .split(',')
            .map(|s| s.parse().map_err(|e| format!("{e}")))
            .collect::<Result<_, _>>()?
    };
    let vals: Vec<f64> = toks[2..]
        .iter()
        .map(|v| v.parse::<f64>().map_err(|e| format!("{v}: {e}")))
        .collect::<Result<_, _>>()?;
    Ok(Tensor::from_vec(shape, vals)
        .map_err(|e| e.to_string())?
        .cast(dt))
}

fn parse_case(text: &str) -> Result<Case, String> {
    let mut name = String::new();
    let mut attrs = BTreeMap::new();
    let mut inputs = Vec::new();
    let mut expected = Vec::new();
    let mut num_outputs = 1;
    for line in text.lines() {
        let t: Vec<&str> = line.split_whitespace().collect();
        let num = |s: &str| s.parse::<f64>().map_err(|e| format!("{s}: {e}"));
        match t.first().copied() {
            Some("op") => name = t[1].to_string(),
            Some("a") => {
                let v = match t[2] {
                    "s" => Attr::Str(t[3..].join("")),
                    "i" => Attr::Int(num(t[3])? as i64),
                    "b" => Attr::Bool(t[3] == "1"),
                    "f" => Attr::Float(num(t[3])?),
                    "d" => Attr::DType(DType::from_name(t[3]).ok_or("bad dtype")?),
                    "is" => Attr::Ints(
                        t[4..]
                            .iter()
                            .map(|x| num(x).map(|v| v as i64))
                            .collect::<Result<_, _>>()?,
                    ),
                    "fs" => Attr::Floats(
                        t[4..]
                            .iter()
                            .map(|x| num(x).map(|v| v as f32))
                            .collect::<Result<_, _>>()?,
                    ),
                    "ss" => Attr::Strs(t[4..].iter().map(|x| x.to_string()).collect()),
                    k => return Err(format!("unknown attribute kind {k}")),
                };
                attrs.insert(t[1].to_string(), v);
            }
            Some("in") if t[1] == "none" => inputs.push(None),
            Some("in") => inputs.push(Some(parse_tensor(&t[1..])?)),
            Some("nout") => num_outputs = num(t[1])? as usize,
            Some("out") => expected.push((num(t[1])? as usize, parse_tensor(&t[2..])?)),
            _ => return Err(format!("bad line `{line}`")),
        }
    }
    let op = Op::from_attrs(&name, attrs).map_err(|e| e.to_string())?;
    Ok(Case {
        op,
        inputs,
        num_outputs,
        expected,
    })
}

/// Compares like the ONNX backend tests (rtol 1e-3), slightly looser for f16.
fn compare(got: &Tensor, want: &Tensor) -> Result<(), String> {
    if got.shape() != want.shape() || got.dtype() != want.dtype() {
        return Err(format!(
            "got {} {:?}, want {} {:?}",
            got.dtype(),
            got.shape(),
            want.dtype(),
            want.shape()
        ));
    }
    let rtol = if want.dtype() == DType::F16 {
        1e-2
    } else {
        1e-3
    };
    for (k, (a, b)) in got.to_f64_vec().iter().zip(want.to_f64_vec()).enumerate() {
        if !((a - b).abs() <= 1e-5 + rtol * b.abs() || (a.is_nan() && b.is_nan())) {
            return Err(format!("element {k}: got {a}, want {b}"));
        }
    }
    Ok(())
}

fn run_case(text: &str) -> Result<(), String> {
    let case = parse_case(text)?;
    let refs: Vec<Option<&Tensor>> = case.inputs.iter().map(|t| t.as_ref()).collect();
    let got = eval_op(&case.op, &refs, case.num_outputs).map_err(|e| e.to_string())?;
    for (slot, want) in &case.expected {
        let g = got.get(*slot).ok_or(format!("missing output {slot}"))?;
        compare(g, want).map_err(|e| format!("output {slot}: {e}"))?;
    }
    Ok(())
}

#[test]
fn recorded_cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/interp_nn");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("case directory exists")
        .map(|e| e.expect("readable entry").path())
        .collect();
    paths.sort();
    let mut failures = Vec::new();
    for p in &paths {
        let text = std::fs::read_to_string(p).expect("readable case");
        if let Err(e) = run_case(&text) {
            failures.push(format!("{}: {e}", p.display()));
        }
    }
    assert!(
        paths.len() >= 200,
        "expected the recorded cases, found {}",
        paths.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        paths.len(),
        failures.join("\n")
    );
}
