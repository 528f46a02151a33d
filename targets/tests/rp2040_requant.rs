//! The C requantization (`pare_mbqm`, `pare_requantize`) and float conversion
//! (`pare_quantize_f32`, `pare_dequantize_f32`) against `pare_ir::quant` on
//! edge cases and random values, both roundings, compiled with gcc (and clang)
//! under ASan/UBSan: the arithmetic every kernel ends with.

mod rp2040_support;

use pare_ir::quant::{
    dequantize_f32, multiply_by_quantized_multiplier, quantize_f32, quantize_multiplier, Rounding,
};
use pare_targets::rp2040::{KERNELS_C, KERNELS_H};
use rp2040_support::{compilers, FLAGS};
use std::process::Command;

/// A C program: reads `mode` then lines of numbers from stdin, prints results.
const MAIN: &str = r#"#include <stdio.h>
#include <string.h>

#include "pare_kernels.h"

int main(void)
{
    char mode[8];
    if (scanf("%7s", mode) != 1) return 2;
    if (strcmp(mode, "mbqm") == 0) {
        long x, m, s, r, zp;
        while (scanf("%ld %ld %ld %ld %ld", &x, &m, &s, &r, &zp) == 5) {
            printf("%ld %d\n", (long)pare_mbqm((int32_t)x, (int32_t)m, (int32_t)s, (int32_t)r),
                   (int)pare_requantize((int32_t)x, (int32_t)m, (int32_t)s, (int32_t)zp, (int32_t)r));
        }
    } else {
        unsigned long xb, sb;
        long zp;
        while (scanf("%lx %lx %ld", &xb, &sb, &zp) == 3) {
            float x, s, d;
            unsigned int bits = (unsigned int)xb;
            int8_t q;
            memcpy(&x, &bits, 4);
            bits = (unsigned int)sb;
            memcpy(&s, &bits, 4);
            q = pare_quantize_f32(x, s, (int32_t)zp);
            d = pare_dequantize_f32(q, s, (int32_t)zp);
            memcpy(&bits, &d, 4);
            printf("%d %x\n", (int)q, bits);
        }
    }
    return 0;
}
"#;

fn run_c(cc: &str, input: &str) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("pare_kernels.h"), KERNELS_H).expect("write");
    std::fs::write(dir.path().join("pare_kernels.c"), KERNELS_C).expect("write");
    std::fs::write(dir.path().join("main.c"), MAIN).expect("write");
    let exe = dir.path().join("t");
    let out = Command::new(cc)
        .args(FLAGS)
        .arg(dir.path().join("pare_kernels.c"))
        .arg(dir.path().join("main.c"))
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("runs the compiler");
    assert!(
        out.status.success(),
        "{cc}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut child = Command::new(&exe)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs the test program");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("feeds input");
    let out = child.wait_with_output().expect("finishes");
    assert!(
        out.status.success(),
        "{cc} program fails: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn requantization_matches_the_reference() {
    let mut rng = fastrand::Rng::with_seed(3);
    let edges = [
        i32::MIN,
        i32::MIN + 1,
        -65536,
        -255,
        -1,
        0,
        1,
        255,
        32767,
        32768,
        32769,
        -32767,
        -32768,
        -32769,
        65536,
        i32::MAX - 1,
        i32::MAX,
    ];
    let mut cases: Vec<(i32, i32, i32)> = Vec::new();
    for &x in &edges {
        for &m in &[i32::MIN, -(1 << 30), 1, 1 << 30, 1_518_500_250, i32::MAX] {
            for s in [-40, -31, -20, -1, 0, 1, 7, 30, 40] {
                cases.push((x, m, s));
            }
        }
    }
    for _ in 0..4000 {
        // Multipliers as pare makes them, from random ratios over many magnitudes.
        let real = rng.f64() * 10f64.powi(rng.i32(-9..3));
        let (m, s) = quantize_multiplier(real);
        let x = match rng.u8(0..3) {
            0 => rng.i32(-40_000..40_000),
            1 => rng.i32(-(1 << 20)..(1 << 20)),
            _ => rng.i32(..),
        };
        cases.push((x, m, s));
    }
    for cc in compilers() {
        for r in [Rounding::Gemmlowp, Rounding::Single] {
            let code = i32::from(r == Rounding::Single);
            let zp = |i: usize| (i % 256) as i32 - 128;
            let input: String = std::iter::once("mbqm\n".to_string())
                .chain(
                    cases
                        .iter()
                        .enumerate()
                        .map(|(i, (x, m, s))| format!("{x} {m} {s} {code} {}\n", zp(i))),
                )
                .collect();
            let out = run_c(cc, &input);
            let lines: Vec<&str> = out.lines().collect();
            assert_eq!(lines.len(), cases.len());
            for (i, ((x, m, s), line)) in cases.iter().zip(lines).enumerate() {
                let want = multiply_by_quantized_multiplier(*x, *m, *s, r);
                let want_q = want.saturating_add(zp(i)).clamp(-128, 127);
                assert_eq!(
                    line,
                    format!("{want} {want_q}"),
                    "{cc} {r}: x={x} m={m} shift={s} zp={}",
                    zp(i)
                );
            }
            eprintln!("{cc} {r}: {} requantizations identical", cases.len());
        }
    }
}

#[test]
fn float_conversions_match_the_reference() {
    let mut rng = fastrand::Rng::with_seed(5);
    let mut cases: Vec<(f32, f32, i32)> = Vec::new();
    let specials = [
        0.0,
        -0.0,
        0.5,
        -0.5,
        1.5,
        -1.5,
        2.5,
        -2.5,
        127.5,
        -128.5,
        1e30,
        -1e30,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        f32::MIN_POSITIVE,
    ];
    for &x in &specials {
        for &(s, z) in &[(1.0, 0), (1.0, -128), (0.5, 3), (0.003921569, -128)] {
            cases.push((x, s, z));
        }
    }
    for _ in 0..4000 {
        let s = rng.f32() * 0.1 + 1e-4;
        let z = rng.i32(-128..128);
        // Near code boundaries: half-integer multiples of the scale, nudged.
        let k = rng.i32(-300..300) as f32 + if rng.bool() { 0.5 } else { rng.f32() };
        cases.push((k * s, s, z));
    }
    for cc in compilers() {
        let input: String = std::iter::once("quant\n".to_string())
            .chain(
                cases
                    .iter()
                    .map(|(x, s, z)| format!("{:x} {:x} {z}\n", x.to_bits(), s.to_bits())),
            )
            .collect();
        let out = run_c(cc, &input);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), cases.len());
        for ((x, s, z), line) in cases.iter().zip(lines) {
            let q = quantize_f32(*x, *s, *z, -128, 127);
            let d = dequantize_f32(q, *s, *z);
            assert_eq!(
                line,
                format!("{q} {:x}", d.to_bits()),
                "{cc}: x={x:e} scale={s:e} zp={z}"
            );
        }
        eprintln!("{cc}: {} float conversions identical", cases.len());
    }
}
