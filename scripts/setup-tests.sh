#!/usr/bin/env bash
# Installs what pare's tests need and generates the oracle data they compare against:
#   Debian packages                 the RP2040 target's cross build and emulator
#                                   (gcc-arm-none-eabi, newlib, qemu-system-arm), gcc and
#                                   clang with their sanitizer runtimes, make; then
#                                   scripts/check-toolchain.sh proves they build and run
#   .venv/                          Python with onnx, onnxruntime, numpy, ai-edge-litert
#                                   (LiteRT, the .tflite oracle) (tests/oracle/requirements.txt)
#   tests/oracle/data/node/         ONNX backend node tests, from the onnx wheel's generators
#   tests/oracle/data/fixtures/     onnxruntime outputs for every ONNX fixture, and its
#                                   structure as the onnx package reads it (<stem>.json)
# Idempotent: each step is skipped when its inputs have not changed.
set -euo pipefail
cd "$(dirname "$0")/.."

fixtures="${PARE_FIXTURES:-../shared/fixtures}"
data=tests/oracle/data
req=tests/oracle/requirements.txt

if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  echo "setup: installing python3-venv"
  apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
fi
# The RP2040 firmware tests build with arm-none-eabi-gcc (newlib for memcpy/memset), run
# under qemu-system-arm -M microbit and check the generated C on the host with gcc and clang
# under ASan+UBSan; make runs the example's bare-metal Makefile.
install_missing() {
  local missing="" p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
  done
  if [ -n "$missing" ]; then
    echo "setup: installing Debian packages:$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
  fi
}
bash scripts/install-device-tools.sh
install_missing gcc clang make
# clang's sanitizer runtime is only a Recommends of clang, so --no-install-recommends leaves
# it out and every -fsanitize link fails. Its package follows clang's major version.
clang_rt="libclang-rt-$(clang -dumpversion | cut -d. -f1)-dev"
if ! dpkg-query -W -f='${Status}' "$clang_rt" 2>/dev/null | grep -q "ok installed"; then
  apt-get update -qq
  if apt-cache show "$clang_rt" >/dev/null 2>&1; then
    install_missing "$clang_rt"
  else
    # Older Debian ships the runtime inside libclang-common-N-dev; the check below says
    # plainly if it is still missing.
    echo "setup: no package $clang_rt for clang $(clang -dumpversion)"
  fi
fi
# Prove a sanitized C build links and runs before any test needs it (each failure names
# the missing package); install-device-tools.sh above proved the cross toolchain and QEMU.
bash scripts/check-toolchain.sh host
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  python3 -m venv .venv
fi
stamp=.venv/.requirements.sha256
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing Python oracles ($req)"
  .venv/bin/pip install -q --disable-pip-version-check -r "$req"
  echo "$want" > "$stamp"
fi

gen_stamp() { cat "$@" | sha256sum | cut -d' ' -f1; }

node_want=$(gen_stamp "$req" tests/oracle/gen_node_tests.py)
if [ "$(cat "$data/node/.stamp" 2>/dev/null)" != "$node_want" ]; then
  rm -rf "$data/node"
  .venv/bin/python -W ignore tests/oracle/gen_node_tests.py "$data/node"
  echo "$node_want" > "$data/node/.stamp"
fi

if [ ! -d "$fixtures" ]; then
  echo "setup: fixtures not found at $fixtures (set PARE_FIXTURES)" >&2
  exit 1
fi
fix_want=$(gen_stamp "$req" tests/oracle/gen_fixture_refs.py "$fixtures"/*.onnx "$fixtures/digits.npz")
if [ "$(cat "$data/fixtures/.stamp" 2>/dev/null)" != "$fix_want" ]; then
  rm -rf "$data/fixtures"
  .venv/bin/python tests/oracle/gen_fixture_refs.py "$fixtures" "$data/fixtures"
  echo "$fix_want" > "$data/fixtures/.stamp"
fi
echo "setup: oracles ready"
