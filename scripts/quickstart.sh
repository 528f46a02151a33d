#!/usr/bin/env bash
# Builds pare and runs its main job on the example model shipped in examples/:
# inspect micro_cnn (a 1,418-parameter digits CNN), run it on four test digits with
# the reference interpreter, and print the predicted classes next to the labels.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p pare
pare=target/release/pare
ex=examples/micro_cnn
$pare inspect $ex/model.onnx
out=$(mktemp -d)
$pare run $ex/model.onnx --input input=$ex/digits.npy -o "$out"
echo "wrote $out/logits.npy"
python3 - "$out/logits.npy" "$ex/labels.txt" <<'PY'
import struct, sys
raw = open(sys.argv[1], "rb").read()
hlen = struct.unpack("<H", raw[8:10])[0]
vals = struct.unpack("<40f", raw[10 + hlen:])
pred = [max(range(10), key=lambda c: vals[r * 10 + c]) for r in range(4)]
print("predicted:", " ".join(map(str, pred)), "| labels:", open(sys.argv[2]).read().strip())
PY
