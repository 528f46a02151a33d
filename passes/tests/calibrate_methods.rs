//! Range selection on synthetic distributions: each calibration method, `auto`,
//! the simulated error it ranks by, and symmetric weight scales.

mod common;
use common::{gauss_vec, rand_vec};
use pare_ir::Tensor;
use pare_passes::quantize::calibrate::{
    asymmetric_params, select_range, simulated_mse, weight_scale, weight_scales, CalibError,
    CalibMethod, Observer, WeightMethod,
};

const BINS: usize = 2048;

/// Both passes over `xs`, as calibrate() does per value.
fn observe(xs: &[f32]) -> Observer {
    let mut o = Observer::new();
    o.record_range(xs);
    o.start_histogram(BINS);
    o.record_histogram(xs);
    o
}

fn range(o: &Observer, m: CalibMethod) -> (f32, f32) {
    select_range(o, m, 8).unwrap().unwrap().range
}

/// Mean squared error of really quantizing `xs` over `r` (asymmetric 8-bit).
fn real_mse(xs: &[f32], r: (f32, f32)) -> f64 {
    let (s, zp) = asymmetric_params(r.0, r.1, 8);
    let e: f64 = xs
        .iter()
        .map(|&x| {
            let q = ((x / s).round_ties_even() + zp as f32).clamp(-128.0, 127.0);
            let d = f64::from(x) - f64::from(s * (q - zp as f32));
            d * d
        })
        .sum();
    e / xs.len() as f64
}

/// N(0, 1) plus one outlier at +25 and one at -20.
fn gauss_outliers() -> Vec<f32> {
    let mut xs = gauss_vec(400_000, 1);
    xs.push(25.0);
    xs.push(-20.0);
    xs
}

/// Uniform on [-1, 3).
fn uniform() -> Vec<f32> {
    rand_vec(200_000, 2).iter().map(|x| 1.0 + 2.0 * x).collect()
}

/// A ReLU output: half exact zeros, half |N(0, 1)|, and one outlier at 30.
fn relu_like() -> Vec<f32> {
    let mut xs: Vec<f32> = gauss_vec(300_000, 3).iter().map(|x| x.max(0.0)).collect();
    xs.push(30.0);
    xs
}

const CLIPPING: [CalibMethod; 3] = [
    CalibMethod::Percentile(99.99),
    CalibMethod::Mse,
    CalibMethod::Entropy,
];

#[test]
fn minmax_keeps_the_outliers() {
    let o = observe(&gauss_outliers());
    assert_eq!(range(&o, CalibMethod::MinMax), (-20.0, 25.0));
}

#[test]
fn percentile_mse_and_entropy_clip_outliers_and_keep_the_bulk() {
    let xs = gauss_outliers();
    let o = observe(&xs);
    let minmax_err = real_mse(&xs, range(&o, CalibMethod::MinMax));
    let mut errs = Vec::new();
    for m in CLIPPING {
        let (a, b) = range(&o, m);
        // MSE weighs the two outliers' clipping error against everyone's rounding
        // noise, so it clips less than the others (at 400k samples, to about
        // -8.6..13.6: the optimum of (25-b)² + (20+a)² + N·((b-a)/255)²/12).
        assert!(b < 15.0 && a > -12.0, "{m}: {a}..{b} keeps the outliers");
        assert!(b > 2.5 && a < -2.5, "{m}: {a}..{b} clips the Gaussian bulk");
        if m != CalibMethod::Mse {
            assert!(b < 6.0 && a > -6.0, "{m}: {a}..{b}");
        }
        let err = real_mse(&xs, (a, b));
        assert!(
            err < minmax_err,
            "{m}: quantization MSE {err} not below min-max's {minmax_err}"
        );
        errs.push((m, err));
    }
    // The MSE method minimises (an estimate of) exactly this error.
    let mse_err = errs[1].1;
    for (m, e) in errs {
        assert!(mse_err <= e, "mse {mse_err} > {m} {e}");
    }
}

