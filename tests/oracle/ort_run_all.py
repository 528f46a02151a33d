"""Runs an ONNX model in onnxruntime (CPU, default optimizations, so QDQ graphs
run on its integer kernels) on one .npy array fed to input 0, and saves every
output as OUTDIR/<output name>.npy.

usage: ort_run_all.py MODEL.onnx INPUT.npy OUTDIR
"""

import os
import sys

import numpy as np
import onnxruntime as ort


def main() -> int:
    model, data, out = sys.argv[1:4]
    x = np.load(data)
    s = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    os.makedirs(out, exist_ok=True)
    names = [o.name for o in s.get_outputs()]
    for name, y in zip(names, s.run(None, {s.get_inputs()[0].name: x})):
        np.save(os.path.join(out, name + ".npy"), y)
    return 0


if __name__ == "__main__":
    sys.exit(main())
