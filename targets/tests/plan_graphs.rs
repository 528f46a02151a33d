//! The planner on hand-written graphs: chains, a residual whose skip buffer
//! must survive, multi-output nodes, view chains, in place, a diamond, caller
//! memory for inputs/outputs, the greedy schedule, and the errors.

mod common;

use common::{pir, plan, value};
use pare_targets::plan::{
    bind_symbols, memory_greedy_order, plan_memory, InPlace, IoPlacement, MemoryPlan, PlanError,
    PlanOptions, ScheduleKind,
};

fn opts() -> PlanOptions {
    PlanOptions::default()
}

/// True if the two values' bytes overlap in the arena.
fn share_bytes(p: &MemoryPlan, g: &pare_ir::Graph, a: &str, b: &str) -> bool {
    let (ba, bb) = (
        p.buffer_of(value(g, a)).expect("a in the arena"),
        p.buffer_of(value(g, b)).expect("b in the arena"),
    );
    ba.offset < bb.offset + bb.size && bb.offset < ba.offset + ba.size
}

/// Sizes 256 → 512 → 512 → 4 bytes: the peak is the two 512-byte tensors of
/// step 2, and the arena meets it.
const CHAIN: &str = r#"
graph @chain(%x "x": f32[1,64]) -> (f32[1,1]) {
  $reps "reps": i64[2] = [1, 2]
  $axes "axes": i64[1] = [1]
  %a "a": f32[1,64] = exp(%x)
  %t "t": f32[1,128] = tile(%a, $reps)
  %e "e": f32[1,128] = exp(%t)
  %m "m": f32[1,1] = reduce_mean(%e, $axes) {keepdims=true, noop_with_empty_axes=false}
  return %m
}
"#;

#[test]
fn chain_meets_the_lower_bound() {
    let g = pir(CHAIN);
    let p = plan(&g, &opts());
    assert_eq!(p.lower_bound, 1024);
    assert_eq!(p.arena_bytes, p.lower_bound);
    // Weights are never activations.
    for w in ["reps", "axes"] {
        assert!(p.buffer_of(value(&g, w)).is_none(), "{w} is in the arena");
    }
    assert_eq!(p.buffers.len(), 5);
    assert_eq!(p.naive_bytes(), 256 + 256 + 512 + 512 + 16);
    insta::assert_snapshot!("chain", p.dump(&g));
}

#[test]
fn alignment_rounds_footprints_and_the_bound() {
    let g = pir(CHAIN);
    for (align, lower) in [(1, 1024), (64, 1024), (1024, 2048)] {
        let p = plan(
            &g,
            &PlanOptions {
                alignment: align,
                ..opts()
            },
        );
        assert_eq!(
            (p.lower_bound, p.arena_bytes),
            (lower, lower),
            "alignment {align}"
        );
        assert!(p.buffers.iter().all(|b| b.offset % align == 0));
    }
    let bad = plan_memory(
        &g,
        &PlanOptions {
            alignment: 24,
            ..opts()
        },
    );
    assert_eq!(bad, Err(PlanError::BadAlignment(24)));
}

/// digits-CNN-like: the skip tensor `a` is read again by the add, so it stays
/// live across b and c.
const RESIDUAL: &str = r#"
graph @residual(%x "x": i8[1,16,8,8]) -> (i8[1,16,8,8]) {
  %a "a": i8[1,16,8,8] = exp(%x)
  %b "b": i8[1,16,8,8] = exp(%a)
  %c "c": i8[1,16,8,8] = exp(%b)
  %d "d": i8[1,16,8,8] = add(%c, %a)
  %y "y": i8[1,16,8,8] = exp(%d)
  return %y
}
"#;

#[test]
fn residual_skip_buffer_survives_until_the_add() {
    let g = pir(RESIDUAL);
    let p = plan(&g, &opts());
    let a = p.buffer_of(value(&g, "a")).unwrap();
    assert_eq!((a.first, a.last), (0, 3));
    for other in ["b", "c", "d"] {
        assert!(!share_bytes(&p, &g, "a", other), "a overlaps {other}");
    }
    assert_eq!(p.lower_bound, 3 * 1024);
    assert_eq!(p.arena_bytes, p.lower_bound);
    insta::assert_snapshot!("residual", p.dump(&g));
}

