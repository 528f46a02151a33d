//! The parser never panics: every truncation and many single-character mutations of a
//! feature-rich `.pir` file parse to `Ok` or `Err`, and whatever parses prints and
//! parses again to the same graph.

use pare_ir::text::{parse, print};

/// Exercises every construct: meta, quoted names and dims, quantized types, inline,
/// hex weights, aliases, storage types, optional inputs, multi-output
/// and zero-output nodes, all literal forms, comments.
const SOURCE: &str = r#"; a comment before the graph
graph @"fuzz me"(%0 "in\"put": f32[N,"batch size",4], %1: i8[2] !q(bits=8, signed=true, axis=0, scale=[0.5,0x1p-3], zp=[0,-1])) -> (f32[N,"batch size",4], bool[2]) {
  meta { producer = "pytorch" "2.11", opset = 17, ir_version = 8 }
  $w0 "w": f32[4] = [1.0, -0.0, inf, nan(0x7fc00001)]
  $w1: f64[2] = [0.1, -1e300]
  $w2: u8[3] = hex "00ff7f"
  $w3 "again": f32[4] = $w0
  $w4: f32[2,2] = f32[4] [0.5, 0.25, 1e-5, 3.0]
  $w5: bool[2] = [true, false]
  %2 "y": f32[N,"batch size",4] = clip(%0, _, $w0) "Clip_0"
  %3: f32[N,"batch size",4], %4: bool[N,"batch size",4] = dropout(%2) ; two outputs
  identity(%3) "sink"
  %5: f32[N,"batch size",4] = lstm(%3, $w3, $w4) {direction="forward", hidden_size=4, activations=["Sigmoid","Tanh"], activation_alpha=[0.5,-1.0], activation_beta=[], input_forget=false, layout=0}
  %6: f32[N,"batch size",4] = constant_of_shape(%5) {dtype=f64, value=0x1.999999999999ap-4}
  %7: bool[2] = is_nan(%1)
  %8: bool[2] = and(%7, $w5)
  identity($w1)
  identity($w2)
  return %6, %8
}
"#;

fn check(src: &str) {
    // Parsing must return; when it succeeds, the result must print and re-parse.
    if let Ok(g) = parse(src) {
        let text = print(&g);
        let back = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}\nfrom:\n{src}"));
        assert_eq!(print(&back), text);
    }
}

#[test]
fn the_fuzz_source_is_valid() {
    let g = parse(SOURCE).unwrap_or_else(|e| panic!("{e}"));
    // Six weight values over five stored weights (`$w3` shares `$w0`'s data).
    assert_eq!(g.weight_count(), 5);
    assert_eq!(print(&g).matches("\n  $w").count(), 6);
    check(SOURCE);
}

#[test]
fn truncations_never_panic() {
    for (k, _) in SOURCE.char_indices() {
        check(&SOURCE[..k]);
        check(&SOURCE[k..]);
    }
}

#[test]
fn mutations_never_panic() {
    const INSERTS: &[&str] = &[
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        ",",
        ":",
        "=",
        "%",
        "$",
        "_",
        "\"",
        "\\",
        ";",
        "-",
        ".",
        "0",
        "9",
        "x",
        "p",
        "e",
        "!",
        "@",
        "\n",
        " ",
        "é",
        "\u{0}",
        "nan",
        "0x",
        "99999999999999999999999",
    ];
    let positions: Vec<usize> = SOURCE
        .char_indices()
        .map(|(k, _)| k)
        .chain([SOURCE.len()])
        .collect();
    for (n, &k) in positions.iter().enumerate() {
        let next = positions.get(n + 1).copied().unwrap_or(SOURCE.len());
        // Delete one character.
        check(&format!("{}{}", &SOURCE[..k], &SOURCE[next..]));
        // Insert or replace with a few characters (a rotating subset keeps it quick).
        for ins in INSERTS.iter().skip(n % 4).step_by(4) {
            check(&format!("{}{ins}{}", &SOURCE[..k], &SOURCE[k..]));
            check(&format!("{}{ins}{}", &SOURCE[..k], &SOURCE[next..]));
        }
    }
}

#[test]
fn hostile_inputs_return_errors() {
    let deep = "[".repeat(100_000);
    let long_name = format!("graph @g(%0: f32[{}]) {{ return %0 }}", "9".repeat(10_000));
    let cases = [
        "\u{feff}graph @g() { return }",
        "graph @g() { return } \u{0}",
        &deep,
        &long_name,
        "graph @g(%0: f32[2]) { %1: f32[2] = relu(%0) {alpha=[[[1]]]} return %1 }",
        "graph @g(%0: f32[99999999999,99999999999]) { $w0: f32[99999999999,99999999999] = [] %1: f32[2] = add(%0, $w0) return %1 }",
        "graph @g() { $w0: f32[9999999999] = hex \"\" return $w0 }",
        "graph @g() { $w0: f32[1] = [0x1p-200] return $w0 }",
        "graph @g() { $w0: f16[1] = [1e10] return $w0 }",
        "graph @g() { $w0: f64[1] = [nan(0xffffffffffffffffff)] return $w0 }",
        "graph @g() { $w0: f32[1] = [\"s\"] return $w0 }",
        "graph @g(%0: f32[2]) { %1: f32[2] = add(%0, %0) {} %1: f32[2] = add(%0, %0) return %1 }",
    ];
    for src in cases {
        assert!(parse(src).is_err(), "{src}");
    }
    // Byte-order marks and NULs are not whitespace, but plain graphs with CRLF are fine.
    let crlf = "graph @g(%0: f32[2]) {\r\n  return %0\r\n}\r\n";
    assert!(parse(crlf).is_ok());
}
