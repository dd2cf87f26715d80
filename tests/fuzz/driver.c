/*
 * A driver for the fuzz targets when no libFuzzer is at hand (gcc): it
 * feeds LLVMFuzzerTestOneInput() the seeds its target names, then seeded
 * random mutations of them (bit flips, byte sets, inserts, deletes,
 * splices, interesting bytes), and prints TAP.  Run under ASan/UBSan
 * (scripts/test.sh does) a crash or report fails the test.
 *
 *   fuzz-X [--tap] [-n ITERATIONS]      (default 50000; HYVM_FUZZ_RUNS too)
 *   HYVM_FUZZ_SEED=N picks another mutation stream (default 0x5eed).
 *
 * With clang the same target files link against -fsanitize=fuzzer instead,
 * without this driver, for coverage-guided runs.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "tests/fuzz/fuzz.h"

#define FUZZ_MAX_INPUT 4096

static size_t mutate(uint8_t *buf, size_t len, GRand *r)
{
    static const uint8_t interesting[] = {
        0x00, 0xff, 0x7f, 0x80, '{', '}', '[', ']', '"', '\\', ':', ',', 'u', '0', '9', '-',
        0x0f, 0x66, 0x67, 0xf2, 0xf3, 0xf0, 0x48, 0xc4, 0xc5, 0x62,
    };
    unsigned n = g_rand_int_range(r, 1, 6);

    for (unsigned k = 0; k < n; k++) {
        size_t pos = len ? g_rand_int_range(r, 0, (gint32)len) : 0;

        switch (g_rand_int_range(r, 0, 6)) {
        case 0:
            if (len) {
                buf[pos] ^= 1u << g_rand_int_range(r, 0, 8);
            }
            break;
        case 1:
            if (len) {
                buf[pos] = interesting[g_rand_int_range(r, 0, sizeof(interesting))];
            }
            break;
        case 2:
            if (len < FUZZ_MAX_INPUT) {
                memmove(buf + pos + 1, buf + pos, len - pos);
                buf[pos] = (uint8_t)g_rand_int(r);
                len++;
            }
            break;
        case 3:
            if (len) {
                memmove(buf + pos, buf + pos + 1, len - pos - 1);
                len--;
            }
            break;
        case 4: {
            /* Repeat a slice: nesting, long strings, prefix runs. */
            size_t take = len - pos < 16 ? len - pos : 16;

            if (len + take <= FUZZ_MAX_INPUT) {
                memmove(buf + pos + take, buf + pos, len - pos);
                len += take;
            }
            break;
        }
        default:
            if (len) {
                buf[pos] = (uint8_t)g_rand_int(r);
            }
            break;
        }
    }
    return len;
}

int main(int argc, char **argv)
{
    const char *env = g_getenv("HYVM_FUZZ_RUNS");
    const char *seed_env = g_getenv("HYVM_FUZZ_SEED");
    unsigned long runs = env ? strtoul(env, NULL, 0) : 50000;
    guint32 seed = seed_env ? (guint32)strtoul(seed_env, NULL, 0) : 0x5eed;
    unsigned nseeds = 0;
    FILE *tap;
    int devnull;
    GRand *r;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-n") && i + 1 < argc) {
            runs = strtoul(argv[++i], NULL, 0);
        }
    }
    while (fuzz_seeds[nseeds].data) {
        nseeds++;
    }
    /* Targets may print (help texts of the command line): TAP gets its own
     * copy of stdout, and fd 1 goes to /dev/null while they run. */
    tap = fdopen(dup(STDOUT_FILENO), "w");
    devnull = open("/dev/null", O_WRONLY);
    if (!tap || devnull < 0 || dup2(devnull, STDOUT_FILENO) < 0) {
        perror("fuzz driver");
        return 1;
    }
    close(devnull);
    r = g_rand_new_with_seed(seed);
    fprintf(tap, "1..1\n");
    fflush(tap);
    for (unsigned i = 0; i < nseeds; i++) {
        LLVMFuzzerTestOneInput((const uint8_t *)fuzz_seeds[i].data, fuzz_seeds[i].len);
    }
    for (unsigned long i = 0; i < runs; i++) {
        uint8_t *buf = g_malloc(FUZZ_MAX_INPUT);
        const struct fuzz_seed *s = &fuzz_seeds[g_rand_int_range(r, 0, (gint32)nseeds)];
        size_t len = s->len < FUZZ_MAX_INPUT ? s->len : FUZZ_MAX_INPUT;

        memcpy(buf, s->data, len);
        len = mutate(buf, len, r);
        /* An exactly sized copy, so ASan sees any read past the input. */
        {
            uint8_t *exact = g_memdup2(buf, len ? len : 1);

            LLVMFuzzerTestOneInput(exact, len);
            g_free(exact);
        }
        g_free(buf);
    }
    g_rand_free(r);
    fprintf(tap, "ok 1 - %s: %u seeds and %lu mutated inputs (seed 0x%x) without a crash\n",
            fuzz_target_name, nseeds, runs, seed);
    fclose(tap);
    return 0;
}
