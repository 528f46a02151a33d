//! Recurrent ops under the integer schemes: W and R stored int8 per gate row
//! behind a dequantize_linear (axis 1), the bias float, the op itself float,
//! and the record saying so — for RNN, GRU and LSTM alike, in `int8` (with
//! calibration, state inputs fixed) and `int8-weights`.

use pare_ir::interp::run;
use pare_ir::{Graph, Op, Tensor};
use pare_passes::quantize::recurrent::RECURRENT_REASON;
use pare_passes::quantize::LayerStatus;
use pare_passes::{pipeline_from_spec, PassCx, PassManager, PassOptions};

/// A front MatMul over [N, T=3, 2], then `op` over [T, N, 2] with hidden size 2
/// and state `h` [1, N, 2].
fn graph(op: &str, gates: usize) -> String {
    let w: Vec<String> = (0..gates * 2 * 2)
        .map(|i| format!("{:.2}", ((i * 37 % 19) as f32 - 9.0) / 10.0))
        .collect();
    let b: Vec<String> = (0..gates * 2 * 2)
        .map(|i| format!("{:.2}", ((i * 7 % 5) as f32 - 2.0) / 20.0))
        .collect();
    let (extra_in, extra_out, attrs) = match op {
        "lstm" => (
            ", %c",
            ", %cn \"cn\": f32[1,N,2]",
            "activations=[\"Sigmoid\",\"Tanh\",\"Tanh\"], activation_alpha=[], activation_beta=[], input_forget=false, layout=0",
        ),
        "gru" => (
            "",
            "",
            "activations=[\"Sigmoid\",\"Tanh\"], activation_alpha=[], activation_beta=[], linear_before_reset=true, layout=0",
        ),
        _ => (
            "",
            "",
            "activations=[\"Tanh\"], activation_alpha=[], activation_beta=[], layout=0",
        ),
    };
    let c_decl = if op == "lstm" {
        ", %c \"c\": f32[1,N,2]"
    } else {
        ""
    };
    format!(
        "graph @rec(%x \"x\": f32[N,3,2], %h \"h\": f32[1,N,2]{c_decl}) -> (f32[1,N,2]) {{
  $wi \"wi\": f32[2,2] = [0.5, -0.25, 0.75, 1.0]
  $W \"W\": f32[1,{g2},2] = [{w}]
  $R \"R\": f32[1,{g2},2] = [{w}]
  $B \"B\": f32[1,{g4}] = [{b}]
  %m \"m\": f32[N,3,2] = matmul(%x, $wi)
  %p \"p\": f32[3,N,2] = transpose(%m) {{perm=[1,0,2]}}
  %y \"Y\": f32[3,1,N,2], %hn \"hn\": f32[1,N,2]{extra_out} = {op}(%p, $W, $R, $B, _, %h{extra_in}) {{direction=\"forward\", hidden_size=2, {attrs}}}
  return %hn
}}
",
        g2 = gates * 2,
        g4 = gates * 4,
        w = w.join(", "),
        b = b[..gates * 4].join(", "),
    )
}

fn quantize(src: &str, spec: &str) -> (Graph, Graph, Vec<pare_passes::quantize::LayerRecord>) {
    let float = pare_ir::text::parse(src).unwrap();
    let mut g = float.clone();
    let mut cx = PassCx::new(PassOptions {
        verify: true,
        ..PassOptions::default()
    });
    let mut p = pipeline_from_spec(spec).unwrap();
    PassManager::new().run(&mut p, &mut g, &mut cx).unwrap();
    (float, g, cx.quant.records)
}

/// W and R reach the recurrent node through an axis-1 dequantize of int8.
fn check_widened(g: &Graph) {
    let (_, rec) = g
        .nodes()
        .find(|(_, n)| matches!(n.op, Op::Lstm { .. } | Op::Gru { .. } | Op::Rnn { .. }))
        .unwrap();
    for slot in [1, 2] {
        let dq = g.node(g.producer(rec.input(slot).unwrap()).unwrap());
        assert!(
            matches!(dq.op, Op::DequantizeLinear { axis: 1, .. }),
            "{:?}",
            dq.op
        );
        let w = g.weight_of(dq.input(0).unwrap()).unwrap();
        assert_eq!(w.ty.dtype, pare_ir::DType::I8);
    }
    assert!(g
        .weight_of(rec.input(3).unwrap())
        .unwrap()
        .ty
        .dtype
        .is_float());
}

#[test]
fn recurrent_weights_are_int8_and_the_op_stays_float() {
    for (op, gates) in [("rnn", 1), ("gru", 3), ("lstm", 4)] {
        let src = graph(op, gates);
        let fixed = if op == "lstm" {
            "h=zeros;c=zeros"
        } else {
            "h=zeros"
        };
        let spec = format!("quantize{{scheme=int8,calib=random:8:1:normal,calib-fixed={fixed}}}");
        let (float, g, records) = quantize(&src, &spec);
        check_widened(&g);
        let r = records.iter().find(|r| r.op == op).unwrap();
        assert_eq!(
            r.status,
            LayerStatus::Float(RECURRENT_REASON.into()),
            "{op}"
        );
        assert_eq!(r.weight_bits, Some(8));
        assert!(r.weight_bytes_after < r.weight_bytes_before, "{op}: {r:?}");
        let mm = records.iter().find(|r| r.op == "matmul").unwrap();
        assert_eq!(mm.status, LayerStatus::Int8);
        // Close to float: int8 weights and an int8 front, float recurrence.
        let n = if op == "lstm" { 3 } else { 2 };
        let inputs: Vec<Tensor> = (0..n)
            .map(|i| {
                let shape = if i == 0 { vec![2, 3, 2] } else { vec![1, 2, 2] };
                let v = (0..shape.iter().product::<usize>())
                    .map(|k| {
                        if i == 0 {
                            ((k * 5 % 11) as f32 - 5.0) / 5.0
                        } else {
                            0.0
                        }
                    })
                    .collect();
                Tensor::from_vec(shape, v).unwrap()
            })
            .collect();
        let a = run(&float, &inputs).unwrap()[0].to_f32_vec();
        let b = run(&g, &inputs).unwrap()[0].to_f32_vec();
        let worst = a
            .iter()
            .zip(&b)
            .fold(0f32, |m, (x, y)| m.max((x - y).abs()));
        assert!(worst < 0.05, "{op}: max error {worst}");

        let (_, g, records) = quantize(&src, "quantize{scheme=int8-weights}");
        check_widened(&g);
        let r = records.iter().find(|r| r.op == op).unwrap();
        assert_eq!(
            (r.status.clone(), r.weight_bits),
            (LayerStatus::WeightOnly, Some(8))
        );
    }
}
