/* fw_platform.h - what the firmware main needs from the platform it runs on:
 * semihosting on the emulated Cortex-M0 (fw_semihost.c), stdio on the host (fw_host.c). */
#ifndef FW_PLATFORM_H
#define FW_PLATFORM_H

/* Writes a NUL-terminated string to the host's standard output. */
void fw_write(const char *s);

/* Ends the program with `code` as the process exit status seen by the host. */
void fw_exit(int code) __attribute__((noreturn));

/* Copies the program's arguments, space separated and NUL-terminated, into buf
 * (at most len bytes). Returns 0, or nonzero when they cannot be read. */
int fw_args(char *buf, int len);

/* Bytes of stack used so far (high-water mark), or -1 where it is not measured. */
long fw_stack_used(void);

#endif
