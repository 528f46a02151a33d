"""Small ONNX models that each break one TensorRT explicit-quantization rule (and one
that keeps them all), for `pare check --target tensorrt`'s tests.

usage: make_trt_rule_cases.py OUTDIR

Writes OUTDIR/<rule>.onnx for each rule below and OUTDIR/clean.onnx; every model is
valid ONNX (onnx.checker, full check) but the contrib-op and opset-12 cases.
"""

import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def init(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def conv_block(prefix, x, axis=0, zp_act=0, act_type=np.int8):
    """Q/DQ on x, a per-channel int8 weight DQ'd on `axis`, then Conv: (nodes, inits, output)."""
    w = np.arange(4 * 2 * 1 * 1, dtype=np.int8).reshape(4, 2, 1, 1)
    scale_len = w.shape[axis]
    inits = [
        init(f"{prefix}s", np.float32(0.1)),
        init(f"{prefix}z", act_type(zp_act)),
        init(f"{prefix}w", w),
        init(f"{prefix}ws", np.full(scale_len, 0.05, np.float32)),
        init(f"{prefix}wz", np.zeros(scale_len, np.int8)),
    ]
    nodes = [
        helper.make_node("QuantizeLinear", [x, f"{prefix}s", f"{prefix}z"], [f"{prefix}q"], name=f"{prefix}quant"),
        helper.make_node("DequantizeLinear", [f"{prefix}q", f"{prefix}s", f"{prefix}z"], [f"{prefix}dq"], name=f"{prefix}dequant"),
        helper.make_node("DequantizeLinear", [f"{prefix}w", f"{prefix}ws", f"{prefix}wz"], [f"{prefix}wf"], name=f"{prefix}wdequant", axis=axis),
        helper.make_node("Conv", [f"{prefix}dq", f"{prefix}wf"], [f"{prefix}y"], name=f"{prefix}conv"),
    ]
    return nodes, inits, f"{prefix}y"


def model(nodes, inits, outputs, opset=21, out_ch=4):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 4])
    ys = [helper.make_tensor_value_info(o, TensorProto.FLOAT, [1, out_ch * (2 if o == "cat" else 1), 4, 4])
          for o in outputs]
    g = helper.make_graph(nodes, "case", [x], ys, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def main() -> int:
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    cases = {}
    # Clean: two int8 convs and a residual add placed as TensorRT fuses it: the
    # conv-side input raw, the residual (a relu of the other conv) through Q/DQ.
    def residual(quantize_conv_side):
        n, i, y = conv_block("a", "x")
        n2, i2, y2 = conv_block("b", "x")
        i += i2 + [init("rs", np.float32(0.05)), init("rz", np.int8(0))]
        n += n2 + [helper.make_node("Relu", [y], ["r"], name="relu")]
        if quantize_conv_side:
            # Q/DQ on the conv output instead of the residual: the add cannot fuse.
            n += [
                helper.make_node("QuantizeLinear", [y2, "rs", "rz"], ["cq"], name="conv_side_quant"),
                helper.make_node("DequantizeLinear", ["cq", "rs", "rz"], ["cdq"], name="conv_side_dequant"),
                helper.make_node("Add", ["cdq", "r"], ["sum"], name="residual_add"),
            ]
        else:
            n += [
                helper.make_node("QuantizeLinear", ["r", "rs", "rz"], ["rq"], name="residual_quant"),
                helper.make_node("DequantizeLinear", ["rq", "rs", "rz"], ["rdq"], name="residual_dequant"),
                helper.make_node("Add", [y2, "rdq"], ["sum"], name="residual_add"),
            ]
        return model(n, i, ["sum"])

    cases["clean"] = residual(False)
    cases["residual-add"] = residual(True)
    n, i, y = conv_block("a", "x")
    cases["opset"] = model(n, i, [y], opset=12)
    n, i, y = conv_block("a", "x")
    n.append(helper.make_node("Gelu", [y], ["g"], name="contrib_gelu", domain="com.microsoft"))
    m = model(n, i, ["g"])
    m.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    cases["standard-ops"] = m
    n, i, y = conv_block("a", "x", zp_act=3)
    cases["symmetric-int8"] = model(n, i, [y])
    # Per-channel on axis 1 of a Conv weight [4, 2, 1, 1]: the input-channel axis.
    n, i, y = conv_block("a", "x", axis=1)
    cases["weight-axis"] = model(n, i, [y])
    # A Conv reading the float graph input directly (no Q/DQ on its input).
    n, i, y = conv_block("a", "x")
    n[3] = helper.make_node("Conv", ["x", "awf"], ["ay"], name="aconv")
    cases["weighted-op-inputs"] = model(n, i, [y])
    # Concat of two dequantized values with different scales.
    n, i, y = conv_block("a", "x")
    i += [init("c1s", np.float32(0.1)), init("c2s", np.float32(0.2)), init("cz", np.int8(0))]
    n += [
        helper.make_node("QuantizeLinear", [y, "c1s", "cz"], ["c1q"], name="c1quant"),
        helper.make_node("DequantizeLinear", ["c1q", "c1s", "cz"], ["c1"], name="c1dequant"),
        helper.make_node("QuantizeLinear", [y, "c2s", "cz"], ["c2q"], name="c2quant"),
        helper.make_node("DequantizeLinear", ["c2q", "c2s", "cz"], ["c2"], name="c2dequant"),
        helper.make_node("Concat", ["c1", "c2"], ["cat"], name="concat", axis=1),
    ]
    cases["concat-scales"] = model(n, i, ["cat"])
    for name, m in cases.items():
        # The contrib op and the opset-12 per-channel DequantizeLinear are what those
        # two cases are about; every other case is checked in full.
        if name not in ("standard-ops", "opset"):
            onnx.checker.check_model(m, full_check=True)
        onnx.save(m, os.path.join(out, f"{name}.onnx"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
