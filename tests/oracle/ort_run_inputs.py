"""Runs an ONNX model in onnxruntime (CPU, default optimizations, so QDQ graphs
run on its integer kernels) with every input taken by name from an .npz, and
saves every output as OUTDIR/<output name>.npy.

usage: ort_run_inputs.py MODEL.onnx INPUTS.npz OUTDIR
"""

import os
import sys

import numpy as np
import onnxruntime as ort


def main() -> int:
    model, data, out = sys.argv[1:4]
    arrays = np.load(data)
    s = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    feeds = {i.name: arrays[i.name] for i in s.get_inputs()}
    names = [o.name for o in s.get_outputs()]
    os.makedirs(out, exist_ok=True)
    for name, value in zip(names, s.run(names, feeds)):
        np.save(os.path.join(out, f"{name}.npy"), value)
    return 0


if __name__ == "__main__":
    sys.exit(main())
