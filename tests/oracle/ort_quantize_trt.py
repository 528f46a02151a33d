"""onnxruntime's quantize_static, as the TensorRT rule checker's test subject.

usage: ort_quantize_trt.py FLOAT.onnx CALIB.npz KEY SAMPLES OUT.onnx [--symmetric]

Without --symmetric: quantize_static with onnxruntime's defaults (QDQ format,
asymmetric int8 activations, per-tensor weights), which TensorRT's explicit
quantization rejects. With --symmetric: per-channel weights and ActivationSymmetric /
WeightSymmetric (zero points 0), the form TensorRT takes. Calibrates on the first
SAMPLES rows of CALIB.npz[KEY].
"""

import sys

import numpy as np
import onnx
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static


class Reader(CalibrationDataReader):
    def __init__(self, name, x):
        self.it = iter([{name: x[i : i + 1]} for i in range(len(x))])

    def get_next(self):
        return next(self.it, None)


def main() -> int:
    model, calib, key, samples, out = sys.argv[1:6]
    symmetric = "--symmetric" in sys.argv[6:]
    x = np.load(calib)[key][: int(samples)].astype(np.float32)
    name = onnx.load(model).graph.input[0].name
    kwargs = {}
    if symmetric:
        kwargs = dict(
            per_channel=True,
            activation_type=QuantType.QInt8,
            weight_type=QuantType.QInt8,
            extra_options={"ActivationSymmetric": True, "WeightSymmetric": True},
        )
    quantize_static(model, out, Reader(name, x), quant_format=QuantFormat.QDQ, **kwargs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
