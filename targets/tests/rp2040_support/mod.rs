//! Host verification of the RP2040 C: compile the generated files with gcc (and
//! clang when present; required in CI) under `-std=c99 -Wall -Wextra -Werror
//! -pedantic` with AddressSanitizer and UBSan, run a harness over samples, and
//! compare with pare's integer interpreter byte for byte.

#![allow(dead_code)]

use pare_ir::interp::{run_with, QuantExec, RunOptions};
use pare_ir::quant::{qrange, quantize_f32, Rounding};
use pare_ir::Tensor;
use pare_targets::rp2040::Emitted;
use std::path::PathBuf;
use std::process::Command;

/// The flags every generated file must pass.
pub const FLAGS: &[&str] = &[
    "-std=c99",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-pedantic",
    "-O1",
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=all",
    "-fno-omit-frame-pointer",
];

fn exists(cc: &str) -> bool {
    Command::new(cc)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The host C compilers to test with: gcc always (the test fails without
/// it), clang when installed — and in CI (`CI` set) clang must be there.
pub fn compilers() -> Vec<&'static str> {
    assert!(
        exists("gcc"),
        "gcc is missing: the RP2040 C is verified by compiling it on the host (apt-get install gcc)"
    );
    let mut out = vec!["gcc"];
    if exists("clang") {
        out.push("clang");
    } else if std::env::var_os("CI").is_some() {
        panic!("clang is missing: CI verifies the generated C with gcc and clang (run the project's setup script)");
    } else {
        eprintln!(
            "note: clang not found; the generated C is checked with gcc only (CI requires clang)"
        );
    }
    out
}

/// A compiled model with its harness.
pub struct Built {
    pub dir: tempfile::TempDir,
    pub exe: PathBuf,
    pub cc: String,
}

/// Macro prefixes of a model's inputs or outputs (`MODEL_INPUT` or `MODEL_INPUT0`, …).
fn io_macros(name: &str, what: &str, n: usize) -> Vec<String> {
    let upper = name.to_ascii_uppercase();
    if n == 1 {
        vec![format!("{upper}_{what}")]
    } else {
        (0..n).map(|i| format!("{upper}_{what}{i}")).collect()
    }
}

/// main.c: `harness q|f IN OUT N` reads N samples (each: every input's int8
/// codes, or floats with `f`), runs `NAME_invoke` (`NAME_invoke_f32`) on each and
/// writes every output. Buffers are malloc'd at their exact sizes and the arena
/// is refilled with a different byte before each sample, so an overrun trips
/// AddressSanitizer and a read of stale arena bytes changes the result.
pub fn harness(e: &Emitted) -> String {
    let name = &e.name;
    let ins = io_macros(name, "INPUT", e.lowered.inputs.len());
    let outs = io_macros(name, "OUTPUT", e.lowered.outputs.len());
    let mut decl = String::new();
    let mut body = String::new();
    for (k, m) in ins.iter().enumerate() {
        decl.push_str(&format!(
            "    int8_t *qi{k} = malloc({m}_SIZE);\n    float *fi{k} = malloc(sizeof(float) * {m}_SIZE);\n"
        ));
        body.push_str(&format!(
            "        if (f32 ? fread(fi{k}, sizeof(float), {m}_SIZE, in) != {m}_SIZE : fread(qi{k}, 1, {m}_SIZE, in) != {m}_SIZE) return 3;\n"
        ));
    }
    for (k, m) in outs.iter().enumerate() {
        decl.push_str(&format!(
            "    int8_t *qo{k} = malloc({m}_SIZE);\n    float *fo{k} = malloc(sizeof(float) * {m}_SIZE);\n"
        ));
    }
    let mut frees = String::from("    free(arena);\n");
    for k in 0..ins.len() {
        frees.push_str(&format!("    free(qi{k});\n    free(fi{k});\n"));
    }
    for k in 0..outs.len() {
        frees.push_str(&format!("    free(qo{k});\n    free(fo{k});\n"));
    }
    let qargs: Vec<String> = (0..ins.len())
        .map(|k| format!("qi{k}"))
        .chain((0..outs.len()).map(|k| format!("qo{k}")))
        .chain(["arena".to_string()])
        .collect();
    let fargs: Vec<String> = (0..ins.len())
        .map(|k| format!("fi{k}"))
        .chain((0..outs.len()).map(|k| format!("fo{k}")))
        .collect();
    body.push_str(&format!(
        "        memset(arena, (int)(s * 37 + 11) & 0xff, arena_bytes);\n        if ((f32 ? {name}_invoke_f32({}) : {name}_invoke({})) != 0) return 4;\n",
        fargs.join(", "),
        qargs.join(", ")
    ));
    for (k, m) in outs.iter().enumerate() {
        body.push_str(&format!(
            "        if (f32 ? fwrite(fo{k}, sizeof(float), {m}_SIZE, out) != {m}_SIZE : fwrite(qo{k}, 1, {m}_SIZE, out) != {m}_SIZE) return 5;\n"
        ));
    }
    format!(
        r#"#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "{name}.h"

int main(int argc, char **argv)
{{
    FILE *in;
    FILE *out;
    long samples;
    long s;
    int f32;
    size_t arena_bytes = {upper}_ARENA_BYTES > 0 ? {upper}_ARENA_BYTES : 1;
    uint8_t *arena = malloc(arena_bytes);
{decl}    if (argc != 5) return 2;
    f32 = argv[1][0] == 'f';
    in = fopen(argv[2], "rb");
    out = fopen(argv[3], "wb");
    samples = strtol(argv[4], NULL, 10);
    if (in == NULL || out == NULL || arena == NULL) return 2;
    for (s = 0; s < samples; ++s) {{
{body}    }}
    fclose(in);
    fclose(out);
{frees}    return 0;
}}
"#,
        upper = name.to_ascii_uppercase()
    )
}

/// Writes the model's files and the harness into a temporary directory and
/// compiles them with `cc` and [`FLAGS`]; panics with the compiler's output.
pub fn build(e: &Emitted, cc: &str) -> Built {
    let dir = tempfile::tempdir().expect("temp dir");
    e.write_to(dir.path()).expect("writes the C files");
    std::fs::write(dir.path().join("main.c"), harness(e)).expect("writes main.c");
    let exe = dir.path().join("harness");
    let mut cmd = Command::new(cc);
    cmd.args(FLAGS).arg("-I").arg(dir.path());
    for f in e.c_files() {
        cmd.arg(dir.path().join(f));
    }
    cmd.arg(dir.path().join("main.c")).arg("-o").arg(&exe);
    let out = cmd.output().expect("runs the C compiler");
    assert!(
        out.status.success(),
        "{cc} rejects the generated C:\n{}\n(files kept in {})",
        String::from_utf8_lossy(&out.stderr),
        {
            let kept = dir.path().to_path_buf();
            std::mem::forget(dir);
            kept.display().to_string()
        }
    );
    Built {
        dir,
        exe,
        cc: cc.to_string(),
    }
}

fn run(b: &Built, mode: &str, input: &[u8], samples: usize) -> Vec<u8> {
    let (inp, outp) = (b.dir.path().join("in.bin"), b.dir.path().join("out.bin"));
    std::fs::write(&inp, input).expect("writes inputs");
    let out = Command::new(&b.exe)
        .arg(mode)
        .arg(&inp)
        .arg(&outp)
        .arg(samples.to_string())
        .output()
        .expect("runs the harness");
    assert!(
        out.status.success(),
        "the {} build fails at run time ({}):\n{}",
        b.cc,
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(&outp).expect("reads outputs")
}

/// Runs `NAME_invoke` on `samples` (per sample, one code vector per input);
/// returns per sample the outputs' codes concatenated.
pub fn run_codes(b: &Built, e: &Emitted, samples: &[Vec<Vec<i8>>]) -> Vec<Vec<i8>> {
    let bytes: Vec<u8> = samples
        .iter()
        .flat_map(|s| s.iter().flatten().map(|&c| c as u8))
        .collect();
    let per: usize = e.lowered.outputs.iter().map(|o| o.elements()).sum();
    let out = run(b, "q", &bytes, samples.len());
    assert_eq!(out.len(), per * samples.len(), "output size");
    out.chunks(per.max(1))
        .map(|c| c.iter().map(|&b| b as i8).collect())
        .collect()
}

/// Runs `NAME_invoke_f32` on float samples; returns per sample the outputs concatenated.
pub fn run_f32(b: &Built, e: &Emitted, samples: &[Vec<Vec<f32>>]) -> Vec<Vec<f32>> {
    let bytes: Vec<u8> = samples
        .iter()
        .flat_map(|s| s.iter().flatten().flat_map(|x| x.to_le_bytes()))
        .collect();
    let per: usize = e.lowered.outputs.iter().map(|o| o.elements()).sum();
    let out = run(b, "f", &bytes, samples.len());
    assert_eq!(out.len(), 4 * per * samples.len(), "output size");
    out.chunks(4 * per.max(1))
        .map(|c| {
            c.chunks(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        })
        .collect()
}

/// The integer interpreter on the lowered graph: the reference outputs.
pub fn reference(e: &Emitted, r: Rounding, samples: &[Vec<Vec<i8>>]) -> Vec<Vec<i8>> {
    let opts = RunOptions {
        quant: QuantExec::Integer(r),
    };
    samples
        .iter()
        .map(|s| {
            let inputs: Vec<Tensor> = s
                .iter()
                .zip(&e.lowered.inputs)
                .map(|(codes, io)| {
                    Tensor::from_vec(io.shape.clone(), codes.clone()).expect("input")
                })
                .collect();
            let outs = run_with(&e.lowered.graph, &inputs, &opts, &mut |_, _| {})
                .expect("the interpreter runs the lowered graph");
            outs.iter()
                .flat_map(|t| t.as_slice::<i8>().expect("int8 output").to_vec())
                .collect()
        })
        .collect()
}

/// Uniform random int8 codes for every input of `e`, `n` samples.
pub fn random_codes(e: &Emitted, n: usize, seed: u64) -> Vec<Vec<Vec<i8>>> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..n)
        .map(|_| {
            e.lowered
                .inputs
                .iter()
                .map(|io| (0..io.elements()).map(|_| rng.i8(..)).collect())
                .collect()
        })
        .collect()
}

/// Compiles `e` with every compiler and checks `NAME_invoke` against the
/// interpreter on `samples`; returns how many samples matched per compiler
/// (it panics on the first mismatch, naming sample and output index).
pub fn check_bit_exact(e: &Emitted, r: Rounding, samples: &[Vec<Vec<i8>>]) -> usize {
    let want = reference(e, r, samples);
    for cc in compilers() {
        let b = build(e, cc);
        let got = run_codes(&b, e, samples);
        for (s, (g, w)) in got.iter().zip(&want).enumerate() {
            if g != w {
                let at = g.iter().zip(w).position(|(a, b)| a != b).unwrap_or(0);
                panic!(
                    "{cc}, model {}: sample {s} differs from the interpreter at output element {at}: C {} vs reference {}\nC:   {g:?}\nref: {w:?}",
                    e.name, g[at], w[at]
                );
            }
        }
    }
    samples.len()
}

/// The entry quantize_linear's codes of one float sample.
pub fn quantize_input(e: &Emitted, x: &[f32]) -> Vec<i8> {
    let io = &e.lowered.inputs[0];
    let q = e
        .lowered
        .graph
        .ty(io.value)
        .quant
        .clone()
        .expect("quantized input");
    let (lo, hi) = qrange(&q);
    x.iter()
        .map(|&v| quantize_f32(v, io.scale, io.zero_point, lo, hi) as i8)
        .collect()
}
