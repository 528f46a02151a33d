//! Property test over random graphs: every plan passes the independent
//! checker, the arena is at least the lower bound, planning is deterministic,
//! and a plan made to overlap two live buffers is rejected.

mod common;

use pare_ir::{DType, Graph, NodeId, Op, Tensor, TensorType, ValueId, Weight};
use pare_targets::plan::{
    check_plan, plan_memory, CheckError, InPlace, IoPlacement, PlanOptions, ScheduleKind,
};

fn random_type(rng: &mut fastrand::Rng) -> TensorType {
    let dtype = [DType::F32, DType::I8, DType::I32, DType::I64][rng.usize(..4)];
    // Mostly small sizes so buffers collide; sometimes empty tensors.
    let n = if rng.u8(..20) == 0 {
        0
    } else {
        rng.u64(1..=300)
    };
    TensorType::fixed(dtype, &[1, n])
}

/// A random DAG: generic nodes with 1-3 inputs, views (reshape/identity of the
/// same bytes), in-place candidates (relu/clip), two-output splits; inputs are
/// mostly recent values so chains and long-lived skips both occur.
fn random_graph(rng: &mut fastrand::Rng) -> Graph {
    let mut g = Graph::new("random");
    let w = Tensor::from_vec(vec![2], vec![1i64, -1]).expect("weight");
    let shape = g
        .add_weight("shape", Weight::from_tensor(&w))
        .expect("weight");
    let mut pool: Vec<ValueId> = Vec::new();
    for i in 0..rng.usize(1..=3) {
        pool.push(
            g.add_input(format!("in{i}"), random_type(rng))
                .expect("input"),
        );
    }
    let pick = |rng: &mut fastrand::Rng, pool: &[ValueId]| {
        let recent = pool.len().saturating_sub(6);
        if rng.bool() {
            pool[rng.usize(recent..pool.len())]
        } else {
            pool[rng.usize(..pool.len())]
        }
    };
    for k in 0..rng.usize(1..=30) {
        let x = pick(rng, &pool);
        let tx = g.ty(x).clone();
        let name = format!("v{k}");
        let (op, inputs, outs) = match rng.u8(..6) {
            0 | 1 => {
                let mut ins: Vec<Option<ValueId>> = (0..rng.usize(1..=3))
                    .map(|_| Some(pick(rng, &pool)))
                    .collect();
                if rng.u8(..4) == 0 {
                    ins.push(Some(shape));
                }
                (Op::Add {}, ins, vec![(name, random_type(rng))])
            }
            2 => {
                // Same bytes, other shape; sometimes other quantization (a copy).
                let n = tx.num_elements().unwrap_or(0);
                let mut ty = TensorType::fixed(tx.dtype, &[n]);
                ty.quant = tx.quant.clone();
                if rng.u8(..4) == 0 {
                    ty.quant = Some(pare_ir::QParams {
                        bits: 8,
                        signed: true,
                        scale: vec![0.5],
                        zero_point: vec![1],
                        axis: None,
                    });
                }
                let op = if rng.bool() {
                    Op::Reshape { allowzero: false }
                } else {
                    Op::Identity {}
                };
                (op, vec![Some(x), Some(shape)], vec![(name, ty)])
            }
            3 => {
                let op = if rng.bool() { Op::Relu {} } else { Op::Clip {} };
                (op, vec![Some(x)], vec![(name, tx)])
            }
            4 => {
                let outs = vec![
                    (format!("{name}a"), random_type(rng)),
                    (format!("{name}b"), random_type(rng)),
                ];
                (
                    Op::Split {
                        axis: 1,
                        num_outputs: Some(2),
                    },
                    vec![Some(x)],
                    outs,
                )
            }
            _ => (Op::Neg {}, vec![Some(x)], vec![(name, tx)]),
        };
        let (_, outs) = g.add_node(format!("n{k}"), op, inputs, outs).expect("node");
        pool.extend(outs);
    }
    for _ in 0..rng.usize(1..=3) {
        let v = pick(rng, &pool);
        if !g.outputs.contains(&v) {
            g.outputs.push(v);
        }
    }
    g
}

