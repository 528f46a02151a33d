//! The fidelity floor of the variant search: a model that collapses under
//! plain int8 (one hidden channel 2000× the others swamps its tensor's
//! per-tensor range) gets its most sensitive value kept float — the right
//! one, measured — and then holds the floor; a target without float islands
//! fails it with the per-value measurements; no floor keeps the collapse.

use pare_ir::Graph;
use pare_passes::ptq::{
    search, DataOptions, FidelityFloor, Mode, Outcome, Quantize, Scheme, SearchOptions,
};
use pare_passes::quantize::calibrate::{BoxError, CalibMethod};
use pare_passes::quantize::data::DataSource;
use pare_passes::quantize::LayerStatus;
use pare_passes::{PassCx, PassManager, PassOptions};

/// x[N,8] → fc0 → relu → fc1 → head → logits[N,10]. Row 0 of fc1's weight
/// is 2000× the others, so channel 0 of `h` spans thousands while the other
/// fifteen span units; `head` ignores channel 0 (its column is zero). No
/// written-out pattern: the damage is in one value's range.
pub fn outlier_mlp() -> String {
    deep_outlier_mlp(0)
}

/// [`outlier_mlp`] with `extra` more 16→16 gemm + relu layers before fc1.
fn deep_outlier_mlp(extra: usize) -> String {
    let mut s: u32 = 12345;
    let mut mat = |rows: usize, cols: usize, scale: f32| -> Vec<Vec<f32>> {
        (0..rows)
            .map(|_| {
                (0..cols)
                    .map(|_| {
                        s = s.wrapping_mul(1664525).wrapping_add(1013904223);
                        ((s >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0) * scale
                    })
                    .collect()
            })
            .collect()
    };
    let w0 = mat(16, 8, 0.5);
    let hidden: Vec<Vec<Vec<f32>>> = (0..extra).map(|_| mat(16, 16, 0.9)).collect();
    let mut w1 = mat(16, 16, 0.4);
    let mut w2 = mat(10, 16, 0.6);
    w1[0].iter_mut().for_each(|x| *x *= 2000.0);
    w2.iter_mut().for_each(|row| row[0] = 0.0);
    let flat = |m: &[Vec<f32>]| {
        m.iter()
            .flatten()
            .map(|x| format!("{x:.6}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let gemm = "{alpha=1.0, beta=1.0, trans_a=false, trans_b=true}";
    let mut layers = String::new();
    let mut last = "%r".to_string();
    for (k, w) in hidden.iter().enumerate() {
        layers += &format!(
            "  $wh{k} \"wh{k}\": f32[16,16] = [{}]
  %ha{k} \"ha{k}\": f32[N,16] = gemm({last}, $wh{k}) \"hidden{k}\" {gemm}
  %hr{k} \"hr{k}\": f32[N,16] = relu(%ha{k}) \"hidden_act{k}\"
",
            flat(w)
        );
        last = format!("%hr{k}");
    }
    format!(
        "graph @outlier(%x \"x\": f32[N,8]) -> (f32[N,10]) {{
  $w0 \"w0\": f32[16,8] = [{}]
  $w1 \"w1\": f32[16,16] = [{}]
  $w2 \"w2\": f32[10,16] = [{}]
  %a \"a\": f32[N,16] = gemm(%x, $w0) \"fc0\" {gemm}
  %r \"r\": f32[N,16] = relu(%a) \"act0\"
{layers}  %h \"h\": f32[N,16] = gemm({last}, $w1) \"fc1\" {gemm}
  %y \"logits\": f32[N,10] = gemm(%h, $w2) \"head\" {gemm}
  return %y
}}
",
        flat(&w0),
        flat(&w1),
        flat(&w2)
    )
}

fn compile(floor: FidelityFloor, no_islands: Option<&str>) -> (Graph, Outcome) {
    compile_model(&outlier_mlp(), floor, no_islands)
}

fn compile_model(model: &str, floor: FidelityFloor, no_islands: Option<&str>) -> (Graph, Outcome) {
    let float = pare_ir::text::parse(model).unwrap();
    let data = DataOptions {
        source: DataSource::parse("random:128:1:normal").unwrap(),
        samples: None,
        batch: 32,
        fixed: Default::default(),
    };
    let quantize = || -> Result<Box<dyn pare_passes::Pass>, BoxError> {
        Ok(Box::new(Quantize {
            scheme: Scheme::Int8,
            data: Some(data.clone()),
            method: CalibMethod::MinMax,
        }))
    };
    let encode = |_: &Graph| -> Result<Vec<u8>, BoxError> { Ok(Vec::new()) };
    let cx = PassCx::new(PassOptions {
        verify: true,
        ..PassOptions::default()
    });
    let opts = SearchOptions {
        equalize: Mode::Off,
        bias_correction: Mode::Auto,
        data: data.clone(),
        rounding: Default::default(),
        size_budget: None,
        floor,
        no_islands: no_islands.map(str::to_string),
    };
    let mut m = PassManager::new();
    let out = search(&float, &opts, &mut m, &cx, &quantize, &encode).unwrap();
    (float, out)
}

fn status<'a>(out: &'a Outcome, node: &str) -> &'a LayerStatus {
    &out.quant
        .records
        .iter()
        .find(|r| r.node == node)
        .unwrap_or_else(|| panic!("no record of {node}"))
        .status
}

