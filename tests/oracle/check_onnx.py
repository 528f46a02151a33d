"""Checks a model pare exported: onnx.checker (full check) passes, and onnxruntime
gives the same outputs on it as on the original model for the given inputs.

usage: check_onnx.py ORIGINAL.onnx EXPORTED.onnx INPUTS.npz [rtol] [atol]
Prints one line per output with the max abs difference; exits 1 on any failure.
"""

import sys

import numpy as np
import onnx
import onnxruntime as ort


def run(path: str, feeds: dict):
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    return [o.name for o in sess.get_outputs()], sess.run(None, {n: feeds[n] for n in names})


def main() -> int:
    original, exported, inputs = sys.argv[1:4]
    rtol = float(sys.argv[4]) if len(sys.argv) > 4 else 1e-5
    atol = float(sys.argv[5]) if len(sys.argv) > 5 else 1e-5
    onnx.checker.check_model(onnx.load(exported), full_check=True)
    feeds = {k[3:] if k.startswith("in_") else k: v for k, v in np.load(inputs).items() if not k.startswith("out_")}
    names_a, outs_a = run(original, feeds)
    names_b, outs_b = run(exported, feeds)
    ok = names_a == names_b
    if not ok:
        print(f"output names differ: {names_a} vs {names_b}")
    for name, a, b in zip(names_a, outs_a, outs_b):
        diff = float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))) if a.size else 0.0
        good = a.shape == b.shape and np.allclose(a, b, rtol=rtol, atol=atol)
        ok &= good
        print(f"{name}: shape {list(b.shape)} max abs diff {diff:.3g} {'ok' if good else 'MISMATCH'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
