/* fw_startup.c - Cortex-M0 startup for the emulated firmware: vector table, reset handler
 * (copies .data, zeroes .bss, paints the stack so its high-water mark can be measured),
 * and fault handlers that report and exit instead of hanging the emulator. */
#include <stdint.h>

#include "fw_platform.h"

/* Symbols from fw_link.ld. */
extern uint32_t __data_load;
extern uint32_t __data_start;
extern uint32_t __data_end;
extern uint32_t __bss_start;
extern uint32_t __bss_end;
extern uint32_t __stack_bottom;
extern uint32_t __stack_top;

#define FW_STACK_PAINT 0xA5A5A5A5u

int fw_main(void);
void fw_reset(void) __attribute__((noreturn));
void fw_fault(void) __attribute__((noreturn));

/* 16 system exceptions are enough: the firmware enables no interrupt. */
__attribute__((section(".vectors"), used)) static void (*const fw_vectors[16])(void) = {
    (void (*)(void))(&__stack_top),
    fw_reset,
    fw_fault, /* NMI */
    fw_fault, /* HardFault */
    0, 0, 0, 0, 0, 0, 0,
    fw_fault, /* SVCall */
    0, 0,
    fw_fault, /* PendSV */
    fw_fault, /* SysTick */
};

void fw_reset(void) {
  uint32_t *src = &__data_load;
  uint32_t *dst = &__data_start;
  uint32_t *sp;
  while (dst < &__data_end) *dst++ = *src++;
  for (dst = &__bss_start; dst < &__bss_end; dst++) *dst = 0;
  /* Paint the free stack below this frame (64 bytes of margin for it). */
  __asm__ volatile("mov %0, sp" : "=r"(sp));
  for (dst = &__stack_bottom; dst < sp - 16; dst++) *dst = FW_STACK_PAINT;
  fw_exit(fw_main());
}

void fw_fault(void) {
  fw_write("pare-fw: fault (HardFault or unexpected exception)\n");
  fw_exit(70);
}
