"""Writes small ONNX models, one int8-relevant op each after a conv, for the TFLite
writer's op tests (compiler/driver/tests/tflite.rs): each is compiled to int8 .tflite
and run by LiteRT against pare's integer interpreter, or must be refused by name.

usage: make_tflite_op_models.py OUT_DIR
Deterministic (seeded weights); needs only onnx and numpy.
"""

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# name → (nodes after the conv `c`, output shape)
MODELS = {
    "sigmoid": ([("Sigmoid", ["c"], {})], ["N", 8, 6, 6]),
    "tanh": ([("Tanh", ["c"], {})], ["N", 8, 6, 6]),
    "leaky_relu": ([("LeakyRelu", ["c"], {"alpha": 0.1})], ["N", 8, 6, 6]),
    "hard_swish": ([("HardSwish", ["c"], {})], ["N", 8, 6, 6]),
    "global_average_pool": ([("GlobalAveragePool", ["c"], {})], ["N", 8, 1, 1]),
    "average_pool": (
        [("AveragePool", ["c"], {"kernel_shape": [2, 2], "strides": [2, 2]})],
        ["N", 8, 3, 3],
    ),
    "softmax": ([("Softmax", ["c"], {"axis": 1})], ["N", 8, 6, 6]),
    "mul": ([("Mul", ["c", "c"], {})], ["N", 8, 6, 6]),
    "relu_concat": (
        [("Relu", ["c"], {"out": "r"}), ("Concat", ["c", "r"], {"axis": 1})],
        ["N", 16, 6, 6],
    ),
}


def build(name, ops, out_shape, rng):
    w = numpy_helper.from_array((rng.standard_normal((8, 3, 3, 3)) * 0.5).astype(np.float32), "w")
    b = numpy_helper.from_array((rng.standard_normal(8) * 0.1).astype(np.float32), "b")
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1], name="conv")]
    for i, (op, inputs, attrs) in enumerate(ops):
        attrs = dict(attrs)
        out = attrs.pop("out", "y" if i == len(ops) - 1 else f"t{i}")
        nodes.append(helper.make_node(op, inputs, [out], name=f"the_{op.lower()}", **attrs))
    g = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 6, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
        [w, b],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.checker.check_model(m, full_check=True)
    return m


def main() -> int:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for i, (name, (ops, shape)) in enumerate(MODELS.items()):
        onnx.save(build(name, ops, shape, np.random.default_rng(i)), out / f"{name}.onnx")
    x = np.random.default_rng(100).standard_normal((64, 3, 6, 6)).astype(np.float32)
    np.save(out / "x.npy", x)
    return 0


if __name__ == "__main__":
    sys.exit(main())