#[test]
fn multi_output_nodes_get_a_buffer_per_output_even_unused() {
    let g = pir(r#"
graph @split(%x "x": f32[1,64]) -> (f32[1,32]) {
  $k "k": i64[1] = [8]
  %l "l": f32[1,32], %r "r": f32[1,32] = split(%x) {axis=1, num_outputs=2}
  %v "v": f32[1,8], %i "i": i64[1,8] = top_k(%l, $k) {axis=1, largest=true, sorted=true}
  %y "y": f32[1,32] = exp(%l)
  return %y
}
"#);
    let p = plan(&g, &opts());
    // Step 0 holds x and both halves, though `r` is never read.
    let r = p.buffer_of(value(&g, "r")).unwrap();
    assert_eq!((r.first, r.last), (0, 0));
    assert!(!share_bytes(&p, &g, "x", "r") && !share_bytes(&p, &g, "l", "r"));
    // top_k's two outputs (f32 and i64) are live together at step 1.
    assert!(!share_bytes(&p, &g, "v", "i"));
    assert_eq!(p.buffer_of(value(&g, "i")).unwrap().size, 64);
    assert_eq!(p.lower_bound, 256 + 128 + 128);
    assert_eq!(p.arena_bytes, p.lower_bound);
}

const VIEWS: &str = r#"
graph @views(%x "x": f32[1,4,4]) -> (f32[1,1,16]) {
  $shape "shape": i64[2] = [1, 16]
  $ax "ax": i64[1] = [1]
  %e "e": f32[1,4,4] = exp(%x)
  %r1 "r1": f32[1,16] = reshape(%e, $shape) {allowzero=false}
  %r2 "r2": f32[1,16] = flatten(%r1) {axis=1}
  %r3 "r3": f32[1,1,16] = unsqueeze(%r2, $ax)
  %r4 "r4": f32[1,1,16] = identity(%r3)
  %y "y": f32[1,1,16] = exp(%r4)
  return %y
}
"#;

#[test]
fn view_chains_share_one_buffer_and_cost_nothing() {
    let g = pir(VIEWS);
    let p = plan(&g, &opts());
    let e = p.buffer_of(value(&g, "e")).unwrap();
    let names: Vec<&str> = e.values.iter().map(|&v| g.value(v).name.as_str()).collect();
    assert_eq!(names, ["e", "r1", "r2", "r3", "r4"]);
    assert_eq!((e.first, e.last), (0, 5));
    // Two 64-byte tensors at most at any step.
    assert_eq!((p.lower_bound, p.arena_bytes), (128, 128));
    insta::assert_snapshot!("views", p.dump(&g));
}

#[test]
fn a_requantizing_reshape_is_a_copy() {
    let g = pir(r#"
graph @rq(%x "x": i8[1,16] !q(bits=8, signed=true, scale=[0.5], zp=[0])) -> (i8[1,16] !q(bits=8, signed=true, scale=[0.25], zp=[3])) {
  $shape "shape": i64[2] = [1, 16]
  %a "a": i8[1,16] !q(bits=8, signed=true, scale=[0.5], zp=[0]) = reshape(%x, $shape) {allowzero=false}
  %b "b": i8[1,16] !q(bits=8, signed=true, scale=[0.25], zp=[3]) = reshape(%a, $shape) {allowzero=false}
  return %b
}
"#);
    let p = plan(&g, &opts());
    // x and a are one buffer (equal parameters); b holds other codes.
    assert_eq!(p.buffer_of(value(&g, "x")), p.buffer_of(value(&g, "a")));
    assert_ne!(p.buffer_of(value(&g, "a")), p.buffer_of(value(&g, "b")));
    assert!(!share_bytes(&p, &g, "a", "b"));
}

/// A diamond: `a` feeds two branches that meet in an add.
const DIAMOND: &str = r#"
graph @diamond(%x "x": f32[1,32]) -> (f32[1,32]) {
  %a "a": f32[1,32] = exp(%x)
  %b "b": f32[1,32] = exp(%a)
  %c "c": f32[1,32] = neg(%a)
  %d "d": f32[1,32] = add(%b, %c)
  return %d
}
"#;

#[test]
fn diamond_computes_the_last_reader_in_place() {
    let g = pir(DIAMOND);
    let p = plan(&g, &opts());
    // `neg` reads `a` for the last time at its step: it writes over it.
    assert_eq!(p.buffer_of(value(&g, "a")), p.buffer_of(value(&g, "c")));
    // `b` is read with `c` by the add: distinct bytes.
    assert!(!share_bytes(&p, &g, "b", "c") && !share_bytes(&p, &g, "b", "a"));
    assert_eq!((p.lower_bound, p.arena_bytes), (384, 384));
    let off = plan(
        &g,
        &PlanOptions {
            in_place: InPlace::Off,
            ..opts()
        },
    );
    assert_ne!(off.buffer_of(value(&g, "a")), off.buffer_of(value(&g, "c")));
    assert_eq!(off.arena_bytes, off.lower_bound);
    insta::assert_snapshot!("diamond", p.dump(&g));
}

/// A big intermediate followed by a relu: in place, the relu needs no second
/// big buffer.
const INPLACE: &str = r#"
graph @inplace(%x "x": f32[1,16]) -> (f32[1,1]) {
  $reps "reps": i64[2] = [1, 16]
  $axes "axes": i64[1] = [1]
  %t "t": f32[1,256] = tile(%x, $reps)
  %r "r": f32[1,256] = relu(%t)
  %c "c": f32[1,256] = clip(%r)
  %m "m": f32[1,1] = reduce_mean(%c, $axes) {keepdims=true, noop_with_empty_axes=false}
  return %m
}
"#;

#[test]
fn unary_ops_run_in_place_when_their_input_dies() {
    let g = pir(INPLACE);
    let on = plan(&g, &opts());
    let t = on.buffer_of(value(&g, "t")).unwrap();
    let names: Vec<&str> = t.values.iter().map(|&v| g.value(v).name.as_str()).collect();
    assert_eq!(names, ["t", "r", "c"]);
    assert_eq!((on.lower_bound, on.arena_bytes), (1024 + 64, 1024 + 64));
    let off = plan(
        &g,
        &PlanOptions {
            in_place: InPlace::Off,
            ..opts()
        },
    );
    assert_eq!((off.lower_bound, off.arena_bytes), (2048, 2048));
}

#[test]
fn in_place_never_overwrites_a_graph_output() {
    let g = pir(r#"
graph @keep(%x "x": f32[1,16]) -> (f32[1,16], f32[1,16]) {
  %a "a": f32[1,16] = exp(%x)
  %r "r": f32[1,16] = relu(%a)
  return %a, %r
}
"#);
    let p = plan(&g, &opts());
    assert!(!share_bytes(&p, &g, "a", "r"));
    assert_eq!(p.buffer_of(value(&g, "a")).unwrap().last, 1);
}

#[test]
fn external_inputs_and_outputs_are_left_to_the_caller() {
    let g = pir(RESIDUAL);
    let ext = PlanOptions {
        inputs: IoPlacement::External,
        outputs: IoPlacement::External,
        ..opts()
    };
    let p = plan(&g, &ext);
    assert_eq!(p.external, vec![value(&g, "x"), value(&g, "y")]);
    assert!(p.buffer_of(value(&g, "x")).is_none() && p.buffer_of(value(&g, "y")).is_none());
    assert_eq!((p.lower_bound, p.arena_bytes), (3072, 3072));

    // An external input is read-only: a relu over it gets a buffer of its own.
    let g = pir(r#"
graph @ro(%x "x": f32[1,16]) -> (f32[1,16]) {
  %r "r": f32[1,16] = relu(%x)
  %y "y": f32[1,16] = exp(%r)
  return %y
}
"#);
    let p = plan(
        &g,
        &PlanOptions {
            inputs: IoPlacement::External,
            ..opts()
        },
    );
    assert!(p.buffer_of(value(&g, "r")).is_some());
    assert_eq!(p.external, vec![value(&g, "x")]);
    // In the arena, the same relu writes over the input it is the last to read.
    let p = plan(&g, &opts());
    assert_eq!(p.buffer_of(value(&g, "x")), p.buffer_of(value(&g, "r")));
}

#[test]
fn a_view_of_an_external_value_is_external_too() {
    let g = pir(r#"
graph @vext(%x "x": f32[4,4]) -> (f32[16]) {
  $s "s": i64[1] = [16]
  $t "t": i64[2] = [4, 4]
  %r "r": f32[16] = reshape(%x, $s) {allowzero=false}
  %e "e": f32[16] = exp(%r)
  %o "o": f32[4,4] = reshape(%e, $t) {allowzero=false}
  %y "y": f32[16] = reshape(%o, $s) {allowzero=false}
  return %y
}
"#);
    let ext = PlanOptions {
        inputs: IoPlacement::External,
        outputs: IoPlacement::External,
        ..opts()
    };
    let p = plan(&g, &ext);
    // r views the caller's input; e is computed straight into the output.
    let names: Vec<&str> = p
        .external
        .iter()
        .map(|&v| g.value(v).name.as_str())
        .collect();
    assert_eq!(names, ["x", "r", "e", "o", "y"]);
    assert_eq!((p.arena_bytes, p.buffers.len()), (0, 0));
    // An external input reshaped straight into an external output is a copy
    // between two caller buffers: nothing in the arena, nothing shared.
    let g = pir(r#"
graph @copy(%x "x": f32[4,4]) -> (f32[16]) {
  $s "s": i64[1] = [16]
  %y "y": f32[16] = reshape(%x, $s) {allowzero=false}
  return %y
}
"#);
    let p = plan(&g, &ext);
    assert_eq!(p.external, vec![value(&g, "x"), value(&g, "y")]);
    // Input in the arena, output external: the view cannot be both, so copy.
    let p = plan(
        &g,
        &PlanOptions {
            outputs: IoPlacement::External,
            ..opts()
        },
    );
    assert!(p.buffer_of(value(&g, "x")).is_some());
    assert_eq!(p.external, vec![value(&g, "y")]);
}

/// Two branches whose big intermediates the graph order computes together;
/// the greedy order finishes one branch first.
const BRANCHES: &str = r#"
graph @branches(%x "x": f32[1,16]) -> (f32[1,1]) {
  $reps "reps": i64[2] = [1, 16]
  $axes "axes": i64[1] = [1]
  %a1 "a1": f32[1,256] = tile(%x, $reps)
  %b1 "b1": f32[1,256] = tile(%x, $reps)
  %a2 "a2": f32[1,1] = reduce_mean(%a1, $axes) {keepdims=true, noop_with_empty_axes=false}
  %b2 "b2": f32[1,1] = reduce_mean(%b1, $axes) {keepdims=true, noop_with_empty_axes=false}
  %y "y": f32[1,1] = add(%a2, %b2)
  return %y
}
"#;

#[test]
fn greedy_schedule_finishes_a_branch_before_starting_the_next() {
    let g = pir(BRANCHES);
    let by_graph = plan(&g, &opts());
    let greedy = plan(
        &g,
        &PlanOptions {
            schedule: ScheduleKind::MemoryGreedy,
            ..opts()
        },
    );
    let names = |p: &MemoryPlan| -> Vec<String> {
        p.schedule
            .iter()
            .map(|&n| g.value(g.node(n).outputs[0]).name.clone())
            .collect()
    };
    assert_eq!(names(&by_graph), ["a1", "b1", "a2", "b2", "y"]);
    assert_eq!(names(&greedy), ["a1", "a2", "b1", "b2", "y"]);
    assert_eq!(memory_greedy_order(&g, &opts()).unwrap(), greedy.schedule);
    // Graph order: x + a1 + b1 at step 1. Greedy: one 1 KiB tile at a time.
    assert_eq!((by_graph.lower_bound, by_graph.arena_bytes), (2112, 2112));
    assert_eq!(
        (greedy.lower_bound, greedy.arena_bytes),
        (1024 + 64 + 16, 1104)
    );
    let best = plan(
        &g,
        &PlanOptions {
            schedule: ScheduleKind::Best,
            ..opts()
        },
    );
    assert_eq!(best, greedy);
    // On a chain there is nothing to choose: greedy is the graph order.
    let chain = pir(CHAIN);
    assert_eq!(
        memory_greedy_order(&chain, &opts()).unwrap(),
        chain.order().to_vec()
    );
}

#[test]
fn symbolic_shapes_are_refused_by_name_until_bound() {
    let g = pir(r#"
graph @sym(%x "x": f32[N,16]) -> (f32[N,16]) {
  %y "y": f32[N,16] = exp(%x)
  return %y
}
"#);
    let err = plan_memory(&g, &opts()).unwrap_err();
    assert_eq!(
        err,
        PlanError::SymbolicShape {
            value: "x".into(),
            ty: "f32[N,16]".into()
        }
    );
    assert!(err
        .to_string()
        .contains("value `x` has the symbolic type f32[N,16]"));
    let bound = bind_symbols(&g, 1).expect("binds");
    let p = plan(&bound, &opts());
    assert_eq!(p.lower_bound, 128);
}

#[test]
fn binding_keeps_quantization_parameters() {
    let g = pir(r#"
graph @q(%x "x": f32[N,16]) -> (f32[N,16]) {
  $s "s": f32[] = [0.5]
  $z "z": i8[] = [0]
  %q "q": i8[N,16] !q(bits=8, signed=true, scale=[0.5], zp=[0]) = quantize_linear(%x, $s, $z) {axis=1, saturate=true, block_size=0}
  %r "r": i8[N,16] !q(bits=8, signed=true, scale=[0.25], zp=[-128]) = relu(%q)
  %y "y": f32[N,16] = dequantize_linear(%r, $s, $z) {axis=1, block_size=0}
  return %y
}
"#);
    let bound = bind_symbols(&g, 1).expect("binds");
    for name in ["q", "r"] {
        let (before, after) = (g.ty(value(&g, name)), bound.ty(value(&bound, name)));
        assert_eq!(after.quant, before.quant, "{name}");
        assert_eq!(after.to_string(), "i8[1,16]");
    }
}

#[test]
fn broken_graphs_are_errors_not_panics() {
    let mut g = pir(DIAMOND);
    let first = g.order()[0];
    g.node_mut(first).inputs[0] = Some(pare_ir::ValueId(999));
    let err = plan_memory(&g, &opts()).unwrap_err();
    assert!(matches!(err, PlanError::Malformed(_)), "{err}");

    let mut g = pir(DIAMOND);
    let reversed: Vec<_> = g.order().iter().rev().copied().collect();
    g.set_order(reversed);
    let err = plan_memory(&g, &opts()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "node `#3` uses value `b`, which no earlier node defines"
    );
}
