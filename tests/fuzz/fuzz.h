/* What a fuzz target provides to tests/fuzz/driver.c (or to libFuzzer). */
#ifndef HYVM_FUZZ_H
#define HYVM_FUZZ_H

#include <stddef.h>
#include <stdint.h>

struct fuzz_seed {
    const char *data;
    size_t len;
};
#define FUZZ_SEED(s) { s, sizeof(s) - 1 }

extern const struct fuzz_seed fuzz_seeds[];   /* { NULL }-terminated */
extern const char fuzz_target_name[];
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
