#!/usr/bin/env bash
# pare's main job in one command: installs the RP2040 measuring tools (cross gcc, QEMU),
# builds pare, compiles the example micro CNN (examples/micro_cnn, a 1,418-parameter digits
# classifier) to int8 RP2040 C calibrated on 256 training digits, and prints the measured
# report: bytes on disk, fidelity against the float model, the static arena, flash and RAM
# of the cross-built image, and emulated instructions per MAC. It then measures the compiled
# model's accuracy on the 500 held-out test digits, and runs the float model on four digits.
# Output: target/quickstart/ (or the folder given as the first argument).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-target/quickstart}"
ex=examples/micro_cnn

if ! bash scripts/install-device-tools.sh; then
  echo "quickstart: going on without the device tools; the report will say flash, RAM and" \
    "instructions are not measured, and why" >&2
fi
cargo build --release --locked -p pare
pare=target/release/pare
rm -rf "$out"
mkdir -p "$out"

echo
echo "== pare compile: micro_cnn -> int8 C for the RP2040 =="
$pare compile $ex/model.onnx --target rp2040 --quantize int8 --calib $ex/data.npz:x_calib \
  --save-graph "$out/micro_cnn.int8.pir" -o "$out/micro_cnn_rp2040"

echo
echo "== pare eval: the compiled int8 model on 500 held-out test digits =="
echo "(integer interpreter, bit-exact with the generated C; reference: the float model)"
$pare eval "$out/micro_cnn.int8.pir" --data $ex/data.npz --x x_test --y y_test \
  --reference $ex/model.onnx

echo
echo "== pare inspect / run: the float model on four test digits =="
$pare inspect $ex/model.onnx
$pare run $ex/model.onnx --input input=$ex/digits.npy -o "$out/run"
python3 - "$out/run/logits.npy" "$ex/labels.txt" <<'PY'
import struct, sys
raw = open(sys.argv[1], "rb").read()
hlen = struct.unpack("<H", raw[8:10])[0]
vals = struct.unpack("<40f", raw[10 + hlen:])
pred = [max(range(10), key=lambda c: vals[r * 10 + c]) for r in range(4)]
print("predicted:", " ".join(map(str, pred)), "| labels:", open(sys.argv[2]).read().strip())
PY
echo
echo "generated C, report.json: $out/micro_cnn_rp2040/"
