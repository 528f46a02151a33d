//! Release-mode timing of a MobileNetV2-like conv stack at 224x224 (ignored by
//! default): `cargo test --release -p pare-ir --test interp_nn_bench -- --ignored --nocapture`.

use pare_ir::attrs::Attr;
use pare_ir::{interp::eval_op, Op, Tensor};
use std::collections::BTreeMap;
use std::time::Instant;

fn conv(k: i64, stride: i64, group: i64) -> Op {
    let p = k / 2;
    let attrs = BTreeMap::from([
        ("auto_pad".to_string(), Attr::Str("NOTSET".into())),
        ("kernel_shape".to_string(), Attr::Ints(vec![k, k])),
        ("strides".to_string(), Attr::Ints(vec![stride, stride])),
        ("pads".to_string(), Attr::Ints(vec![p, p, p, p])),
        ("dilations".to_string(), Attr::Ints(vec![1, 1])),
        ("group".to_string(), Attr::Int(group)),
    ]);
    Op::from_attrs("conv", attrs).expect("valid conv attributes")
}

/// Deterministic pseudo-random weights in [-0.05, 0.05).
fn weights(shape: Vec<usize>, seed: u64) -> Tensor {
    let n: usize = shape.iter().product();
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let v: Vec<f32> = (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.1
        })
        .collect();
    Tensor::from_vec(shape, v).expect("shape matches data")
}

#[test]
#[ignore]
fn mobilenet_like_stack() {
    // (expansion t, output channels c, repeats n, stride s) of MobileNetV2.
    let blocks = [
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    ];
    let mut layers: Vec<(Op, Tensor, Tensor)> = Vec::new();
    let mut seed = 1;
    let mut add = |layers: &mut Vec<(Op, Tensor, Tensor)>, op: Op, w: Vec<usize>, m: usize| {
        seed += 1;
        layers.push((op, weights(w, seed), weights(vec![m], seed + 1000)));
    };
    add(&mut layers, conv(3, 2, 1), vec![32, 3, 3, 3], 32);
    let mut c = 32;
    for (t, co, n, s) in blocks {
        for i in 0..n {
            let stride = if i == 0 { s } else { 1 };
            let hidden = c * t;
            if t != 1 {
                add(&mut layers, conv(1, 1, 1), vec![hidden, c, 1, 1], hidden);
            }
            add(
                &mut layers,
                conv(3, stride, hidden as i64),
                vec![hidden, 1, 3, 3],
                hidden,
            );
            add(&mut layers, conv(1, 1, 1), vec![co, hidden, 1, 1], co);
            c = co;
        }
    }
    add(&mut layers, conv(1, 1, 1), vec![1280, c, 1, 1], 1280);
    let x = weights(vec![1, 3, 224, 224], 7);
    let run = |x: &Tensor| -> Tensor {
        let mut cur = x.clone();
        for (op, w, b) in &layers {
            let out = eval_op(op, &[Some(&cur), Some(w), Some(b)], 1).expect("conv runs");
            cur = out.into_iter().next().expect("one output");
        }
        cur
    };
    let _ = run(&x);
    let iters = 5;
    let t0 = Instant::now();
    let mut last = None;
    for _ in 0..iters {
        last = Some(run(&x));
    }
    let dt = t0.elapsed() / iters;
    let y = last.expect("ran");
    println!(
        "MobileNetV2-like conv stack ({} convs), 1x3x224x224 -> {:?}: {:?} per run",
        layers.len(),
        y.shape(),
        dt
    );
}