#[test]
fn one_sided_data_keeps_zero_as_the_lower_end() {
    let xs = relu_like();
    let o = observe(&xs);
    assert_eq!(range(&o, CalibMethod::MinMax), (0.0, 30.0));
    let minmax_err = real_mse(&xs, (0.0, 30.0));
    for m in CLIPPING {
        let (a, b) = range(&o, m);
        assert_eq!(a, 0.0, "{m}");
        // MSE clips a single outlier only partly (see above): the optimum of
        // (30-b)² + 150k·(b/255)²/12 is b ≈ 25.2. The others ignore its weight.
        let limit = if m == CalibMethod::Mse { 27.0 } else { 6.0 };
        assert!(b > 2.5 && b < limit, "{m}: upper end {b}");
    }
    let mse = range(&o, CalibMethod::Mse);
    assert!(real_mse(&xs, mse) < minmax_err);
}

#[test]
fn uniform_data_gives_every_method_about_min_max() {
    let xs = uniform();
    let o = observe(&xs);
    let (lo, hi) = range(&o, CalibMethod::MinMax);
    assert!(lo < -0.999 && hi > 2.999);
    for m in CLIPPING.into_iter().chain([CalibMethod::Auto]) {
        let (a, b) = range(&o, m);
        // Within 1 % of the 4-wide range at each end.
        assert!(
            (a - lo).abs() < 0.04 && (b - hi).abs() < 0.04,
            "{m}: {a}..{b} vs min-max {lo}..{hi}"
        );
    }
}

#[test]
fn percentile_clips_at_most_the_tail_at_each_end() {
    let xs = gauss_vec(100_000, 4);
    let o = observe(&xs);
    for p in [99.0, 99.9] {
        let (a, b) = range(&o, CalibMethod::Percentile(p));
        let tail = xs.len() as f64 * (100.0 - p) / 200.0;
        let below = xs.iter().filter(|&&x| x < a).count() as f64;
        let above = xs.iter().filter(|&&x| x > b).count() as f64;
        assert!(
            below <= tail && above <= tail,
            "p={p}: {below}, {above} > {tail}"
        );
        // ...and not much less: one bin (~0.0045 wide) holds at most ~180 values here.
        assert!(
            below > tail - 200.0 && above > tail - 200.0,
            "p={p}: {below}, {above}"
        );
    }
    assert_eq!(
        range(&o, CalibMethod::Percentile(100.0)),
        range(&o, CalibMethod::MinMax)
    );
}

#[test]
fn simulated_mse_matches_real_quantization() {
    for xs in [gauss_outliers(), uniform(), relu_like()] {
        let o = observe(&xs);
        let h = o.histogram().unwrap();
        for m in [CalibMethod::MinMax, CalibMethod::Mse, CalibMethod::Entropy] {
            let r = range(&o, m);
            let sim = simulated_mse(h, o.zeros(), r, 8);
            let real = real_mse(&xs, r);
            assert!(
                (sim - real).abs() <= 0.05 * real,
                "{m} {r:?}: simulated {sim} vs real {real}"
            );
        }
    }
    // Uniform data over its own range: the textbook Δ²/12.
    let o = observe(&uniform());
    let r = range(&o, CalibMethod::MinMax);
    let delta = f64::from(r.1 - r.0) / 255.0;
    let sim = simulated_mse(o.histogram().unwrap(), 0, r, 8);
    assert!((sim / (delta * delta / 12.0) - 1.0).abs() < 0.02, "{sim}");
}

