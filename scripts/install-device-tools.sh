#!/usr/bin/env bash
# Installs the tools pare uses to measure an RP2040 artifact — the Cortex-M0+ cross
# compiler with newlib (flash and RAM of the linked image) and QEMU (instructions per
# inference) — and proves they work (scripts/check-toolchain.sh device: a Cortex-M0+ image
# links against newlib and QEMU's microbit machine runs it). Exits non-zero, naming the
# missing package, if that fails. scripts/setup-tests.sh runs it too.
set -euo pipefail

debs="gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm"
missing=""
for p in $debs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "device tools: missing Debian packages:$missing (run as root to install them)" >&2
    exit 1
  fi
  echo "device tools: installing Debian packages:$missing"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

bash "$(dirname "$0")/check-toolchain.sh" device