#[test]
fn plain_int8_collapses_without_a_floor() {
    let (_, out) = compile(FidelityFloor::NONE, None);
    assert!(out.floor.is_none());
    let a = out.fidelity.agreement.unwrap();
    assert!(a < 0.5 && out.fidelity.sqnr_db < 3.0, "{:?}", out.fidelity);
    assert_eq!(status(&out, "fc1"), &LayerStatus::Int8);
}

#[test]
fn the_floor_keeps_the_swamped_value_float_and_holds() {
    let (float, out) = compile(FidelityFloor::DEFAULT, None);
    let f = out.floor.as_ref().unwrap();
    assert!(f.met, "{f:?}");
    assert!(f.initial.agreement.unwrap() < 0.5, "{:?}", f.initial);
    // One island: `h`, its producer and its reader. fc0 stays int8.
    assert_eq!(f.raised.len(), 1, "{:?}", f.raised);
    assert_eq!(f.raised[0].value, "h");
    assert_eq!(f.raised[0].nodes, ["fc1", "head"]);
    assert_eq!(f.raised[0].before, f.initial);
    assert_eq!(f.raised[0].after, out.fidelity);
    assert!(
        FidelityFloor::DEFAULT.holds(&out.fidelity),
        "{:?}",
        out.fidelity
    );
    assert!(out.fidelity.sqnr_db > 30.0, "{:?}", out.fidelity);
    for node in ["fc1", "head"] {
        let LayerStatus::Float(why) = status(&out, node) else {
            panic!("{node} is not float: {:?}", status(&out, node));
        };
        assert!(
            why.starts_with("kept float: raised for fidelity (agreement "),
            "{why}"
        );
    }
    assert_eq!(status(&out, "fc0"), &LayerStatus::Int8);
    // An island computes in float but stores its weights int8 all the same.
    for node in ["fc1", "head"] {
        let r = out.quant.records.iter().find(|r| r.node == node).unwrap();
        assert_eq!(r.weight_bits, Some(8), "{r:?}");
        assert!(r.weight_bytes_after * 3 < r.weight_bytes_before, "{r:?}");
        let LayerStatus::Float(why) = &r.status else {
            unreachable!()
        };
        assert!(why.ends_with("; int8 weights (weight-only)"), "{why}");
    }
    let dequantized = out
        .graph
        .nodes()
        .filter(|(_, n)| matches!(n.op, pare_ir::Op::DequantizeLinear { .. }))
        .count();
    assert!(dequantized >= 2, "{}", pare_ir::text::print(&out.graph));
    // The measured table: keeping `h` float is the best single island.
    let best = f
        .candidates
        .iter()
        .filter_map(|c| Some((c.value.as_str(), c.kept_float.as_ref().ok()?.sqnr_db)))
        .fold(
            ("", f64::NEG_INFINITY),
            |b, c| if c.1 > b.1 { c } else { b },
        );
    assert_eq!(best.0, "h", "{:?}", f.candidates);
    // The graph returned is the one measured: fc1 and head run in float.
    let names: Vec<&str> = out.graph.nodes().map(|(_, n)| n.name.as_str()).collect();
    assert!(names.contains(&"fc1") && names.contains(&"head"));
    assert_eq!(
        out.graph.ty(out.graph.outputs[0]).dtype,
        float.ty(float.outputs[0]).dtype
    );
}

#[test]
fn integer_only_targets_get_no_island_and_miss_the_floor() {
    let why = "integer kernels only";
    let (_, out) = compile(FidelityFloor::DEFAULT, Some(why));
    let f = out.floor.as_ref().unwrap();
    assert!(!f.met);
    assert!(f.raised.is_empty());
    assert_eq!(f.unmet.as_deref(), Some(why));
    assert_eq!(status(&out, "fc1"), &LayerStatus::Int8);
    // Every quantized value was measured kept float, `h` the best.
    let values: Vec<&str> = f.candidates.iter().map(|c| c.value.as_str()).collect();
    assert_eq!(values, ["x", "a", "r", "h", "logits"]);
    let h = f.candidates.iter().find(|c| c.value == "h").unwrap();
    assert_eq!(h.producer.as_deref(), Some("fc1"));
    assert_eq!(h.precision, "int8");
    assert!(h.kept_float.as_ref().unwrap().sqnr_db > 30.0, "{h:?}");
    assert_eq!(f.candidate_samples, 32);
}

