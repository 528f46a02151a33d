//! The planner on the int8-quantized fixture models: arena versus lower bound
//! (printed, with the naive no-reuse sum) under the graph order and the greedy
//! order, with inputs/outputs in the arena and in caller memory.

mod common;

use common::{digits, plan, quantized_fixture, random_input};
use pare_ir::Graph;
use pare_targets::plan::{bind_symbols, IoPlacement, MemoryPlan, PlanOptions, ScheduleKind};

fn report(name: &str, g: &Graph) -> Vec<(String, MemoryPlan)> {
    let mut out = Vec::new();
    for (io, placement) in [
        ("io in arena", IoPlacement::Arena),
        ("io external", IoPlacement::External),
    ] {
        for schedule in [ScheduleKind::GraphOrder, ScheduleKind::MemoryGreedy] {
            let opts = PlanOptions {
                inputs: placement,
                outputs: placement,
                schedule,
                ..PlanOptions::default()
            };
            let p = plan(g, &opts);
            let what = format!("{name} {io}, {schedule:?}");
            eprintln!(
                "{what:<44} arena {:>8}  lower bound {:>8}  naive {:>8}  ({} buffers, {} steps)",
                p.arena_bytes,
                p.lower_bound,
                p.naive_bytes(),
                p.buffers.len(),
                p.schedule.len()
            );
            out.push((what, p));
        }
    }
    out
}

fn quantized(name: &str, calib: &pare_ir::Tensor) -> Graph {
    bind_symbols(&quantized_fixture(name, calib), 1).expect("binds the batch")
}

#[test]
fn micro_cnn_arena_equals_lower_bound() {
    let g = quantized("micro_cnn.onnx", &digits(64));
    for (what, p) in report("micro_cnn", &g) {
        assert_eq!(p.arena_bytes, p.lower_bound, "{what}");
    }
    let p = plan(&g, &PlanOptions::default());
    insta::assert_snapshot!("micro_cnn_int8", p.dump(&g));
}

#[test]
fn digits_cnn_arena_equals_lower_bound() {
    let g = quantized("digits_cnn.onnx", &digits(64));
    for (what, p) in report("digits_cnn", &g) {
        assert_eq!(p.arena_bytes, p.lower_bound, "{what}");
    }
    let p = plan(&g, &PlanOptions::default());
    insta::assert_snapshot!("digits_cnn_int8", p.dump(&g));
}

#[test]
fn mobilenet_v2_arena_equals_lower_bound() {
    let g = quantized("mobilenet_v2.onnx", &random_input(&[1, 3, 224, 224], 1));
    for (what, p) in report("mobilenet_v2", &g) {
        assert_eq!(p.arena_bytes, p.lower_bound, "{what}");
    }
}
