"""Runs a reconstruction model (an autoencoder) in onnxruntime and prints its mean
squared error against its own input, after onnx.checker's full check.

usage: ort_recon_mse.py MODEL.onnx DATA.npz KEY
Prints one JSON object {"mse": ...}; exits non-zero when the model fails the
checker or onnxruntime cannot load or run it.
"""

import json
import sys

import numpy as np
import onnx
import onnxruntime as ort


def main() -> int:
    model, data, key = sys.argv[1:4]
    onnx.checker.check_model(onnx.load(model), full_check=True)
    x = np.load(data)[key].astype(np.float32)
    sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    y = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    print(json.dumps({"mse": float(np.mean((y.astype(np.float64) - x) ** 2))}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
