/* fw_host.c - the firmware platform on the host (stdio), so the same main and model
 * built with the host's gcc give the outputs the emulated image must reproduce. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_platform.h"

static int fw_argc;
static char **fw_argv;

void fw_write(const char *s) { fputs(s, stdout); }

void fw_exit(int code) {
  fflush(stdout);
  exit(code);
}

int fw_args(char *buf, int len) {
  int i, n = 0;
  if (len <= 0) return 1;
  buf[0] = '\0';
  for (i = 1; i < fw_argc; i++) {
    int k = (int)strlen(fw_argv[i]);
    if (n + k + 2 > len) return 1;
    if (n > 0) buf[n++] = ' ';
    memcpy(buf + n, fw_argv[i], (size_t)k);
    n += k;
    buf[n] = '\0';
  }
  return 0;
}

long fw_stack_used(void) { return -1; }

int fw_main(void);

int main(int argc, char **argv) {
  fw_argc = argc;
  fw_argv = argv;
  fw_exit(fw_main());
}
