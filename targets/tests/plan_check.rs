//! The checker rejects each kind of broken plan, naming what is wrong (and
//! accepts the planner's own plans, which every other test relies on).

mod common;

use common::{pir, plan, value};
use pare_targets::plan::{check_plan, CheckError, InPlace, MemoryPlan, PlanOptions};

const GRAPH: &str = r#"
graph @g(%x "x": i8[1,16,8,8]) -> (i8[1,16,8,8]) {
  $w "w": i8[1] = [1]
  %a "a": i8[1,16,8,8] = exp(%x)
  %b "b": i8[1,16,8,8] = add(%a, $w)
  %r "r": i8[1,16,8,8] = relu(%b)
  %d "d": i8[1,16,8,8] = add(%r, %a)
  return %d
}
"#;

fn setup() -> (pare_ir::Graph, MemoryPlan, PlanOptions) {
    let g = pir(GRAPH);
    let opts = PlanOptions::default();
    let p = plan(&g, &opts);
    (g, p, opts)
}

fn rejects(g: &pare_ir::Graph, p: &MemoryPlan, opts: &PlanOptions) -> CheckError {
    let err = check_plan(g, p, opts).expect_err("a broken plan was accepted");
    eprintln!("{err}");
    err
}

fn buffer_index(g: &pare_ir::Graph, p: &MemoryPlan, name: &str) -> usize {
    let v = value(g, name);
    p.buffers
        .iter()
        .position(|b| b.values.contains(&v))
        .unwrap()
}

#[test]
fn the_plan_itself_is_accepted() {
    let (g, p, opts) = setup();
    check_plan(&g, &p, &opts).expect("accepted");
    // relu computed in place over b.
    assert_eq!(p.buffer_of(value(&g, "b")), p.buffer_of(value(&g, "r")));
}

#[test]
fn misaligned_offsets() {
    let (g, mut p, opts) = setup();
    let i = buffer_index(&g, &p, "a");
    p.buffers[i].offset += 8;
    assert!(
        matches!(rejects(&g, &p, &opts), CheckError::Misaligned { offset, .. } if offset % 16 == 8)
    );
}

#[test]
fn overlapping_live_buffers() {
    let (g, mut p, opts) = setup();
    let (a, b) = (buffer_index(&g, &p, "a"), buffer_index(&g, &p, "b"));
    p.buffers[b].offset = p.buffers[a].offset;
    let err = rejects(&g, &p, &opts);
    assert!(
        matches!(&err, CheckError::Overlap { a, b, .. } if a == "a" && b == "b" || a == "b" && b == "a"),
        "{err}"
    );
}

#[test]
fn in_place_needs_the_option() {
    let (g, p, _) = setup();
    let off = PlanOptions {
        in_place: InPlace::Off,
        ..PlanOptions::default()
    };
    assert!(matches!(rejects(&g, &p, &off), CheckError::Overlap { .. }));
}

#[test]
fn a_value_left_out() {
    let (g, mut p, opts) = setup();
    let i = buffer_index(&g, &p, "r");
    p.buffers[i].values.retain(|&v| v != value(&g, "r"));
    assert_eq!(rejects(&g, &p, &opts), CheckError::Unplaced("r".into()));
}

#[test]
fn a_weight_in_the_arena() {
    let (g, mut p, opts) = setup();
    p.buffers[0].values.push(value(&g, "w"));
    assert_eq!(rejects(&g, &p, &opts), CheckError::NotPlanned("w".into()));
}

#[test]
fn an_internal_value_called_external() {
    let (g, mut p, opts) = setup();
    p.external.push(value(&g, "a"));
    assert_eq!(
        rejects(&g, &p, &opts),
        CheckError::WrongExternal("a".into())
    );
}

#[test]
fn a_value_in_two_buffers() {
    let (g, mut p, opts) = setup();
    let i = buffer_index(&g, &p, "a");
    let other = (i + 1) % p.buffers.len();
    p.buffers[other].values.push(value(&g, "a"));
    assert_eq!(rejects(&g, &p, &opts), CheckError::PlacedTwice("a".into()));
}

#[test]
fn a_buffer_too_small_or_too_short_lived() {
    let (g, p, opts) = setup();
    let i = buffer_index(&g, &p, "a");
    let mut small = p.clone();
    small.buffers[i].size -= 1;
    assert!(matches!(
        rejects(&g, &small, &opts),
        CheckError::TooSmall { .. }
    ));
    let mut short = p.clone();
    short.buffers[i].last -= 1;
    assert!(
        matches!(rejects(&g, &short, &opts), CheckError::NotCovered { value, .. } if value == "a")
    );
}

#[test]
fn an_arena_too_small_or_a_wrong_bound() {
    let (g, p, opts) = setup();
    let mut small = p.clone();
    small.arena_bytes -= 16;
    assert!(matches!(
        rejects(&g, &small, &opts),
        CheckError::OutOfArena { .. }
    ));
    let mut bound = p.clone();
    bound.lower_bound += 16;
    assert!(matches!(
        rejects(&g, &bound, &opts),
        CheckError::LowerBound { .. }
    ));
}

#[test]
fn schedules_out_of_order_or_incomplete() {
    let (g, p, opts) = setup();
    let mut swapped = p.clone();
    swapped.schedule.swap(0, 1);
    assert!(matches!(
        rejects(&g, &swapped, &opts),
        CheckError::NotTopological { .. }
    ));
    let mut twice = p.clone();
    twice.schedule[1] = twice.schedule[0];
    assert!(matches!(
        rejects(&g, &twice, &opts),
        CheckError::Schedule(_)
    ));
    let mut short = p.clone();
    short.schedule.pop();
    assert!(matches!(
        rejects(&g, &short, &opts),
        CheckError::Schedule(_)
    ));
}

#[test]
fn alignment_must_match_the_options() {
    let (g, p, _) = setup();
    let opts = PlanOptions {
        alignment: 32,
        ..PlanOptions::default()
    };
    assert_eq!(
        rejects(&g, &p, &opts),
        CheckError::AlignmentMismatch {
            plan: 16,
            options: 32
        }
    );
}
