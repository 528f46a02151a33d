/* fw_samples.h - the input samples embedded in the image: the ten digits of
 * ../digits_samples.h, quantized by quantize_samples.c into fw_samples.c. */
#ifndef FW_SAMPLES_H
#define FW_SAMPLES_H
#include <stdint.h>
#define FW_SAMPLE_COUNT 10
extern const int8_t fw_samples[][FW_INPUT_SIZE];
#endif
