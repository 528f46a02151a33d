#!/usr/bin/env bash
# Proves that the C toolchains pare's tests use actually work, before any test runs:
#   gcc and clang   a C99 file built with -fsanitize=address,undefined links, runs clean,
#                   and the sanitizer stops a heap overflow (what targets/tests and the
#                   driver's RP2040 tests do with the generated C)
#   arm-none-eabi   a Cortex-M0+ image links against newlib (nano.specs, memcpy/strlen)
#   qemu-system-arm runs that image on -M microbit and prints through semihosting
# Each failure names the Debian package that is missing. Exit status: 0 when all pass.
# `check-toolchain.sh device` checks only the cross toolchain and QEMU (what `pare compile
# --target rp2040` measures with; scripts/install-device-tools.sh runs it), `host` only the
# sanitized host builds.
set -euo pipefail
only_device=false
only_host=false
[ "${1:-}" = device ] && only_device=true
[ "${1:-}" = host ] && only_host=true

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() {
  echo "check-toolchain: FAILED: $1" >&2
  if [ -n "${2:-}" ]; then sed 's/^/    /' "$2" | tail -n 8 >&2; fi
  failures=$((failures + 1))
}

# The package that holds a compiler's sanitizer runtime, derived from its version so
# that a newer Debian (clang 16: libclang-rt-16-dev) needs no edit here.
sanitizer_package() {
  case "$1" in
    clang) echo "libclang-rt-$(clang -dumpversion | cut -d. -f1)-dev" ;;
    gcc) echo "libasan and libubsan (dependencies of libgcc-$(gcc -dumpversion | cut -d. -f1)-dev)" ;;
  esac
}

cat >"$work/san.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv) {
  int n = argc > 1 && argv[1][0] == 'o' ? 8 : 4;
  char *p = malloc(4);
  if (!p) return 3;
  memset(p, 'x', (size_t)n); /* with an argument: 4 bytes past the block */
  printf("sanitized %c\n", p[0]);
  free(p);
  return 0;
}
C
for cc in gcc clang; do
  $only_device && break
  if ! command -v "$cc" >/dev/null; then
    fail "$cc is not installed (apt-get install $cc)"
    continue
  fi
  exe="$work/san-$cc"
  san=(-fsanitize=address,undefined -fno-sanitize-recover=all)
  if ! "$cc" -std=c99 -Wall -Wextra -Werror -pedantic -O1 "${san[@]}" -fno-omit-frame-pointer \
    -c "$work/san.c" -o "$exe.o" >"$work/$cc.log" 2>&1; then
    fail "$cc cannot compile C99 with -fsanitize=address,undefined" "$work/$cc.log"
    continue
  fi
  if ! "$cc" "${san[@]}" "$exe.o" -o "$exe" >"$work/$cc.log" 2>&1; then
    fail "$cc -fsanitize=address,undefined does not link: install $(sanitizer_package "$cc")" "$work/$cc.log"
    continue
  fi
  if ! "$exe" >"$work/$cc.run" 2>&1 || ! grep -q "sanitized x" "$work/$cc.run"; then
    fail "a program built by $cc with ASan+UBSan does not run" "$work/$cc.run"
    continue
  fi
  if "$exe" overflow >"$work/$cc.bad" 2>&1 || ! grep -q "AddressSanitizer" "$work/$cc.bad"; then
    fail "$cc's AddressSanitizer did not stop a heap overflow" "$work/$cc.bad"
    continue
  fi
  echo "check-toolchain: $cc with ASan+UBSan links and runs"
done

cat >"$work/probe.c" <<'C'
#include <stdint.h>
#include <string.h>
extern uint32_t __stack_top;
void probe_reset(void);
__attribute__((section(".vectors"), used)) static void (*const vectors[2])(void) = {
    (void (*)(void))(&__stack_top), probe_reset};
static int semihost(int op, void *arg) {
  register int r0 __asm__("r0") = op;
  register void *r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}
static char line[32];
void probe_reset(void) {
  static const char text[] = "cortex-m0plus image ok\n";
  volatile uint32_t exit_block[2] = {0x20026, 0}; /* ADP_Stopped_ApplicationExit, status 0 */
  memcpy(line, text, strlen(text) + 1); /* newlib's, thanks to -fno-builtin */
  semihost(0x04, line);                   /* SYS_WRITE0 */
  for (;;) semihost(0x20, (void *)exit_block); /* SYS_EXIT_EXTENDED */
}
C
cat >"$work/probe.ld" <<'LD'
ENTRY(probe_reset)
MEMORY { FLASH (rx) : ORIGIN = 0x00000000, LENGTH = 256K
         RAM (rwx) : ORIGIN = 0x20000000, LENGTH = 16K }
SECTIONS {
  .vectors : { KEEP(*(.vectors)) } > FLASH
  .text : { *(.text .text.*) *(.rodata .rodata.*) } > FLASH
  .bss (NOLOAD) : { *(.bss .bss.* COMMON) } > RAM
}
__stack_top = ORIGIN(RAM) + LENGTH(RAM);
LD
elf="$work/probe.elf"
if $only_host; then
  :
elif ! command -v arm-none-eabi-gcc >/dev/null; then
  fail "arm-none-eabi-gcc is not installed (apt-get install gcc-arm-none-eabi)"
elif ! arm-none-eabi-gcc -mcpu=cortex-m0plus -mthumb -Os -fno-builtin -nostartfiles \
  --specs=nano.specs -T "$work/probe.ld" "$work/probe.c" -o "$elf" >"$work/arm.log" 2>&1; then
  fail "arm-none-eabi-gcc cannot link a Cortex-M0+ image with newlib (apt-get install libnewlib-arm-none-eabi)" "$work/arm.log"
else
  echo "check-toolchain: arm-none-eabi-gcc links a Cortex-M0+ image with newlib"
  if ! command -v qemu-system-arm >/dev/null; then
    fail "qemu-system-arm is not installed (apt-get install qemu-system-arm)"
  elif ! timeout 60 qemu-system-arm -M microbit -display none -monitor none -serial none \
    -semihosting-config enable=on,target=native -kernel "$elf" </dev/null >"$work/qemu.log" 2>&1 ||
    ! grep -q "cortex-m0plus image ok" "$work/qemu.log"; then
    fail "qemu-system-arm -M microbit did not run the Cortex-M0+ image (apt-get install qemu-system-arm)" "$work/qemu.log"
  else
    echo "check-toolchain: qemu-system-arm -M microbit runs it"
  fi
fi

if [ "$failures" -gt 0 ]; then
  echo "check-toolchain: $failures check(s) failed; the tests that build C would fail" >&2
  exit 1
fi
