//! How much bias correction a graph can afford: the estimator and sample
//! count, from the graph's multiply-accumulates alone (so artifacts stay
//! deterministic).

use super::bias_correction::Estimator;
use pare_ir::analysis::macs_of_node;
use pare_ir::{Graph, Op};

/// Work bias correction may spend, in multiply-accumulates per compile.
pub const BIAS_WORK_MACS: u64 = 20_000_000_000;
/// Fewest and most samples bias correction measures each layer on (fewer when
/// the data has fewer). Per-channel means of conv outputs average over every
/// spatial position, so the floor suffices for them; dense layers see one
/// value per sample and gain from more.
pub const BIAS_SAMPLES: (usize, usize) = (16, 256);

/// How bias correction runs on `float`: the sequential estimator while it
/// fits [`BIAS_WORK_MACS`] with at least the floor of [`BIAS_SAMPLES`] (each
/// sample passes through everything before each corrected layer, and through
/// the float model once), else the single-pass weight-error estimator (each
/// sample costs about two float passes); samples as many as the work allows,
/// within [`BIAS_SAMPLES`]. The digits models get sequential on 256 samples,
/// MobileNetV2 weight-error on 33.
pub fn bias_plan(float: &Graph) -> (Estimator, usize) {
    let Ok(g) = pare_ir::analysis::with_symbols_bound(float, 1) else {
        return (Estimator::WeightError, BIAS_SAMPLES.0);
    };
    let (mut before, mut prefixes) = (0u64, 0u64);
    for (_, n) in g.nodes() {
        if matches!(n.op, Op::Conv { .. } | Op::Gemm { .. }) && n.input(2).is_some() {
            prefixes = prefixes.saturating_add(before);
        }
        before = before.saturating_add(macs_of_node(&g, n).unwrap_or(0));
    }
    let samples = |per_sample: u64| {
        let n = BIAS_WORK_MACS / per_sample.max(1);
        usize::try_from(n).unwrap_or(usize::MAX)
    };
    let sequential = samples(prefixes.saturating_add(before));
    if sequential >= BIAS_SAMPLES.0 {
        return (Estimator::Sequential, sequential.min(BIAS_SAMPLES.1));
    }
    let n = samples(before.saturating_mul(2));
    (
        Estimator::WeightError,
        n.clamp(BIAS_SAMPLES.0, BIAS_SAMPLES.1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_model_gets_the_sequential_estimator_on_the_most_samples() {
        let g = pare_ir::text::parse(
            "graph @g(%x \"x\": f32[N,4]) -> (f32[N,2]) {\n  $w \"w\": f32[2,4] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]\n  $b \"b\": f32[2] = [0.5, -0.5]\n  %y \"y\": f32[N,2] = gemm(%x, $w, $b) {alpha=1.0, beta=1.0, trans_a=false, trans_b=true}\n  return %y\n}\n",
        )
        .unwrap();
        assert_eq!(bias_plan(&g), (Estimator::Sequential, BIAS_SAMPLES.1));
    }
}
