#!/usr/bin/env bash
# Creates the pruning benchmark's venv, tests/oracle/.venv-prune (gitignored): CPU torch and
# Torch-Pruning 1.6 for bench_prune.py's baseline, plus onnx/onnxruntime/numpy as pinned in
# requirements.txt. Every package is pinned in requirements-prune.txt and installed with
# --no-deps (it says why some of torch's CUDA dependencies are left out). Then it proves the
# packages import and run on the CPU, and prints the venv's size and the setup's wall time.
# Idempotent: the install is skipped while requirements-prune.txt is unchanged.
# Not part of CI (about 4 GB; needs PyPI).
set -euo pipefail
cd "$(dirname "$0")"

venv=.venv-prune
req=requirements-prune.txt
start=$(date +%s)
if [ ! -x "$venv/bin/python" ]; then
  echo "setup_prune_bench: creating $venv"
  python3 -m venv "$venv"
fi
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup_prune_bench: installing $req (pinned, --no-deps)"
  "$venv/bin/pip" install -q --disable-pip-version-check --no-deps -r "$req"
  echo "$want" > "$stamp"
fi
# Proof that the venv works on this machine: torch runs a CPU forward and export, the
# Torch-Pruning API the benchmark calls exists, onnxruntime runs a model.
"$venv/bin/python" -W ignore::DeprecationWarning - <<'PY'
import io
from importlib.metadata import version

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch_pruning as tp

m = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 2)).eval()
x = torch.ones(1, 1, 8, 8)
pruner = tp.pruner.MetaPruner(m, x, importance=tp.importance.MagnitudeImportance(p=2),
                              pruning_ratio=0.5, ignored_layers=[m[3]])
pruner.step()
assert m[0].out_channels == 2, m[0]
buf = io.BytesIO()
torch.onnx.export(m, (x,), buf, dynamo=False, input_names=["input"], output_names=["logits"])
s = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
got = s.run(None, {"input": x.numpy()})[0]
want = m(x).detach().numpy()
assert np.allclose(got, want, atol=1e-5), (got, want)
onnx.checker.check_model(onnx.load_from_string(buf.getvalue()))
print(f"setup_prune_bench: torch {torch.__version__} (CUDA available: {torch.cuda.is_available()}), "
      f"torch-pruning {version('torch-pruning')}, onnx {onnx.__version__}, onnxruntime {ort.__version__}, "
      f"numpy {np.__version__}: import and run on the CPU")
PY
echo "setup_prune_bench: $(du -sh "$venv" | cut -f1) in $venv, $(( $(date +%s) - start )) s"