fn random_options(rng: &mut fastrand::Rng) -> PlanOptions {
    let io = |rng: &mut fastrand::Rng| {
        if rng.bool() {
            IoPlacement::Arena
        } else {
            IoPlacement::External
        }
    };
    PlanOptions {
        alignment: [1, 4, 16, 64][rng.usize(..4)],
        inputs: io(rng),
        outputs: io(rng),
        schedule: [
            ScheduleKind::GraphOrder,
            ScheduleKind::MemoryGreedy,
            ScheduleKind::Best,
        ][rng.usize(..3)],
        in_place: if rng.bool() {
            InPlace::UnaryElementwise
        } else {
            InPlace::Off
        },
        scratch: Default::default(),
    }
}

/// Kernel workspaces of random sizes for about a third of `g`'s nodes.
fn random_scratch(rng: &mut fastrand::Rng, g: &Graph) -> std::collections::BTreeMap<NodeId, u64> {
    let mut scratch = std::collections::BTreeMap::new();
    for (id, _) in g.nodes() {
        if rng.usize(..3) == 0 {
            scratch.insert(id, rng.u64(1..200));
        }
    }
    scratch
}

#[test]
fn every_random_plan_checks_and_respects_the_bound() {
    let mut rng = fastrand::Rng::with_seed(0x5eed_91a7);
    let (mut plans, mut tight, mut worst) = (0, 0, 1.0f64);
    for _ in 0..400 {
        let g = random_graph(&mut rng);
        for _ in 0..3 {
            let mut opts = random_options(&mut rng);
            if rng.bool() {
                opts.scratch = random_scratch(&mut rng, &g);
            }
            let p = common::plan(&g, &opts);
            plans += 1;
            let ratio = p.arena_bytes as f64 / p.lower_bound.max(1) as f64;
            assert!(ratio <= 1.1, "arena {ratio:.3} × the lower bound:\n{p}");
            if p.arena_bytes == p.lower_bound {
                tight += 1;
            } else {
                worst = worst.max(ratio);
            }
        }
    }
    eprintln!("{plans} plans, {tight} with arena == lower bound, worst arena/bound {worst:.3}");
    // Random sizes with alignment 1 or 4 make packings the bound cannot
    // describe (it ignores how buffers must nest over time); the fixtures and
    // small graphs (exhaustive search below) always meet it.
    assert!(
        tight * 100 >= plans * 98,
        "only {tight} of {plans} plans meet the bound"
    );
}

#[test]
fn overlapping_two_live_buffers_is_rejected() {
    let mut rng = fastrand::Rng::with_seed(7);
    let mut corrupted = 0;
    for _ in 0..300 {
        let g = random_graph(&mut rng);
        let opts = PlanOptions {
            in_place: InPlace::Off,
            ..random_options(&mut rng)
        };
        let p = plan_memory(&g, &opts).expect("plans");
        let bufs = &p.buffers;
        let clash = (0..bufs.len())
            .flat_map(|i| (0..bufs.len()).map(move |j| (i, j)))
            .find(|&(i, j)| {
                let (a, b) = (&bufs[i], &bufs[j]);
                i != j
                    && a.size > 0
                    && b.size > 0
                    && a.first <= b.last
                    && b.first <= a.last
                    && a.offset != b.offset
            });
        let Some((i, j)) = clash else { continue };
        let mut bad = p.clone();
        bad.buffers[j].offset = bad.buffers[i].offset;
        let err = check_plan(&g, &bad, &opts).expect_err("overlap accepted");
        assert!(
            matches!(
                err,
                CheckError::Overlap { .. } | CheckError::OutOfArena { .. }
            ),
            "{err}"
        );
        corrupted += 1;
    }
    assert!(corrupted > 100, "only {corrupted} plans could be corrupted");
}

