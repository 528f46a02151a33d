#!/usr/bin/env bash
# Creates the TensorRT benchmark's venv, tests/oracle/.venv-modelopt (gitignored): NVIDIA
# ModelOpt 0.47 (ONNX int8 PTQ on onnxruntime's CPU provider) for bench_tensorrt.py's anchor.
# Every package is pinned in requirements-modelopt.txt and installed with --no-deps. Then it
# proves ModelOpt quantizes a small ONNX model on the CPU, and prints the venv's size and the
# setup's wall time. Idempotent: the install is skipped while requirements-modelopt.txt is
# unchanged. Not part of CI (about 6.4 GB; needs PyPI).
set -euo pipefail
cd "$(dirname "$0")"

venv=.venv-modelopt
req=requirements-modelopt.txt
start=$(date +%s)
if [ ! -x "$venv/bin/python" ]; then
  echo "setup_modelopt_bench: creating $venv"
  python3 -m venv "$venv"
fi
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup_modelopt_bench: installing $req (pinned, --no-deps)"
  "$venv/bin/pip" install -q --disable-pip-version-check --no-deps -r "$req"
  echo "$want" > "$stamp"
fi
# Proof: ModelOpt quantizes a small conv model to int8 Q/DQ on the CPU provider.
"$venv/bin/python" -W ignore - <<'PY'
import os
import tempfile
from importlib.metadata import version

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

d = tempfile.mkdtemp()
# Two 16-channel convs (ModelOpt leaves convs with very few channels float).
rng = np.random.default_rng(0)
w1 = numpy_helper.from_array(rng.standard_normal((16, 16, 3, 3)).astype(np.float32), "w1")
w2 = numpy_helper.from_array(rng.standard_normal((16, 16, 3, 3)).astype(np.float32), "w2")
g = helper.make_graph([helper.make_node("Conv", ["x", "w1"], ["h"], pads=[1, 1, 1, 1]),
                       helper.make_node("Relu", ["h"], ["r"]),
                       helper.make_node("Conv", ["r", "w2"], ["y"], pads=[1, 1, 1, 1])], "g",
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16, 8, 8])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16, 8, 8])], [w1, w2])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
m.ir_version = 8
src, out, cal = (os.path.join(d, n) for n in ("m.onnx", "q.onnx", "c.npy"))
onnx.save(m, src)
np.save(cal, np.random.default_rng(1).standard_normal((8, 16, 8, 8)).astype(np.float32))
from modelopt.onnx.quantization import quantize
quantize(onnx_path=src, quantize_mode="int8", calibration_data=np.load(cal), calibration_eps=["cpu"],
         output_path=out, high_precision_dtype="fp32")
ops = [n.op_type for n in onnx.load(out).graph.node]
assert "QuantizeLinear" in ops and "DequantizeLinear" in ops, ops
print(f"setup_modelopt_bench: nvidia-modelopt {version('nvidia-modelopt')}, onnx {onnx.__version__}, "
      f"onnxruntime-gpu {version('onnxruntime-gpu')}: int8 Q/DQ written on the CPU provider")
PY
echo "setup_modelopt_bench: $(du -sh "$venv" | cut -f1) in $venv, $(( $(date +%s) - start )) s"
