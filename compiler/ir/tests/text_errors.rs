//! Textual IR parse errors: exact messages with line:column for syntax errors,
//! undefined and redefined values, unknown ops, bad attributes, bad weight data,
//! elided weights without a source, and type mismatches.

use pare_ir::text::{parse, parse_with_weights, print_elided};
use pare_ir::{DType, Graph, Op, Tensor, TensorType, Weight};

fn err(src: &str) -> String {
    match parse(src) {
        Ok(g) => panic!("parsed unexpectedly: {g:?}\n{src}"),
        Err(e) => e.to_string(),
    }
}

/// A one-node graph around `body` lines.
fn wrap(body: &str) -> String {
    format!("graph @g(%0: f32[2]) -> (f32[2]) {{\n{body}\n  return %1\n}}\n")
}

#[test]
fn syntax_errors_say_what_was_expected_and_found() {
    let cases: &[(&str, &str)] = &[
        (
            "graph @g(%0: f32[2]) {\n  %1: f32[2] = relu(%0]\n  return %1\n}",
            "2:23: expected `,` or `)` after operand, found `]`",
        ),
        ("", "1:1: expected `graph`, found end of input"),
        ("grap @g() {}", "1:1: expected `graph`, found `grap`"),
        ("graph g() {}", "1:7: expected `@` and the graph name, found `g`"),
        (
            "graph @g(%0 f32[2]) {}",
            "1:13: expected `:` and a type after the value, found `f32`",
        ),
        (
            "graph @g(%0: f33[2]) {}",
            "1:14: unknown element type `f33` (expected one of f32, f16, f64, i8, i16, i32, i64, u8, u16, u32, u64, bool)",
        ),
        (
            "graph @g(%0: f32[2,]) {}",
            "1:20: expected dimension (a size, a symbol or a quoted symbol), found `]`",
        ),
        (
            "graph @g(%0: f32[2]) {\n  %1: f32[2] = relu(%0) {alpha=}\n  return %1\n}",
            "2:32: expected attribute value, found `}`",
        ),
        (
            "graph @g(%0: f32[2]) {\n  %1: f32[2] = relu(%0)\n}",
            "3:1: expected statement (`%v: type = op(...)`, `$w: type = ...` or `return`), found `}`",
        ),
        (
            "graph @g(%0: f32[2]) {\n  return %0\n} trailing",
            "3:3: expected end of input after the graph, found `trailing`",
        ),
        (
            "graph @g(%0 \"unterminated: f32[2]) {}",
            "1:13: unterminated string (missing closing `\"`)",
        ),
        (
            "graph @g(%0 \"bad \\q\": f32[2]) {}",
            "1:18: invalid escape `\\q` in string (use \\\\, \\\", \\n, \\r, \\t or \\u{...})",
        ),
        (
            &wrap("  %1: f32[2] = leaky_relu(%0) {alpha=0x1.8}"),
            "2:38: hex float needs a `p` exponent (as in `0x1.8p-3`); integers are decimal",
        ),
        (
            &wrap("  %1: f32[2] = concat(%0) {axis=99999999999999999999}"),
            "2:33: integer 99999999999999999999 does not fit in i64",
        ),
        (
            &wrap("  %1: f32[2] = concat(%0) {axis=[1, \"a\"]}"),
            "2:33: a list attribute holds only numbers or only strings",
        ),
        (
            &wrap("  $w0: f32[2] = hex \"00zz\"\n  %1: f32[2] = add(%0, $w0)"),
            "2:24: expected hex digits or closing `\"` in `hex` data, found `zz`",
        ),
        (
            &wrap("  $w0: f32[2] = hex \"000\"\n  %1: f32[2] = add(%0, $w0)"),
            "2:22: `hex` data has an odd number of digits",
        ),
        (
            &wrap("  $w0: f32[2] = blob\n  %1: f32[2] = add(%0, $w0)"),
            "2:17: expected weight data (`hex \"...\"`, `hash ...`, `[...]` or `$w`), found `blob`",
        ),
        (
            &wrap("  $w0: f32[1] = [1.0]\n  $w1: f32[1] = f32[1] $w0\n  %1: f32[2] = add(%0, $w1)"),
            "3:24: an alias shares its target's stored type; write `= $w` without a type",
        ),
        (
            "graph @g(%0: i8[2] !q(bits=8, signed=true)) {}",
            "1:23: `!q(...)` needs `bits`, `signed`, `scale` and `zp` (and `axis` when per-channel)",
        ),
        (
            "graph @g(%0: i8[2] !q(bits=300, signed=true, scale=[1.0], zp=[0])) {}",
            "1:23: `!q` field `bits` must be an integer from 1 to 255",
        ),
        (
            &wrap("  %1: f32[2] = relu(%0)\n  meta { opset = 17 }"),
            "3:3: `meta { ... }` must come first in the graph body",
        ),
    ];
    let wrong: Vec<String> = cases
        .iter()
        .filter(|(src, want)| err(src) != *want)
        .map(|(src, want)| format!("{src}\n  want: {want}\n  got:  {}", err(src)))
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

#[test]
fn meta_errors() {
    assert_eq!(
        err("graph @g() {\n  meta { opset = 1, opset = 2 }\n  return\n}"),
        "2:21: `opset` is given twice in `meta`"
    );
    assert_eq!(
        err("graph @g() {\n  meta { version = 1 }\n  return\n}"),
        "2:10: unknown `meta` field `version` (expected `producer`, `opset` or `ir_version`)"
    );
}

#[test]
fn semantic_errors_name_the_value_op_or_attribute() {
    let cases: &[(String, &str)] = &[
        (
            wrap("  %1: f32[2] = relu(%7)"),
            "2:21: undefined value `%7`",
        ),
        (
            wrap("  %1: f32[2] = relu(%2)\n  %2: f32[2] = relu(%0)"),
            "2:21: value `%2` is used before its definition",
        ),
        (
            wrap("  %1: f32[2] = relu(%0)\n  %1: f32[2] = relu(%0)"),
            "3:3: value `%1` is defined twice (first at 2:3)",
        ),
        (
            wrap("  %1: f32[2], %1: f32[2] = dropout(%0)"),
            "2:15: value `%1` is defined twice (first at 2:3)",
        ),
        (
            wrap("  %1: f32[2] = rleu(%0)"),
            "2:16: unknown op `rleu` (did you mean `relu`?)",
        ),
        (
            wrap("  %1: f32[2] = frobnicate(%0)"),
            "2:16: unknown op `frobnicate`",
        ),
        (
            wrap("  %1: f32[2] = leaky_relu(%0)"),
            "2:16: op `leaky_relu`: missing attribute `alpha`",
        ),
        (
            wrap("  %1: f32[2] = leaky_relu(%0) {alpha=\"x\"}"),
            "2:32: op `leaky_relu`: attribute `alpha` has the wrong kind (expected float)",
        ),
        (
            wrap("  %1: f32[2] = relu(%0) {beta=1}"),
            "2:26: op `relu`: unknown attribute `beta`",
        ),
        (
            wrap("  %1: f32[2] = concat(%0) {axis=1, axis=2}"),
            "2:36: attribute `axis` is given twice",
        ),
        (
            wrap("  %1: f32[2] = conv(%0) {auto_pad=\"SAME\", kernel_shape=[1], strides=[1], pads=[0,0], dilations=[1], group=1}"),
            "2:26: op `conv`: attribute `auto_pad` has the wrong kind (expected AutoPad)",
        ),
        (
            wrap("  $w0: f32[2] = hex \"000000\"\n  %1: f32[2] = add(%0, $w0)"),
            "2:17: weight `$w0`: f32[2] needs 8 bytes, got 3",
        ),
        (
            wrap("  $w0: i64[3] = [1, 2]\n  %1: f32[2] = add(%0, $w0)"),
            "2:17: weight `$w0`: i64[3] needs 3 elements, got 2",
        ),
        (
            wrap("  $w0: u8[2] = [1, 256]\n  %1: f32[2] = add(%0, $w0)"),
            "2:20: weight `$w0`, element 1: integer 256 does not fit in u8",
        ),
        (
            wrap("  $w0: i32[1] = [1.5]\n  %1: f32[2] = add(%0, $w0)"),
            "2:18: weight `$w0`, element 0: expected an integer (i32), found a float",
        ),
        (
            wrap("  $w0: f16[1] = [70000]\n  %1: f32[2] = add(%0, $w0)"),
            "2:18: weight `$w0`, element 0: float 70000 is out of range for f16",
        ),
        (
            wrap("  $w0: f32[1] = [1e39]\n  %1: f32[2] = add(%0, $w0)"),
            "2:18: weight `$w0`, element 0: float `1e39` is out of range for f32",
        ),
        (
            wrap("  $w0: f32[1] = [0x1.000001p0]\n  %1: f32[2] = add(%0, $w0)"),
            "2:18: weight `$w0`, element 0: hex float `0x1.000001p0` is not exactly representable as f32",
        ),
        (
            wrap("  $w0: f32[1] = [nan(0x1)]\n  %1: f32[2] = add(%0, $w0)"),
            "2:18: weight `$w0`, element 0: nan(0x1) is not a 32-bit NaN pattern",
        ),
        (
            wrap("  $w0: f32[N] = []\n  %1: f32[2] = add(%0, $w0)"),
            "2:17: weight `$w0`: weight type f32[N] has a symbolic dim; weights need a known shape",
        ),
        (
            wrap("  $w0: f32[2] = hash 0123456789abcdef\n  %1: f32[2] = add(%0, $w0)"),
            "2:17: weight `$w0` is elided (`hash 0123456789abcdef`) and no weight source provides it; print with `print` for a self-contained file or parse with `parse_with_weights`",
        ),
        (
            wrap("  $w0: f32[2] = $w9\n  %1: f32[2] = add(%0, $w0)"),
            "2:17: undefined value `$w9`",
        ),
        (
            wrap("  $w0: f32[2] = %0\n  %1: f32[2] = add(%0, $w0)"),
            "2:17: expected weight data (`hex \"...\"`, `hash ...`, `[...]` or `$w`), found `%0`",
        ),
        (
            "graph @g(%0: f32[2]) -> (f32[3]) {\n  return %0\n}".to_string(),
            "1:26: output 0 is declared f32[3] but `return` gives %0 of type f32[2]",
        ),
        (
            "graph @g(%0: f32[2]) -> (f32[2], f32[2]) {\n  return %0\n}".to_string(),
            "2:3: `return` gives 1 value(s) but the signature declares 2",
        ),
    ];
    let wrong: Vec<String> = cases
        .iter()
        .filter(|(src, want)| err(src) != *want)
        .map(|(src, want)| format!("{src}\n  want: {want}\n  got:  {}", err(src)))
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

#[test]
fn alias_chains_share_one_stored_weight() {
    let src = wrap(
        "  $w0: f32[2] = [1.0, 2.0]\n  $w1: f32[2] = $w0\n  $w2: f32[2] = $w1\n  %1: f32[2] = add(%0, $w2)",
    );
    let g = parse(&src).unwrap_or_else(|e| panic!("{e}\n{src}"));
    assert_eq!(g.weight_count(), 1);
}

#[test]
fn elided_weights_need_a_matching_source() {
    let mut g = Graph::new("g");
    let x = g
        .add_input("x", TensorType::fixed(DType::F32, &[20]))
        .unwrap();
    let data: Vec<f32> = (0..20).map(|i| i as f32).collect();
    let w = Weight::from_tensor(&Tensor::from_vec(vec![20], data).unwrap());
    let wv = g.add_weight("w", w.clone()).unwrap();
    let (_, y) = g
        .add_node(
            "",
            Op::Add {},
            vec![Some(x), Some(wv)],
            vec![(String::new(), TensorType::fixed(DType::F32, &[20]))],
        )
        .unwrap();
    g.outputs.push(y[0]);
    let text = print_elided(&g);
    let h = w.short_hash();
    assert!(parse(&text).unwrap_err().message.contains("is elided"));
    // A source returning different data for the hash is caught.
    let other = Weight::from_tensor(&Tensor::from_vec(vec![20], vec![0f32; 20]).unwrap());
    let e = parse_with_weights(&text, &|_| Some(other.clone())).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "2:22: weight `$w0`: the weight source returned data whose hash is {}, not {h}",
            other.short_hash()
        )
    );
    // A source returning the right bytes under another type is caught too.
    let retyped = text.replace("$w0 \"w\": f32[20]", "$w0 \"w\": f32[4,5]");
    let e = parse_with_weights(&retyped, &|_| Some(w.clone())).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("2:23: weight `$w0`: the weight source gave f32[20] for `hash {h}`, but f32[4,5] is declared")
    );
    assert_eq!(
        parse_with_weights(&text, &|s| (s == h).then(|| w.clone())).unwrap(),
        g
    );
}

#[test]
fn errors_count_columns_in_characters() {
    let src = "graph @g(%0 \"é😀\": f32[2]) {\n  return %0 %0\n}";
    assert_eq!(
        err(src),
        "2:13: expected `}` closing the graph body after `return`, found `%0`"
    );
    let src = "graph @g(%0 \"é😀\" f32[2]) {}";
    assert_eq!(
        err(src),
        "1:18: expected `:` and a type after the value, found `f32`"
    );
}
