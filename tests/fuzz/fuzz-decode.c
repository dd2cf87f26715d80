/*
 * Fuzz target: the x86 decoder on arbitrary bytes in every mode.  Besides
 * never reading past the input (the driver hands over an exactly sized
 * copy), the answers must be consistent: a decoded length within the
 * input and 15 bytes, a truncation that asks for a byte beyond it.
 */
#include <stdlib.h>

#include "accel/tcg/insn.h"
#include "tests/fuzz/fuzz.h"

const char fuzz_target_name[] = "decode";

const struct fuzz_seed fuzz_seeds[] = {
    FUZZ_SEED("\x48\x8b\x84\x24\x00\x01\x00\x00"),          /* mov rax, [rsp+0x100] */
    FUZZ_SEED("\x66\x67\xf0\x81\x04\x4a\x34\x12\x78\x56"),   /* prefixes, SIB, imm */
    FUZZ_SEED("\xc4\xe2\x78\xf2\xc1"),                       /* andn (VEX) */
    FUZZ_SEED("\x62\xf1\x7c\x48\x58\xc1"),                   /* EVEX */
    FUZZ_SEED("\x0f\x38\xf0\x06\x0f\x3a\x0f\xc1\x08"),
    FUZZ_SEED("\xf2\xf3\x2e\x3e\x26\x64\x65\x36\x66\x67\x48\x0f\xb1\x0c\x24"),
    FUZZ_SEED("\xea\x00\x00\x00\x00\x08\x00\x9a\x00\x00\x08\x00"),
    { NULL },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum cpu_mode modes[] = { MODE_REAL16, MODE_PROT16, MODE_PROT32,
                                           MODE_LONG64 };

    for (unsigned m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
        struct insn in;
        size_t need = 0;
        enum decode_status st = x86_decode(&in, data, size, modes[m], &need);

        if ((st == DECODE_OK && (in.len > size || in.len > INSN_MAX_LEN || !in.len)) ||
            (st == DECODE_TRUNCATED && need < size) || in.nops > 4) {
            abort();
        }
    }
    return 0;
}
