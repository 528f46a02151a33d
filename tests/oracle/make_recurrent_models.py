"""Writes the small multi-input models pare's recurrent/multi-input tests compile,
with their data, built with onnx.helper and numpy only (CI has no torch):

  lstm_vad.onnx   a voice-activity-style LSTM with its state as inputs, as exporters
                  write them: input f32[N,8,16], h f32[1,N,32], c f32[1,N,32] ->
                  output f32[N,2] (logits), hn, cn f32[1,N,32]. A MatMul+Relu front
                  (int8 under quantization) feeds a 1-layer LSTM (hidden 32) whose
                  last hidden state feeds a Gemm.
  gru.onnx        the same shape of model with a GRU (linear_before_reset=1, as
                  PyTorch writes it), exported at batch 1: input f32[1,8,16],
                  h f32[1,1,32] -> output f32[1,2], hn f32[1,1,32].
  x_mask.onnx     a non-recurrent two-input graph: x f32[N,16] * mask f32[N,16]
                  -> Gemm -> Relu -> Gemm -> output f32[N,4].

  lstm_calib.npz  `input` [64,8,16]: calibration data bound by name
  lstm_eval.npz   `x` [48,8,16], `y` [48] int64 (the float model's top-1, from
                  onnxruntime): data bound by renaming (input=x), labels
  lstm_run.npz    input [16,8,16], h and c zeros [1,16,32]: every input, for
                  `pare run --inputs` and onnxruntime
  gru_calib.npz   `input` [32,8,16]
  gru_run.npz     input [1,8,16], h zeros [1,1,32]
  x_mask.npz      `x`, `mask` [64,16] (mask of 0/1)
  x_mask_samples/ s000.npz ... s019.npz: one sample of x and mask each

Deterministic (fixed seeds). usage: make_recurrent_models.py OUTDIR
"""

import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

T, F, H = 8, 16, 32


def init(name, a):
    return numpy_helper.from_array(np.asarray(a, dtype=np.float32), name)


def save(model, path):
    model.opset_import[0].version = 17
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


def front(rng, batch):
    """MatMul + Relu over [batch, T, F], then [T, batch, F] for the recurrent op."""
    nodes = [
        helper.make_node("MatMul", ["input", "w_in"], ["proj"], name="proj"),
        helper.make_node("Relu", ["proj"], ["proj_relu"], name="proj_relu"),
        helper.make_node("Transpose", ["proj_relu"], ["x_seq"], perm=[1, 0, 2], name="to_seq"),
    ]
    inits = [init("w_in", rng.standard_normal((F, F)) * 0.3)]
    return nodes, inits


def head(rng, state, batch_dim):
    """Last hidden state [1, N, H] -> [N, H] -> logits [N, 2]."""
    nodes = [
        helper.make_node("Squeeze", [state, "axes0"], ["last"], name="last"),
        helper.make_node("Gemm", ["last", "w_out", "b_out"], ["output"], transB=1, name="classify"),
    ]
    inits = [
        numpy_helper.from_array(np.array([0], dtype=np.int64), "axes0"),
        init("w_out", rng.standard_normal((2, H)) * 0.4),
        init("b_out", [0.1, -0.1]),
    ]
    return nodes, inits


def lstm_model(path):
    rng = np.random.default_rng(7)
    fn, fi = front(rng, "N")
    lstm = helper.make_node(
        "LSTM",
        ["x_seq", "W", "R", "B", "", "h", "c"],
        ["Y", "hn", "cn"],
        hidden_size=H,
        name="lstm",
    )
    li = [
        init("W", rng.standard_normal((1, 4 * H, F)) * 0.25),
        init("R", rng.standard_normal((1, 4 * H, H)) * 0.2),
        init("B", rng.standard_normal((1, 8 * H)) * 0.1),
    ]
    hn, hi = head(rng, "hn", "N")
    graph = helper.make_graph(
        fn + [lstm] + hn,
        "lstm_vad",
        [
            helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", T, F]),
            helper.make_tensor_value_info("h", TensorProto.FLOAT, [1, "N", H]),
            helper.make_tensor_value_info("c", TensorProto.FLOAT, [1, "N", H]),
        ],
        [
            helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 2]),
            helper.make_tensor_value_info("hn", TensorProto.FLOAT, [1, "N", H]),
            helper.make_tensor_value_info("cn", TensorProto.FLOAT, [1, "N", H]),
        ],
        fi + li + hi,
    )
    save(helper.make_model(graph, producer_name="pare-tests"), path)