#[test]
fn auto_is_no_worse_than_any_candidate() {
    for (name, xs) in [
        ("gauss+outliers", gauss_outliers()),
        ("uniform", uniform()),
        ("relu", relu_like()),
    ] {
        let o = observe(&xs);
        let h = o.histogram().unwrap();
        let auto = select_range(&o, CalibMethod::Auto, 8).unwrap().unwrap();
        assert!(CalibMethod::AUTO_CANDIDATES.contains(&auto.method));
        assert_eq!(auto.range, range(&o, auto.method), "{name}");
        let auto_err = simulated_mse(h, o.zeros(), auto.range, 8);
        for m in CalibMethod::AUTO_CANDIDATES {
            let err = simulated_mse(h, o.zeros(), range(&o, m), 8);
            assert!(auto_err <= err, "{name}: auto {auto_err} > {m} {err}");
        }
        if name != "uniform" {
            assert_ne!(auto.method, CalibMethod::MinMax, "{name}: outliers kept");
        }
    }
}

#[test]
fn degenerate_values() {
    // All zeros: (0, 0) for every method.
    let o = observe(&[0.0; 100]);
    for m in CalibMethod::AUTO_CANDIDATES
        .into_iter()
        .chain([CalibMethod::Auto])
    {
        assert_eq!(range(&o, m), (0.0, 0.0), "{m}");
    }
    // Positive only: widened down to 0.
    let o = observe(&[1.0, 2.0, 1.5]);
    assert_eq!(range(&o, CalibMethod::MinMax), (0.0, 2.0));
    assert_eq!(range(&o, CalibMethod::Mse).0, 0.0);
    // Non-finite values are counted and ignored.
    let o = observe(&[f32::NAN, -1.0, f32::INFINITY, 2.0, f32::NEG_INFINITY]);
    assert_eq!((o.count(), o.non_finite()), (2, 3));
    assert_eq!(range(&o, CalibMethod::MinMax), (-1.0, 2.0));
    for m in CLIPPING {
        let (a, b) = range(&o, m);
        assert!(
            a.is_finite() && b.is_finite() && a <= 0.0 && b >= 0.0,
            "{m}"
        );
    }
    // Nothing finite: no range.
    let o = observe(&[f32::NAN]);
    assert!(select_range(&o, CalibMethod::Mse, 8).unwrap().is_none());
}

#[test]
fn histogram_methods_need_the_histogram_pass() {
    let mut o = Observer::new();
    o.record_range(&[1.0, -1.0]);
    assert!(select_range(&o, CalibMethod::MinMax, 8).unwrap().is_some());
    for m in CLIPPING.into_iter().chain([CalibMethod::Auto]) {
        assert!(matches!(
            select_range(&o, m, 8),
            Err(CalibError::NoHistogram { .. })
        ));
    }
    assert!(matches!(
        select_range(&o, CalibMethod::MinMax, 1),
        Err(CalibError::Options(_))
    ));
}

#[test]
fn other_bit_widths() {
    let xs = gauss_outliers();
    let o = observe(&xs);
    // Fewer bits: coarser steps make clipping pay more.
    let (_, b8) = range(&o, CalibMethod::Mse);
    let r4 = select_range(&o, CalibMethod::Mse, 4)
        .unwrap()
        .unwrap()
        .range;
    assert!(r4.1 < b8, "4-bit {r4:?} vs 8-bit upper {b8}");
    // 16 bits: more levels than bins, entropy falls back to min-max.
    let r16 = select_range(&o, CalibMethod::Entropy, 16)
        .unwrap()
        .unwrap()
        .range;
    assert_eq!(r16, (-20.0, 25.0));
}

#[test]
fn method_names_round_trip() {
    for (s, m) in [
        ("minmax", CalibMethod::MinMax),
        ("percentile", CalibMethod::Percentile(99.99)),
        ("percentile:99.9", CalibMethod::Percentile(99.9)),
        ("mse", CalibMethod::Mse),
        ("entropy", CalibMethod::Entropy),
        ("auto", CalibMethod::Auto),
    ] {
        let parsed: CalibMethod = s.parse().unwrap();
        assert_eq!(parsed, m, "{s}");
        assert_eq!(parsed.to_string().parse::<CalibMethod>().unwrap(), m);
    }
    assert_eq!(CalibMethod::Percentile(99.9).to_string(), "percentile:99.9");
    for bad in [
        "",
        "kl",
        "percentile:",
        "percentile:0",
        "percentile:101",
        "percentile:nan",
    ] {
        let e = bad.parse::<CalibMethod>().unwrap_err();
        assert!(e.to_string().contains("expected minmax"), "{bad}: {e}");
    }
    assert_eq!("mse".parse::<WeightMethod>().unwrap(), WeightMethod::Mse);
    assert_eq!(WeightMethod::MinMax.to_string(), "minmax");
    assert!("entropy".parse::<WeightMethod>().is_err());
}

