/* fw_main.c - the firmware that runs a pare model on samples embedded in the image and
 * prints its outputs, one line per sample ("out <index> <hex bytes>"), so the host can
 * compare them with the host build's. Arguments (semihosting command line):
 *   (none) | run   every sample once, outputs printed, then "stack <bytes>"
 *   count N        N inferences on sample 0, nothing printed: the host counts the
 *                  instructions of runs with different N and takes the difference.
 * Exit status: 0, the model's nonzero return code, or 2 for bad arguments. */
#include <stdint.h>

#include "fw_model.h"
#include "fw_platform.h"
#include "fw_samples.h"

/* The model's working memory, 16-byte aligned, in its own section (.bss.fw_arena ->
 * .arena in fw_link.ld) so its size reads from arm-none-eabi-size. */
static uint8_t fw_arena[FW_ARENA_BYTES > 0 ? FW_ARENA_BYTES : 1]
    __attribute__((aligned(16), section(".bss.fw_arena")));
static int8_t fw_output[FW_OUTPUT_SIZE];
static char fw_line[16 + 3 * FW_OUTPUT_SIZE];

static char *put_str(char *p, const char *s) {
  while (*s) *p++ = *s++;
  return p;
}

/* Decimal without division: the Cortex-M0 has no divide instruction, and libgcc's would
 * count as the model's code. */
static char *put_uint(char *p, unsigned long v) {
  static const unsigned long powers[] = {1000000000ul, 100000000ul, 10000000ul, 1000000ul,
                                         100000ul,     10000ul,     1000ul,     100ul,
                                         10ul,         1ul};
  unsigned i;
  int started = 0;
  for (i = 0; i < sizeof powers / sizeof powers[0]; i++) {
    char d = '0';
    while (v >= powers[i]) {
      v -= powers[i];
      d++;
    }
    if (d != '0' || started || powers[i] == 1ul) {
      *p++ = d;
      started = 1;
    }
  }
  return p;
}

static int parse_uint(const char *s, unsigned long *out) {
  unsigned long v = 0;
  if (*s < '0' || *s > '9') return 1;
  while (*s >= '0' && *s <= '9') v = v * 10u + (unsigned long)(*s++ - '0');
  if (*s != '\0' && *s != ' ') return 1;
  *out = v;
  return 0;
}

static int invoke(unsigned long sample) {
  return FW_INVOKE(fw_samples[sample], fw_output, fw_arena);
}

static int run_all(void) {
  static const char hex[] = "0123456789abcdef";
  unsigned long s;
  int i, rc;
  char *p;
  for (s = 0; s < FW_SAMPLE_COUNT; s++) {
    rc = invoke(s);
    if (rc != 0) {
      p = put_str(fw_line, "error: model returned ");
      p = put_uint(p, (unsigned long)(rc < 0 ? -rc : rc));
      p = put_str(p, rc < 0 ? " (negative) on sample " : " on sample ");
      p = put_uint(p, s);
      p = put_str(p, "\n");
      *p = '\0';
      fw_write(fw_line);
      return rc;
    }
    p = put_str(fw_line, "out ");
    p = put_uint(p, s);
    *p++ = ' ';
    for (i = 0; i < FW_OUTPUT_SIZE; i++) {
      uint8_t b = (uint8_t)fw_output[i];
      *p++ = hex[b >> 4];
      *p++ = hex[b & 15u];
    }
    p = put_str(p, "\n");
    *p = '\0';
    fw_write(fw_line);
  }
  if (fw_stack_used() >= 0) {
    p = put_str(fw_line, "stack ");
    p = put_uint(p, (unsigned long)fw_stack_used());
    p = put_str(p, "\n");
    *p = '\0';
    fw_write(fw_line);
  }
  return 0;
}

static int count(unsigned long n) {
  unsigned long k;
  int rc;
  for (k = 0; k < n; k++) {
    rc = invoke(0);
    if (rc != 0) return rc;
  }
  return 0;
}

int fw_main(void) {
  static char args[64];
  const char *a = args;
  unsigned long n;
  if (fw_args(args, (int)sizeof args) != 0) {
    fw_write("pare-fw: cannot read the command line\n");
    return 2;
  }
  if (a[0] == '\0' || (a[0] == 'r' && a[1] == 'u' && a[2] == 'n' && a[3] == '\0'))
    return run_all();
  if (a[0] == 'c' && a[1] == 'o' && a[2] == 'u' && a[3] == 'n' && a[4] == 't' &&
      a[5] == ' ' && parse_uint(a + 6, &n) == 0 && FW_SAMPLE_COUNT > 0)
    return count(n);
  fw_write("pare-fw: arguments are `run` or `count N` (with at least one sample)\n");
  return 2;
}
