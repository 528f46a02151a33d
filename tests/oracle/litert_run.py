"""Runs a .tflite model in LiteRT (pip ai-edge-litert) on one array and saves output 0.

usage: litert_run.py MODEL.tflite X.npy OUT.npy [--resolver default|ref] [--nchw]

--resolver ref runs LiteRT's reference kernels (OpResolverType.BUILTIN_REF, the
TFLite spec's arithmetic); default runs the builtin kernels with XNNPACK as a
delegate (what an app gets). --nchw: X (and a rank-4 output) are NCHW as pare's IR
holds them; rank-4 tensors of the model are NHWC, so they are transposed here.
A model with a symbolic batch (-1 in its input's shape signature) runs the whole batch
at once; a model fixed to batch 1 runs X one sample at a time.
"""

import argparse
import sys

import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("x")
    p.add_argument("out")
    p.add_argument("--resolver", choices=["default", "ref"], default="default")
    p.add_argument("--nchw", action="store_true")
    a = p.parse_args()
    x = np.load(a.x)
    if a.nchw and x.ndim == 4:
        x = x.transpose(0, 2, 3, 1)
    resolver = OpResolverType.BUILTIN_REF if a.resolver == "ref" else OpResolverType.AUTO
    it = Interpreter(model_path=a.model, experimental_op_resolver_type=resolver)
    inp = it.get_input_details()[0]
    if -1 in list(inp["shape_signature"]):
        it.resize_tensor_input(inp["index"], list(x.shape))
        batches = [x]
    else:
        batches = [x[i : i + 1] for i in range(x.shape[0])]
    it.allocate_tensors()
    ys = []
    for xb in batches:
        it.set_tensor(inp["index"], xb.astype(inp["dtype"]))
        it.invoke()
        ys.append(it.get_tensor(it.get_output_details()[0]["index"]).copy())
    y = np.concatenate(ys)
    if a.nchw and y.ndim == 4:
        y = y.transpose(0, 3, 1, 2)
    np.save(a.out, np.ascontiguousarray(y))
    return 0


if __name__ == "__main__":
    sys.exit(main())