/// Σ (w − fq(w))² of symmetric quantization with `scale`.
fn weight_err(ws: &[f32], scale: f32, qmax: f32) -> f64 {
    ws.iter()
        .map(|&w| {
            let q = (w / scale).round_ties_even().clamp(-qmax, qmax);
            f64::from(w - q * scale).powi(2)
        })
        .sum()
}

#[test]
fn weight_scales_minmax_and_mse() {
    let mut ws: Vec<f32> = gauss_vec(4096, 5).iter().map(|x| 0.05 * x).collect();
    ws.push(-1.0);
    let minmax = weight_scale(&ws, 8, WeightMethod::MinMax).unwrap();
    assert_eq!(minmax, 1.0 / 127.0);
    let mse = weight_scale(&ws, 8, WeightMethod::Mse).unwrap();
    assert!(mse < minmax, "{mse} vs {minmax}");
    assert!(weight_err(&ws, mse, 127.0) < weight_err(&ws, minmax, 127.0));
    // 4 bits clips a plain Gaussian too.
    let g = gauss_vec(4096, 6);
    let amax = g.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    let s4 = weight_scale(&g, 4, WeightMethod::Mse).unwrap();
    assert!(s4 < 0.95 * amax / 7.0, "{s4}");
    assert!(weight_err(&g, s4, 7.0) < weight_err(&g, amax / 7.0, 7.0));
    // Uniform weights at 8 bits: nothing to clip.
    let u = rand_vec(4096, 7);
    let su = weight_scale(&u, 8, WeightMethod::Mse).unwrap();
    let mu = weight_scale(&u, 8, WeightMethod::MinMax).unwrap();
    assert!(su >= 0.97 * mu && su <= mu, "{su} vs {mu}");
    // Zero channel; bad bits.
    assert_eq!(weight_scale(&[0.0; 8], 8, WeightMethod::Mse).unwrap(), 1.0);
    assert!(weight_scale(&ws, 1, WeightMethod::MinMax).is_err());
}

#[test]
fn weight_scales_per_channel() {
    // [2, 3, 2]: channel values along axis 0 and axis 1.
    let v: Vec<f32> = (0..12).map(|i| i as f32 - 5.5).collect();
    let w = Tensor::from_vec(vec![2, 3, 2], v.clone()).unwrap();
    let s0 = weight_scales(&w, 0, 8, WeightMethod::MinMax).unwrap();
    assert_eq!(s0, vec![5.5 / 127.0, 5.5 / 127.0]);
    let s1 = weight_scales(&w, 1, 8, WeightMethod::MinMax).unwrap();
    // Channel c of axis 1 holds v[2c], v[2c+1], v[6+2c], v[7+2c].
    let want: Vec<f32> = (0..3)
        .map(|c| {
            [v[2 * c], v[2 * c + 1], v[6 + 2 * c], v[7 + 2 * c]]
                .iter()
                .fold(0.0f32, |m, x| m.max(x.abs()))
                / 127.0
        })
        .collect();
    assert_eq!(s1, want);
    assert!(matches!(
        weight_scales(&w, 3, 8, WeightMethod::MinMax),
        Err(CalibError::Weights(_))
    ));
    let ints = Tensor::from_vec(vec![2], vec![1i64, 2]).unwrap();
    assert!(weight_scales(&ints, 0, 8, WeightMethod::MinMax).is_err());
}