/// The smallest arena for `items` (first, last, aligned size), exactly: every
/// compacted packing is what first-fit gives for buffers taken in order of
/// their offsets, so a search over orders with first-fit finds the optimum.
fn optimal_arena(items: &[(usize, usize, u64)]) -> u64 {
    fn search(
        items: &[(usize, usize, u64)],
        placed: &mut Vec<(usize, u64)>,
        used: &mut Vec<bool>,
        top: u64,
        best: &mut u64,
    ) {
        if top >= *best {
            return;
        }
        if placed.len() == items.len() {
            *best = top;
            return;
        }
        for k in 0..items.len() {
            if used[k] {
                continue;
            }
            let (f, l, s) = items[k];
            let mut busy: Vec<(u64, u64)> = placed
                .iter()
                .filter(|&&(j, _)| items[j].0 <= l && f <= items[j].1 && items[j].2 > 0 && s > 0)
                .map(|&(j, o)| (o, o + items[j].2))
                .collect();
            busy.sort_unstable();
            let mut off = 0;
            for (lo, hi) in busy {
                if lo >= off + s {
                    break;
                }
                off = off.max(hi);
            }
            used[k] = true;
            placed.push((k, off));
            search(items, placed, used, top.max(off + s), best);
            placed.pop();
            used[k] = false;
        }
    }
    let mut best = items.iter().map(|it| it.2).sum::<u64>() + 1;
    search(
        items,
        &mut Vec::new(),
        &mut vec![false; items.len()],
        0,
        &mut best,
    );
    best
}

#[test]
fn small_plans_match_an_exhaustive_search() {
    let mut rng = fastrand::Rng::with_seed(11);
    let (mut checked, mut tight) = (0, 0);
    while checked < 300 {
        let g = random_graph(&mut rng);
        let opts = random_options(&mut rng);
        let p = common::plan(&g, &opts);
        if p.buffers.len() > 8 {
            continue;
        }
        let a = p.alignment;
        let items: Vec<_> = p
            .buffers
            .iter()
            .map(|b| (b.first, b.last, b.size.div_ceil(a) * a))
            .collect();
        let best = optimal_arena(&items);
        assert!(best >= p.lower_bound);
        assert_eq!(p.arena_bytes, best, "not optimal:\n{p}");
        checked += 1;
        tight += usize::from(best == p.lower_bound);
    }
    eprintln!("{checked} small plans optimal; the lower bound was reachable in {tight}");
}

#[test]
fn a_workspace_over_a_live_value_is_rejected() {
    let mut rng = fastrand::Rng::with_seed(11);
    let mut corrupted = 0;
    for _ in 0..300 {
        let g = random_graph(&mut rng);
        let opts = PlanOptions {
            scratch: random_scratch(&mut rng, &g),
            ..random_options(&mut rng)
        };
        let p = plan_memory(&g, &opts).expect("plans");
        // Every workspace is one buffer at its node's step.
        for (&node, &size) in &opts.scratch {
            let step = p
                .schedule
                .iter()
                .position(|&n| n == node)
                .expect("scheduled");
            let b = p
                .buffers
                .iter()
                .find(|b| b.scratch == Some(node))
                .expect("placed");
            assert!(b.first == step && b.last == step && b.size >= size && b.values.is_empty());
        }
        // Move a workspace onto a value live at its step.
        let clash = p.buffers.iter().enumerate().find_map(|(i, s)| {
            s.scratch?;
            p.buffers
                .iter()
                .position(|b| {
                    !b.values.is_empty() && b.size > 0 && b.first <= s.first && s.first <= b.last
                })
                .map(|j| (i, j))
        });
        let Some((i, j)) = clash else { continue };
        let mut bad = p.clone();
        bad.buffers[i].offset = bad.buffers[j].offset;
        let err = check_plan(&g, &bad, &opts).expect_err("overlap accepted");
        assert!(
            matches!(
                err,
                CheckError::Scratch { .. } | CheckError::OutOfArena { .. }
            ),
            "{err}"
        );
        corrupted += 1;
    }
    assert!(
        corrupted > 50,
        "only {corrupted} plans had a workspace to corrupt"
    );
}
