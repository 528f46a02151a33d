"""Writes a small byte-classifier block the way tf2onnx exports a Keras model
whose LayerNorm and tanh-GELU are written out in elementary ops, plus seeded
inputs for it: the end-to-end case of pare's fusion passes.

  x [N, 8, 16] -> MatMul + Add [16 -> 16] -> LayerNorm over the 16 features (ReduceSum and Mul 1/16 for
  the means, Mul(d, d) as Square, Maximum(var, eps), Sqrt + Reciprocal as
  Rsqrt, Mul gamma, Add beta) -> MatMul + Add [16 -> 32] -> tanh-GELU (five
  Muls, Add, Tanh) -> MatMul + Add [32 -> 16] -> ReduceMean over the 8
  positions -> MatMul + Add [16 -> 4] -> logits [N, 4]

Rows differ in spread by orders of magnitude: what a per-tensor int8
quantization of each intermediate of the written-out LayerNorm cannot
represent together.

usage: make_written_out_block.py OUT.onnx OUT.npz [SAMPLES]
"""

import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def build(rng: np.random.Generator) -> onnx.ModelProto:
    d, h, classes = 16, 32, 4
    inits = []

    def const(name, value):
        inits.append(numpy_helper.from_array(np.asarray(value, dtype=np.float32), name))
        return name

    inits.append(numpy_helper.from_array(np.array([-1], dtype=np.int64), "axes_last"))
    inits.append(numpy_helper.from_array(np.array([1], dtype=np.int64), "axes_seq"))
    nodes = []

    def node(op, inputs, out, **attrs):
        nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    # Dense 16 -> 16 (the embedding projection), then LayerNorm, written out.
    w0 = const("dense0/kernel", rng.normal(0.0, 1.0 / np.sqrt(d), (d, d)))
    b0 = const("dense0/bias", rng.normal(0.0, 0.1, d))
    e = node("Add", [node("MatMul", ["x", w0], "dense0/MatMul"), b0], "dense0/BiasAdd")
    inv_d = const("ln/inv_d", 1.0 / d)
    s = node("ReduceSum", [e, "axes_last"], "ln/moments/Sum", keepdims=1)
    m = node("Mul", [s, inv_d], "ln/moments/mean")
    sd = node("Sub", [e, m], "ln/sub")
    sq = node("Mul", [sd, sd], "ln/Square")
    vs = node("ReduceSum", [sq, "axes_last"], "ln/moments/Sum_1", keepdims=1)
    v = node("Mul", [vs, inv_d], "ln/moments/variance")
    mx = node("Max", [v, const("ln/eps", 1e-12)], "ln/Maximum")
    sr = node("Sqrt", [mx], "ln/Rsqrt__sqrt")
    r = node("Reciprocal", [sr], "ln/Rsqrt")
    n = node("Mul", [sd, r], "ln/mul")
    gamma = const("ln/gamma", rng.uniform(0.5, 1.5, d))
    beta = const("ln/beta", rng.normal(0.0, 0.1, d))
    g = node("Mul", [n, gamma], "ln/mul_1")
    ln = node("Add", [g, beta], "ln/add")
    # Dense 16 -> 32.
    w1 = const("dense1/kernel", rng.normal(0.0, 1.0 / np.sqrt(d), (d, h)))
    b1 = const("dense1/bias", rng.normal(0.0, 0.1, h))
    h1 = node("Add", [node("MatMul", [ln, w1], "dense1/MatMul"), b1], "dense1/BiasAdd")
    # tanh-GELU, written out: five Muls, Add, Tanh.
    x2 = node("Mul", [h1, h1], "gelu/mul")
    x3 = node("Mul", [x2, h1], "gelu/mul_1")
    cx3 = node("Mul", [x3, const("gelu/c", 0.044715)], "gelu/mul_2")
    inner = node("Add", [h1, cx3], "gelu/add")
    k = node("Mul", [inner, const("gelu/k", 0.7978845608)], "gelu/mul_3")
    t = node("Tanh", [k], "gelu/Tanh")
    t1 = node("Add", [t, const("gelu/one", 1.0)], "gelu/add_1")
    hx = node("Mul", [const("gelu/half", 0.5), h1], "gelu/mul_4")
    act = node("Mul", [hx, t1], "gelu/mul_5")
    # Dense 32 -> 16, pool over positions, classify.
    w2 = const("dense2/kernel", rng.normal(0.0, 1.0 / np.sqrt(h), (h, d)))
    b2 = const("dense2/bias", rng.normal(0.0, 0.1, d))
    h2 = node("Add", [node("MatMul", [act, w2], "dense2/MatMul"), b2], "dense2/BiasAdd")
    pooled = node("ReduceMean", [h2], "pool", axes=[1], keepdims=0)
    w3 = const("head/kernel", rng.normal(0.0, 1.0 / np.sqrt(d), (d, classes)))
    b3 = const("head/bias", rng.normal(0.0, 0.1, classes))
    node("Add", [node("MatMul", [pooled, w3], "head/MatMul"), b3], "logits")
    graph = helper.make_graph(
        nodes,
        "written_out_block",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 8, d])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", classes])],
        inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="tf2onnx-style"
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main() -> int:
    out_model, out_data = sys.argv[1:3]
    samples = int(sys.argv[3]) if len(sys.argv) > 3 else 256
    rng = np.random.default_rng(12)
    onnx.save(build(rng), out_model)
    # Rows (positions) of very different spread, as embeddings of frequent
    # and rare bytes are: the squares of the wide rows set the per-tensor
    # int8 range of a written-out variance, and the narrow rows' squares
    # round to zero there.
    spread = np.exp(rng.normal(0.0, 0.8, (samples, 8, 1)))
    offset = rng.normal(0.0, 1.0, (samples, 8, 1))
    x = offset + spread * rng.normal(0.0, 1.0, (samples, 8, 16))
    np.savez(out_data, x=x.astype(np.float32))
    return 0


if __name__ == "__main__":
    sys.exit(main())
