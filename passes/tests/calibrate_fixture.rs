//! calibrate() on the real digits CNN with its training split, streamed in
//! batches: every float value observed, statistics equal to an independent
//! pass, ranges finite and covering the observed values (up to the clipped tails).

#[path = "../../tests/support/mod.rs"]
mod support;

use pare_ir::{Tensor, ValueId};
use pare_passes::quantize::calibrate::{calibrate, CalibMethod, CalibOptions, FnData, Phase};
use std::collections::BTreeMap;
use std::sync::Arc;

const BATCH: usize = 128;

fn x_train() -> Tensor {
    support::read_npz(&support::fixture("digits.npz"))
        .into_iter()
        .find(|(n, _)| n == "x_train")
        .expect("x_train in digits.npz")
        .1
}

/// Samples `[s, e)` of an `[n, 1, 8, 8]` tensor.
fn rows(x: &Tensor, s: usize, e: usize) -> Tensor {
    let v = &x.as_slice::<f32>().unwrap()[s * 64..e * 64];
    Tensor::from_vec(vec![e - s, 1, 8, 8], v.to_vec()).unwrap()
}

/// What an independent full-batch pass sees of one value.
#[derive(Default, Debug)]
struct Seen {
    min: f32,
    max: f32,
    count: u64,
    below: u64,
    above: u64,
}

#[test]
fn digits_cnn_calibrates_on_the_training_split() {
    let g = pare_onnx::import_file(&support::fixture("digits_cnn.onnx")).expect("import");
    let x = Arc::new(x_train());
    let n = x.shape()[0];
    assert_eq!(n, 1297);

    // A source that owns its data and cuts batches as it goes, as a file reader would.
    let src = Arc::clone(&x);
    let mut data = FnData {
        open: move || -> Result<_, std::io::Error> {
            let x = Arc::clone(&src);
            Ok((0..n)
                .step_by(BATCH)
                .map(move |s| Ok(vec![rows(&x, s, (s + BATCH).min(n))])))
        },
        len: Some(n),
    };
    let p = 99.99;
    let opts = CalibOptions {
        method: CalibMethod::Percentile(p),
        ..CalibOptions::default()
    };
    let mut last = BTreeMap::new();
    let c = calibrate(&g, &mut data, &opts, &mut |pr| {
        last.insert(format!("{:?}", pr.phase), (pr.done, pr.total));
    })
    .expect("calibrate digits_cnn");
    assert_eq!(c.samples(), n);
    assert_eq!(last[&format!("{:?}", Phase::Range)], (n, Some(n)));
    assert_eq!(last[&format!("{:?}", Phase::Histogram)], (n, Some(n)));

    // Every float node output and the input are observed.
    let float_outputs = g
        .nodes()
        .flat_map(|(_, node)| node.outputs.iter())
        .filter(|&&v| g.ty(v).dtype.is_float())
        .count();
    assert!(float_outputs >= 10, "{float_outputs}");
    assert_eq!(c.values().count(), float_outputs + 1);

    // An independent pass over all samples at once, against the chosen ranges.
    let mut seen: BTreeMap<ValueId, Seen> = BTreeMap::new();
    let mut note = |v: ValueId, t: &Tensor| {
        let Some((lo, hi)) = c.range(v) else { return };
        let s = seen.entry(v).or_insert(Seen {
            min: f32::INFINITY,
            max: f32::NEG_INFINITY,
            ..Seen::default()
        });
        for &y in t.as_slice::<f32>().unwrap() {
            s.min = s.min.min(y);
            s.max = s.max.max(y);
            s.count += 1;
            s.below += u64::from(y < lo);
            s.above += u64::from(y > hi);
        }
    };
    note(g.inputs[0], &x);
    pare_ir::interp::run_observed(&g, std::slice::from_ref(&*x), &mut note).expect("run");

    assert_eq!(seen.len(), c.values().count());
    for (v, s) in &seen {
        let name = &g.value(*v).name;
        let stats = c.stats(*v).unwrap();
        assert_eq!(
            (stats.min(), stats.max(), stats.count()),
            (Some(s.min), Some(s.max), s.count),
            "{name}"
        );
        assert_eq!(stats.histogram().unwrap().total(), s.count, "{name}");
        let (lo, hi) = c.range(*v).unwrap();
        assert!(
            lo.is_finite() && hi.is_finite() && lo <= 0.0 && hi >= 0.0,
            "{name}"
        );
        assert!(
            lo >= s.min.min(0.0) && hi <= s.max.max(0.0),
            "{name}: {lo}..{hi}"
        );
        assert!(hi > lo || s.max == s.min, "{name}: empty range");
        // Covers all but at most the tail at each end.
        let tail = s.count as f64 * (100.0 - p) / 200.0;
        assert!(
            s.below as f64 <= tail && s.above as f64 <= tail,
            "{name}: {} below {lo}, {} above {hi}, tail {tail}",
            s.below,
            s.above
        );
        // Min-max covers everything.
        assert_eq!(
            c.range_with(*v, CalibMethod::MinMax).unwrap(),
            Some((s.min.min(0.0), s.max.max(0.0)))
        );
        // Every other method gives a finite range inside min-max.
        for m in [CalibMethod::Mse, CalibMethod::Entropy, CalibMethod::Auto] {
            let (a, b) = c.range_with(*v, m).unwrap().unwrap();
            assert!(
                a.is_finite()
                    && b.is_finite()
                    && s.min.min(0.0) <= a
                    && a <= 0.0
                    && 0.0 <= b
                    && b <= s.max.max(0.0),
                "{name} {m}: {a}..{b}"
            );
        }
    }
}
