//! calibrate() on a small graph: what is observed, streaming equivalence,
//! determinism, bounded state, sample limits, progress and errors.

mod common;
use common::rand_vec;
use pare_ir::{Graph, Tensor, ValueId};
use pare_passes::quantize::calibrate::{
    calibrate, CalibData, CalibError, CalibMethod, CalibOptions, Calibration, FnData, InMemory,
    Phase, Progress,
};

const GRAPH: &str = r#"
graph @calib(%x "x": f32[N,3]) -> (f32[N,2], f32[N,2], i64[2]) {
  $w "w": f32[2,3] = [1.0, -2.0, 0.5, 0.25, 1.5, -1.0]
  $b "b": f32[2] = [0.1, -0.2]
  %f "f": f32[N,2] = gemm(%x, $w, $b) {alpha=1.0, beta=1.0, trans_a=false, trans_b=true}
  %r "r": f32[N,2] = relu(%f)
  %s "s": f32[N,2] = sigmoid(%f)
  %sh "sh": i64[2] = shape(%x) {start=0}
  return %r, %s, %sh
}
"#;

fn graph() -> Graph {
    pare_ir::text::parse(GRAPH).unwrap()
}

fn id(g: &Graph, name: &str) -> ValueId {
    g.values().find(|(_, v)| v.name == name).unwrap().0
}

/// `n` samples of 3 values in [-3, 3), as one [n, 3] tensor.
fn samples(n: usize, seed: u64) -> Tensor {
    let v = rand_vec(3 * n, seed).iter().map(|x| 3.0 * x).collect();
    Tensor::from_vec(vec![n, 3], v).unwrap()
}

/// The rows of `t` cut into batches of `size` (the last may be shorter).
fn batches(t: &Tensor, size: usize) -> Vec<Vec<Tensor>> {
    let n = t.shape()[0];
    let v = t.as_slice::<f32>().unwrap();
    (0..n)
        .step_by(size)
        .map(|s| {
            let e = (s + size).min(n);
            vec![Tensor::from_vec(vec![e - s, 3], v[3 * s..3 * e].to_vec()).unwrap()]
        })
        .collect()
}

fn opts(method: CalibMethod) -> CalibOptions {
    CalibOptions {
        method,
        ..CalibOptions::default()
    }
}

fn run(g: &Graph, data: &[Vec<Tensor>], o: &CalibOptions) -> Calibration {
    calibrate(g, &mut InMemory(data), o, &mut |_| {}).unwrap()
}

/// Everything a calibration says, for equality checks.
fn summary(g: &Graph, c: &Calibration) -> Vec<String> {
    c.values()
        .map(|v| {
            format!(
                "{} {:?} {:?} {:?}",
                g.value(v).name,
                c.stats(v),
                c.range(v),
                c.chosen_method(v)
            )
        })
        .collect()
}

#[test]
fn observes_float_inputs_and_node_outputs_only() {
    let g = graph();
    let data = samples(300, 1);
    let c = run(&g, &[vec![data.clone()]], &opts(CalibMethod::MinMax));
    let names: Vec<&str> = c.values().map(|v| g.value(v).name.as_str()).collect();
    assert_eq!(names, ["x", "f", "r", "s"]);
    assert_eq!(c.samples(), 300);

    // Stats equal an independent computation over the interpreter's values.
    let mut want = std::collections::BTreeMap::new();
    want.insert(id(&g, "x"), data.to_f32_vec());
    pare_ir::interp::run_observed(&g, &[data], &mut |v, t| {
        want.insert(v, t.to_f32_vec());
    })
    .unwrap();
    for v in c.values() {
        let xs = &want[&v];
        let s = c.stats(v).unwrap();
        let min = xs.iter().copied().fold(f32::INFINITY, f32::min);
        let max = xs.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        assert_eq!(
            (s.min(), s.max()),
            (Some(min), Some(max)),
            "{}",
            g.value(v).name
        );
        assert_eq!(s.count(), xs.len() as u64);
        assert_eq!(c.range(v), Some((min.min(0.0), max.max(0.0))));
        // Min-max ran one pass: no histograms.
        assert!(s.histogram().is_none());
        assert!(matches!(
            c.range_with(v, CalibMethod::Mse),
            Err(CalibError::NoHistogram { .. })
        ));
    }
    assert_eq!(c.range(id(&g, "r")).unwrap().0, 0.0);
}