#[test]
fn a_floor_above_what_int8_gives_raises_until_it_holds() {
    // Raising `h` alone gives about 39 dB; 42 dB takes another island (float
    // activations, weights still int8: every island raised gives about 44).
    let floor: FidelityFloor = "sqnr=42".parse().unwrap();
    let (_, out) = compile(floor, None);
    let f = out.floor.as_ref().unwrap();
    assert!(f.met, "{f:?}");
    assert!(f.raised.len() >= 2, "{:?}", f.raised);
    assert_eq!(f.raised[0].value, "h");
    assert!(out.fidelity.sqnr_db >= 42.0, "{:?}", out.fidelity);
    // Each raise is measured from the previous one's figures.
    for w in f.raised.windows(2) {
        assert_eq!(w[0].after, w[1].before);
    }
}

#[test]
fn past_eight_candidates_the_noise_ranking_shortlists_the_right_value() {
    use pare_passes::ptq::raise::RaiseBudget;
    // A small model: the full number of candidates per round.
    let candidates = RaiseBudget::for_macs(None).candidates;
    // SQNR only: this deeper random net's logits lie close together, so
    // top-1 agreement would go on raising layers after `h`.
    let floor: FidelityFloor = "sqnr=20".parse().unwrap();
    let (_, out) = compile_model(&deep_outlier_mlp(5), floor, None);
    let f = out.floor.as_ref().unwrap();
    assert!(f.met, "{f:?}");
    assert!(f.candidates.len() > candidates, "{f:?}");
    let measured: Vec<&str> = f
        .candidates
        .iter()
        .filter(|c| c.kept_float.is_ok())
        .map(|c| c.value.as_str())
        .collect();
    assert_eq!(measured.len(), candidates, "{measured:?}");
    // The noise shows where `head` mixes h's channels: its input and output
    // rank first.
    assert!(
        measured.contains(&"h") && measured.contains(&"logits"),
        "{measured:?}"
    );
    let skipped = f.candidates.iter().find(|c| c.kept_float.is_err()).unwrap();
    assert!(
        skipped
            .kept_float
            .as_ref()
            .unwrap_err()
            .contains("noise jumps most"),
        "{skipped:?}"
    );
    assert_eq!(f.raised.len(), 1, "{:?}", f.raised);
    assert_eq!(f.raised[0].value, "h");
    assert_eq!(f.raised[0].nodes, ["fc1", "head"]);
    assert_eq!(status(&out, "hidden0"), &LayerStatus::Int8);
}

#[test]
fn the_floor_raises_at_most_its_count_of_islands_then_reports_it_unmet() {
    // 200 dB needs every value float; `raises=1` allows one island.
    let floor: FidelityFloor = "sqnr=200,raises=1".parse().unwrap();
    let (_, out) = compile(floor, None);
    let f = out.floor.as_ref().unwrap();
    assert!(!f.met, "{f:?}");
    assert_eq!(f.raised.len(), 1, "{:?}", f.raised);
    assert_eq!(f.raised[0].value, "h");
    let why = f.unmet.as_deref().unwrap();
    assert!(why.contains("after raising 1 float island(s)"), "{why}");
    // `raises=0`: nothing is raised, the int8 figures are the answer.
    let floor: FidelityFloor = "sqnr=200,raises=0".parse().unwrap();
    let (_, out) = compile(floor, None);
    let f = out.floor.as_ref().unwrap();
    assert!(!f.met && f.raised.is_empty(), "{f:?}");
}

#[test]
fn past_the_islands_the_whole_model_is_tried_with_float_activations() {
    // 60 dB is out of reach with int8 weights even with every activation
    // float; fp16 weights (f32 arithmetic) hold it, and are reported as the
    // island of every value.
    let floor: FidelityFloor = "sqnr=60".parse().unwrap();
    let (g, out) = compile(floor, None);
    let f = out.floor.as_ref().unwrap();
    assert!(f.met, "{f:?}");
    let last = f.raised.last().unwrap();
    assert_eq!(last.value, "every value (fp16 weights)");
    assert_eq!(last.nodes.len(), g.order().len());
    assert!(out.fidelity.sqnr_db >= 60.0, "{:?}", out.fidelity);
    assert!(out
        .quant
        .records
        .iter()
        .filter(|r| r.weight_bits.is_some() || r.status == LayerStatus::Fp16)
        .all(|r| r.status == LayerStatus::Fp16));
    // 200 dB: nothing holds it; the failure says what each resort measured.
    let floor: FidelityFloor = "sqnr=200".parse().unwrap();
    let (_, out) = compile(floor, None);
    let f = out.floor.as_ref().unwrap();
    assert!(!f.met, "{f:?}");
    let why = f.unmet.as_deref().unwrap();
    assert!(
        why.contains("; float activations everywhere miss it too (int8 weights: SQNR ")
            && why.contains("; fp16 weights: SQNR "),
        "{why}"
    );
}
