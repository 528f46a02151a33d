/* fw_model.h - binds the firmware main (targets/src/rp2040/firmware/fw_main.c) to the model
 * named `model`. pare's own firmware build writes this file for any --name. */
#ifndef FW_MODEL_H
#define FW_MODEL_H
#include "model.h"
#define FW_INVOKE model_invoke
#define FW_INPUT_SIZE MODEL_INPUT_SIZE
#define FW_OUTPUT_SIZE MODEL_OUTPUT_SIZE
#define FW_ARENA_BYTES MODEL_ARENA_BYTES
#endif