#[test]
fn many_small_batches_equal_one_big_batch() {
    let g = graph();
    let data = samples(1000, 2);
    let methods = [
        CalibMethod::MinMax,
        CalibMethod::Percentile(99.9),
        CalibMethod::Mse,
        CalibMethod::Entropy,
        CalibMethod::Auto,
    ];
    for m in methods {
        let one = summary(&g, &run(&g, &batches(&data, 1000), &opts(m)));
        for size in [1, 7, 64] {
            let many = summary(&g, &run(&g, &batches(&data, size), &opts(m)));
            assert_eq!(one, many, "{m}, batches of {size}");
        }
    }
}

#[test]
fn two_runs_are_identical() {
    let g = graph();
    let data = batches(&samples(500, 3), 50);
    let o = opts(CalibMethod::Auto);
    let (a, b) = (run(&g, &data, &o), run(&g, &data, &o));
    assert_eq!(summary(&g, &a), summary(&g, &b));
    for v in a.values() {
        let (ra, rb) = (a.range(v).unwrap(), b.range(v).unwrap());
        assert_eq!(
            (ra.0.to_bits(), ra.1.to_bits()),
            (rb.0.to_bits(), rb.1.to_bits())
        );
        let h = a.stats(v).unwrap().histogram().unwrap();
        assert_eq!(Some(h), b.stats(v).unwrap().histogram());
        assert_eq!(h.total(), a.stats(v).unwrap().count());
    }
}

#[test]
fn state_does_not_grow_with_the_sample_count() {
    let g = graph();
    let o = opts(CalibMethod::Mse);
    let small = run(&g, &batches(&samples(10, 4), 10), &o);
    let large = run(&g, &batches(&samples(1000, 4), 10), &o);
    assert_eq!(large.samples(), 1000);
    assert!(
        small.state_bytes() >= 4 * 2048 * 8,
        "{}",
        small.state_bytes()
    );
    assert_eq!(small.state_bytes(), large.state_bytes());
    // The histograms did take in 100x the values.
    let x = id(&g, "x");
    let count = |c: &Calibration| c.stats(x).unwrap().histogram().unwrap().total();
    assert_eq!((count(&small), count(&large)), (30, 3000));
}

#[test]
fn max_samples_cuts_the_data() {
    let g = graph();
    let data = samples(1000, 5);
    let first = batches(&data, 100).swap_remove(0);
    for m in [CalibMethod::MinMax, CalibMethod::Entropy] {
        let o = CalibOptions {
            max_samples: Some(100),
            ..opts(m)
        };
        // Batches of 64: the second is cut to 36 samples.
        let limited = run(&g, &batches(&data, 64), &o);
        assert_eq!(limited.samples(), 100);
        let exact = run(&g, std::slice::from_ref(&first), &opts(m));
        assert_eq!(summary(&g, &limited), summary(&g, &exact), "{m}");
    }
}

#[test]
fn progress_reports_each_phase_in_order() {
    let g = graph();
    let data = batches(&samples(100, 6), 30);
    let mut seen: Vec<Progress> = Vec::new();
    calibrate(
        &g,
        &mut InMemory(&data),
        &opts(CalibMethod::Mse),
        &mut |p| seen.push(p),
    )
    .unwrap();
    let of = |phase| -> Vec<(usize, Option<usize>)> {
        seen.iter()
            .filter(|p| p.phase == phase)
            .map(|p| (p.done, p.total))
            .collect()
    };
    let pass = vec![
        (0, Some(100)),
        (30, Some(100)),
        (60, Some(100)),
        (90, Some(100)),
        (100, Some(100)),
    ];
    assert_eq!(of(Phase::Range), pass);
    assert_eq!(of(Phase::Histogram), pass);
    assert_eq!(of(Phase::Select).last(), Some(&(4, Some(4))));
    let phases: Vec<Phase> = seen.iter().map(|p| p.phase).collect();
    let first_hist = phases.iter().position(|&p| p == Phase::Histogram).unwrap();
    let first_select = phases.iter().position(|&p| p == Phase::Select).unwrap();
    assert!(phases[..first_hist].iter().all(|&p| p == Phase::Range));
    assert!(phases[first_select..].iter().all(|&p| p == Phase::Select));

    // Min-max reads the data once.
    seen.clear();
    calibrate(
        &g,
        &mut InMemory(&data),
        &opts(CalibMethod::MinMax),
        &mut |p| seen.push(p),
    )
    .unwrap();
    assert!(seen.iter().all(|p| p.phase != Phase::Histogram));
}

