"""Runs an ONNX model in onnxruntime (CPU, default optimizations, so QDQ graphs
run on its integer kernels) on one array of an .npz and saves output 0.

usage: ort_run.py MODEL.onnx DATA.npz KEY OUT.npy
"""

import sys

import numpy as np
import onnxruntime as ort


def main() -> int:
    model, data, key, out = sys.argv[1:5]
    x = np.load(data)[key]
    s = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    np.save(out, s.run(None, {s.get_inputs()[0].name: x})[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
