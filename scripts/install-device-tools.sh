#!/usr/bin/env bash
# Installs the tools pare uses to measure an RP2040 artifact — the Cortex-M0+ cross
# compiler with newlib (flash and RAM of the linked image) and QEMU (instructions per
# inference) — and proves they work: a C file is cross-built for -mcpu=cortex-m0plus and
# linked against newlib. Exits non-zero, naming the missing package, if that fails.
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

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/probe.c" <<'C'
#include <string.h>
static char buf[16];
int main(void) { memset(buf, 1, sizeof buf); return buf[3]; }
void _exit(int code) { (void)code; for (;;) {} }
C
if ! arm-none-eabi-gcc -mcpu=cortex-m0plus -mthumb -Os --specs=nosys.specs \
    "$tmp/probe.c" -o "$tmp/probe.elf" 2>"$tmp/err"; then
  echo "device tools: arm-none-eabi-gcc cannot link a Cortex-M0+ program with newlib" \
    "(packages gcc-arm-none-eabi, libnewlib-arm-none-eabi):" >&2
  cat "$tmp/err" >&2
  exit 1
fi
if ! qemu-system-arm -machine help 2>/dev/null | grep -q '^microbit'; then
  echo "device tools: qemu-system-arm lacks the microbit (Cortex-M0) machine (package qemu-system-arm)" >&2
  exit 1
fi
echo "device tools: ready ($(arm-none-eabi-gcc -dumpversion) cross gcc, $(qemu-system-arm --version | head -1))"
