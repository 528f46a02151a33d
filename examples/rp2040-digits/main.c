/* main.c - Raspberry Pi Pico firmware: classifies ten test digits with the model pare
 * generated into model/ and prints each prediction, its label and the time it took over
 * USB and UART (115200 baud on GP0/GP1), every five seconds.
 *
 * The model runs through its int8 API: the caller owns the arena (MODEL_ARENA_BYTES,
 * 16-byte aligned) and quantizes the input with MODEL_INPUT_SCALE/ZERO_POINT. The
 * output's int8 argmax is the class: dequantizing with a positive scale keeps the order.
 * (model_invoke_f32() does the quantization itself, with a static arena.) */
#include <stdint.h>
#include <stdio.h>

#include "digits_samples.h"
#include "model.h"
#include "pico/stdlib.h"

static uint8_t arena[MODEL_ARENA_BYTES] __attribute__((aligned(16)));
static int8_t input[MODEL_INPUT_SIZE];
static int8_t output[MODEL_OUTPUT_SIZE];

/* x / scale + zero point, rounded half away from zero and saturated to int8. */
static int8_t quantize(float x) {
  float v = x / (float)MODEL_INPUT_SCALE;
  int32_t q = (int32_t)(v >= 0.0f ? v + 0.5f : v - 0.5f) + MODEL_INPUT_ZERO_POINT;
  return (int8_t)(q < -128 ? -128 : q > 127 ? 127 : q);
}

static int argmax(const int8_t *v, int n) {
  int i, best = 0;
  for (i = 1; i < n; i++)
    if (v[i] > v[best]) best = i;
  return best;
}

int main(void) {
  stdio_init_all();
  sleep_ms(2000); /* time for the USB serial port to enumerate */
  printf("pare rp2040-digits: arena %u bytes\n", (unsigned)MODEL_ARENA_BYTES);
  for (;;) {
    int s, i, correct = 0;
    for (s = 0; s < DIGITS_SAMPLE_COUNT; s++) {
      uint64_t start, took;
      int rc, predicted;
      for (i = 0; i < MODEL_INPUT_SIZE; i++) input[i] = quantize(digits_samples[s][i]);
      start = time_us_64();
      rc = model_invoke(input, output, arena);
      took = time_us_64() - start;
      if (rc != 0) {
        printf("sample %d: model_invoke failed with %d\n", s, rc);
        continue;
      }
      predicted = argmax(output, MODEL_OUTPUT_SIZE);
      correct += predicted == digits_labels[s];
      printf("sample %d: predicted %d, label %d, %llu us\n", s, predicted, digits_labels[s],
             (unsigned long long)took);
    }
    printf("%d of %d correct\n\n", correct, DIGITS_SAMPLE_COUNT);
    sleep_ms(5000);
  }
}
