"""onnxruntime's post-training quantization, the baseline pare's int8 is compared with.

usage: ort_quantize.py FLOAT.onnx CALIB.npz KEY SAMPLES OUT.onnx [--random SHAPE]

Runs `quantize_static` in QDQ format with per-channel int8 weights and int8
activations (min-max calibration, ORT's default), calibrating on the first SAMPLES
rows of CALIB.npz[KEY] one sample at a time. Prints the written file's size.
"""

import os
import sys

import numpy as np
import onnx
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process


class Reader(CalibrationDataReader):
    def __init__(self, name, x):
        self.it = iter([{name: x[i : i + 1]} for i in range(len(x))])

    def get_next(self):
        return next(self.it, None)


def main() -> int:
    model, calib, key, samples, out = sys.argv[1:6]
    x = np.load(calib)[key][: int(samples)].astype(np.float32)
    name = onnx.load(model).graph.input[0].name
    pre = out + ".pre.onnx"
    quant_pre_process(model, pre, skip_symbolic_shape=True)
    quantize_static(
        pre,
        out,
        Reader(name, x),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QInt8,
        weight_type=QuantType.QInt8,
        calibrate_method=CalibrationMethod.MinMax,
    )
    os.remove(pre)
    print(os.path.getsize(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
