/* fw_semihost.c - the firmware platform on the emulated Cortex-M0: Arm semihosting calls
 * (bkpt 0xAB, served by QEMU's -semihosting-config enable=on,target=native), no libc I/O. */
#include <stdint.h>

#include "fw_platform.h"

#define SYS_WRITE0 0x04
#define SYS_GET_CMDLINE 0x15
#define SYS_EXIT_EXTENDED 0x20
#define ADP_STOPPED_APPLICATION_EXIT 0x20026

/* The stack region the startup code painted (fw_startup.c). */
extern uint32_t __stack_bottom;
extern uint32_t __stack_top;
#define FW_STACK_PAINT 0xA5A5A5A5u

static int semihost(int op, void *arg) {
  register int r0 __asm__("r0") = op;
  register void *r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

void fw_write(const char *s) { semihost(SYS_WRITE0, (void *)s); }

void fw_exit(int code) {
  /* SYS_EXIT_EXTENDED carries the status; plain SYS_EXIT on 32-bit Arm cannot. */
  volatile uint32_t block[2];
  block[0] = ADP_STOPPED_APPLICATION_EXIT;
  block[1] = (uint32_t)code;
  for (;;) semihost(SYS_EXIT_EXTENDED, (void *)block);
}

int fw_args(char *buf, int len) {
  volatile uint32_t block[2];
  block[0] = (uint32_t)(uintptr_t)buf;
  block[1] = (uint32_t)len;
  if (len <= 0) return 1;
  buf[0] = '\0';
  return semihost(SYS_GET_CMDLINE, (void *)block) != 0;
}

long fw_stack_used(void) {
  /* The stack grows down from __stack_top: the lowest word that lost its paint is the
   * deepest the stack has been. */
  const uint32_t *p = &__stack_bottom;
  while (p < &__stack_top && *p == FW_STACK_PAINT) p++;
  return (long)((uintptr_t)&__stack_top - (uintptr_t)p);
}