/// A source that yields fewer batches on its second opening.
struct Shrinking {
    data: Vec<Vec<Tensor>>,
    opened: usize,
}

impl CalibData for Shrinking {
    type Error = std::io::Error;
    fn open(
        &mut self,
    ) -> Result<pare_passes::quantize::calibrate::Batches<'_, std::io::Error>, std::io::Error> {
        self.opened += 1;
        let keep = self.data.len() - (self.opened - 1);
        Ok(Box::new(self.data[..keep].iter().cloned().map(Ok)))
    }
}

#[test]
fn errors_name_what_went_wrong() {
    let g = graph();
    let o = opts(CalibMethod::Mse);

    let mut shrinking = Shrinking {
        data: batches(&samples(100, 7), 10),
        opened: 0,
    };
    let e = calibrate(&g, &mut shrinking, &o, &mut |_| {}).unwrap_err();
    assert!(matches!(e, CalibError::Inconsistent { .. }), "{e}");
    assert!(
        e.to_string().contains("100 samples in the range pass, 90"),
        "{e}"
    );

    let e = calibrate(&g, &mut InMemory(&[]), &o, &mut |_| {}).unwrap_err();
    assert!(matches!(e, CalibError::Empty), "{e}");

    // Wrong input shape: the interpreter's message, with the batch number.
    let bad = vec![
        batches(&samples(10, 8), 10).remove(0),
        vec![samples(4, 8).reshaped(vec![3, 4]).unwrap()],
    ];
    let e = calibrate(&g, &mut InMemory(&bad), &o, &mut |_| {}).unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(
            e,
            CalibError::Run {
                batch: 1,
                phase: Phase::Range,
                ..
            }
        ),
        "{msg}"
    );
    assert!(msg.contains("input `x`"), "{msg}");

    // The source's own error, with the pass it happened in.
    let mut failing = FnData {
        open:
            || -> Result<std::vec::IntoIter<Result<Vec<Tensor>, std::io::Error>>, std::io::Error> {
                Ok(vec![Err(std::io::Error::other("digits.npz: truncated"))].into_iter())
            },
        len: None,
    };
    let e = calibrate(&g, &mut failing, &o, &mut |_| {}).unwrap_err();
    assert_eq!(
        e.to_string(),
        "calibration data (range pass): digits.npz: truncated"
    );

    for bad in [
        CalibOptions { bits: 1, ..o },
        CalibOptions { bins: 8, ..o },
        CalibOptions {
            method: CalibMethod::Percentile(0.0),
            ..o
        },
    ] {
        let e = calibrate(&g, &mut InMemory(&[]), &bad, &mut |_| {}).unwrap_err();
        assert!(matches!(e, CalibError::Options(_)), "{e}");
    }
}

#[test]
fn other_methods_on_demand() {
    let g = graph();
    let c = run(
        &g,
        &batches(&samples(500, 9), 100),
        &opts(CalibMethod::Entropy),
    );
    for v in c.values() {
        let (lo, hi) = c.range_with(v, CalibMethod::MinMax).unwrap().unwrap();
        for m in [
            CalibMethod::Percentile(99.0),
            CalibMethod::Mse,
            CalibMethod::Auto,
        ] {
            let (a, b) = c.range_with(v, m).unwrap().unwrap();
            assert!(
                lo <= a && a <= 0.0 && 0.0 <= b && b <= hi,
                "{m}: {a}..{b} vs {lo}..{hi}"
            );
        }
        assert_eq!(c.range_with(v, CalibMethod::Entropy).unwrap(), c.range(v));
        assert!(c.simulated_mse(v, c.range(v).unwrap()).unwrap().is_finite());
    }
}