def gru_model(path):
    rng = np.random.default_rng(11)
    fn, fi = front(rng, 1)
    gru = helper.make_node(
        "GRU",
        ["x_seq", "W", "R", "B", "", "h"],
        ["Y", "hn"],
        hidden_size=H,
        linear_before_reset=1,
        name="gru",
    )
    gi = [
        init("W", rng.standard_normal((1, 3 * H, F)) * 0.25),
        init("R", rng.standard_normal((1, 3 * H, H)) * 0.2),
        init("B", rng.standard_normal((1, 6 * H)) * 0.1),
    ]
    hn, hi = head(rng, "hn", 1)
    graph = helper.make_graph(
        fn + [gru] + hn,
        "gru",
        [
            helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, T, F]),
            helper.make_tensor_value_info("h", TensorProto.FLOAT, [1, 1, H]),
        ],
        [
            helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 2]),
            helper.make_tensor_value_info("hn", TensorProto.FLOAT, [1, 1, H]),
        ],
        fi + gi + hi,
    )
    save(helper.make_model(graph, producer_name="pare-tests"), path)


def x_mask_model(path):
    rng = np.random.default_rng(3)
    nodes = [
        helper.make_node("Mul", ["x", "mask"], ["masked"], name="apply_mask"),
        helper.make_node("Gemm", ["masked", "w1", "b1"], ["h1"], transB=1, name="fc1"),
        helper.make_node("Relu", ["h1"], ["a1"], name="relu1"),
        helper.make_node("Gemm", ["a1", "w2", "b2"], ["output"], transB=1, name="fc2"),
    ]
    inits = [
        init("w1", rng.standard_normal((64, 16)) * 0.3),
        init("b1", rng.standard_normal(64) * 0.1),
        init("w2", rng.standard_normal((4, 64)) * 0.2),
        init("b2", rng.standard_normal(4) * 0.1),
    ]
    graph = helper.make_graph(
        nodes,
        "x_mask",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 16]),
            helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["N", 16]),
        ],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 4])],
        inits,
    )
    save(helper.make_model(graph, producer_name="pare-tests"), path)


def frames(rng, n):
    """Speech-like frames: a slowly varying envelope times noise, per sample."""
    env = np.abs(rng.standard_normal((n, 1, 1))) + 0.2
    return (rng.standard_normal((n, T, F)) * env).astype(np.float32)


def main() -> int:
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    lstm_model(os.path.join(out, "lstm_vad.onnx"))
    gru_model(os.path.join(out, "gru.onnx"))
    x_mask_model(os.path.join(out, "x_mask.onnx"))
    rng = np.random.default_rng(2026)

    np.savez(os.path.join(out, "lstm_calib.npz"), input=frames(rng, 64))
    x = frames(rng, 48)
    s = ort.InferenceSession(os.path.join(out, "lstm_vad.onnx"), providers=["CPUExecutionProvider"])
    zeros = np.zeros((1, 48, H), np.float32)
    logits = s.run(["output"], {"input": x, "h": zeros, "c": zeros})[0]
    np.savez(os.path.join(out, "lstm_eval.npz"), x=x, y=logits.argmax(axis=1).astype(np.int64))
    z16 = np.zeros((1, 16, H), np.float32)
    np.savez(os.path.join(out, "lstm_run.npz"), input=frames(rng, 16), h=z16, c=z16)

    np.savez(os.path.join(out, "gru_calib.npz"), input=frames(rng, 32))
    np.savez(
        os.path.join(out, "gru_run.npz"), input=frames(rng, 1), h=np.zeros((1, 1, H), np.float32)
    )

    xs = rng.standard_normal((64, 16)).astype(np.float32)
    masks = (rng.random((64, 16)) > 0.3).astype(np.float32)
    np.savez(os.path.join(out, "x_mask.npz"), x=xs, mask=masks)
    d = os.path.join(out, "x_mask_samples")
    os.makedirs(d, exist_ok=True)
    for i in range(20):
        np.savez(os.path.join(d, f"s{i:03}.npz"), x=xs[i], mask=masks[i])
    return 0


if __name__ == "__main__":
    sys.exit(main())
