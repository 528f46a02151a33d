//! Helpers shared by the planner tests: graphs from `.pir` text, planning with
//! the independent checker, and the fixture models quantized to int8.

#![allow(dead_code)]

use pare_ir::{Graph, Tensor, ValueId};
use pare_targets::plan::{check_plan, plan_memory, MemoryPlan, PlanOptions};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Parses a hand-written graph.
pub fn pir(src: &str) -> Graph {
    pare_ir::text::parse(src).unwrap_or_else(|e| panic!("bad test graph: {e}\n{src}"))
}

/// Plans `g` and checks the plan (release test builds skip the planner's own
/// debug check, so run the checker here too), twice to see it is deterministic.
pub fn plan(g: &Graph, opts: &PlanOptions) -> MemoryPlan {
    let p = plan_memory(g, opts).unwrap_or_else(|e| panic!("planning failed: {e}"));
    check_plan(g, &p, opts).unwrap_or_else(|e| panic!("checker rejects the plan: {e}\n{p}"));
    assert!(p.arena_bytes >= p.lower_bound);
    assert_eq!(
        plan_memory(g, opts).ok().as_ref(),
        Some(&p),
        "not deterministic"
    );
    p
}

/// The value named `name`.
pub fn value(g: &Graph, name: &str) -> ValueId {
    g.values()
        .find(|(_, v)| v.name == name)
        .map(|(id, _)| id)
        .unwrap_or_else(|| panic!("no value named {name}"))
}

/// `$PARE_FIXTURES`, or the nearest `shared/fixtures` above the checkout.
pub fn fixture(name: &str) -> PathBuf {
    let dir = std::env::var_os("PARE_FIXTURES")
        .map(PathBuf::from)
        .or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .ancestors()
                .map(|d| d.join("shared/fixtures"))
                .find(|d| d.join("README.md").exists())
        })
        .expect("no shared/fixtures above the checkout: set PARE_FIXTURES");
    dir.join(name)
}

/// The first `n` samples of `digits.npz`'s `x_train`, as one [n,1,8,8] batch.
pub fn digits(n: usize) -> Tensor {
    let all = pare_npy::read_npz(&fixture("digits.npz")).expect("digits.npz reads");
    let x = all
        .into_iter()
        .find(|(k, _)| k == "x_train")
        .expect("x_train in digits.npz")
        .1;
    let per = 64;
    let data = x.as_slice::<f32>().expect("f32 digits")[..n * per].to_vec();
    Tensor::from_vec(vec![n, 1, 8, 8], data).expect("digits batch")
}

/// Uniform random f32 in [0, 1) of `shape`, seeded.
pub fn random_input(shape: &[usize], seed: u64) -> Tensor {
    let mut rng = fastrand::Rng::with_seed(seed);
    let n = shape.iter().product();
    Tensor::from_vec(shape.to_vec(), (0..n).map(|_| rng.f32()).collect()).expect("input")
}

/// The ONNX fixture `name`, cleaned up and quantized to int8 (per-channel int8
/// weights, int8 activations) with min-max ranges over `calib`.
pub fn quantized_fixture(name: &str, calib: &Tensor) -> Graph {
    quantized_fixture_bits(name, calib, 8)
}

/// [`quantized_fixture`] with `bits`-bit weights (4: packed two per byte).
pub fn quantized_fixture_bits(name: &str, calib: &Tensor, bits: u8) -> Graph {
    quantized_fixture_edited(name, calib, bits, |_| {})
}

/// [`quantized_fixture_bits`] with `edit` applied to the cleaned-up float graph
/// before calibration (pruning its weights, say).
pub fn quantized_fixture_edited(
    name: &str,
    calib: &Tensor,
    bits: u8,
    edit: impl FnOnce(&mut Graph),
) -> Graph {
    use pare_passes::{PassCx, PassManager, PassOptions};
    let mut g = pare_onnx::import_file(&fixture(name)).expect("fixture imports");
    let mut cx = PassCx::new(PassOptions::default());
    let mut p = pare_passes::pipeline("cleanup").expect("cleanup pipeline");
    PassManager::new()
        .run(&mut p, &mut g, &mut cx)
        .expect("cleanup runs");
    edit(&mut g);
    let ranges = minmax_ranges(&g, calib);
    let opts = pare_passes::quantize::IntOptions {
        weight_bits: bits,
        ..Default::default()
    };
    pare_passes::quantize::quantize_int(&mut g, &ranges, &opts).expect("quantizes");
    g
}

/// Min-max ranges of every f32 value over `x` (the simplest calibration).
fn minmax_ranges(g: &Graph, x: &Tensor) -> BTreeMap<ValueId, (f32, f32)> {
    let mut r: BTreeMap<ValueId, (f32, f32)> = BTreeMap::new();
    let mut note = |v: ValueId, t: &Tensor| {
        let Some(s) = t.as_slice::<f32>() else { return };
        let e = r.entry(v).or_insert((f32::INFINITY, f32::NEG_INFINITY));
        for &x in s {
            e.0 = e.0.min(x);
            e.1 = e.1.max(x);
        }
    };
    note(g.inputs[0], x);
    pare_ir::interp::run_observed(g, std::slice::from_ref(x), &mut note).expect("float run");
    r
}

/// digits.npz's test split: inputs [500, 1, 8, 8] and labels.
pub fn test_split() -> (Vec<Vec<f32>>, Vec<i64>) {
    let all = pare_npy::read_npz(&fixture("digits.npz")).expect("digits.npz reads");
    let get = |k: &str| {
        all.iter()
            .find(|(n, _)| n == k)
            .map(|(_, t)| t.clone())
            .unwrap_or_else(|| panic!("{k} in digits.npz"))
    };
    let x = get("x_test");
    let y = get("y_test").to_i64_vec();
    let per: usize = x.shape()[1..].iter().product();
    let xs = x
        .as_slice::<f32>()
        .expect("f32 inputs")
        .chunks(per)
        .map(<[f32]>::to_vec)
        .collect();
    (xs, y)
}
